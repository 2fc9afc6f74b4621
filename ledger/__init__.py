"""The core: compile, deploy, typed contract clients, EIP-712, decoding, the Signer protocol,
the certificate profile, chain backends. It imports none of the other packages (the embedded
node only through its adapter, `ledger/backends/embedded.py`)."""
