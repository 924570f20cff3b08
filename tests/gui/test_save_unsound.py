"""The workbench opens a session file that fails ``harlab validate`` but does not save into it."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from harlab.labeling.commands import LabelRange

pytestmark = pytest.mark.gui


def test_save_of_an_unsound_file_is_refused_with_a_message(make_window, qtbot, session_path):
    with h5py.File(session_path, "r+") as f:
        f["streams/wrist_accel/values"][1000, 0] = np.inf
    before = hashlib.sha256(session_path.read_bytes()).hexdigest()
    w = make_window()
    assert w.open_path(session_path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    w.history.push(LabelRange("activity", 1.0, 2.0, "walking"))
    assert not w.save()
    assert w.dirty
    box = w.findChild(QMessageBox, "error_box")
    assert box is not None
    text = box.text()
    assert "fails harlab validate" in text and "infinite" in text and "does not write" in text
    box.grab().save("/tmp/save_unsound.png")
    box.close()
    assert not w.save_as(session_path.with_name("copy.h5"))
    assert not session_path.with_name("copy.h5").exists()
    assert hashlib.sha256(session_path.read_bytes()).hexdigest() == before
    for b in w.findChildren(QMessageBox, "error_box"):
        b.close()
