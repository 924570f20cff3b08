"""A row's name written across the left axis column, fitted to the row.

pyqtgraph's axis title is rotated and centred on its row: a name longer than the row is
tall runs into the neighbouring rows' titles (a 34 px label band called "postactivity").
A :class:`RowTitle` is horizontal, wraps at spaces and dashes, and elides what still does
not fit into the area it is given, so it never leaves its row; the whole name is its
tooltip.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsSimpleTextItem

TITLE_POINT_SIZE = 8.0
PAD = 3.0  #: px between the title and the column's edges


def fit_lines(text: str, metrics: QFontMetricsF, width: float, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``width`` (the last
    one elided with "…" when the rest does not fit)."""
    pieces = text.replace("-", "-\u200b").replace("_", "_\u200b").replace(" ", " \u200b").split("\u200b")
    lines: list[str] = []  # each with its trailing space, so what overflows joins back as written
    current = ""
    for piece in pieces:
        trial = current + piece
        if current and metrics.horizontalAdvance(trial.rstrip()) > width:
            lines.append(current)
            current = piece
        else:
            current = trial
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + ["".join(lines[max_lines - 1 :])]
    out = [metrics.elidedText(ln.rstrip(), Qt.TextElideMode.ElideRight, width) for ln in lines]
    return [ln for ln in out if ln] or [""]


class RowTitle(QGraphicsSimpleTextItem):
    """The title of one timeline row, drawn in (a part of) its left axis.

    ``area`` gives the part of the axis the title may use as fractions of the axis' height
    (top, bottom) and the pixels to leave free on the right (for tick labels)."""

    def __init__(self, axis: pg.AxisItem, area: tuple[float, float] = (0.0, 1.0), right: float = 0.0) -> None:
        super().__init__(axis)
        self.axis = axis
        self.area, self.right = area, right
        self.text_ = ""
        f = QFont()
        f.setPointSizeF(TITLE_POINT_SIZE)
        self.setFont(f)
        axis.showLabel(False)
        axis.geometryChanged.connect(self.fit)

    def set_title(self, text: str, color: str | QColor, bold: bool = False, tooltip: str = "") -> None:
        """Show ``text``; the tooltip is ``tooltip`` (more than the row has room for: who made
        a label track and when) or else the whole title."""
        self.text_ = text
        f = self.font()
        f.setBold(bold)
        self.setFont(f)
        self.setBrush(pg.mkBrush(color))
        self.setToolTip(tooltip or text)
        self.fit()

    def available(self) -> QRectF:
        """The part of the axis (in its coordinates) the title may fill."""
        h = self.axis.height()
        top, bottom = self.area[0] * h, self.area[1] * h
        return QRectF(PAD, top, max(1.0, self.axis.width() - self.right - 2 * PAD), max(1.0, bottom - top))

    def fit(self) -> None:
        room = self.available()
        metrics = QFontMetricsF(self.font())
        max_lines = max(1, int(room.height() // metrics.lineSpacing()))
        self.setText("\n".join(fit_lines(self.text_, metrics, room.width(), max_lines)))
        r = self.boundingRect()
        self.setPos(room.left(), room.top() + max(0.0, (room.height() - r.height()) / 2))
