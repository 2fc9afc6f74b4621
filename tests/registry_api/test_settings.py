"""Settings come from IPLEDGER_ environment variables."""

from __future__ import annotations

import pytest

from registry_api.settings import Settings


def test_settings_default_to_sqlite_in_the_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IPLEDGER_DATABASE_URL", raising=False)
    monkeypatch.setenv("IPLEDGER_DATA_DIR", "/srv/ipledger")
    monkeypatch.setenv("IPLEDGER_CONFIRMATIONS", "2")

    settings = Settings()

    assert settings.sqlalchemy_url() == "sqlite:////srv/ipledger/registry.sqlite3"
    assert settings.confirmations == 2
