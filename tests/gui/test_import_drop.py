"""Dropping a file on the window: sessions open, other files go through the importer registry
on a worker thread and open unsaved."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(*args)  # Qt only delivers a drop after the drag entered
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(*args))


def test_drop_csv_imports_in_background_and_opens_unsaved(make_window, qtbot, tmp_path):
    t = np.arange(3000) / 50.0
    rows = ["time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity"]
    rows += [f"{x:.2f},{np.sin(x):.4f},{np.cos(x):.4f},9.81,{'walking' if x < 30 else 'sitting'}" for x in t]
    csv = tmp_path / "wrist.csv"
    csv.write_text("\n".join(rows) + "\n")
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, csv)
    assert blocker.args == [True]
    assert w.session is not None and w.path is None and w.dirty
    assert "accelerometer" in w.session.streams
    assert [s.label for s in w.session.label_tracks["activity"]] == ["walking", "sitting"]
    out = tmp_path / "wrist.h5"
    assert w.save_as(out)
    assert out.exists() and not w.dirty and w.path == out


def test_drop_unreadable_file_reports_the_importer_error(make_window, qtbot, tmp_path):
    bad = tmp_path / "noise.bin"
    bad.write_bytes(bytes(range(256)) * 4)
    w = make_window()
    with qtbot.waitSignal(w.import_finished, timeout=20000) as blocker:
        drop(w, bad)
    assert blocker.args == [False]
    assert "no importer recognises" in w.last_message
    assert w.session is None
    QApplication.processEvents()
    for wid in QApplication.topLevelWidgets():
        if wid.objectName() == "error_box":
            wid.close()
