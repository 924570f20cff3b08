"""Fixtures for the workbench tests: isolated settings, a window, and leak checks."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import shiboken6  # noqa: E402
from PySide6.QtCore import QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from harlab.gui import settings  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, qapp):
    """Every test gets its own QSettings folder: no test sees the user's (or another test's)
    recent files, palette or geometry."""
    import pyqtgraph as pg

    # pyqtgraph drops mouse moves closer than 1/mouseRateLimit s apart; a test's synthetic
    # drag sends them within microseconds, so without this a drag would depend on CPU speed
    pg.setConfigOptions(mouseRateLimit=-1)
    folder = tmp_path_factory.mktemp("qsettings")
    settings.use_settings_dir(folder, organization="harlab-tests")
    yield folder


@pytest.fixture
def session_path(tmp_path):
    from harlab.storage import save_session
    from tests.gui.gui_helpers import make_session

    return save_session(make_session(minutes=10), tmp_path / "rec.h5")


def _visible_top_levels() -> set[int]:
    # widgets earlier tests handed to deleteLater are destroyed first: listing top-level widgets
    # while some are half torn down can hand back a wrapper whose C++ object is gone
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return {id(w) for w in QApplication.topLevelWidgets() if _visible(w)}


def _visible(w) -> bool:
    """Whether ``w`` is shown; False for a widget whose C++ side is already destroyed."""
    if not shiboken6.isValid(w):
        return False
    try:
        return w.isVisible()
    except RuntimeError:
        return False


@pytest.fixture
def make_window(qtbot):
    """Factory of main windows; on teardown every window is closed without prompts and no
    visible top-level widget may survive the test (napari's leak check, cheaply)."""
    from harlab.gui.main_window import MainWindow

    before = _visible_top_levels()
    windows = []

    def factory(**kw) -> MainWindow:
        w = MainWindow(**kw)

        w.resize(1200, 760)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        windows.append(w)
        return w

    yield factory
    for w in windows:
        if w.history is not None:
            w.history.clear()  # nothing unsaved: closing must not prompt
        w.meta_dirty = w.unsaved_import = w.predictions_dirty = False
        w.close()
        w.deleteLater()
    QApplication.processEvents()
    leaked = _visible_top_levels() - before
    assert not leaked, f"{len(leaked)} top-level widget(s) left open by the test"
