"""The disagreement strip: a thin timeline row under the label bands, red where the compared
label tracks disagree.

The spans come from the agreement core (:mod:`harlab.agreement`, computed by the caller); the
row only draws those in view, so a day of short disagreements costs a few rectangles per
frame. Spans never overlap (they come from one pass over time), so both their starts and
their ends are sorted.

The row's title is written in the palette's text colour, read again whenever the palette
changes: the strip is made once per comparison, and a colour given when it was made stayed
dark grey on the dark palette's background after View > Dark palette.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF
from PySide6.QtGui import QColor, QPainter, QPalette

from harlab.gui.paint_guard import never_raises
from harlab.gui.row_title import RowTitle
from harlab.gui.traces import LEFT_AXIS_WIDTH, cache_axes

STRIP_HEIGHT = 14  #: px: a row thin enough to sit under the bands without crowding them
DISAGREE_COLOR = "#d62728"


class SpanItem(pg.GraphicsObject):
    """Filled spans [start, end] over the full height of the view (only those in view)."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, color: str = DISAGREE_COLOR) -> None:
        super().__init__()
        self.starts = np.asarray(starts, dtype=np.float64)
        self.ends = np.asarray(ends, dtype=np.float64)
        self.color = QColor(color)

    def set_spans(self, starts: np.ndarray, ends: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.starts = np.asarray(starts, dtype=np.float64)
        self.ends = np.asarray(ends, dtype=np.float64)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        vr = self.viewRect()
        if vr is None or not len(self.starts):
            return QRectF()
        left, right = float(self.starts[0]), float(self.ends.max())
        return QRectF(left, vr.top(), max(right - left, 1e-9), vr.height())

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.prepareGeometryChange()
        super().viewRangeChanged()

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        vr = self.viewRect()
        if vr is None or not len(self.starts):
            return
        i0 = int(np.searchsorted(self.ends, vr.left(), side="left"))
        i1 = int(np.searchsorted(self.starts, vr.right(), side="right"))
        # at least one pixel wide, so a short disagreement in a zoomed-out day still shows
        px = self.pixelWidth() or 0.0
        for a, b in zip(self.starts[i0:i1], self.ends[i0:i1], strict=True):
            p.fillRect(QRectF(float(a), vr.top(), max(float(b - a), px), vr.height()), self.color)


class StripPlot(pg.PlotItem):
    """The strip's plot; calls ``on_palette`` when its palette changes (the application's
    palette switched, or the plot joined a scene), so its title can follow."""

    def __init__(self) -> None:
        super().__init__()
        self.on_palette = lambda: None

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.on_palette()


class DisagreementStrip:
    """The row's plot and its items; ``spans`` are the (start, end) arrays where the tracks
    named in ``tracks`` disagree, sorted by start."""

    def __init__(self, tracks: list[str], spans: tuple[np.ndarray, np.ndarray]) -> None:
        self.tracks = list(tracks)
        self.plot = StripPlot()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.vb.setMouseEnabled(x=True, y=False)
        self.plot.setYRange(0, 1, padding=0)
        self.plot.setFixedHeight(STRIP_HEIGHT)
        self.plot.setMinimumHeight(STRIP_HEIGHT)
        left = self.plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setStyle(showValues=False, tickLength=0)
        cache_axes(self.plot)
        self.item = SpanItem(*spans)
        self.plot.addItem(self.item, ignoreBounds=True)
        self.title = RowTitle(left)
        self._show_title()
        self.plot.on_palette = self._show_title

    def title_color(self) -> QColor:
        """The palette's text colour (the plot's palette: the application's, through its scene)."""
        return self.plot.palette().color(QPalette.ColorRole.WindowText)

    def _show_title(self) -> None:
        self.title.set_title(
            "≠ " + " / ".join(self.tracks),
            self.title_color(),
            tooltip="Red where " + ", ".join(self.tracks) + " disagree (the agreement panel has the figures)",
        )

    def set_spans(self, spans: tuple[np.ndarray, np.ndarray]) -> None:
        self.item.set_spans(*spans)
