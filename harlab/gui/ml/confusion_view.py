"""A confusion matrix people can read: class names as row and column headers, each cell the
count and its share of the true class (row), shaded by that share; a click opens it large.

A picture scaled into a corner of the train dialog made ten class names unreadable; a
table draws its text at the screen's font size however many classes there are, and
the enlarged copy shows the full names (the small one elides long names; their
tooltips keep them whole).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

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


class ConfusionView(QTableWidget):
    """Rows: true class; columns: predicted class. ``clicked_to_enlarge`` on a left click."""

    clicked_to_enlarge = Signal()

    def __init__(self, parent: QWidget | None = None, compact: bool = True) -> None:
        super().__init__(parent)
        self.compact = compact
        self.report: dict[str, Any] | None = None
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setCornerButtonEnabled(False)
        if compact:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(
                "rows: true class; columns: predicted class, numbered as the rows; each cell: "
                "windows and their share of the row. Click to enlarge."
            )
            font = self.font()
            font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
            self.setFont(font)

    def set_report(self, report: dict[str, Any] | None) -> None:
        """Show ``report["confusion"]`` with ``report["classes"]``; None clears."""
        self.report = report
        self.clear()
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
        for j, name in enumerate(classes):
            self.horizontalHeaderItem(j).setToolTip(f"predicted {name}")
            self.verticalHeaderItem(j).setToolTip(f"true {name}")
        totals = cm.sum(1)
        # small: one line per cell (rows are short); past ten classes only the share fits a column
        sep = "\n" if not self.compact else "  "
        for i in range(k):
            for j in range(k):
                n = int(cm[i, j])
                share = n / totals[i] if totals[i] else 0.0
                text = cell_text(n, int(totals[i]), sep) if n or i == j else ""
                if text and self.compact and k > 10:
                    text = f"{share:.0%}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(_shade(share))
                item.setForeground(QColor("white") if share > 0.55 else QColor("#222"))
                item.setToolTip(f"true {classes[i]}, predicted {classes[j]}: {n} of {int(totals[i])} windows")
                self.setItem(i, j, item)
        hh, vh = self.horizontalHeader(), self.verticalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(10 if self.compact else 64)
        vh.setMinimumSectionSize(10 if self.compact else 40)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.compact and event.button() == Qt.MouseButton.LeftButton and self.report is not None:
            self.clicked_to_enlarge.emit()
            event.accept()
            return
        super().mousePressEvent(event)


class ConfusionDialog(QDialog):
    """The confusion matrix large, with full class names and a title saying what was validated."""

    def __init__(self, report: dict[str, Any], title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Confusion matrix")
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(
            QLabel(
                "Rows: true class. Columns: predicted class. Each cell: windows, and their share of the row."
            )
        )
        self.view = ConfusionView(self, compact=False)
        self.view.set_report(report)
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        k = len(report["classes"])
        self.resize(min(1400, 180 + 90 * k), min(1000, 140 + 48 * k))
