"""The picture of the video dock: one frame scaled to fit (aspect kept), or why there is none.

Painting scales the last frame the feed delivered into the widget's rectangle keeping
its aspect ratio (letterboxed on black); with no frame it says why in the middle ("no
video here" before, after or inside a gap of the video; "opening…"; an error). An
optional overlay draws a trace (the accelerometer magnitude around the cursor) across
the picture's lower part with a line at the cursor, so that nudging the sync shows the
movement in the picture and in the trace together.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from harlab.gui.paint_guard import never_raises

NO_VIDEO = "no video here"
#: the overlay's smallest vertical range (m/s²)
MIN_TRACE_SPAN = 3.0


class VideoView(QWidget):
    """Shows a QImage scaled with its aspect ratio, a message when there is none, and a trace overlay.

    Dragging over the picture marks a region (``region_dragged(x, y, w, h)`` in the picture's
    pixels, e.g. over the wrist for the automatic sync); ``region`` is drawn as an outline.
    """

    region_dragged = Signal(int, int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("video_view")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: QImage | None = None
        self.message = NO_VIDEO
        #: (seconds relative to the cursor, values) of the overlaid trace, or None
        self.trace: tuple[np.ndarray, np.ndarray] | None = None
        self.trace_span = 2.0  #: seconds either side of the cursor the overlay covers
        self.region: QRect | None = None  #: in the picture's pixels
        self._drag_from: QPoint | None = None
        self._drag_to: QPoint | None = None

    def show_image(self, image: QImage) -> None:
        self.image, self.message = image, ""
        self.update()

    def show_message(self, message: str) -> None:
        self.image, self.message = None, message
        self.update()

    def set_trace(self, trace: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.trace = trace
        self.update()

    def image_rect(self) -> QRect:
        """Where the frame is drawn: the largest rectangle of its aspect ratio centred in the widget."""
        if self.image is None or self.image.isNull():
            return QRect()
        iw, ih = self.image.width(), self.image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def to_image(self, pos: QPoint) -> QPoint:
        """The picture's pixel under widget position ``pos`` (clamped to the picture)."""
        r = self.image_rect()
        if self.image is None or r.isEmpty():
            return QPoint()
        x = (pos.x() - r.x()) * self.image.width() / r.width()
        y = (pos.y() - r.y()) * self.image.height() / r.height()
        return QPoint(int(min(max(x, 0), self.image.width())), int(min(max(y, 0), self.image.height())))

    def to_widget(self, rect: QRect) -> QRectF:
        r = self.image_rect()
        if self.image is None or r.isEmpty():
            return QRectF()
        sx, sy = r.width() / self.image.width(), r.height() / self.image.height()
        return QRectF(r.x() + rect.x() * sx, r.y() + rect.y() * sy, rect.width() * sx, rect.height() * sy)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.image is not None:
            self._drag_from = self._drag_to = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag_from is not None:
            self._drag_to = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        start, self._drag_from = self._drag_from, None
        if start is None:
            return
        a, b = self.to_image(start), self.to_image(event.position().toPoint())
        rect = QRect(a, b).normalized()
        self.update()
        if rect.width() >= 4 and rect.height() >= 4:
            self.region_dragged.emit(rect.x(), rect.y(), rect.width(), rect.height())

    @never_raises
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 16, 16))
        if self.image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(self.image_rect(), self.image)
        elif self.message:
            p.setPen(QColor(200, 200, 200))
            font = p.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            p.setFont(font)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        if self.trace is not None:
            self._paint_trace(p)
        if self.image is not None and self.region is not None:
            p.setPen(QPen(QColor(80, 220, 255), 1.5, Qt.PenStyle.DashLine))
            p.drawRect(self.to_widget(self.region))
        if self._drag_from is not None and self._drag_to is not None:
            p.setPen(QPen(QColor(80, 220, 255), 1.0))
            p.drawRect(QRect(self._drag_from, self._drag_to).normalized())
        p.end()

    def _paint_trace(self, p: QPainter) -> None:
        """The trace across the lower third of the picture (or the widget), the cursor a vertical line."""
        assert self.trace is not None
        dt, values = self.trace
        area = self.image_rect() if self.image is not None else self.rect()
        band = QRectF(area.left(), area.top() + area.height() * 0.68, area.width(), area.height() * 0.3)
        p.fillRect(band, QColor(0, 0, 0, 110))
        if len(dt) > 1:
            lo, hi = float(np.min(values)), float(np.max(values))
            span = max(hi - lo, MIN_TRACE_SPAN)  # a still wrist draws a flat line, not magnified noise
            lo = (lo + hi - span) / 2
            xs = band.left() + (dt + self.trace_span) / (2 * self.trace_span) * band.width()
            ys = band.bottom() - 4 - (values - lo) / span * (band.height() - 8)
            path = QPainterPath(QPointF(float(xs[0]), float(ys[0])))
            for x, y in zip(xs[1:], ys[1:], strict=True):
                path.lineTo(float(x), float(y))
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(QColor(255, 200, 60), 1.5))
            p.drawPath(path)
        p.setPen(QPen(QColor(255, 80, 80), 1.5))
        x = band.center().x()
        p.drawLine(QPointF(x, band.top()), QPointF(x, band.bottom()))
