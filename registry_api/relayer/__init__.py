"""The relayer: the office signs and sends every write; participants need no gas and no node.

An accepted write is an operation in the outbox (stored, signed, given its nonce, in the same
database transaction as the request that asked for it); the dispatcher sends operations in nonce
order, follows them to their receipts (gathered per block), and after a crash sends the same
raw bytes again.
"""
