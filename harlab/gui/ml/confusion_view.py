"""A confusion matrix people can read: class names as row and column headers, each cell the
count and its share of the true class (row), shaded by that share; a click opens it large.

A picture scaled into a corner of the train dialog made ten class names unreadable; a
table draws its text at the screen's font size however many classes there are, and
the enlarged copy shows the full names (the small one elides long names; their
tooltips keep them whole).

The same view shows two annotators' confusion in the agreement panel: :class:`Axes` says what
the rows and columns are (true and predicted class, or what each annotator said) and what is
counted. The small view fits its width, whatever the number of classes: columns are numbered
as the rows, row names are cut to a width, cells too narrow for the count show only the share
and those too narrow for that only their shade; every cell's tooltip has the full names and
the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QStyle,
    QStyleOptionHeader,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class Axes:
    """What a confusion matrix's rows and columns are, in words: ``rows``/``columns`` go before a
    class name ("true walking"), ``unit`` is what the cells count, ``legend`` says it all."""

    rows: str = "true"
    columns: str = "predicted"
    unit: str = "windows"
    legend: str = (
        "Rows: true class. Columns: predicted class. Each cell: windows, and their share of the row."
    )


MODEL = Axes()  #: a model's predictions against the truth (the train dialog)
#: the widest a compact view's row names get (px); longer ones are cut, their tooltips whole
ROW_NAME_WIDTH = 130
#: px a cell needs beside its text (the style's margins and the grid line), so no text is elided
CELL_PADDING = 10

_LIGHT = QColor("#f7fbff")
_DARK = QColor("#08519c")


def _shade(share: float) -> QColor:
    """White-blue scale: 0 = almost white, 1 = dark blue."""
    s = min(1.0, max(0.0, share))
    return QColor(
        int(_LIGHT.red() + (_DARK.red() - _LIGHT.red()) * s),
        int(_LIGHT.green() + (_DARK.green() - _LIGHT.green()) * s),
        int(_LIGHT.blue() + (_DARK.blue() - _LIGHT.blue()) * s),
    )


def cell_text(count: int, row_total: int, sep: str = "\n") -> str:
    """The count and its share of the true class's windows: ``"41\n93%"`` (``sep`` between)."""
    if not row_total:
        return str(count)
    return f"{count}{sep}{count / row_total:.0%}"


