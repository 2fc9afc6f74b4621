"""Compilation through py-solc-x and the solc-js shim: settings, caching, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import solcx

from ledger.artifacts import SHIPPED_ARTIFACTS, ArtifactSet
from ledger.compiler import (
    ArtifactsUnavailable,
    CompilationError,
    CompilerSettings,
    Toolchain,
    build_artifacts,
    compile_sources,
    load_artifacts,
    source_hash,
)

EIP170_CODE_SIZE_LIMIT = 24_576

COUNTER = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

contract Counter {
    uint256 private immutable _start;
    uint256 public count;

    constructor(uint256 start) { _start = start; count = start; }

    function increment() external { count += 1; }

    function start() external view returns (uint256) { return _start; }
}
"""


@pytest.fixture
def project(tmp_path: Path, toolchain: Toolchain) -> Toolchain:
    """A throwaway project root that shares this repository's node_modules."""
    (tmp_path / "node_modules").symlink_to(toolchain.node_modules)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Counter.sol").write_text(COUNTER)
    return Toolchain(root=tmp_path)


def test_the_shim_answers_version_like_native_solc(toolchain: Toolchain) -> None:
    version = solcx.wrapper.get_solc_version(toolchain.shim)
    assert str(version) == toolchain.package_version("solc")


def test_artifacts_carry_abi_code_immutables_and_source_hash(project: Toolchain) -> None:
    artifacts = compile_sources(
        project.root / "contracts", project.root / "out.json", toolchain=project
    )

    counter = artifacts.get("Counter")
    assert counter.source == "contracts/Counter.sol"
    assert {entry["name"] for entry in counter.abi if entry["type"] == "function"} == {
        "count",
        "increment",
        "start",
    }
    assert counter.bytecode
    assert counter.runtime_bytecode
    assert len(counter.immutable_references) == 1
    assert counter.source_hash == artifacts.source_hash
    assert artifacts.compiler.evm_version == "shanghai"


def test_a_second_build_of_unchanged_sources_comes_from_the_cache(
    project: Toolchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = project.root / "out.json"
    first = compile_sources(project.root / "contracts", cache, toolchain=project)

    def no_compiler(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiler ran although nothing changed")

    monkeypatch.setattr(solcx, "compile_standard", no_compiler)
    assert compile_sources(project.root / "contracts", cache, toolchain=project) == first


def test_a_changed_source_or_setting_is_compiled_again(project: Toolchain) -> None:
    cache = project.root / "out.json"
    first = compile_sources(project.root / "contracts", cache, toolchain=project)

    source = project.root / "contracts" / "Counter.sol"
    source.write_text(source.read_text().replace("count += 1", "count += 2"))
    changed = compile_sources(project.root / "contracts", cache, toolchain=project)
    resettled = compile_sources(
        project.root / "contracts",
        cache,
        toolchain=project,
        settings=CompilerSettings(optimizer_runs=200),
    )

    assert changed.source_hash != first.source_hash
    assert changed.get("Counter").runtime_bytecode != first.get("Counter").runtime_bytecode
    assert resettled.source_hash != changed.source_hash
    assert ArtifactSet.model_validate_json(cache.read_text()) == resettled


def test_opcodes_newer_than_shanghai_are_refused(project: Toolchain) -> None:
    (project.root / "contracts" / "Cancun.sol").write_text(
        """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;
contract Cancun {
    function f() external { assembly { tstore(0, 1) } }
}
"""
    )
    with pytest.raises(CompilationError, match="tstore"):
        compile_sources(project.root / "contracts", project.root / "out.json", toolchain=project)


def test_a_syntax_error_is_reported_with_its_location(project: Toolchain) -> None:
    (project.root / "contracts" / "Broken.sol").write_text("pragma solidity 0.8.30; contract {")
    with pytest.raises(CompilationError, match=r"Broken\.sol"):
        compile_sources(project.root / "contracts", project.root / "out.json", toolchain=project)


def test_missing_npm_packages_are_reported(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Counter.sol").write_text(COUNTER)
    with pytest.raises(CompilationError, match="npm ci"):
        compile_sources(
            tmp_path / "contracts", tmp_path / "out.json", toolchain=Toolchain(tmp_path)
        )


def test_every_ledger_contract_fits_the_eip170_code_size_limit(artifacts: ArtifactSet) -> None:
    assert set(artifacts.contracts) == {"ParticipantRegistry", "IPAssetRegistry"}
    for artifact in artifacts.contracts.values():
        assert len(artifact.runtime_bytecode) < EIP170_CODE_SIZE_LIMIT, artifact.name


def test_openzeppelin_is_pinned_at_5_4_0(artifacts: ArtifactSet) -> None:
    assert artifacts.compiler.openzeppelin_version == "5.4.0"


def test_the_shipped_artifacts_are_compiled_from_the_contracts_as_they_are(
    toolchain: Toolchain,
) -> None:
    assert SHIPPED_ARTIFACTS.is_file(), (
        "the contracts are not built: run `ipledger contracts build`"
    )
    shipped = ArtifactSet.model_validate_json(SHIPPED_ARTIFACTS.read_text())
    assert shipped.source_hash == source_hash(toolchain), (
        "contracts/ changed since the artifacts were built: run `ipledger contracts build`"
    )


def test_built_artifacts_are_loaded_without_the_compiler(
    project: Toolchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = project.root / "shipped.json"
    built = build_artifacts(toolchain=project, out=shipped)

    def no_compiler(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading ran the compiler")

    monkeypatch.setattr(solcx, "compile_standard", no_compiler)
    assert load_artifacts(toolchain=project, shipped=shipped) == built


def test_artifacts_older_than_the_contracts_are_refused_with_the_command_that_rebuilds_them(
    project: Toolchain,
) -> None:
    shipped = project.root / "shipped.json"
    build_artifacts(toolchain=project, out=shipped)
    source = project.root / "contracts" / "Counter.sol"
    source.write_text(source.read_text().replace("count += 1", "count += 2"))

    with pytest.raises(ArtifactsUnavailable, match=r"older than.*ipledger contracts build"):
        load_artifacts(toolchain=project, shipped=shipped)


def test_a_checkout_without_built_artifacts_is_told_to_build_them(project: Toolchain) -> None:
    with pytest.raises(ArtifactsUnavailable, match=r"not compiled.*ipledger contracts build"):
        load_artifacts(toolchain=project, shipped=project.root / "missing.json")


def test_an_installation_without_artifacts_or_a_checkout_says_how_to_get_them(
    tmp_path: Path,
) -> None:
    # An installed package: its parent directory holds no contracts/ (site-packages).
    with pytest.raises(ArtifactsUnavailable, match=r"installation has no compiled contracts"):
        load_artifacts(toolchain=Toolchain(tmp_path), shipped=tmp_path / "missing.json")


def test_building_outside_a_checkout_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(CompilationError, match=r"needs a checkout"):
        build_artifacts(toolchain=Toolchain(tmp_path), out=tmp_path / "out.json")


def test_an_unreadable_cache_is_compiled_again(project: Toolchain) -> None:
    cache = project.root / "out.json"
    cache.write_text('{"written by": "an older version"}')

    artifacts = compile_sources(project.root / "contracts", cache, toolchain=project)

    assert ArtifactSet.model_validate_json(cache.read_text()) == artifacts
