"""Fixtures and test doubles shared by several test packages (never imported from a test file)."""
