"""Video commands (attach, detach, sync, region) on the one undo history: exact undo/redo, journal, crash recovery."""

from __future__ import annotations

import gc

import pytest

from harlab.core import SessionError
from harlab.core.videos import VideoLink, VideoSync
from harlab.labeling.commands import (
    AttachVideo,
    DetachVideo,
    LabelRange,
    RelinkVideo,
    SetVideoRoi,
    SetVideoSync,
    command_from_dict,
)
from harlab.labeling.document import LabelingDocument
from harlab.labeling.history import EditHistory
from harlab.storage import save_session
from tests.labeling.labeling_helpers import snapshot
from tests.video.test_video_links import reference


def link(name: str = "front", sync: VideoSync | None = None) -> VideoLink:
    return VideoLink(name, reference(f"{name}.mp4"), sync or VideoSync(1.0, 0.0))


def spans(session, track: str = "activity") -> list[tuple[float, float]]:
    return [(s.start, s.end) for s in session.label_tracks[track]]


def test_attach_detach_undo_redo_restore_order_and_values(session):
    h = EditHistory(session)
    h.push(AttachVideo(link("a")))
    h.push(AttachVideo(link("b")))
    h.push(AttachVideo(link("c")))
    h.push(DetachVideo("b"))
    assert list(session.videos) == ["a", "c"]
    h.undo()
    assert list(session.videos) == ["a", "b", "c"] and session.videos["b"] == link("b")
    h.redo()
    assert list(session.videos) == ["a", "c"]
    for _ in range(4):
        h.undo()
    assert not session.videos
    with pytest.raises(SessionError, match="no video"):
        h.push(DetachVideo("zz"))
    h.push(AttachVideo(link("a")))
    with pytest.raises(SessionError, match="already has a video"):
        h.push(AttachVideo(link("a")))


def test_sync_keeps_labels_unless_asked_then_keeps_their_video_times(session):
    h = EditHistory(session)
    h.push(AttachVideo(link("front", VideoSync(1.0, 0.0))))
    before = snapshot(session)
    events_before = spans(session, "activity")
    new = VideoSync(3.5, 200.0)
    h.push(SetVideoSync("front", new))
    assert session.videos["front"].sync == new and snapshot(session) == before  # labels untouched
    h.undo()
    old = session.videos["front"].sync
    video_times = [(old.to_video(a), old.to_video(b)) for a, b in events_before]
    h.push(SetVideoSync("front", new, move_labels=("activity",)))
    moved = spans(session, "activity")
    assert moved != events_before
    for (a, b), (va, vb) in zip(moved, video_times, strict=True):
        assert new.to_video(a) == pytest.approx(va, abs=1e-9) and new.to_video(b) == pytest.approx(
            vb, abs=1e-9
        )
    assert spans(session, "events") == []  # other tracks stay
    h.undo()
    assert snapshot(session) == before and session.videos["front"].sync == VideoSync(1.0, 0.0)
    h.redo()
    assert spans(session, "activity") == moved
    with pytest.raises(SessionError, match="no label track"):
        h.push(SetVideoSync("front", VideoSync(0.0), move_labels=("nope",)))
    assert session.videos["front"].sync == new  # the refused edit changed nothing


def test_region_is_set_cleared_and_undone(session):
    h = EditHistory(session)
    h.push(AttachVideo(link()))
    h.push(SetVideoRoi("front", (10, 10, 50, 40)))
    assert session.videos["front"].roi == (10, 10, 50, 40)
    h.push(SetVideoRoi("front", None))
    assert session.videos["front"].roi is None
    h.undo()
    assert session.videos["front"].roi == (10, 10, 50, 40)


def test_relink_keeps_sync_and_region(session):
    h = EditHistory(session)
    h.push(AttachVideo(link()))
    h.push(SetVideoRoi("front", (1, 2, 3, 4)))
    h.push(RelinkVideo("front", reference("found-again.mp4")))
    got = session.videos["front"]
    assert got.reference.name == "found-again.mp4" and got.sync == VideoSync(1.0) and got.roi == (1, 2, 3, 4)
    h.undo()
    assert session.videos["front"].reference.name == "front.mp4"


def test_video_commands_round_trip_through_json_with_their_plans(session):
    cmds = [
        AttachVideo(link("a")),
        RelinkVideo("a", reference("b.mp4")),
        SetVideoSync("a", VideoSync(-2.0, 15.0), move_labels=("activity",)),
        SetVideoRoi("a", (1, 2, 3, 4)),
        DetachVideo("a"),
    ]
    for c in cmds:
        c.do(session)
    after = snapshot(session)
    for c in reversed(cmds):
        c.undo(session)
    assert not session.videos
    rebuilt = [command_from_dict(c.to_dict()) for c in cmds]
    for c in rebuilt:
        c.do(session)
    assert snapshot(session) == after and not session.videos
    for c in reversed(rebuilt):
        c.undo(session)
    assert not session.videos and spans(session)[0] == (0.0, 10.0)


def test_crash_recovery_replays_video_edits(tmp_path, session):
    path = save_session(session, tmp_path / "rec.h5")
    doc = LabelingDocument.open(path)
    doc.push(AttachVideo(link("front")))
    doc.push(AttachVideo(link("side")))
    doc.push(SetVideoSync("front", VideoSync(4.0, -30.0), move_labels=("activity",)))
    doc.push(LabelRange("activity", 50, 60, "run"))
    doc.push(DetachVideo("side"))
    doc.undo()
    want_videos, want_spans = dict(doc.session.videos), spans(doc.session)
    docs = [doc]
    del doc
    docs.clear()
    gc.collect()
    doc = LabelingDocument.open(path)
    assert doc.recovery is not None and not doc.session.videos
    assert doc.recover() == 4
    assert doc.session.videos == want_videos and list(doc.session.videos) == ["front", "side"]
    assert spans(doc.session) == want_spans
    assert doc.history.can_redo and doc.history.redo_text == "Detach video side"
    for _ in range(4):
        doc.undo()
    assert not doc.session.videos and not doc.dirty
    doc.close(discard=True)
