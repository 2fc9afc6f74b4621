"""Wallet tests use cheap scrypt (N = 2): the production cost takes a second per keystore."""

from __future__ import annotations

import pytest

from wallets import keystore


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "SCRYPT_N", 2)
