"""Chain backends behind one interface: the embedded node (`embedded_chain`), any JSON-RPC node."""
