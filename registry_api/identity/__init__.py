"""Counterparty identity: X.509 certificates whose SHA-256 fingerprints are on chain."""

# Here, not in `authority`, so that the command line names them in its help without loading
# the certificate code.
#: Where the CA key password comes from when there is no password file and no prompt.
CA_PASSWORD_ENV = "IPLEDGER_CA_PASSWORD"
#: A participant certificate's default period; renewal re-identifies the participant.
PARTICIPANT_VALID_DAYS = 2 * 365
