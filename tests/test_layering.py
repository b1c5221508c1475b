"""The import contract of DESIGN.md's layering table, checked on the source (imports inside functions too).

Layers, lowest first: the core (``egraph_dsl`` without its subpackages below) imports only the standard
library, numpy and egglog; ``rulesets``, ``extract`` and ``backends`` import the core; ``proofs`` imports
the core and ``rulesets``; the façade (``egraph_dsl.facade``) is the one layer that composes them all.
No file imports a file that imports it back, directly or through others.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"egraph_dsl": "egraph_dsl", "rulesets": "egraph_dsl.rulesets", "extract": "egraph_dsl.extract",
           "backends": "egraph_dsl.backends", "proofs": "egraph_dsl.proofs"}
SUBPACKAGES = ("rulesets", "extract", "backends", "proofs", "facade")

# layer -> (layers it may import, third-party top-level modules it may import)
CONTRACT: dict[str, tuple[set[str], set[str]]] = {
    "core": (set(), {"numpy", "egglog"}),
    "rulesets": ({"core"}, {"numpy"}),
    "extract": ({"core"}, {"numpy", "highspy", "ortools", "msgspec"}),
    "backends": ({"core"}, {"numpy", "cupy", "cupyx", "cupy_backends", "dask", "distributed"}),
    "proofs": ({"core", "rulesets"}, {"numpy", "z3", "mpmath", "hypothesis", "pytest", "rich"}),
    "facade": ({"core", "rulesets", "extract", "backends", "proofs"}, {"numpy", "egglog", "rich", "mici", "scipy", "mpmath"}),
}


def modules() -> Iterator[tuple[str, Path]]:
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else "core"


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, as absolute names (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from pkg import submodule`
                yield node.lineno, f"{target}.{alias.name}"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value  # importlib.import_module("name"): an import all the same


KNOWN = dict(modules())


def internal(name: str) -> str | None:
    """The project module ``name`` refers to (its longest known prefix), or None."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in KNOWN:
            return candidate
    return None


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in KNOWN}
    for module, path in KNOWN.items():
        for _, name in imports(module, path):
            target = internal(name)
            if target is not None and target != module and not _is_ancestor_package(target, module):
                edges[module].add(target)
    return edges


def _is_ancestor_package(target: str, module: str) -> bool:
    return module.startswith(target + ".") and KNOWN[target].name == "__init__.py"


def violations() -> list[str]:
    found: list[str] = []
    for module, path in KNOWN.items():
        own = layer(module)
        allowed_layers, allowed_third = CONTRACT[own]
        for lineno, name in imports(module, path):
            where = f"{path.relative_to(ROOT)}:{lineno}"
            top = name.split(".")[0]
            if top in FOLDERS and top != "egraph_dsl":
                found.append(f"{where} imports {name!r}: the installed name is 'egraph_dsl.{name}'")
                continue
            if top == "egraph_dsl":
                target = internal(name)
                if target is None:
                    found.append(f"{where} imports {name!r}, which is not a module of the project")
                elif layer(target) != own and layer(target) not in allowed_layers:
                    found.append(f"{where} ({own}) imports {target} ({layer(target)}): an upward import")
            elif top not in sys.stdlib_module_names and top not in allowed_third and top != "__future__":
                found.append(f"{where} ({own}) imports the third-party module {top!r}")
    return list(dict.fromkeys(found))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_upward_imports() -> None:
    assert violations() == []


# Cycles that stand today, each to be broken (issue 12); the test fails when a new one appears and
# when one listed here is gone, so this list only shrinks.
KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycles_between_files() -> None:
    assert sorted(cycles(graph())) == sorted(KNOWN_CYCLES)


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a core module importing a backend (inside a function) is reported."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from egraph_dsl.backends import numpy_backend\n    import extract\n"
                    "    importlib.import_module('rulesets')\n")
    names = [n for _, n in imports("egraph_dsl.probe", path)]
    assert "egraph_dsl.backends.numpy_backend" in names and "extract" in names and "rulesets" in names
    assert layer(internal("egraph_dsl.backends.numpy_backend") or "") == "backends"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["egraph_dsl", "egraph_dsl.trace", "egraph_dsl.engine.egraph"])
def test_core_modules_are_core(module: str) -> None:
    assert module in KNOWN and layer(module) == "core"
