"""Bad files give a clear SessionFileError (never a bare h5py/OSError) and are left unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from harlab.core import SessionFileError, UnsupportedVersionError
from harlab.storage import open_session, read_session, save_session, validate_file


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_rejected(path: Path, error: type[Exception], *words: str) -> None:
    before = digest(path)
    for opener in (
        read_session,
        lambda p: open_session(p).close(),
        lambda p: open_session(p, writable=True).close(),
    ):
        with pytest.raises(error) as info:
            opener(path)
        msg = str(info.value)
        assert str(path) in msg
        for w in words:
            assert w in msg, msg
    problems = validate_file(path)
    assert problems and any(all(w in p for w in words) for p in problems), problems
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp, lock or journal left


@pytest.fixture
def good(full_session, tmp_path) -> Path:
    return save_session(full_session, tmp_path / "good.h5")


def edit(path: Path, fn) -> Path:
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def test_not_hdf5(tmp_path):
    p = tmp_path / "notes.h5"
    p.write_text("time,x,y,z\n0,1,2,3\n")
    check_rejected(p, SessionFileError, "not an HDF5 file", "bytes 0-7")


def test_random_bytes_and_empty(tmp_path):
    p = tmp_path / "random.h5"
    p.write_bytes(np.random.default_rng(0).bytes(5000))
    check_rejected(p, SessionFileError, "not an HDF5 file")
    p.unlink()
    e = tmp_path / "empty.h5"
    e.write_bytes(b"")
    check_rejected(e, SessionFileError, "empty")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated(good, keep):
    data = good.read_bytes()
    good.write_bytes(data[: int(len(data) * keep)])
    check_rejected(good, SessionFileError, "truncated")


def test_newer_version(good):
    edit(good, lambda f: f.attrs.__setitem__("format_version", 2))
    check_rejected(good, UnsupportedVersionError, "format version 2", "newer harlab")


def test_not_a_session(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    check_rejected(p, SessionFileError, "not a harlab session file")


@pytest.mark.parametrize(
    "victim",
    [
        "streams/acc/values",
        "streams/hr/time",
        "labels",
        "metadata/devices",
        "predictions/cnn/probabilities",
        "streams/acc/pyramid/1",
    ],
)
def test_missing_dataset(good, victim):
    edit(good, lambda f: f.__delitem__(victim))
    check_rejected(good, SessionFileError, "missing", victim)


def test_timestamps_go_backwards(good):
    def swap(f):
        t = f["streams/acc/time"]
        t[20000] = t[100] - 1.0

    edit(good, swap)
    before = digest(good)
    # opening lazily finds it cheaply if the coarse index shows it; reading the range always does
    with pytest.raises(SessionFileError, match="backwards"):
        read_session(good)
    problems = validate_file(good)
    assert any("time goes backwards at sample" in p for p in problems), problems
    assert digest(good) == before


def test_invalid_segment(good):
    def bad(f):
        t = f["labels/activity"][()]
        t["end"][0] = -5.0
        f["labels/activity"][...] = t

    edit(good, bad)
    check_rejected(good, SessionFileError, "/labels/activity", "before it starts")


def test_pyramid_inconsistent_is_reported(good):
    edit(good, lambda f: f["streams/acc/pyramid/1/hi"].__setitem__((5, 0), 1e9))
    problems = validate_file(good)
    assert any("pyramid level 1 disagrees" in p for p in problems), problems


def test_missing_file(tmp_path):
    with pytest.raises(SessionFileError, match="no such file"):
        read_session(tmp_path / "nope.h5")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_chunk(good):
    with h5py.File(good, "r") as f:
        info = f["streams/acc/values"].id.get_chunk_info(1)
    with open(good, "r+b") as fh:
        fh.seek(info.byte_offset + 10)
        fh.write(b"\xff" * 64)
    before = digest(good)
    with pytest.raises(SessionFileError, match="cannot read /streams/acc"):
        read_session(good)
    # the lazy open works; reading the damaged range fails clearly
    with open_session(good) as sf, pytest.raises(SessionFileError, match="cannot read /streams/acc"):
        sf.session.streams["acc"].read()
    assert any("/streams/acc" in p for p in validate_file(good))
    assert digest(good) == before
