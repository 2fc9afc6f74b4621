"""Participant side: keystores, signers (`ledger.signer.Signer`), the wallet CLI, an API client."""
