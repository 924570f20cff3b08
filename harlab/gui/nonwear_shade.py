"""Non-wear on the timeline: a grey veil over every trace where the device was not worn.

One item per plot paints all the spans of the session's non-wear quality track
(:mod:`harlab.core.quality_tracks`) from the top to the bottom of the view, and only those in view,
so a week with dozens of spans costs a few rectangles per frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter

from harlab.core.quality_tracks import QualityTrack
from harlab.gui.paint_guard import never_raises
from harlab.summary import NONWEAR_COLOR


class NonwearShade(pg.GraphicsObject):
    """Grey bands over ``track``'s spans, the full height of the plot."""

    def __init__(self, track: QualityTrack, alpha: int = 110) -> None:
        super().__init__()
        self.track = track
        self.color = QColor(NONWEAR_COLOR)
        self.color.setAlpha(alpha)
        self.setZValue(20)  # over the traces, under the cursor (30) and the selection (25)
        self.setToolTip(f"not worn ({track.method or track.kind})")

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        vr = self.viewRect()
        if vr is None or not len(self.track):
            return QRectF()
        left, right = float(self.track.start[0]), float(self.track.end[-1])
        return QRectF(left, vr.top(), right - left, vr.height())

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.prepareGeometryChange()
        super().viewRangeChanged()

    @never_raises
    def paint(self, p: QPainter, *args: object) -> None:
        vr = self.viewRect()
        if vr is None:
            return
        t = self.track
        i0 = int(np.searchsorted(t.end, vr.left(), side="right"))
        i1 = int(np.searchsorted(t.start, vr.right(), side="left"))
        for a, b in zip(t.start[i0:i1], t.end[i0:i1], strict=True):
            p.fillRect(QRectF(float(a), vr.top(), float(b - a), vr.height()), self.color)
