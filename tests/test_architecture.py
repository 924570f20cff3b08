"""Rules of the package's shape that import-linter cannot state.

* Module names are unique across packages: two ``journal.py`` files make every traceback,
  grep and "go to file" ambiguous, and the name should say which journal it is.
* No import cycles between modules: a cycle means neither module can be understood, tested or
  moved without the other, and function-level imports that hide one only defer the tangle.

That the core never imports Qt, and which layer may import which, is import-linter's job
(pyproject.toml's contracts, run by CI); these tests do not repeat it.
"""

from __future__ import annotations

import ast
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


#: Private names of the standard library harlab has to use, each for a reason no public API serves.
#: Keyed by attribute name, so keep the list short and never add a name harlab itself defines.
STDLIB_PRIVATES = {
    "_SubParsersAction": "argparse: the type of add_subparsers()'s result, as typeshed names it",
    "_actions": "argparse: a parser lists its arguments nowhere public (shared_options reads it once)",
    "_exit": "os._exit: the documented way a forked child ends without running the parent's cleanup",
    "_EndRecData": "zipfile: the end record, to count members before the central directory is parsed",
    "_ECD_ENTRIES_TOTAL": "zipfile: the member count's index in that end record",
}


def private_reach_ins(root: Path = PACKAGE) -> list[str]:
    """``obj._name`` accesses where ``obj`` is not ``self``/``cls``/``super()`` and no class or
    function of the same module defines ``_name``: another package's (or class's) private state,
    which its owner should offer as public API. Dunders are not private."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own: set[str] = set()  # private names this module defines, on self or in a class or module body
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            name = node.attr
            if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
                continue
            obj = node.value
            if isinstance(obj, ast.Name) and obj.id in ("self", "cls"):
                continue
            if isinstance(obj, ast.Call) and isinstance(obj.func, ast.Name) and obj.func.id == "super":
                continue
            if name in own or name in STDLIB_PRIVATES:
                continue
            found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_reach_in_finder_finds_one(tmp_path):
    """The finder itself: a foreign private is found; self, super(), a module's own and a dunder are not."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "class A:\n"
        "    def __init__(self, other):\n"
        "        self._mine = 1\n"
        "        super()._setup()\n"
        "        print(other._mine, other.__class__, other._theirs)\n"
    )
    assert private_reach_ins(pkg) == ["pkg/a.py:5: other._theirs"]


def test_no_private_attributes_reached_into_from_elsewhere():
    found = private_reach_ins()
    assert not found, (
        "private attributes used outside their module (give the owner public API):\n"
        + "\n".join(f"  {f}" for f in found)
    )
