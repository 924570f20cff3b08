"""The workbench's way into recording: the start screen's Record button, File > Record…,
and a finished recording offered for opening (simulated device, accelerated clock)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.gui_helpers import press_shortcut

pytestmark = pytest.mark.gui


def _prompt(w) -> QMessageBox | None:
    box = w.findChild(QMessageBox, "open_recording_prompt")
    return box if box is not None and box.isVisible() else None


def test_record_button_records_and_offers_to_open(make_window, qtbot, tmp_path):
    w = make_window()
    w.recordings_dir = tmp_path / "recordings"
    w.record_kwargs = {"speed": 8, "auto_scan": False}  # the simulator at 8x, no Bluetooth scan
    assert w.start_screen.record_button.isEnabled()
    qtbot.mouseClick(w.start_screen.record_button, Qt.MouseButton.LeftButton)
    rw = w.record_window
    assert rw is not None
    qtbot.waitExposed(rw)
    try:
        press_shortcut(qtbot, w, "record")  # File > Record… again: the same window, raised
        assert w.record_window is rw
        p = rw.panel
        p.setup.duration.setValue(2)  # stop and save after 2 s of (simulated) time
        with qtbot.waitSignal(rw.recording_finished, timeout=20_000) as sig:
            qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
        path = Path(sig.args[0])
        assert path.exists() and path.parent == tmp_path / "recordings"
        qtbot.waitUntil(lambda: _prompt(w) is not None, timeout=5000)
        box = _prompt(w)
        assert str(path) in box.text()
        open_button = next(b for b in box.buttons() if b.text() == "Open")
        qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.session is not None, timeout=5000)
        assert w.path == path and w.stack.currentWidget() is w.timeline
        assert {sp.stream.name for sp in w.timeline.stream_plots} >= {"accel", "gyro"}
        qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    finally:
        rw.panel.shutdown()
        qtbot.waitUntil(lambda: not rw.panel.busy, timeout=20_000)
        rw.close()
    qtbot.waitUntil(lambda: w.record_window is None, timeout=5000)


def test_record_windows_open_recording_button_opens_it_in_the_workbench(make_window, qtbot, tmp_path):
    """The Record window's own "Open in the workbench" (open_requested) lands in this window."""
    from harlab.storage import save_session
    from tests.gui.gui_helpers import make_session

    w = make_window()
    w.recordings_dir = tmp_path
    w.record_kwargs = {"auto_scan": False}
    rw = w.record()
    qtbot.waitExposed(rw)
    path = save_session(make_session(minutes=1), tmp_path / "rec.h5")
    rw.open_requested.emit(str(path))
    assert w.path == path
    rw.close()
    qtbot.waitUntil(lambda: w.record_window is None, timeout=5000)
