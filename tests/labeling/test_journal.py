"""Crash journal: fsynced JSON lines, identity check, replay — and a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harlab import storage
from harlab.core import SessionError
from harlab.core.labels import segment_to_dict
from harlab.labeling.commands import (
    ChangeClass,
    LabelRange,
    ModifySegment,
    RemoveSegments,
    SplitSegment,
)
from harlab.labeling.edit_journal import (
    EditJournal,
    discard_journal,
    edit_journal_path,
    inspect_journal,
    pending_edits,
)
from harlab.labeling.history import EditHistory
from tests.labeling.labeling_helpers import snapshot


def labels_json(session) -> dict:
    return {name: [segment_to_dict(s) for s in t] for name, t in sorted(session.label_tracks.items())} | {
        "__schema__": session.schema.to_list()
    }


def edit_a_lot(h: EditHistory) -> None:
    h.push(LabelRange("activity", 5, 35, "run"))
    h.push(SplitSegment("activity", 1, 2.5))
    h.push(ModifySegment("activity", 1, note="ümlaut ✓"))
    h.push(RemoveSegments("activity", [3]))
    h.undo()
    h.push(LabelRange("posture", 0, 8, "upright"))
    h.undo()
    h.redo()
    h.push(ChangeClass("activity", [1], "sit"))
    h.undo()  # ends with one undone edit on the redo stack


@pytest.fixture
def saved(tmp_path, session) -> Path:
    return storage.save_session(session, tmp_path / "rec.h5")


def test_replay_reproduces_state_and_history(saved):
    with storage.open_session(saved, writable=True) as sf:
        h = EditHistory(sf.session, EditJournal(saved))
        edit_a_lot(h)
        want = snapshot(sf.session)
        want_texts = [c.text for c in h.done], [c.text for c in h.undone]
        h.journal.close()
    entries = pending_edits(saved)
    assert entries is not None and all(e["op"] in ("do", "undo", "redo") for e in entries)
    with storage.open_session(saved, writable=True) as sf:
        h2 = EditHistory(sf.session, EditJournal(saved))
        h2.replay(entries)
        assert snapshot(sf.session) == want
        assert ([c.text for c in h2.done], [c.text for c in h2.undone]) == want_texts
        assert not h2.is_clean
        assert pending_edits(saved) is not None  # rewritten: a second crash is recoverable too
        h2.redo()
        h2.undo()
        h2.undo()  # history keeps working after recovery
        sf.save()
        h2.mark_clean()
    assert pending_edits(saved) is None and not edit_journal_path(saved).exists()


def test_stale_journal_for_another_file_version_is_not_offered(saved, session):
    h = EditHistory(session, EditJournal(saved))
    h.push(LabelRange("activity", 5, 35, "run"))
    assert pending_edits(saved) is not None
    os.utime(saved, ns=(1, 1))  # the file changed on disk since the journal started
    assert pending_edits(saved) is None
    info = inspect_journal(saved)
    assert info is not None and "another version" in info.problem


def test_journal_with_no_net_change_is_not_offered(saved, session):
    h = EditHistory(session, EditJournal(saved))
    h.push(LabelRange("activity", 5, 35, "run"))
    h.undo()
    assert pending_edits(saved) is None
    assert inspect_journal(saved).net_edit_count == 0


def test_torn_last_line_is_dropped(saved, session):
    h = EditHistory(session, EditJournal(saved))
    h.push(LabelRange("activity", 5, 35, "run"))
    h.push(LabelRange("activity", 50, 60, "run"))
    with open(edit_journal_path(saved), "ab") as f:
        f.write(b'{"op":"do","seq":3,"command":{"type":"Label')  # the crash cut this write short
    info = inspect_journal(saved)
    assert info.dropped_lines == 1 and len(info.entries) == 2 and not info.problem


def test_replay_that_does_not_fit_rolls_back(saved, session):
    h = EditHistory(session, EditJournal(saved))
    h.push(LabelRange("activity", 5, 35, "run"))
    h.push(RemoveSegments("activity", [3]))
    entries = pending_edits(saved)
    fresh = storage.read_session(saved)
    fresh.label_tracks["activity"].update(3, note="edited in another program")
    before = snapshot(fresh)
    with pytest.raises(SessionError):
        EditHistory(fresh).replay(entries)
    assert snapshot(fresh) == before


def test_garbage_journal_is_reported_not_replayed(saved):
    edit_journal_path(saved).write_text("not json at all\n")
    assert pending_edits(saved) is None
    assert "header" in inspect_journal(saved).problem
    discard_journal(saved)
    assert inspect_journal(saved) is None


def test_every_entry_is_on_disk_before_push_returns(saved, session):
    h = EditHistory(session, EditJournal(saved))
    for k in range(3):
        h.push(LabelRange("activity", 50 + k, 50.5 + k, "run"))
        assert len(edit_journal_path(saved).read_text().splitlines()) == k + 2  # header + k+1 entries


CHILD = textwrap.dedent(
    """
    import json, time
    from harlab.storage import open_session
    from harlab.labeling.history import EditHistory
    from harlab.labeling.edit_journal import EditJournal
    from tests.labeling.test_journal import edit_a_lot, labels_json
    sf = open_session({path!r}, writable=True)
    h = EditHistory(sf.session, EditJournal({path!r}))
    edit_a_lot(h)
    print(json.dumps(labels_json(sf.session)))
    print("ready", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.slow
def test_sigkill_then_recover_in_a_real_process(saved):
    code = CHILD.format(path=str(saved))
    root = str(Path(__file__).resolve().parents[2])  # the project root, where the tests package lives
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        state_line = child.stdout.readline()
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    want = json.loads(state_line)
    entries = pending_edits(saved)
    assert entries, "the journal of the killed process should offer recovery"
    with storage.open_session(saved, writable=True) as sf:
        assert labels_json(sf.session) != want  # the file itself never got the edits
        h = EditHistory(sf.session, EditJournal(saved))
        h.replay(entries)
        assert labels_json(sf.session) == want
        assert h.can_undo and h.can_redo
