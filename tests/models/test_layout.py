"""csteer.models.store re-exports the store's API for callers outside the package; nothing inside uses it."""

from __future__ import annotations

import ast
from pathlib import Path

import csteer.models

PACKAGE = Path(csteer.models.__file__).parent


def _imports(file: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_the_package_imports_the_store_facade() -> None:
    users = [f.name for f in sorted(PACKAGE.glob("*.py")) if "csteer.models.store" in _imports(f)]
    assert users == []


def test_the_facade_names_what_the_cli_and_doctor_use() -> None:
    from csteer.models import store

    for name in (
        "list_models",
        "get",
        "lookup",
        "import_model",
        "verify",
        "remove",
        "health",
        "registry_path",
    ):
        assert callable(getattr(store, name)), name
