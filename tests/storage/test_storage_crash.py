"""Real processes: SIGKILL during recording and during saves; the write lock across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from harlab.core import FileLockedError, Segment, Session, Stream
from harlab.storage import has_unrecovered_journal, open_session, read_session, save_session, validate_file
from harlab.storage.lock import lock_holder

RECORDER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from harlab.core import Metadata, Segment
    from harlab.storage import RecordingWriter
    path, report = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(42)
    values = rng.normal(size=(200 * 60, 6)).astype(np.float32)
    w = RecordingWriter(path, Metadata(participant_id="crash"))
    w.add_stream("imu", ["ax", "ay", "az", "gx", "gy", "gz"], "1", 200.0)
    w.add_segment("activity", Segment(0.0, 1.0, "walking", source="recorded"))
    fd = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, b"ready\\n")
    start = time.monotonic()
    sent = 0
    while sent < len(values):
        due = start + (sent + 20) / 200.0  # real time: 20 samples every 0.1 s
        time.sleep(max(0.0, due - time.monotonic()))
        w.append("imu", np.arange(sent, sent + 20) / 200.0, values[sent:sent + 20])
        sent += 20
        os.write(fd, f"{time.monotonic():.6f} {sent}\\n".encode())
""")


@pytest.mark.slow
def test_sigkill_while_recording_loses_at_most_one_second(tmp_path):
    path, report = tmp_path / "live.h5", tmp_path / "sent.txt"
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(path), str(report)])
    try:
        deadline = time.monotonic() + 60
        while not (report.exists() and report.read_text().startswith("ready")):
            assert proc.poll() is None and time.monotonic() < deadline, "recorder did not start"
            time.sleep(0.05)
        time.sleep(3.0)
        assert lock_holder(path) is not None and not has_unrecovered_journal(path)
        kill_time = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [ln.split() for ln in report.read_text().splitlines()[1:] if ln.count(" ") == 1]
    reported = [(float(a), int(b)) for a, b in lines]
    must_have = max([n for ts, n in reported if ts <= kill_time - 1.0], default=0)
    assert must_have >= 200 * 1.5, reported[-3:]
    assert has_unrecovered_journal(path)
    session = read_session(path)  # recovers by itself
    assert not has_unrecovered_journal(path) and validate_file(path) == []
    t, v = session.streams["imu"].read()
    assert must_have <= len(t) <= reported[-1][1] + 20
    expected = np.random.default_rng(42).normal(size=(200 * 60, 6)).astype(np.float32)
    np.testing.assert_array_equal(v, expected[: len(t)])
    np.testing.assert_array_equal(t, np.arange(len(t)) / 200.0)
    assert [s.label for s in session.label_tracks["activity"]] == ["walking"]
    assert session.metadata.participant_id == "crash"


def _version(session: Session, which: str) -> None:
    session.metadata.notes = which
    track = session.label_track("activity")
    track.clear()
    track.add_many([Segment(float(i), float(i) + 0.5, which) for i in range(200 if which == "A" else 300)])


def _saver(path: Path) -> None:
    """Child body: flip the file between versions A and B forever, saving each time."""
    with open_session(path, writable=True) as sf:
        i = 0
        while True:
            _version(sf.session, "B" if i % 2 == 0 else "A")
            sf.save()
            i += 1


@pytest.mark.slow
def test_sigkill_during_saves_leaves_old_or_new(tmp_path):
    rng = np.random.default_rng(5)
    s = Session()
    n = 600_000
    s.add_stream(
        Stream.from_arrays("acc", np.arange(n) / 100.0, rng.normal(size=(n, 6)), list("abcdef"), "1", 100.0)
    )
    _version(s, "A")
    path = save_session(s, tmp_path / "s.h5")
    acc = read_session(path).streams["acc"].read()[1]
    seen = set()
    for trial in range(10):
        pid = os.fork()
        if pid == 0:  # child: a real process that saves until killed
            try:
                _saver(path)
            finally:
                os._exit(1)
        time.sleep(float(rng.uniform(0.05, 0.6)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        back = read_session(path)
        which = back.metadata.notes
        assert which in ("A", "B"), trial
        seen.add(which)
        assert len(back.label_tracks["activity"]) == (200 if which == "A" else 300)
        assert {x.label for x in back.label_tracks["activity"]} == {which}
        np.testing.assert_array_equal(back.streams["acc"].read()[1], acc)
        with open_session(path, writable=True):  # the dead child's lock never blocks
            assert not list(tmp_path.glob("*.tmp"))  # and its half-written temp file is gone
    assert validate_file(path) == []
    assert seen  # both usually appear; at least the file always opened


def test_lock_second_process(tmp_path):
    s = Session()
    s.add_stream(Stream.from_arrays("x", np.arange(10.0), np.arange(10.0), ["x"], "1"))
    path = save_session(s, tmp_path / "l.h5")
    child = textwrap.dedent(f"""
        from harlab.core import FileLockedError
        from harlab.storage import open_session, save_session
        try:
            open_session({str(path)!r}, writable=True)
        except FileLockedError as e:
            print("LOCKED:", e)
        with open_session({str(path)!r}) as sf:
            print("READ", sf.session.streams["x"].n_samples)
        try:
            save_session(sf.session, {str(path)!r})
        except FileLockedError:
            print("SAVE LOCKED")
    """)
    with open_session(path, writable=True) as sf:
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
        assert (
            f"LOCKED: {path} is open for writing by another harlab process (pid {os.getpid()}" in out.stdout
        ), out
        assert "READ 10" in out.stdout and "SAVE LOCKED" in out.stdout, out
        with pytest.raises(FileLockedError):  # also within the same process
            open_session(path, writable=True)
        sf.save()
    # a killed lock holder leaves no lock behind
    pid = os.fork()
    if pid == 0:
        try:
            open_session(path, writable=True)
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    os.waitpid(pid, 0)
    with open_session(path, writable=True) as sf:
        assert sf.writable
