"""Imports run one way: `ledger` <- `wallets` <- `registry_api`; `embedded_chain` stands alone.

Read from the source with `ast` (every import, also those inside functions), so that a lazy
import cannot hide a dependency that the layering forbids.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The one module of the core that may reach the embedded node: its adapter.
EMBEDDED_ADAPTER = Path("ledger/backends/embedded.py")

#: Each package, and the packages it must not import.
FORBIDDEN = {
    "ledger": ("wallets", "registry_api", "embedded_chain"),
    "wallets": ("registry_api",),
    "embedded_chain": ("ledger", "wallets", "registry_api"),
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """The top-level package of every absolute import in `path`, with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.partition(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            found.append((node.lineno, node.module.partition(".")[0]))
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        for line, imported in imported_packages(path):
            if imported not in forbidden:
                continue
            if relative == EMBEDDED_ADAPTER and imported == "embedded_chain":
                continue
            found.append(f"{relative}:{line} imports {imported}")
    return found


@pytest.mark.parametrize(("package", "forbidden"), FORBIDDEN.items())
def test_no_package_imports_a_layer_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    assert (ROOT / package / "__init__.py").exists(), f"{package} is not a package"
    assert violations(package, forbidden) == []


def test_the_adapter_is_the_module_of_the_core_that_imports_the_embedded_node() -> None:
    assert [imported for _, imported in imported_packages(ROOT / EMBEDDED_ADAPTER)].count(
        "embedded_chain"
    ) > 0


def test_relative_imports_are_not_used_where_the_layering_check_would_miss_them() -> None:
    relative = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in FORBIDDEN
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert relative == []
