"""The import map of docs/ARCHITECTURE.md, enforced: imports run downward only and nothing circles.

    cli -> doctor -> bench, serve -> runtime -> symbench -> models -> quantize -> engines, sandbox -> ground

Every `import` counts, including the ones inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "csteer"

# part of csteer -> its floor; a part may import only its own floor or lower ones, and never a sibling
# on its own floor
FLOORS: dict[str, int] = {
    "errors": 0,
    "fileio": 0,
    "paths": 0,
    "engines": 1,
    "sandbox": 1,
    "quantize": 2,
    "models": 3,
    "runlog": 3,
    "symbench": 4,
    "runtime": 5,
    "bench": 6,
    "serve": 6,
    "doctor": 7,
    "cli": 8,
    "__main__": 9,
}


def _module_name(path: Path) -> str:
    parts = ["csteer", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, here: str | None = None) -> set[str]:
    """csteer modules named by the file's import statements (relative ones resolved); `here` is the
    file's module name (default: from its place in the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = here or _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from pkg import sub` depends on the submodule when it is one, else on pkg itself
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {name for name in found if name == "csteer" or name.startswith("csteer.")}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {m for m in _imports(path) if m in MODULES and m != name}
    return graph


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_has_a_floor() -> None:
    parts = {_part(m) for m in _graph()} - {None}
    assert parts <= set(FLOORS), f"parts without a floor in FLOORS: {sorted(parts - set(FLOORS))}"


def test_imports_run_downward_only() -> None:
    back = []
    for module, targets in _graph().items():
        source = _part(module)
        for target in targets:
            dest = _part(target)
            if source is None or dest is None or source == dest:
                continue
            if FLOORS[dest] > FLOORS[source] or (FLOORS[dest] == FLOORS[source]):
                back.append(f"{module} -> {target}")
    assert not back, "imports against the map:\n" + "\n".join(sorted(back))


def test_no_import_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []
    circles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize(
    "source, bad",
    [
        ("from csteer.runtime.loop import SteeringLoop\n", "csteer.runtime.loop"),
        ("def f():\n    from csteer.cli import common\n", "csteer.cli.common"),
        ("from ..runtime import loop\n", "csteer.runtime.loop"),
    ],
)
def test_the_reader_sees_top_level_lazy_and_relative_imports(tmp_path: Path, source: str, bad: str) -> None:
    """Negative control: the reader finds what a back edge from csteer.engines would look like."""
    probe = tmp_path / "x.py"
    probe.write_text(source)
    assert bad in _imports(probe, here="csteer.engines.x")
