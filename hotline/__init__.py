"""Hotline: an offline customer-service assistant for telecom operators."""
