"""Fixtures for the Record panel tests: a Record window on a temporary output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def make_record_window(qtbot, tmp_path):
    """Factory of shown, active Record windows (no Bluetooth scan unless asked); on teardown any
    recording still running is stopped and every window closed."""
    from harlab.gui.record import RecordWindow

    windows = []

    def factory(**kw) -> RecordWindow:
        kw.setdefault("auto_scan", False)
        w = RecordWindow(None, tmp_path / "recordings", **kw)
        # Not qtbot.addWidget: pytest-qt closes its widgets before fixtures finish, and closing
        # over a running recording asks a (modal) question. This fixture stops, then closes.
        w.resize(1320, 860)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow)  # class hotkeys are window shortcuts
        windows.append(w)
        return w

    yield factory
    for w in windows:
        w.panel.shutdown()
        qtbot.waitUntil(lambda w=w: not w.panel.busy, timeout=20_000)  # closing must not prompt
        w.close()
        w.deleteLater()


@pytest.fixture
def screenshot():
    """``screenshot(widget, name)`` saves a PNG into tests/screenshots/ (gitignored) and returns its path."""

    def save(widget, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / name
        assert widget.grab().save(str(path)), f"could not save {path}"
        return path

    return save
