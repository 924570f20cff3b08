"""Words for people: no message says "edit(s)"; counts go through :func:`harlab.core.wording.counted`.

The check reads every string literal in the package (f-strings included), so a new message with
a hedged plural fails here rather than in front of a user. "Start (s)" is a unit (seconds), not a
plural: only a letter directly before "(s)" counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import harlab
from harlab.core.wording import counted

HEDGED_PLURAL = re.compile(r"[A-Za-z]\(s\)")


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant with its line, the pieces of f-strings included."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
    return out


def _docstrings(tree: ast.AST) -> set[int]:
    """Lines of docstrings (prose for developers, where "(s)" hurts nobody)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                lines.add(first.value.lineno)
    return lines


def test_no_message_hedges_its_plural() -> None:
    root = Path(harlab.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for line, text in _literals(tree):
            if line not in skip and HEDGED_PLURAL.search(text):
                found.append(f"{path.relative_to(root)}:{line}: {text.strip()[:80]!r}")
    assert not found, "use harlab.core.wording.counted:\n" + "\n".join(found)


def test_counted_says_one_and_many() -> None:
    assert counted(1, "pair") == "1 pair"
    assert counted(0, "pair") == "0 pairs"
    assert counted(2, "box", "boxes") == "2 boxes"
