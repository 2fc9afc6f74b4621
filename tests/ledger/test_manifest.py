"""Where deployment manifests live by default."""

from __future__ import annotations

from pathlib import Path

import pytest

import ledger
from ledger.manifest import default_manifest_path


def test_a_manifest_defaults_to_the_users_data_directory_not_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))

    path = default_manifest_path(31_337)

    assert path == tmp_path / ".ipledger" / "deployments" / "31337.json"
    assert not path.is_relative_to(Path(ledger.__file__).resolve().parent.parent)
