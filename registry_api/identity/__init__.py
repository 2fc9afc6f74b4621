"""Counterparty identity: X.509 certificates whose SHA-256 fingerprints are on chain."""
