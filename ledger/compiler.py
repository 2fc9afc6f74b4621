"""The only caller of the Solidity compiler: solc-js through py-solc-x, with an artifact cache."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import solcx

from ledger.artifacts import ArtifactSet, CompilerInfo, ContractArtifact

_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]


class CompilationError(Exception):
    """The compiler refused the sources or could not be run."""


@dataclass(frozen=True)
class CompilerSettings:
    """Settings that change the bytecode; all of them are part of the cache key."""

    #: Newest EVM that Besu supports on QBFT; anvil runs with the same hardfork in tests.
    evm_version: str = "shanghai"
    optimizer_runs: int = 10_000
    #: The IR pipeline: no stack-too-deep on wide events, and smaller code.
    via_ir: bool = True


@dataclass(frozen=True)
class Toolchain:
    """Where the npm-installed compiler and libraries are."""

    root: Path

    @classmethod
    def discover(cls) -> Toolchain:
        """The repository this package is installed from (editable install, as `make` does)."""
        return cls(root=Path(__file__).resolve().parent.parent)

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    @property
    def shim(self) -> Path:
        return Path(__file__).resolve().parent / "solc_shim.js"

    def package_version(self, package: str) -> str:
        manifest = self.node_modules / package / "package.json"
        if not manifest.is_file():
            raise CompilationError(
                f"{package} is not installed in {self.node_modules}: run `npm ci` (or `make setup`)"
            )
        return str(json.loads(manifest.read_text())["version"])


def compile_sources(
    source_dir: Path,
    cache_path: Path,
    *,
    toolchain: Toolchain | None = None,
    settings: CompilerSettings | None = None,
    force: bool = False,
) -> ArtifactSet:
    """Compile every contract under `source_dir`, or load them from `cache_path` if unchanged."""
    toolchain = toolchain or Toolchain.discover()
    settings = settings or CompilerSettings()
    info = CompilerInfo(
        solc_version=toolchain.package_version("solc"),
        openzeppelin_version=toolchain.package_version("@openzeppelin/contracts"),
        evm_version=settings.evm_version,
        optimizer_runs=settings.optimizer_runs,
        via_ir=settings.via_ir,
    )
    sources = _read_sources(source_dir, toolchain.root)
    compiler_input = _standard_input(sources, settings)
    source_hash = _hash_input(compiler_input, info)

    if not force and cache_path.is_file():
        cached = ArtifactSet.model_validate_json(cache_path.read_text())
        if cached.source_hash == source_hash:
            return cached

    output = _run_compiler(compiler_input, toolchain)
    artifacts = ArtifactSet(
        compiler=info,
        source_hash=source_hash,
        contracts=_deployable(output, set(sources), source_hash),
    )
    _write_atomically(cache_path, artifacts.model_dump_json())
    return artifacts


@dataclass(frozen=True)
class ContractDocs:
    """A contract's or interface's ABI and NatSpec, as the compiler reads them."""

    source: str
    name: str
    abi: tuple[dict[str, object], ...]
    #: solc's `userdoc` (the `@notice`s) and `devdoc` (`@dev`, `@param`, `@return`).
    userdoc: dict[str, object]
    devdoc: dict[str, object]


def read_natspec(source_dir: Path, *, toolchain: Toolchain | None = None) -> list[ContractDocs]:
    """The NatSpec of every contract and interface under `source_dir` (no code is generated)."""
    toolchain = toolchain or Toolchain.discover()
    sources = _read_sources(source_dir, toolchain.root)
    output = _run_compiler(
        _standard_input(sources, CompilerSettings(), outputs=["abi", "userdoc", "devdoc"]),
        toolchain,
    )
    by_source = cast(dict[str, dict[str, dict[str, object]]], output["contracts"])
    return [
        ContractDocs(
            source=source,
            name=name,
            abi=tuple(cast(list[dict[str, object]], unit["abi"])),
            userdoc=cast(dict[str, object], unit["userdoc"]),
            devdoc=cast(dict[str, object], unit["devdoc"]),
        )
        for source, units in by_source.items()
        if source in sources
        for name, unit in units.items()
    ]


def _read_sources(source_dir: Path, root: Path) -> dict[str, str]:
    files = sorted(source_dir.resolve().rglob("*.sol"))
    if not files:
        raise CompilationError(f"no Solidity sources under {source_dir}")
    return {path.relative_to(root).as_posix(): path.read_text() for path in files}


def _standard_input(
    sources: dict[str, str], settings: CompilerSettings, outputs: list[str] = _OUTPUTS
) -> dict[str, object]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": settings.evm_version,
            "viaIR": settings.via_ir,
            "optimizer": {"enabled": True, "runs": settings.optimizer_runs},
            "outputSelection": {"*": {"*": outputs}},
        },
    }


def _hash_input(compiler_input: dict[str, object], info: CompilerInfo) -> str:
    # Imported library sources are pinned by their package version, which is in `info`.
    digest = hashlib.sha256()
    digest.update(json.dumps(compiler_input, sort_keys=True).encode())
    digest.update(info.model_dump_json().encode())
    return digest.hexdigest()


def _run_compiler(compiler_input: dict[str, object], toolchain: Toolchain) -> dict[str, object]:
    try:
        output = solcx.compile_standard(
            compiler_input,
            base_path=str(toolchain.root),
            allow_paths=[str(toolchain.node_modules)],
            solc_binary=str(toolchain.shim),
        )
    except solcx.exceptions.SolcError as exc:
        message = str(exc).split("> command:")[0].strip()
        raise CompilationError(message) from None
    except OSError as exc:  # node missing, shim not executable
        raise CompilationError(f"cannot run the compiler shim {toolchain.shim}: {exc}") from exc
    return cast(dict[str, object], output)


def _deployable(
    output: dict[str, object], own_sources: set[str], source_hash: str
) -> dict[str, ContractArtifact]:
    contracts: dict[str, ContractArtifact] = {}
    by_source = cast(dict[str, dict[str, dict[str, object]]], output["contracts"])
    for source, units in by_source.items():
        if source not in own_sources:
            continue
        for name, unit in units.items():
            evm = cast(dict[str, dict[str, object]], unit["evm"])
            bytecode = cast(str, evm["bytecode"]["object"])
            if not bytecode:  # interfaces and abstract contracts
                continue
            deployed = evm["deployedBytecode"]
            references = cast(dict[str, list[dict[str, int]]], deployed["immutableReferences"])
            contracts[name] = ContractArtifact(
                name=name,
                source=source,
                abi_json=tuple(cast(list[dict[str, object]], unit["abi"])),  # type: ignore[arg-type]
                bytecode_hex=bytecode,
                runtime_bytecode_hex=cast(str, deployed["object"]),
                immutable_references=tuple(
                    sorted(
                        (ref["start"], ref["length"])
                        for refs in references.values()
                        for ref in refs
                    )
                ),
                source_hash=source_hash,
            )
    return contracts


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
