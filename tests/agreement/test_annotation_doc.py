"""The worked example of docs/ANNOTATION.md is real output: its code and commands, run again, print it."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

from harlab.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "ANNOTATION.md"


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Agreement and consensus from the command line")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_the_worked_example_prints_what_the_doc_shows(tmp_path, monkeypatch):
    section = _section()
    blocks = re.findall(r"```(python)?\n(.*?)```", section, re.S)
    code = next(b for lang, b in blocks if lang == "python")
    shown = [b for lang, b in blocks if not lang]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})
    assert out.getvalue() == shown[0]
    for block in shown[1:]:
        if not block.startswith("$ harlab "):
            continue
        command, *expected = block.splitlines()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(shlex.split(command)[2:]) == 0
        printed = out.getvalue().splitlines()
        stdout_lines = [line for line in expected if not line.startswith("wrote ")]  # "wrote" goes to stderr
        assert printed == stdout_lines
