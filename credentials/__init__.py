"""Credentials, platform signing keys and the OAuth 2.0 endpoints."""
