"""The document's whole life without Qt: open, edit, dirty, undo/redo, save, save as, crash, recover."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from harlab.core import PredictionTrack, Segment, SessionError
from harlab.core.events import Event
from harlab.labeling.commands import (
    AddPredictionTrack,
    EditMetadata,
    LabelRange,
    RemovePredictionTrack,
    RenamePredictionTrack,
    same_prediction,
)
from harlab.labeling.document import LabelingDocument
from harlab.labeling.edit_journal import edit_journal_path
from harlab.storage import FileLock, read_session, save_session
from tests.labeling.labeling_helpers import snapshot


@pytest.fixture
def saved(tmp_path, session) -> Path:
    return save_session(session, tmp_path / "rec.h5")


def predictions(name: str = "model-a", n: int = 50) -> PredictionTrack:
    rng = np.random.default_rng(len(name))
    start = np.arange(n, dtype=np.float64) * 0.5
    probs = rng.dirichlet(np.ones(3), n).astype(np.float32)
    segs = [Segment(0.0, 10.0, "walk", source="prediction", confidence=0.75)]
    return PredictionTrack(name, name, "1.0", ["walk", "sit", "run"], start, start + 2.0, probs, segs)


def crash_and_reopen(path: Path, docs: list[LabelingDocument]) -> LabelingDocument:
    """Drop the document without saving or closing (what a killed process leaves behind: the
    journal, and a lock the OS releases), then open the file again."""
    docs.clear()
    gc.collect()
    return LabelingDocument.open(path)


def labels(session) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.label) for s in session.label_tracks["activity"]]


def test_open_edit_undo_redo_save_and_one_dirty_state(saved):
    doc = LabelingDocument.open(saved)
    seen: list[Event] = []
    doc.events.connect(seen.append)
    assert doc.writable and not doc.dirty and doc.recovery is None and not doc.needs_path
    doc.push(LabelRange("activity", 50, 60, "run"))
    assert doc.dirty and edit_journal_path(saved).exists()
    assert seen[-1].kind == "changed" and seen[-1].data["dirty"] is True
    doc.undo()
    assert not doc.dirty  # back to the file's state
    doc.redo()
    assert doc.dirty
    doc.push(EditMetadata(participant_id="P7"))
    assert doc.save() == saved
    assert not doc.dirty and not edit_journal_path(saved).exists()
    assert seen[-1].data["dirty"] is False
    doc.close()
    back = read_session(saved)
    assert (50, 60, "run") in labels(back) and back.metadata.participant_id == "P7"


def test_crash_then_reopen_offers_recovery_and_replays_every_kind_of_edit(saved):
    doc = LabelingDocument.open(saved)
    start = snapshot(doc.session)
    participant = doc.session.metadata.participant_id
    track = predictions()
    doc.push(LabelRange("activity", 50, 60, "run"))
    doc.push(EditMetadata(participant_id="P9", timezone="Europe/Berlin", notes="left wrist, loose strap"))
    doc.push(AddPredictionTrack(track))
    doc.push(RenamePredictionTrack("model-a", "model-b"))
    doc.push(AddPredictionTrack(predictions("model-x")))
    doc.undo()  # one edit waits on the redo stack
    want_labels, want_meta = labels(doc.session), doc.session.metadata.notes
    docs = [doc]
    del doc
    doc = crash_and_reopen(saved, docs)
    assert doc.recovery is not None and doc.recovery.net_edit_count == 4
    assert doc.session.metadata.participant_id == participant != "P9" and not doc.session.prediction_tracks
    assert doc.recover() == 4
    s = doc.session
    assert labels(s) == want_labels and s.metadata.notes == want_meta
    assert s.metadata.participant_id == "P9" and s.metadata.timezone == "Europe/Berlin"
    assert list(s.prediction_tracks) == ["model-b"]
    back = s.prediction_tracks["model-b"]
    assert same_prediction(back, PredictionTrack(**{**vars(track), "name": "model-b"}))  # bit-exact arrays
    assert doc.dirty and doc.history.can_redo and doc.history.redo_text == "Add predictions model-x"
    # a second crash before saving is recoverable too
    docs = [doc]
    del doc
    doc = crash_and_reopen(saved, docs)
    assert doc.recover() == 4
    for _ in range(4):
        doc.undo()
    assert snapshot(doc.session) == start and doc.session.metadata.participant_id == participant
    assert not doc.session.prediction_tracks and not doc.dirty
    doc.close()


def test_declined_recovery_is_deleted_and_not_offered_again(saved):
    doc = LabelingDocument.open(saved)
    doc.push(LabelRange("activity", 50, 60, "run"))
    docs = [doc]
    del doc
    doc = crash_and_reopen(saved, docs)
    assert doc.recovery is not None
    doc.discard_recovery()
    assert doc.recovery is None and not edit_journal_path(saved).exists()
    doc.close()
    doc = LabelingDocument.open(saved)
    assert doc.recovery is None and (50, 60, "run") not in labels(doc.session)
    doc.close()


def test_save_as_switches_the_journal_to_the_new_file(saved, tmp_path):
    doc = LabelingDocument.open(saved)
    doc.push(LabelRange("activity", 50, 60, "run"))
    assert edit_journal_path(saved).exists()
    new = doc.save_as(tmp_path / "copy")
    assert new == tmp_path / "copy.h5" and doc.path == new and not doc.dirty
    assert not edit_journal_path(saved).exists() and not edit_journal_path(new).exists()
    doc.push(LabelRange("activity", 70, 80, "sit"))
    assert edit_journal_path(new).exists() and not edit_journal_path(saved).exists()
    docs = [doc]
    del doc
    doc = crash_and_reopen(new, docs)
    assert doc.recovery is not None and doc.recover() == 1
    assert (70, 80, "sit") in labels(doc.session)
    doc.close()
    assert (50, 60, "run") not in labels(read_session(saved))  # the old file never got the edits


def test_close_keeps_the_journal_unless_discarded(saved):
    doc = LabelingDocument.open(saved)
    doc.push(LabelRange("activity", 50, 60, "run"))
    doc.close()
    assert edit_journal_path(saved).exists()
    doc = LabelingDocument.open(saved)
    assert doc.recovery is not None
    doc.close(discard=True)
    assert not edit_journal_path(saved).exists()


def test_an_unsaved_session_stays_dirty_until_saved_as_a_file(session, tmp_path):
    doc = LabelingDocument.unsaved(session)
    assert doc.dirty and doc.needs_path and doc.path is None
    doc.push(LabelRange("activity", 50, 60, "run"))
    doc.undo()
    assert doc.dirty  # undo cannot reach a saved state that never existed
    with pytest.raises(SessionError):
        doc.save()
    path = doc.save_as(tmp_path / "new.h5")
    assert not doc.dirty and not doc.needs_path
    doc.push(LabelRange("activity", 50, 60, "run"))
    assert edit_journal_path(path).exists()
    doc.save()
    assert (50, 60, "run") in labels(read_session(path))
    doc.close()


def test_a_file_locked_by_another_writer_opens_read_only_without_a_journal(saved, tmp_path):
    with FileLock(saved):
        doc = LabelingDocument.open(saved)
        assert not doc.writable and doc.needs_path and doc.read_only_reason
        doc.push(LabelRange("activity", 50, 60, "run"))
        assert doc.dirty and not edit_journal_path(saved).exists()
        doc.save_as(tmp_path / "mine.h5")
        assert doc.writable and not doc.dirty
        doc.close()


def test_metadata_and_prediction_edits_undo_exactly(saved):
    doc = LabelingDocument.open(saved)
    md = doc.session.metadata
    before = (md.participant_id, md.timezone, list(md.devices))
    doc.push(EditMetadata(participant_id="P1", devices=[{"name": "watch", "placement": "left wrist"}]))
    assert md.device.placement == "left wrist" and md.participant_id == "P1"
    doc.push(AddPredictionTrack(predictions()))
    doc.push(RemovePredictionTrack("model-a"))
    assert not doc.session.prediction_tracks
    doc.undo()
    assert "model-a" in doc.session.prediction_tracks
    doc.undo()
    doc.undo()
    assert (md.participant_id, md.timezone, md.devices) == before and not doc.dirty
    with pytest.raises(SessionError):
        EditMetadata(timezone="Mars/Olympus")
    with pytest.raises(SessionError):
        doc.push(RenamePredictionTrack("nope", "x"))
    assert not doc.dirty  # a refused edit changes nothing
    doc.close()
