"""The wheel: what it ships, what it leaves out, and that it runs outside a checkout.

Dependencies are pinned once in pyproject.toml and agree with constraints.txt; each is imported
by the shipped packages (or named below with the reason it is needed without an import).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections import Counter
from importlib.metadata import packages_distributions
from pathlib import Path

import httpx
import pytest

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import free_port

ROOT = Path(__file__).resolve().parent.parent
#: Needed at run time although no shipped module imports them.
IMPORTED_BY_OTHERS = {
    "python-multipart": "FastAPI parses the bulk import's multipart upload with it",
}
#: Copied to build the wheel from: the checkout less what a build never reads.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "build",
    "data",
    "deployments",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)
START_SECONDS = 120
PASSWORD = "a password for the test wallet"


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as `psycopg[binary]==3.3.9`."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    return {_name(line): line.split("==", 1)[1].strip() for line in requirements if "==" in line}


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]  # type: ignore[no-any-return]


def _shipped_packages() -> list[str]:
    """The packages the wheel ships, as pyproject's `packages.find` names them."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return [str(pattern).rstrip("*") for pattern in include]


def _runtime() -> list[str]:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    return [str(line) for line in dependencies]


def _dev() -> list[str]:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return [str(line) for line in extras["dev"]]


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for package in _shipped_packages():
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(alias.name.partition(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.partition(".")[0])
    return names


def test_every_runtime_dependency_is_listed_once() -> None:
    twice = [name for name, count in Counter(map(_name, _runtime())).items() if count > 1]
    assert twice == []


def test_every_runtime_dependency_is_imported_by_the_shipped_packages() -> None:
    providers = packages_distributions()
    imported = {
        _name(distribution)
        for module in _imported_top_levels()
        for distribution in providers.get(module, [])
    }
    unused = {_name(line) for line in _runtime()} - imported - set(IMPORTED_BY_OTHERS)
    assert unused == set(), "listed in pyproject.toml but imported by no shipped module"


def test_every_pin_in_pyproject_agrees_with_constraints() -> None:
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    pinned = _pins(_runtime() + _dev())
    assert {name: (pin, constraints.get(name)) for name, pin in pinned.items()} == {
        name: (pin, pin) for name, pin in pinned.items()
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, artifacts: ArtifactSet) -> Path:
    """The wheel built from a copy of the checkout (with the artifacts `artifacts` checked)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES, symlinks=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("ip_rights_ledger-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_ships_the_artifacts_and_migrations_and_no_benchmarks_or_tests(
    wheel: Path, artifacts: ArtifactSet
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = ArtifactSet.model_validate_json(archive.read("ledger/artifacts.json"))

    assert shipped.source_hash == artifacts.source_hash
    migrations = sorted(
        Path(name).name for name in names if name.startswith("registry_api/db/migrations/")
    )
    assert {"env.py", "0001_mirror.py", "0002_service.py", "0003_sign_in_purge.py"} <= set(
        migrations
    )
    tops = {name.partition("/")[0] for name in names}
    assert not {top for top in tops if top.startswith(("bench", "tests", "contracts"))}


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel; the dependencies come from this one's."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    # Reuse the installed dependencies without the network. A path in a .pth file is only
    # appended to sys.path, so the checkout's editable install (a .pth of its own) stays out.
    (site / "dependencies.pth").write_text(
        "\n".join(path for path in sys.path if path.endswith("site-packages")) + "\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return venv


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty working directory and an environment that knows nothing of this checkout."""
    cwd = tmp_path / "empty"
    cwd.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("IPLEDGER_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(tmp_path / "home")
    return cwd, env


def _run(
    venv: Path, cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "ipledger"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_installed_wheel_runs_from_its_own_files(
    installed: Path, outside: tuple[Path, dict[str, str]]
) -> None:
    cwd, env = outside
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import ledger; print(ledger.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed)

    assert _run(installed, cwd, env, "--help").returncode == 0

    env["IPLEDGER_KEY_PASSWORD"] = PASSWORD
    created = _run(installed, cwd, env, "wallet", "new", "acme")
    assert created.returncode == 0, created.stderr
    assert "address: 0x" in created.stdout

    build = _run(installed, cwd, env, "contracts", "build")
    assert build.returncode == 1
    assert "needs a checkout" in " ".join(build.stderr.split())


@pytest.mark.slow
def test_the_installed_wheel_serves_the_registry_on_the_embedded_chain(
    installed: Path, outside: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    cwd, env = outside
    port = free_port()
    env |= {"IPLEDGER_DATA_DIR": str(tmp_path / "data"), "IPLEDGER_PORT": str(port)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        service = subprocess.Popen(
            [str(installed / "bin" / "ipledger"), "serve"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        answered = False
        while not answered and time.monotonic() < deadline:
            assert service.poll() is None, log.read_text()
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)  # polling a port that is not open yet: nothing to wait on
        assert answered, f"no answer on /v1/health in {START_SECONDS}s:\n{log.read_text()}"
    finally:
        service.terminate()
        service.wait(timeout=30)
    assert not list(cwd.iterdir()), "serve wrote into the working directory"
