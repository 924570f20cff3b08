"""The one atomic write: the target is replaced whole or not at all, and no temporary file is left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harlab.core import files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_write_replaces_the_target_and_keeps_the_umask_mode(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    files.atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []
    assert target.stat().st_mode & 0o777 == files.default_file_mode()


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, exc):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def write(tmp: Path) -> None:
        tmp.write_text("half")
        raise exc

    with pytest.raises(type(exc)):
        files.atomic_write(target, write)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_open_writes_text_and_cleans_up_on_error(tmp_path):
    target = tmp_path / "record.json"
    with files.atomic_open(target) as f:
        f.write("{}\n")
    assert target.read_text(encoding="utf-8") == "{}\n"
    with pytest.raises(ValueError), files.atomic_open(target, "wb") as f:
        f.write(b"partial")
        raise ValueError("stop")
    assert target.read_text(encoding="utf-8") == "{}\n"
    assert _leftovers(tmp_path) == []


def test_the_temporary_file_sits_beside_the_target_with_the_given_suffix(tmp_path):
    seen: list[Path] = []
    files.atomic_write(
        tmp_path / "s.h5", lambda tmp: seen.append(tmp) or tmp.write_bytes(b"x"), suffix=".h5.tmp"
    )
    assert (
        seen[0].parent == tmp_path and seen[0].name.startswith(".s.h5.") and seen[0].name.endswith(".h5.tmp")
    )
    assert not os.path.exists(seen[0])


def test_atomic_open_refuses_append_mode(tmp_path):
    with pytest.raises(ValueError, match="new file"), files.atomic_open(tmp_path / "x", "a"):
        pass
