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


@pytest.mark.parametrize("limit", ["", "many", "30/fortnight", "0/minute"])
def test_a_sign_in_rate_limit_that_cannot_be_counted_is_refused_at_start(limit: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Settings(auth_rate_limit=limit)


def test_a_sign_in_rate_limit_may_combine_windows() -> None:
    assert Settings(auth_rate_limit="30/minute;200 per hour").auth_rate_limit


@pytest.mark.parametrize("secret", ["short", "x" * 31, "가" * 10])
def test_a_token_secret_shorter_than_32_bytes_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("IPLEDGER_TOKEN_SECRET", secret)

    with pytest.raises(ValueError, match=r"IPLEDGER_TOKEN_SECRET .* at least 32 bytes"):
        Settings()


def test_a_token_secret_of_32_bytes_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPLEDGER_TOKEN_SECRET", "가" * 11)  # 33 bytes in UTF-8, 11 characters

    settings = Settings()

    assert settings.token_secret is not None


def test_an_empty_token_secret_means_the_generated_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPLEDGER_TOKEN_SECRET", "")

    assert Settings().token_secret is None


def test_sign_in_names_the_public_url_when_one_is_set() -> None:
    assert Settings(host="127.0.0.1", port=8000).site == "http://127.0.0.1:8000"
    public = Settings(public_url="https://registry.example.org")
    assert public.site == "https://registry.example.org"


@pytest.mark.parametrize(
    "url", ["registry.example.org", "https://registry.example.org/path", "ftp://x", "https://a b"]
)
def test_a_public_url_that_is_not_a_site_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url=url)
