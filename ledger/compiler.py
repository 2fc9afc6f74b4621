"""The only caller of the Solidity compiler: solc-js through py-solc-x, with an artifact cache.

Compiling is a developer's step (`ipledger contracts build`, run by `make build`): it writes the
artifacts into the package, which ships them. Everything else loads them (`load_artifacts`) and
needs neither node nor solc; in a checkout it refuses artifacts older than `contracts/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydantic import ValidationError

from ledger.artifacts import SHIPPED_ARTIFACTS, ArtifactSet, CompilerInfo, ContractArtifact

_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]


class CompilationError(Exception):
    """The compiler refused the sources or could not be run."""


class ArtifactsUnavailable(CompilationError):
    """No compiled contracts to load, or older ones than the sources beside them."""


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
        """The repository this package runs from (editable install, as `make` does).

        Installed from a wheel, the root is site-packages, which is no checkout.
        """
        return cls(root=Path(__file__).resolve().parent.parent)

    @property
    def contracts(self) -> Path:
        return self.root / "contracts"

    @property
    def is_checkout(self) -> bool:
        """Whether the contracts' sources are here to build from and check against."""
        return self.contracts.is_dir() and any(self.contracts.rglob("*.sol"))

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
    job = _Job.of(source_dir, toolchain, settings or CompilerSettings())

    if not force:
        cached = _read_artifacts(cache_path)
        if cached is not None and cached.source_hash == job.source_hash:
            return cached

    output = _run_compiler(job.compiler_input, toolchain)
    artifacts = ArtifactSet(
        compiler=job.info,
        source_hash=job.source_hash,
        contracts=_deployable(output, set(job.sources), job.source_hash),
    )
    _write_atomically(cache_path, artifacts.model_dump_json())
    return artifacts


def build_artifacts(
    *,
    toolchain: Toolchain | None = None,
    settings: CompilerSettings | None = None,
    force: bool = False,
    out: Path = SHIPPED_ARTIFACTS,
) -> ArtifactSet:
    """Compile the checkout's `contracts/` into the artifacts the package ships."""
    toolchain = toolchain or Toolchain.discover()
    if not toolchain.is_checkout:
        raise CompilationError(
            f"building the contracts needs a checkout of the repository (contracts/ and "
            f"node_modules/), and {toolchain.root} is none: an installed package ships them built"
        )
    return compile_sources(
        toolchain.contracts, out, toolchain=toolchain, settings=settings, force=force
    )


def load_artifacts(
    *,
    toolchain: Toolchain | None = None,
    settings: CompilerSettings | None = None,
    shipped: Path = SHIPPED_ARTIFACTS,
) -> ArtifactSet:
    """The shipped artifacts, not compiled; in a checkout, only if `contracts/` is unchanged."""
    toolchain = toolchain or Toolchain.discover()
    rebuild = "run `ipledger contracts build` (or `make build`)"
    artifacts = _read_artifacts(shipped)
    if artifacts is None:
        if toolchain.is_checkout:
            raise ArtifactsUnavailable(f"the contracts are not compiled ({shipped}): {rebuild}")
        raise ArtifactsUnavailable(
            f"this installation has no compiled contracts ({shipped}): reinstall "
            "ip-rights-ledger from a wheel built after `ipledger contracts build`, or run it "
            "from a checkout of the repository"
        )
    # Deploying stale code from a checkout would put on chain what its sources no longer say.
    if toolchain.is_checkout and artifacts.source_hash != source_hash(toolchain, settings):
        raise ArtifactsUnavailable(
            f"the compiled contracts in {shipped} are older than the sources in "
            f"{toolchain.contracts}: {rebuild}"
        )
    return artifacts


def source_hash(toolchain: Toolchain, settings: CompilerSettings | None = None) -> str:
    """The hash the checkout's contracts would be compiled under, without compiling them."""
    return _Job.of(toolchain.contracts, toolchain, settings or CompilerSettings()).source_hash


@dataclass(frozen=True)
class _Job:
    """One compilation's input and its cache key."""

    info: CompilerInfo
    sources: dict[str, str]
    compiler_input: dict[str, object]
    source_hash: str

    @classmethod
    def of(cls, source_dir: Path, toolchain: Toolchain, settings: CompilerSettings) -> _Job:
        info = CompilerInfo(
            solc_version=toolchain.package_version("solc"),
            openzeppelin_version=toolchain.package_version("@openzeppelin/contracts"),
            evm_version=settings.evm_version,
            optimizer_runs=settings.optimizer_runs,
            via_ir=settings.via_ir,
        )
        sources = _read_sources(source_dir, toolchain.root)
        compiler_input = _standard_input(sources, settings)
        return cls(info, sources, compiler_input, _hash_input(compiler_input, info))


def _read_artifacts(path: Path) -> ArtifactSet | None:
    """The artifacts at `path`, or none if missing or written in another shape."""
    try:
        return ArtifactSet.model_validate_json(path.read_text())
    except FileNotFoundError:
        return None
    except ValidationError:  # written by an older version of this model: build again
        return None


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
    # Imported here: loading the shipped artifacts must not pay for the compiler's driver
    # (~0.12 s, it brings `requests`), and an installed package never compiles.
    import solcx

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
