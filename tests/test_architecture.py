"""Rules of the package's shape that import-linter cannot state.

* Module names are unique across packages: two ``journal.py`` files make every traceback,
  grep and "go to file" ambiguous, and the name should say which journal it is.
* No import cycles between modules: a cycle means neither module can be understood, tested or
  moved without the other, and function-level imports that hide one only defer the tangle.

That the core never imports Qt, and which layer may import which, is import-linter's job
(pyproject.toml's contracts, run by CI); these tests do not repeat it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[1] / "harlab"
#: Names every package may have: they name a role, not a module.
SHARED_NAMES = {"__init__", "__main__"}


def shared_module_names() -> dict[str, list[str]]:
    """File names (without ``.py``) used by more than one module, with the modules' paths."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.stem not in SHARED_NAMES:
            where[path.stem].append(str(path.relative_to(PACKAGE.parent)))
    return {name: paths for name, paths in where.items() if len(paths) > 1}


def import_cycles(package: str = "harlab") -> list[list[str]]:
    """The strongly connected components (size > 1) of the module import graph, each sorted.

    Every import counts, including those inside functions: grimp reads them all.
    """
    graph = grimp.build_graph(package, cache_dir=None)  # no cache folder left in the checkout
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.find_modules_directly_imported_by(v)):
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
                cycles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(modules) + 100))
    try:
        for m in modules:
            if m not in index:
                visit(m)
    finally:
        sys.setrecursionlimit(limit)
    return cycles


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    """The finder itself, on a throwaway package with one cycle and one clean import."""
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyclepkg import a\n")
    (pkg / "c.py").write_text("from cyclepkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclepkg") == [["cyclepkg.a", "cyclepkg.b"]]


def test_module_names_are_unique_across_packages():
    shared = shared_module_names()
    assert not shared, "modules sharing a name:\n" + "\n".join(
        f"  {name}: {', '.join(paths)}" for name, paths in sorted(shared.items())
    )


def test_no_import_cycles_between_modules():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(f"  {' <-> '.join(c)}" for c in cycles)
