"""The disagreement strip's title is readable in both palettes, also after switching palettes
with the strip already shown (its colour used to be fixed when the strip was made)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from harlab.gui.palette import plot_colors
from tests.gui.test_annotation_workbench import two_annotators
from tests.gui.test_screenshots import shoot

pytestmark = [pytest.mark.gui]


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1: the same, 21: black on white)."""

    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_strip_title_follows_the_palette(make_window, qtbot):
    session, _ = two_annotators()
    w = make_window()
    w.set_dark(False)
    try:
        w.show_session(session, unsaved=False)
        assert w.annotation.compare(["A", "B"])
        qtbot.waitUntil(lambda: w.annotation.strip is not None)
        w.timeline.set_range(0.0, 60.0)
        for dark in (False, True):
            w.set_dark(dark)
            text = QApplication.palette().color(QPalette.ColorRole.WindowText)
            strip = w.annotation.strip
            qtbot.waitUntil(lambda s=strip, t=text: s.title.brush().color() == t)
            background = QColor(plot_colors(dark).background)
            assert contrast(strip.title.brush().color(), background) > 7.0
            # the title's pixels on screen are the palette's text colour
            shoot(w, qtbot, f"disagreement_strip_{'dark' if dark else 'light'}")
            img = w.timeline.glw.grab().toImage()
            rect = strip.title.mapRectToScene(strip.title.boundingRect())
            view = w.timeline.glw
            tl = view.mapFromScene(rect.topLeft())
            br = view.mapFromScene(rect.bottomRight())
            pixels = [
                img.pixelColor(x, y)
                for x in range(max(tl.x(), 0), min(br.x(), img.width() - 1))
                for y in range(max(tl.y(), 0), min(br.y(), img.height() - 1))
            ]
            best = max(contrast(c, background) for c in pixels)
            assert best > 7.0, (
                f"title pixels reach a contrast of {best:.1f} on the {'dark' if dark else 'light'} palette"
            )
    finally:
        w.set_dark(False)
