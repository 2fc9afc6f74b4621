"""Chain backends behind one interface: in-process (py-evm) and any JSON-RPC node."""
