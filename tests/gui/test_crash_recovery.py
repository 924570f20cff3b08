"""Unsaved edits survive SIGKILL: a child process edits in a real window and is killed; the
next window that opens the file offers recovery and restores exactly those labels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harlab.labeling.edit_journal import edit_journal_path
from harlab.storage import read_session
from tests.gui.gui_helpers import answer_next_dialog, labels_of, press_shortcut

pytestmark = [pytest.mark.gui, pytest.mark.slow]

CHILD = Path(__file__).with_name("crash_child.py")


def kill_child_after_edits(path: Path, settings_dir: Path) -> list[tuple[float, float, str]]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(settings_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line, f"child failed: {proc.stderr.read()}"
        labels = [(round(a, 6), round(b, 6), c) for a, b, c in json.loads(line)]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    return labels


def test_sigkill_then_reopen_offers_recovery(make_window, qtbot, session_path, isolated_settings):
    expected = kill_child_after_edits(session_path, isolated_settings)
    assert [x[2] for x in expected] == ["walking", "running"]
    assert expected[0][1] == pytest.approx(25.0)
    assert edit_journal_path(session_path).exists()
    assert labels_of(read_session(session_path)) == []  # nothing was saved

    w = make_window()
    answer_next_dialog(qtbot, "Yes")
    assert w.open_path(session_path)
    assert labels_of(w.session) == expected
    assert w.dirty and "Recovered" in w.last_message
    press_shortcut(qtbot, w, "undo")  # the recovered edits are on the undo history
    assert labels_of(w.session)[0][1] == pytest.approx(20.0)
    press_shortcut(qtbot, w, "redo")
    press_shortcut(qtbot, w, "save")
    assert not edit_journal_path(session_path).exists()
    assert labels_of(read_session(session_path)) == expected


def test_declined_recovery_deletes_the_journal(make_window, qtbot, session_path, isolated_settings):
    kill_child_after_edits(session_path, isolated_settings)
    w = make_window()
    answer_next_dialog(qtbot, "No")
    assert w.open_path(session_path)
    assert labels_of(w.session) == []
    assert not edit_journal_path(session_path).exists()
    assert not w.dirty
