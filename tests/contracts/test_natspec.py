"""NatSpec of the interfaces, read from the compiler's `userdoc` and `devdoc` outputs.

Every custom error and event in contracts/I*.sol says what it means (`@notice`) and what each
of its values is (`@param`): clients show these to people, and the mirror's readers rely on them.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from ledger.compiler import ContractDocs, Toolchain, read_natspec

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def interfaces(toolchain: Toolchain) -> list[ContractDocs]:
    """The specs: `I<Name>.sol` beside the `<Name>.sol` that implements it (STYLE.md)."""
    docs = read_natspec(ROOT / "contracts", toolchain=toolchain)
    stems = {Path(d.source).stem for d in docs}
    found = [d for d in docs if d.name == Path(d.source).stem and d.name[1:] in stems]
    assert {d.name for d in found} == {
        "IIPAssetRegistry",
        "IParticipantRegistry",
        "ITypedApprovals",
    }
    return found


def _by_name(section: object) -> dict[str, dict[str, object]]:
    """solc keys docs by signature (`Name(uint64,address)`), errors by a list of entries."""
    docs: dict[str, dict[str, object]] = {}
    for signature, entry in typing.cast(dict[str, object], section or {}).items():
        first = entry[0] if isinstance(entry, list) else entry
        docs[signature.split("(")[0]] = typing.cast(dict[str, object], first)
    return docs


def _undocumented(docs: ContractDocs, kind: str) -> list[str]:
    section = "errors" if kind == "error" else "events"
    notices = _by_name(docs.userdoc.get(section))
    params = _by_name(docs.devdoc.get(section))
    missing = []
    for entry in docs.abi:
        if entry["type"] != kind:
            continue
        name = str(entry["name"])
        if not str(notices.get(name, {}).get("notice", "")).strip():
            missing.append(f"{docs.name}.{name}: no @notice")
        values = [str(i["name"]) for i in typing.cast(list[dict[str, object]], entry["inputs"])]
        documented = typing.cast(dict[str, str], params.get(name, {}).get("params", {}))
        lacking = [v for v in values if not documented.get(v, "").strip()]
        if lacking:
            missing.append(f"{docs.name}.{name}: no @param for {', '.join(lacking)}")
    return missing


@pytest.mark.parametrize("kind", ["error", "event"])
def test_every_error_and_event_of_the_interfaces_has_a_notice_and_documents_its_values(
    interfaces: list[ContractDocs], kind: str
) -> None:
    missing = [line for docs in interfaces for line in _undocumented(docs, kind)]
    assert not missing, "\n".join(missing)


def test_a_missing_param_or_notice_is_found(toolchain: Toolchain, tmp_path: Path) -> None:
    """The check above cannot pass by reading nothing: an undocumented error is reported."""
    (tmp_path / "node_modules").symlink_to(toolchain.node_modules)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "IThing.sol").write_text(
        "// SPDX-License-Identifier: Apache-2.0\npragma solidity 0.8.30;\n"
        "interface IThing {\n"
        "    /// @notice The thing is gone.\n    /// @param id The thing.\n"
        "    error ThingGone(uint64 id, uint16 reason);\n"
        "    event ThingMoved(uint64 indexed id);\n"
        "}\n"
    )
    (docs,) = read_natspec(tmp_path / "contracts", toolchain=Toolchain(root=tmp_path))
    assert _undocumented(docs, "error") == ["IThing.ThingGone: no @param for reason"]
    assert _undocumented(docs, "event") == [
        "IThing.ThingMoved: no @notice",
        "IThing.ThingMoved: no @param for id",
    ]
