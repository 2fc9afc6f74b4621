"""The office's side of identity: its certificate authority, enrolment and renewal, and
identifying a counterparty; the certificate profile and its checks are `ledger.certificates`."""
