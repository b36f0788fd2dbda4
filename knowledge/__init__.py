"""Telco knowledge base: help-centre articles, ingestion, retrieval and grounded generation."""
