"""The `ipledger` command groups, one module each."""
