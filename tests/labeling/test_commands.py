"""Each edit command: its effect, and that undo/redo restore exact states (ids, timestamps)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.core import LabelTrack, PredictionTrack, SessionError
from harlab.labeling.commands import (
    AddLabelTrack,
    AddSegment,
    ChangeClass,
    Composite,
    LabelRange,
    MergeSegments,
    ModifySegment,
    MoveSegment,
    RemoveSegments,
    SplitSegment,
    accept_predictions,
    command_from_dict,
    edge_limits,
)
from harlab.labeling.history import EditHistory
from tests.labeling.labeling_helpers import exclusive_ok, seg, snapshot


def spans(track: LabelTrack) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in track]


def roundtrip(session, cmd):
    """Do, check undo restores the start exactly, redo restores the result exactly."""
    before = snapshot(session)
    h = EditHistory(session)
    h.push(cmd)
    after = snapshot(session)
    assert after != before
    h.undo()
    assert snapshot(session) == before
    h.redo()
    assert snapshot(session) == after
    for t in session.label_tracks.values():
        if t.policy == "exclusive":
            assert exclusive_ok(t)
    return h


def test_add_segment_and_overlap_refused(session):
    tr = session.label_tracks["activity"]
    roundtrip(session, AddSegment("activity", seg(20, 25, "run")))
    assert (20, 25, "run") in spans(tr)
    assert "run" in session.schema  # new label joins the schema, as part of the edit
    before = snapshot(session)
    with pytest.raises(SessionError, match="exclusive"):
        EditHistory(session).push(AddSegment(tr, seg(5, 12, "run")))
    assert snapshot(session) == before


def test_label_range_trims_removes_and_splits(session):
    tr = session.label_tracks["activity"]
    roundtrip(session, LabelRange("activity", 5, 35, "run"))
    assert spans(tr) == [(0, 5, "walk"), (5, 35, "run"), (35, 40, "walk")]
    # a range strictly inside one segment splits it in two around the new one
    h = EditHistory(session)
    h.push(LabelRange("activity", 1, 2, "sit"))
    assert spans(tr)[:3] == [(0, 1, "walk"), (1, 2, "sit"), (2, 5, "walk")]
    left, right = tr.at(0.5)[0], tr.at(3)[0]
    assert left.id == 1 and right.id != 1 and right.created == left.created


def test_label_range_keeps_events_and_allows_overlap_on_overlapping_track(session):
    h = EditHistory(session)
    h.push(AddSegment("events", seg(3, 3, "tap")))
    h.push(LabelRange("events", 0, 10, "walk"))
    h.push(LabelRange("events", 5, 15, "sit"))
    assert len(session.label_tracks["events"]) == 3


def test_remove_modify_move(session):
    tr = session.label_tracks["activity"]
    roundtrip(session, RemoveSegments("activity", [1, 3]))
    assert spans(tr) == [(10, 20, "sit")]
    session2 = session  # continue on the same session
    roundtrip(session2, ModifySegment("activity", 2, note="check video", end=25.0))
    assert tr[2].note == "check video" and tr[2].end == 25.0 and tr[2].created == seg(0, 1, i=1).created
    roundtrip(session2, MoveSegment("activity", 2, 100.0))
    assert (tr[2].start, tr[2].end) == (110.0, 125.0)
    with pytest.raises(SessionError, match="field"):
        ModifySegment("activity", 2, id=7)


def test_modify_into_neighbour_is_refused(session):
    h = EditHistory(session)
    with pytest.raises(SessionError, match="overlap"):
        h.push(ModifySegment("activity", 1, end=15.0))
    with pytest.raises(SessionError, match="overlap"):
        h.push(MoveSegment("activity", 3, -25.0))
    assert not h.can_undo


def test_split_merge_change_class(session):
    tr = session.label_tracks["activity"]
    roundtrip(session, SplitSegment("activity", 1, 4.0))
    assert spans(tr)[:2] == [(0, 4, "walk"), (4, 10, "walk")]
    with pytest.raises(SessionError, match="not inside"):
        EditHistory(session).push(SplitSegment("activity", 1, 4.0))
    ids = [s.id for s in tr.in_range(0, 20)]
    roundtrip(session, MergeSegments("activity", ids))
    assert spans(tr) == [(0, 20, "walk"), (30, 40, "walk")]
    roundtrip(session, ChangeClass("activity", [1, 3], "sit"))
    assert [s.label for s in tr] == ["sit", "sit"]


def test_merge_refuses_to_swallow_a_segment_between(session):
    with pytest.raises(SessionError, match="overlap"):
        EditHistory(session).push(MergeSegments("activity", [1, 3]))


def test_new_track_is_created_and_removed_by_undo(session):
    h = roundtrip(session, LabelRange("posture", 0, 5, "upright"))
    assert "posture" in session.label_tracks
    h.undo()
    assert "posture" not in session.label_tracks and "upright" not in session.schema
    roundtrip(session, AddLabelTrack("context", "overlapping"))
    assert session.label_tracks["context"].policy == "overlapping"


def test_composite_is_one_step_and_rolls_back_on_failure(session):
    tr = session.label_tracks["activity"]
    before = snapshot(session)
    h = EditHistory(session)
    h.push(Composite("two", [LabelRange("activity", 20, 25, "run"), LabelRange("activity", 25, 30, "jog")]))
    assert h.undo_text == "two" and len(tr) == 5
    h.undo()
    assert snapshot(session) == before
    bad = Composite("bad", [LabelRange("activity", 20, 25, "run"), AddSegment("activity", seg(0, 5))])
    with pytest.raises(SessionError):
        h.push(bad)
    assert snapshot(session) == before


def test_accept_predictions(session):
    classes = ["walk", "sit"]
    pt = PredictionTrack(
        "cnn",
        "cnn",
        "1.0",
        classes,
        np.array([0.0]),
        np.array([1.0]),
        np.array([[0.9, 0.1]]),
        segments=[
            seg(50, 60, "walk", confidence=0.9),
            seg(60, 70, "sit", confidence=0.4),
            seg(70, 80, "sit", confidence=0.8),
        ],
    )
    cmd = accept_predictions(pt, "activity", 55, 75, threshold=0.5)
    roundtrip(session, cmd)
    got = [(s.start, s.end, s.label, s.source) for s in session.label_tracks["activity"].in_range(50, 80)]
    assert got == [(55, 60, "walk", "accepted_prediction"), (70, 75, "sit", "accepted_prediction")]


def test_serialised_command_reapplies_exactly(session):
    before = snapshot(session)
    cmd = LabelRange("activity", 5, 35, "run")
    cmd.do(session)
    after = snapshot(session)
    cmd.undo(session)
    again = command_from_dict(json.loads(json.dumps(cmd.to_dict())))
    again.do(session)
    assert snapshot(session) == after  # same ids, same timestamps
    again.undo(session)
    assert snapshot(session) == before
    # a recorded edit applied to a session in another state is refused, not half-applied
    session.label_tracks["activity"].update(1, note="changed elsewhere")
    with pytest.raises(SessionError, match="not in the state"):
        command_from_dict(cmd.to_dict()).do(session)


def test_unplanned_command_from_dict_plans_fresh(session):
    d = LabelRange("activity", 20, 30, "run").to_dict()
    assert d["plan"] is None
    EditHistory(session).push(command_from_dict(d))
    assert (20, 30, "run") in spans(session.label_tracks["activity"])


def test_edge_limits(session):
    tr = session.label_tracks["activity"]
    assert edge_limits(tr, 2) == (10.0, 30.0)
    assert edge_limits(tr, 3) == (20.0, float("inf"))
    assert edge_limits(tr, 1) == (float("-inf"), 10.0)
    ev = session.label_tracks["events"].add(seg(0, 50, "walk"))
    assert edge_limits(session.label_tracks["events"], ev.id) == (float("-inf"), float("inf"))


def test_texts_name_the_edit(session):
    assert LabelRange("activity", 12.3, 15.0, "walking").text == "Label walking 12.3–15.0 s"
    h = EditHistory(session)
    h.push(RemoveSegments("activity", [2]))
    assert h.undo_text == "Delete sit 10.0–20.0 s"


def test_set_schema_renames_labels_and_undoes(session):
    from harlab.core import LabelClass
    from harlab.labeling.commands import SetSchema

    events = []
    session.events.connect(lambda e: events.append(e.kind))
    new = [LabelClass("Walking", "#123456", "w", "on foot"), LabelClass("sit", "#654321", "1")]
    h = roundtrip(session, SetSchema(new, renames={"walk": "Walking"}))
    assert list(session.schema) == new
    assert [s.label for s in session.label_tracks["activity"]] == ["Walking", "sit", "Walking"]
    assert "schema_changed" in events
    again = command_from_dict(json.loads(json.dumps(h.done[-1].to_dict())))
    h.undo()
    again.do(session)
    assert list(session.schema) == new
    with pytest.raises(SessionError, match="hotkey"):
        SetSchema([LabelClass("a", "#000000", "x"), LabelClass("b", "#000000", "x")])
