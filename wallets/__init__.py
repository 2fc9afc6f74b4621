"""Participant side: keys, the Signer protocol and signing."""
