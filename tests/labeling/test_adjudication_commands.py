"""The commands adjudication records: taking one track's labels over a span (CopyLabels),
adding a computed track whole (AddTrackWithSegments), and tracks that record their annotator.
Exact undo/redo and journal round trips, without Qt."""

from __future__ import annotations

import json

import pytest

from harlab.agreement import consensus
from harlab.core import LabelTrack, Session, SessionError
from harlab.labeling.commands import AddLabelTrack, AddTrackWithSegments, CopyLabels, command_from_dict
from harlab.labeling.history import EditHistory
from harlab.simulate.annotators import annotated_session
from tests.labeling.labeling_helpers import exclusive_ok, seg, snapshot


def spans(track: LabelTrack) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in sorted(track, key=lambda s: s.start)]


@pytest.fixture
def two() -> Session:
    """Track "a" and track "b" that disagree on 10..20 and have a gap in b at 30..35."""
    s = Session()
    a = LabelTrack("a", annotator="ann")
    a.add_many([seg(0, 10, "walk", 1), seg(10, 20, "sit", 2), seg(20, 40, "run", 3)])
    b = LabelTrack("b", annotator="bob")
    b.add_many([seg(0, 12, "walk", 4, annotator="bob"), seg(12, 20, "lie", 5), seg(20, 30, "run", 6)])
    s.add_label_track(a)
    s.add_label_track(b)
    return s


def test_copy_labels_takes_the_sources_segments_clipped_and_undoes_exactly(two):
    h = EditHistory(two)
    before = snapshot(two)
    h.push(CopyLabels("b", "a", 8.0, 33.0))
    assert spans(two.label_tracks["a"]) == [
        (0, 8, "walk"),
        (8, 12, "walk"),
        (12, 20, "lie"),
        (20, 30, "run"),
        (33, 40, "run"),  # a's own run after the span; 30..33 is b's gap, left unlabelled
    ]
    copied = [s for s in two.label_tracks["a"] if 8 <= s.start < 33]
    assert {s.annotator for s in copied} == {"bob"}  # whose labels they were stays on them
    assert exclusive_ok(two.label_tracks["a"])
    after = snapshot(two)
    h.undo()
    assert snapshot(two) == before
    h.redo()
    assert snapshot(two) == after


def test_copy_labels_creates_a_missing_target_and_round_trips_the_journal(two):
    cmd = CopyLabels("a", "c", 5.0, 15.0)
    EditHistory(two).push(cmd)
    assert spans(two.label_tracks["c"]) == [(5, 10, "walk"), (10, 15, "sit")]
    again = command_from_dict(json.loads(json.dumps(cmd.to_dict())))
    fresh = Session()
    for name in ("a", "b"):
        t = LabelTrack(name, annotator=two.label_tracks[name].annotator)
        t.add_many(list(two.label_tracks[name]), keep_ids=True)
        fresh.add_label_track(t)
    again.do(fresh)
    assert snapshot(fresh) == snapshot(two)


def test_copy_labels_refuses_what_it_cannot_do(two):
    h = EditHistory(two)
    with pytest.raises(SessionError, match="onto itself"):
        CopyLabels("a", "a", 0, 1)
    with pytest.raises(SessionError, match="end must not precede"):
        CopyLabels("a", "b", 5, 1)
    with pytest.raises(SessionError, match="no label track 'zz'"):
        h.push(CopyLabels("zz", "a", 0, 1))
    two.add_label_track(LabelTrack("o", "overlapping"))
    with pytest.raises(SessionError, match="overlaps"):
        h.push(CopyLabels("a", "o", 0, 1))
    assert not h.can_undo


def test_a_track_records_its_annotator_through_undo_redo_and_replay():
    s = Session()
    h = EditHistory(s)
    cmd = AddLabelTrack("mine", "exclusive", annotator="carol")
    h.push(cmd)
    assert s.label_tracks["mine"].annotator == "carol"
    h.undo()
    h.redo()
    assert s.label_tracks["mine"].annotator == "carol"
    replayed = Session()
    command_from_dict(json.loads(json.dumps(cmd.to_dict()))).do(replayed)
    assert replayed.label_tracks["mine"].annotator == "carol"


def test_a_consensus_joins_the_session_as_one_edit():
    session, _sim = annotated_session(
        120.0, ("A", "B"), jitter_s=0.3, confusion_rate=0.2, seed=4, streams={}, rate_hz=25.0
    )
    result = consensus([session.label_tracks["A"], session.label_tracks["B"]], "majority", name="cons")
    h = EditHistory(session)
    before = snapshot(session)
    cmd = AddTrackWithSegments("cons", list(result.track), "exclusive", result.track.annotator)
    h.push(cmd)
    assert spans(session.label_tracks["cons"]) == spans(result.track)
    assert session.label_tracks["cons"].annotator == "consensus"
    h.undo()
    assert snapshot(session) == before
    h.redo()
    replay = command_from_dict(json.loads(json.dumps(cmd.to_dict())))
    h.undo()
    replay.do(session)
    assert spans(session.label_tracks["cons"]) == spans(result.track)
    with pytest.raises(SessionError, match="already has a label track"):
        h.push(AddTrackWithSegments("cons", []))


def test_add_track_with_overlapping_segments_on_an_exclusive_track_is_refused():
    s = Session()
    with pytest.raises(SessionError):
        EditHistory(s).push(AddTrackWithSegments("x", [seg(0, 10, "a"), seg(5, 15, "b")]))
    assert "x" not in s.label_tracks