class TurnedHeader(QHeaderView):
    """Column headers whose text turns upright (read bottom to top) when a column is too narrow
    for it: the numbers 10 to 18 in a matrix of 18 classes fitted to a narrow panel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)

    def _text(self, logical: int) -> str:
        model = self.model()
        return "" if model is None else str(model.headerData(logical, self.orientation()) or "")

    def _turned(self, logical: int) -> bool:
        return self.fontMetrics().horizontalAdvance(self._text(logical)) + 4 > self.sectionSize(logical)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        widest = max(
            (
                self.fontMetrics().horizontalAdvance(self._text(j))
                for j in range(self.count())
                if self._turned(j)
            ),
            default=0,
        )
        return QSize(hint.width(), max(hint.height(), widest + 8))

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:  # noqa: N802
        if not self._turned(logical):
            super().paintSection(painter, rect, logical)
            return
        option = QStyleOptionHeader()
        self.initStyleOption(option)
        option.rect = rect
        option.section = logical
        option.text = ""
        self.style().drawControl(QStyle.ControlElement.CE_Header, option, painter, self)
        painter.save()
        painter.translate(rect.left(), rect.bottom())
        painter.rotate(-90)
        painter.drawText(
            QRect(2, 0, rect.height() - 4, rect.width()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self._text(logical),
        )
        painter.restore()


class ConfusionView(QTableWidget):
    """Rows: true class; columns: predicted class. ``clicked_to_enlarge`` on a left click."""

    clicked_to_enlarge = Signal()

    def __init__(self, parent: QWidget | None = None, compact: bool = True, axes: Axes = MODEL) -> None:
        super().__init__(parent)
        self.compact = compact
        self.axes = axes
        self.report: dict[str, Any] | None = None
        #: the cells' texts, fullest first (count and share, then the share); the first that fits is shown
        self._tiers: list[list[list[str]]] = []
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setCornerButtonEnabled(False)
        if compact:
            self.setHorizontalHeader(TurnedHeader(self))
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            font = self.font()
            font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
            self.setFont(font)
            self.verticalHeader().setMaximumWidth(ROW_NAME_WIDTH)
            self.verticalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self._legend_tooltip()

    def _legend_tooltip(self) -> None:
        if self.compact:
            self.setToolTip(f"{self.axes.legend} Columns are numbered as the rows. Click to enlarge.")

    def set_report(self, report: dict[str, Any] | None, axes: Axes | None = None) -> None:
        """Show ``report["confusion"]`` with ``report["classes"]`` (rows and columns as ``axes``
        say, else as before); None clears."""
        self.report = report
        if axes is not None:
            self.axes = axes
            self._legend_tooltip()
        self.clear()
        self._tiers = []
        if report is None:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        classes = [str(c) for c in report["classes"]]
        cm = np.asarray(report["confusion"], np.int64)
        k = len(classes)
        self.setRowCount(k)
        self.setColumnCount(k)
        if self.compact:  # numbered columns: whole names fit as row headers, elided ones would not read
            self.setHorizontalHeaderLabels([str(j + 1) for j in range(k)])
            self.setVerticalHeaderLabels([f"{j + 1}  {c}" for j, c in enumerate(classes)])
        else:
            self.setHorizontalHeaderLabels(classes)
            self.setVerticalHeaderLabels(classes)
        ax = self.axes
        for j, name in enumerate(classes):
            column, row_head = self.horizontalHeaderItem(j), self.verticalHeaderItem(j)
            if column is not None and row_head is not None:  # set just above
                column.setToolTip(f"{ax.columns} {name}")
                row_head.setToolTip(f"{ax.rows} {name}")
        totals = cm.sum(1)
        # small: one line per cell (rows are short), or only the share where that does not fit
        sep = "\n" if not self.compact else "  "
        full: list[list[str]] = []
        shares: list[list[str]] = []
        for i in range(k):
            row: list[str] = []
            share_row: list[str] = []
            for j in range(k):
                n = int(cm[i, j])
                share = n / totals[i] if totals[i] else 0.0
                text = cell_text(n, int(totals[i]), sep) if n or i == j else ""
                row.append(text)
                share_row.append(f"{share:.0%}" if text and totals[i] else text)
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(_shade(share))
                item.setForeground(QColor("white") if share > 0.55 else QColor("#222"))
                item.setToolTip(
                    f"{ax.rows} {classes[i]}, {ax.columns} {classes[j]}: {n} of {int(totals[i])} {ax.unit}"
                    + (f" ({share:.0%})" if totals[i] else "")
                )
                self.setItem(i, j, item)
            full.append(row)
            shares.append(share_row)
        self._tiers = [full, shares]
        hh, vh = self.horizontalHeader(), self.verticalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(10 if self.compact else 64)
        vh.setMinimumSectionSize(10 if self.compact else 40)
        self._fit_row_names()
        self._fit_texts()

    @property
    def counts(self) -> np.ndarray:
        """The matrix shown (empty when nothing is)."""
        if self.report is None:
            return np.zeros((0, 0), np.int64)
        return np.asarray(self.report["confusion"], np.int64)

    def fitting_texts(self) -> list[list[str]] | None:
        """The fullest texts every column is wide enough for (None: the cells keep only their shade)."""
        if not self._tiers or not self.compact:
            return self._tiers[0] if self._tiers else None
        narrowest = min(self.columnWidth(j) for j in range(self.columnCount()))
        metrics = self.fontMetrics()
        for tier in self._tiers:
            widest = max((metrics.horizontalAdvance(t) for r in tier for t in r), default=0)
            if widest + CELL_PADDING <= narrowest:
                return tier
        return None

    def _fit_texts(self) -> None:
        texts = self.fitting_texts()
        for i in range(self.rowCount()):
            for j in range(self.columnCount()):
                item = self.item(i, j)
                if item is not None:
                    item.setText(texts[i][j] if texts is not None else "")

    def _fit_row_names(self) -> None:
        """In a narrow view the row names give way (down to 40 px, cut short, in full in their
        tooltips) before the columns would need a scroll bar: the columns' least width is theirs."""
        if not self.compact:
            return
        room = (
            self.width()
            - 2 * self.frameWidth()
            - self.columnCount() * self.horizontalHeader().minimumSectionSize()
        )
        self.verticalHeader().setMaximumWidth(max(40, min(ROW_NAME_WIDTH, room - 2)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self._fit_row_names()
        super().resizeEvent(event)
        self._fit_texts()
        self.horizontalHeader().updateGeometry()  # turned numbers need a taller header

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.compact and event.button() == Qt.MouseButton.LeftButton and self.report is not None:
            self.clicked_to_enlarge.emit()
            event.accept()
            return
        super().mousePressEvent(event)


class ConfusionDialog(QDialog):
    """The confusion matrix large, with full class names and a title saying what was validated."""

    def __init__(
        self, report: dict[str, Any], title: str, parent: QWidget | None = None, axes: Axes = MODEL
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Confusion matrix")
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(QLabel(axes.legend))
        self.view = ConfusionView(self, compact=False, axes=axes)
        self.view.set_report(report)
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        k = len(report["classes"])
        self.resize(min(1400, 180 + 90 * k), min(1000, 140 + 48 * k))
