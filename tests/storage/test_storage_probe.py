"""The child-process probe of untrusted session files (harlab.storage.probe)."""

from __future__ import annotations

import h5py
import pytest

from harlab.core.errors import SessionFileError
from harlab.simulate import make_demo_session
from harlab.storage import open_session, probe, save_session, validate_file


@pytest.fixture
def saved(tmp_path):
    return save_session(make_demo_session(1.0, seed=3), tmp_path / "s.h5")


def test_a_file_harlab_saved_is_trusted_and_opens_without_a_child(saved):
    assert probe.is_trusted(saved)
    with open_session(saved) as sf:
        assert "accel" in sf.session.streams


def test_a_file_changed_outside_harlab_is_probed_once_then_trusted(saved):
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "edited by another program"
    assert not probe.is_trusted(saved)
    with open_session(saved) as sf:
        assert sf.session.metadata.notes == "edited by another program"
    assert probe.is_trusted(saved)
    assert validate_file(saved) == []


def test_a_refused_file_is_not_trusted(saved):
    saved.write_bytes(saved.read_bytes()[:5000])
    with pytest.raises(SessionFileError):
        open_session(saved)
    assert not probe.is_trusted(saved)


def test_a_child_that_does_not_finish_in_time_refuses_the_file(saved, monkeypatch):
    """Starting Python alone takes longer than this limit, so the child is always killed before
    its walk starts, and the message says so rather than blaming the file."""
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "not written by harlab"
    monkeypatch.setattr(probe, "PROBE_TIMEOUT_S", 0.001)
    with pytest.raises(SessionFileError, match="metadata in a child process did not start within") as exc:
        open_session(saved)
    assert exc.value.path == saved
    assert not probe.is_trusted(saved)


def test_a_finished_recording_is_trusted(tmp_path):
    from harlab.core import Metadata
    from harlab.storage import RecordingWriter

    path = tmp_path / "rec.h5"
    with RecordingWriter(path, Metadata(session_id="r1")):
        pass
    assert probe.is_trusted(path)


def test_a_child_started_ahead_probes_the_next_file(saved):
    """prestart's child does its imports before any file is asked for, then probes the next
    untrusted file handed to it (and only that one)."""
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "from another computer"
    probe.prestart()
    try:
        assert probe.wait_for_spare(120.0)  # its imports are done: it waits for a path
        probe.probe_metadata(saved)
        assert probe.is_trusted(saved)
        assert not probe.wait_for_spare(0.0)  # used up: each child probes one file
    finally:
        probe.discard_spare()
    with open_session(saved) as sf:
        assert sf.session.metadata.notes == "from another computer"


def test_a_child_started_ahead_that_died_is_replaced(saved):
    import os
    import signal

    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "edited elsewhere"
    probe.prestart()
    try:
        assert probe.wait_for_spare(120.0)
        os.kill(probe.spare_pid(), signal.SIGKILL)
        probe.probe_metadata(saved)  # a fresh child probes it instead
        assert probe.is_trusted(saved)
    finally:
        probe.discard_spare()


def test_a_child_started_ahead_still_refuses_a_damaged_file(saved):
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "not written by harlab"
    data = bytearray(saved.read_bytes())
    at = data.find(b"GCOL")
    assert at > 0  # the file holds a global heap (its strings)
    data[at + 8 : at + 16] = (len(data) * 2).to_bytes(8, "little")  # a collection past the end
    saved.write_bytes(bytes(data))
    probe.prestart()
    try:
        with pytest.raises(SessionFileError, match="global heap"):
            probe.probe_metadata(saved)
        assert not probe.is_trusted(saved)
    finally:
        probe.discard_spare()


def test_a_child_started_early_gives_the_verdict_of_the_open(saved):
    """start_probe (``harlab FILE``, before Qt) scans and walks the file in its child; the open
    then only collects that verdict."""
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "from a colleague"
    probe.start_probe(saved)
    try:
        assert len(probe.early_pids()) == 1
        probe.probe_metadata(saved)
        assert probe.is_trusted(saved)
        assert probe.early_pids() == []
    finally:
        probe.discard_spare()


def test_a_file_changed_after_its_early_child_started_is_probed_again(saved):
    """The early child probed bytes that are no longer the file's: its verdict is not used (the
    damaged file is refused by the probe made at the open)."""
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "first version"
    probe.start_probe(saved)
    try:
        data = bytearray(saved.read_bytes())
        at = data.find(b"GCOL")
        data[at + 8 : at + 16] = (len(data) * 2).to_bytes(8, "little")
        saved.write_bytes(bytes(data))
        with pytest.raises(SessionFileError, match="global heap"):
            probe.probe_metadata(saved)
        assert probe.early_pids() == []  # the stale child was ended
        assert not probe.is_trusted(saved)
    finally:
        probe.discard_spare()


def test_an_early_child_that_was_killed_leaves_the_probe_to_the_open(saved):
    import os
    import signal

    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "from a colleague"
    probe.start_probe(saved)
    try:
        os.kill(probe.early_pids()[0], signal.SIGKILL)
        probe.probe_metadata(saved)  # a fresh probe instead of a crash report
        assert probe.is_trusted(saved)
    finally:
        probe.discard_spare()


def test_no_spare_child_starts_while_an_early_child_waits_for_its_open(saved):
    """``harlab FILE``: the window's start asks for a spare child, but the next probe is the early
    child's file; a spare then would be a third process on two cores beside Qt's start. It starts
    after that open instead."""
    with h5py.File(saved, "r+") as f:
        f["metadata"].attrs["notes"] = "from a colleague"
    probe.discard_spare()
    probe.start_probe(saved)
    try:
        probe.prestart()
        assert probe.spare_pid() is None
        probe.probe_metadata(saved)
        probe.prestart()
        assert probe.spare_pid() is not None
    finally:
        probe.discard_spare()
