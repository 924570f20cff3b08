"""A label track's annotator and times: kept by the session file, absent from old files."""

from __future__ import annotations

from datetime import UTC, datetime

import h5py
import pytest

from harlab.core.errors import SessionFileError
from harlab.core.labels import LabelTrack, Segment
from harlab.simulate import synthetic_session
from harlab.storage import read_session, save_session


def test_annotator_and_times_round_trip(tmp_path):
    s = synthetic_session(30, streams=[], segments=[(0, 10, "walking")])
    made = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    t = LabelTrack("ann", annotator="Ann Example", created=made, modified=made)
    t.add(Segment(0, 5, "walking"))
    assert t.modified is not None and t.modified > made  # an edit moves it on; created stays
    assert t.created == made
    s.add_label_track(t)
    back = read_session(save_session(s, tmp_path / "s.h5")).label_tracks["ann"]
    assert (back.annotator, back.created, back.modified) == ("Ann Example", made, t.modified)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        attrs = f["labels/ann"].attrs
        assert attrs["annotator"] == "Ann Example"
        assert attrs["created"] == made.isoformat(timespec="microseconds")


def test_a_file_without_the_attributes_opens_with_unknowns(tmp_path):
    path = save_session(synthetic_session(30, streams=[], segments=[(0, 10, "walking")]), tmp_path / "s.h5")
    with h5py.File(path, "r+") as f:  # as written before tracks had annotators
        for key in ("annotator", "created", "modified"):
            del f["labels/activity"].attrs[key]
    track = read_session(path).label_tracks["activity"]
    assert track.annotator == "" and track.created is None and track.modified is None
    assert [s.label for s in track] == ["walking"]


def test_a_new_track_is_created_and_modified_now():
    before = datetime.now(UTC)
    t = LabelTrack("x")
    assert t.annotator == "" and t.created is not None and before <= t.created == t.modified


def test_damaged_track_attributes_are_refused_naming_the_track(tmp_path):
    path = save_session(synthetic_session(30, streams=[], segments=[(0, 10, "walking")]), tmp_path / "s.h5")
    with h5py.File(path, "r+") as f:
        f["labels/activity"].attrs["created"] = "yesterday"
    with pytest.raises(SessionFileError, match="/labels/activity"):
        read_session(path)
    with h5py.File(path, "r+") as f:
        f["labels/activity"].attrs["created"] = ""
        f["labels/activity"].attrs["annotator"] = "x" * 100_000
    with pytest.raises(SessionFileError, match="/labels/activity.*annotator"):
        read_session(path)
