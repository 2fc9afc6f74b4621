"""The chain as a Python library: compile, deploy, sign, send, decode."""
