"""The office's side of identity: its certificate authority, enrolment and renewal, and
identifying a counterparty; the certificate profile and its checks are `ledger.certificates`."""

# Here, not in `authority`, so that the command line names them in its help without loading
# the certificate code.
#: Where the CA key password comes from when there is no password file and no prompt.
CA_PASSWORD_ENV = "IPLEDGER_CA_PASSWORD"
#: A participant certificate's default period; renewal re-identifies the participant.
PARTICIPANT_VALID_DAYS = 2 * 365
