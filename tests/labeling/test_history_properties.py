"""Property: any sequence of edits undoes back to the original and redoes to the final state,
exactly (ids, timestamps, schema), with the exclusive policy holding after every step."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core import LabelSchema, Session, SessionError
from harlab.labeling.commands import (
    AddSegment,
    ChangeClass,
    LabelRange,
    MergeSegments,
    ModifySegment,
    MoveSegment,
    RemoveSegments,
    SplitSegment,
)
from harlab.labeling.history import EditHistory
from tests.labeling.labeling_helpers import exclusive_ok, seg, snapshot

LABELS = ["walk", "sit", "run", "lie"]
TRACKS = ["activity", "events"]

times = st.integers(0, 60).map(float)
op = st.tuples(
    st.sampled_from(["add", "range", "remove", "modify", "move", "split", "merge", "change"]),
    st.sampled_from(TRACKS),
    times,
    times,
    st.sampled_from(LABELS),
    st.integers(0, 10),
    st.integers(0, 10),
)


def build() -> Session:
    s = Session(schema=LabelSchema())
    s.add_segments("activity", [seg(0, 10, "walk", 0), seg(10, 20, "sit", 1), seg(30, 40, "walk", 2)])
    s.add_label_track("events", policy="overlapping")
    s.add_segments("events", [seg(5, 25, "run", 3), seg(15, 15, "sit", 4)])
    return s


def make(session: Session, o) -> object:
    kind, track, a, b, label, i, j = o
    ids = [s.id for s in session.label_tracks[track]]
    pick = ids[i % len(ids)] if ids else 1
    pick2 = ids[j % len(ids)] if ids else 1
    lo, hi = min(a, b), max(a, b)
    return {
        "add": lambda: AddSegment(track, seg(lo, hi, label)),
        "range": lambda: LabelRange(track, lo, hi, label),
        "remove": lambda: RemoveSegments(track, [pick]),
        "modify": lambda: ModifySegment(track, pick, end=hi + 70, note=label),
        "move": lambda: MoveSegment(track, pick, a - b),
        "split": lambda: SplitSegment(track, pick, a + 0.5),
        "merge": lambda: MergeSegments(track, [pick, pick2]),
        "change": lambda: ChangeClass(track, [pick], label),
    }[kind]()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=14), st.data())
def test_undo_all_redo_all(ops, data):
    session = build()
    h = EditHistory(session)
    original = snapshot(session)
    states = [original]
    for o in ops:
        try:
            h.push(make(session, o))
        except SessionError:
            assert snapshot(session) == states[-1]  # a refused edit changes nothing
            continue
        assert exclusive_ok(session.label_tracks["activity"])
        states.append(snapshot(session))
    final = snapshot(session)
    # random walk of undo/redo, checking each intermediate state exactly
    pos = len(states) - 1
    for step in data.draw(st.lists(st.booleans(), max_size=20)):
        if step and h.can_undo:
            h.undo()
            pos -= 1
        elif not step and h.can_redo:
            h.redo()
            pos += 1
        assert snapshot(session) == states[pos]
    while h.can_undo:
        h.undo()
    assert snapshot(session) == original
    assert h.is_clean
    while h.can_redo:
        h.redo()
    assert snapshot(session) == final
    assert h.is_clean == (len(states) == 1)
