"""The overview's "in view" box is drawn in the palette's highlight colour, translucent, in the
light and the dark palette: the cursor's red/pink box read as an error."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests.gui.gui_helpers import make_session

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("dark", [False, True])
def test_view_box_uses_the_palette_highlight(make_window, qtbot, dark):
    w = make_window()
    w.resize(1280, 800)
    assert w.show_session(make_session(minutes=10, n_segments=20), unsaved=False)
    w.timeline.set_range(60.0, 260.0)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    w.set_dark(dark)
    try:
        box = w.timeline.overview.view_rect
        highlight = QApplication.palette().highlight().color()
        assert box.pen().color().rgb() == highlight.rgb()
        fill = box.brush().color()
        assert fill.rgb() == highlight.rgb() and 0 < fill.alpha() < 90  # translucent: the data shows through
        hue = fill.hslHue()
        assert 180 <= hue <= 260, hue  # blue, not red or pink
        w.timeline.overview.grab().save(f"/tmp/harlab_overview_{'dark' if dark else 'light'}.png")
    finally:
        w.set_dark(False)
