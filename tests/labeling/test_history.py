"""EditHistory bookkeeping: texts, clean mark, redo truncation, events, limit."""

from __future__ import annotations

from harlab.labeling.commands import LabelRange, RemoveSegments
from harlab.labeling.history import EditHistory
from tests.labeling.labeling_helpers import snapshot


def test_clean_mark_and_texts(session):
    h = EditHistory(session)
    seen = []
    h.events.connect(lambda e: seen.append((e.kind, e.data["is_clean"])))
    assert h.is_clean and not h.can_undo and h.undo() is None and h.redo() is None
    h.push(LabelRange("activity", 20, 30, "run"))
    assert not h.is_clean and h.undo_text == "Label run 20.0–30.0 s" and h.redo_text == ""
    h.mark_clean()
    h.undo()
    assert not h.is_clean and h.redo_text.startswith("Label run")
    h.redo()
    assert h.is_clean
    h.undo()
    h.push(RemoveSegments("activity", [1]))  # the saved state is gone from the redo stack
    assert not h.is_clean
    h.undo()
    assert not h.is_clean  # labels differ from the saved file (which had "run")
    assert seen[0] == ("history_changed", False) and len(seen) == 7


def test_limit_drops_oldest(session):
    h = EditHistory(session, limit=2)
    start = snapshot(session)
    for k in range(4):
        h.push(LabelRange("activity", 50 + k, 50.5 + k, "run"))
    assert len(h.done) == 2
    while h.can_undo:
        h.undo()
    assert snapshot(session) != start and len(session.label_tracks["activity"]) == 5
