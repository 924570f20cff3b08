"""A save's temporary file: where it is, what it is called, and that nothing of a failed or killed save stays."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from harlab.core import Session, Stream
from harlab.core.errors import SessionFileError
from harlab.storage import read_session, save_session
from harlab.storage.codec import save_h5, write_session


def _session() -> Session:
    s = Session()
    s.add_stream(
        Stream.from_arrays("acc", np.arange(10) / 10.0, np.ones((10, 1)), ["x"], ["g"], rate_hz=10.0)
    )
    return s


def test_a_save_writes_beside_the_target_under_the_name_stale_temps_are_cleaned_by(tmp_path: Path) -> None:
    target = tmp_path / "rec.h5"
    seen: list[str] = []

    def fill(f: h5py.File) -> None:
        seen.extend(p.name for p in tmp_path.iterdir())
        write_session(f, _session())

    save_h5(target, fill)
    (tmp_name,) = seen
    assert tmp_name.startswith(".rec.h5.") and tmp_name.endswith(".h5.tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["rec.h5"]
    # a save killed before its rename leaves that name; the next save under the lock removes it
    (tmp_path / tmp_name).write_bytes(b"torn")
    save_session(_session(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.h5"]
    assert read_session(target).streams["acc"].n_samples == 10


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "rec.h5"
    save_session(_session(), target)
    before = target.read_bytes()

    def fill(f: h5py.File) -> None:
        write_session(f, _session())
        raise OSError(28, "No space left on device")

    with pytest.raises(SessionFileError, match="could not save: No space left on device"):
        save_h5(target, fill)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rec.h5"]
    with pytest.raises(SessionFileError, match="does not exist"):
        save_h5(tmp_path / "missing" / "x.h5", fill)
