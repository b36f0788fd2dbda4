"""Rasa custom actions: thin wrappers that verify the customer, call the account
services in `hotline.accounts`, and phrase the result."""
