"""SessionWriter: a session streamed block by block is the file a one-go save writes, atomically,
under the write lock, in memory that does not grow with the recording."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from harlab.core import LabelSchema, Session
from harlab.core.errors import FileLockedError, SessionError
from harlab.storage import FileLock, read_session, save_session, validate_file
from harlab.storage.session_writer import SessionWriter
from tests.storage.test_storage_roundtrip import assert_sessions_equal


def _stream_session(session: Session, path: Path, seed: int, block_rows: int) -> Path:
    """Write ``session`` through a SessionWriter, each stream in blocks of random sizes."""
    rng = np.random.default_rng(seed)
    with SessionWriter(
        path, session.metadata, LabelSchema.from_list(session.schema.to_list()), block_rows=block_rows
    ) as w:
        for s in session.streams.values():
            w.add_stream(s.name, s.channels, s.units, s.rate_hz, s.kind, s.device, s.attrs)
        for s in session.streams.values():
            t, v = s.data.read()
            fl = s.data.read_flags()
            i = 0
            while i < len(t):
                n = int(rng.integers(1, 5000))
                w.append(s.name, t[i : i + n], v[i : i + n], fl[i : i + n])
                i += n
            assert w.n_samples(s.name) == len(t)
        for track in session.label_tracks.values():
            w.add_label_track(track)
        for p in session.prediction_tracks.values():
            w.add_prediction_track(p)
    return path


def _datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f["streams"].visititems(
            lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    return out


@pytest.mark.parametrize("block_rows", [1000, 1 << 18])
def test_a_streamed_session_is_the_file_a_one_go_save_writes(
    full_session: Session, tmp_path: Path, block_rows: int
) -> None:
    once = save_session(full_session, tmp_path / "once.h5")
    streamed = _stream_session(full_session, tmp_path / "streamed.h5", 3, block_rows)
    assert validate_file(streamed) == []
    assert_sessions_equal(read_session(once), read_session(streamed))
    a, b = _datasets(once), _datasets(streamed)
    assert sorted(a) == sorted(b)
    assert any("/pyramid/2/" in k for k in a)  # the pyramid spans levels built over many appends
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_failure_while_streaming_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    from harlab.simulate import synthetic_session

    target = tmp_path / "s.h5"
    old = save_session(synthetic_session(5.0), target).read_bytes()
    with (
        pytest.raises(SessionError, match="'acc'.*backwards"),
        SessionWriter(target, synthetic_session(1.0).metadata) as w,
    ):
        w.add_stream("acc", ["x"], "g", 10.0)
        w.append("acc", np.arange(100) / 10.0, np.zeros((100, 1)))
        w.append("acc", np.array([1.0]), np.zeros((1, 1)))
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]
    FileLock(target).acquire().release()  # the failed writer released the lock
    fresh = tmp_path / "new.h5"
    w = SessionWriter(fresh, synthetic_session(1.0).metadata)
    w.add_stream("acc", ["x"], "g", 10.0)
    w.abort()
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["s.h5"]


def test_a_streaming_writer_holds_the_write_lock(tmp_path: Path) -> None:
    from harlab.simulate import synthetic_session

    target = tmp_path / "s.h5"
    with SessionWriter(target, synthetic_session(1.0).metadata):
        with pytest.raises(FileLockedError):
            SessionWriter(target, synthetic_session(1.0).metadata)
        with pytest.raises(FileLockedError):
            save_session(synthetic_session(1.0), target)
    assert validate_file(target) == []


_WRITE_ONE = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from harlab.core import Metadata
    from harlab.storage.session_writer import SessionWriter
    n, block = int(sys.argv[1]), 50_000
    with SessionWriter(sys.argv[2], Metadata(participant_id="rss")) as w:
        w.add_stream("imu", ["ax", "ay", "az", "gx", "gy", "gz"], "1", 100.0)
        for i0 in range(0, n, block):
            m = min(block, n - i0)
            rng = np.random.default_rng(i0)
            w.append("imu", np.arange(i0, i0 + m) / 100.0, rng.normal(size=(m, 6)).astype(np.float32))
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


def _peak_kb(n: int, path: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _WRITE_ONE, str(n), str(path)], check=True, capture_output=True, text=True
    )
    return int(json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"])


def test_peak_memory_does_not_grow_with_the_recording(tmp_path: Path) -> None:
    """Four times the samples (36 MB -> 145 MB of values, time and flags) cost no more
    than a small fraction of the extra data in peak RSS: the writer holds blocks, not the recording."""
    small, large = 1_000_000, 4_000_000
    rss_small = _peak_kb(small, tmp_path / "small.h5")
    rss_large = _peak_kb(large, tmp_path / "large.h5")
    extra_data_kb = (large - small) * (6 * 4 + 8 + 1) / 1024
    assert rss_large - rss_small < 0.15 * extra_data_kb, (rss_small, rss_large, extra_data_kb)
    assert validate_file(tmp_path / "large.h5") == []


def test_a_disk_about_to_fill_ends_the_writing_with_an_error_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HDF5 meets a failed write badly (the process may crash at exit), so the writer stops first."""
    import os

    from harlab.core import Metadata
    from harlab.core.errors import SessionFileError

    real = os.statvfs

    def statvfs(path):  # the disk as it is, but with 70 MiB free: the margin and less than a block
        st = real(path)
        return os.statvfs_result((*st[:4], (70 * 2**20) // st.f_frsize, *st[5:]))

    monkeypatch.setattr(os, "statvfs", statvfs)
    target = tmp_path / "s.h5"
    with pytest.raises(SessionFileError, match="disk is almost full"), SessionWriter(target, Metadata()) as w:
        w.add_stream("imu", ["x", "y", "z"], "g", 100.0)
        for i in range(3):  # blocks of 1 M rows: 21 MB each uncompressed
            w.append("imu", np.arange(i * 10**6, (i + 1) * 10**6) / 100.0, np.zeros((10**6, 3), np.float32))
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
