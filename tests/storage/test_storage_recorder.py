"""RecordingWriter: appends, live segments, close, and recovery from journals torn anywhere."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import numpy as np
import pytest

from harlab.core import (
    FileLockedError,
    LabelClass,
    LabelSchema,
    Metadata,
    Segment,
    SessionError,
    SessionFileError,
)
from harlab.storage import (
    RecordingWriter,
    has_unrecovered_journal,
    open_session,
    read_session,
    recover,
    validate_file,
)
from harlab.storage.recording_writer import working_path
from harlab.storage.sample_journal import recording_journal_path


def meta() -> Metadata:
    return Metadata(participant_id="P1", start_utc=datetime(2024, 1, 1, tzinfo=UTC), extra={"live": "yes"})


def feed(writer: RecordingWriter, n_batches: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ts, vs = [], []
    for b in range(n_batches):
        t = (b * 20 + np.arange(20)) / 200.0
        v = rng.normal(size=(20, 6)).astype(np.float32)
        writer.append("imu", t, v)
        if b % 10 == 0:
            writer.append("hr", np.array([b / 10.0]), np.array([[70.0 + b]]))
        ts.append(t)
        vs.append(v)
    return np.concatenate(ts), np.concatenate(vs)


def test_record_and_close(tmp_path):
    path = tmp_path / "rec.h5"
    rng = np.random.default_rng(0)
    schema = LabelSchema([LabelClass("walking", "#112233", "w")])
    with RecordingWriter(path, meta(), schema) as w:
        w.add_stream(
            "imu", ["ax", "ay", "az", "gx", "gy", "gz"], ["m/s^2"] * 3 + ["rad/s"] * 3, 200.0, "imu", "watch"
        )
        w.add_stream("hr", ["hr"], "bpm", 1.0)
        assert not path.exists() and recording_journal_path(path).exists()
        with pytest.raises(FileLockedError):
            open_session(path, writable=True)
        with pytest.raises(SessionFileError, match="being recorded"):
            open_session(path)
        assert not has_unrecovered_journal(path)
        seg = w.add_segment("activity", Segment(0.0, 5.0, "walking", "live", "recorded"))
        assert seg.id == 1
        w.add_segment("activity", Segment(5.0, 5.0, "jump", source="recorded"))
        t, v = feed(w, 1500, rng)  # 30 000 samples: several pyramid levels
        with pytest.raises(SessionError, match="backwards"):
            w.append("imu", np.array([0.0]), np.zeros((1, 6)))
        with pytest.raises(SessionError, match="channels"):
            w.append("imu", np.array([1e6]), np.zeros((1, 5)))
        with pytest.raises(SessionError, match="exclusive"):
            w.add_segment("activity", Segment(1.0, 2.0, "walking"))
        w.flush()
        assert w.stream_data("imu").n_samples == len(t)
    assert path.exists() and not recording_journal_path(path).exists() and not working_path(path).exists()
    assert validate_file(path) == []
    s = read_session(path)
    tt, vv = s.streams["imu"].read()
    np.testing.assert_array_equal(tt, t)
    np.testing.assert_array_equal(vv, v)
    assert s.streams["imu"].units == ["m/s^2"] * 3 + ["rad/s"] * 3 and s.streams["imu"].rate_hz == 200.0
    assert s.streams["hr"].n_samples == 150
    assert [x.label for x in s.label_tracks["activity"]] == ["walking", "jump"]
    assert s.schema.names == ["walking", "jump"] and s.schema["walking"].hotkey == "w"
    assert s.metadata.extra == {"live": "yes"}


def test_refuses_existing_file(tmp_path):
    path = tmp_path / "r.h5"
    path.write_bytes(b"x")
    with pytest.raises(SessionFileError, match="already exists"):
        RecordingWriter(path, meta())
    assert path.read_bytes() == b"x" and not recording_journal_path(path).exists()


def test_recovery_from_journal_torn_at_any_byte(tmp_path):
    """A journal cut at any offset recovers exactly the records before the cut."""
    path = tmp_path / "rec.h5"
    rng = np.random.default_rng(1)
    w = RecordingWriter(path, meta())
    w.add_stream("imu", ["ax", "ay", "az", "gx", "gy", "gz"], "1", 200.0)
    w.add_stream("hr", ["hr"], "bpm", 1.0)
    w.add_segment("activity", Segment(0.0, 1.0, "walking"))
    t, v = feed(w, 40, rng)
    w.add_segment("activity", Segment(2.0, 3.0, "sitting", confidence=0.25))
    full = recording_journal_path(path).read_bytes()
    w.close()
    cuts = sorted({0, 10, 30, len(full) - 1, len(full), *rng.integers(0, len(full), 12).tolist()})
    prev = -1
    for cut in cuts:
        p = tmp_path / f"cut{cut}.h5"
        recording_journal_path(p).write_bytes(full[:cut])
        working_path(p).write_bytes(b"garbage left by the crash")
        assert has_unrecovered_journal(p)
        out = recover(p)
        assert not recording_journal_path(p).exists() and not working_path(p).exists()
        if out is None:  # cut inside the header record: nothing was recorded yet
            assert cut < 300 and not p.exists()
            continue
        s = read_session(p)
        assert validate_file(p) == []
        n = s.streams["imu"].n_samples if "imu" in s.streams else 0
        assert n % 20 == 0 and n >= prev or cut < prev  # prefixes grow with the cut
        tt, vv = s.streams["imu"].read() if n else (np.zeros(0), np.zeros((0, 6)))
        np.testing.assert_array_equal(tt, t[:n])
        np.testing.assert_array_equal(vv, v[:n])
        prev = n
    assert prev == len(t)
    back = read_session(tmp_path / f"cut{len(full)}.h5")
    assert [(x.label, x.confidence) for x in back.label_tracks["activity"]] == [
        ("walking", None),
        ("sitting", 0.25),
    ]


def test_open_recovers_by_itself(tmp_path):
    path = tmp_path / "rec.h5"
    w = RecordingWriter(path, meta())
    w.add_stream("imu", ["ax", "ay", "az", "gx", "gy", "gz"], "1", 200.0)
    w.add_stream("hr", ["hr"], "bpm", 1.0)
    t, v = feed(w, 10, np.random.default_rng(2))
    shutil.copy(recording_journal_path(path), tmp_path / "saved.journal")
    w.close()
    path.unlink()
    shutil.copy(tmp_path / "saved.journal", recording_journal_path(path))
    with open_session(path) as sf:
        np.testing.assert_array_equal(sf.session.streams["imu"].read()[1], v)
    assert not has_unrecovered_journal(path)
