"""Live signal quality: a table per stream and a coloured state chip per device.

A researcher glances at these to catch a bad recording while it can still be fixed:
a rate below nominal (radio congestion, a sleeping sensor), gaps, clipped samples,
packets lost, a device stuck reconnecting.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from harlab.recording.recorder import StreamQuality

#: Chip colours per source state (background, text); reconnecting and errors must stand out.
STATE_COLORS: dict[str, tuple[str, str]] = {
    "idle": ("#9e9e9e", "#ffffff"),
    "scanning": ("#1e88e5", "#ffffff"),
    "connecting": ("#f9a825", "#1a1a1a"),
    "streaming": ("#2e7d32", "#ffffff"),
    "reconnecting": ("#ef6c00", "#ffffff"),
    "stopped": ("#616161", "#ffffff"),
    "error": ("#c62828", "#ffffff"),
}
BAD = QColor("#c62828")
WARN = QColor("#ef6c00")


@dataclass(frozen=True)
class StreamRow:
    name: str
    device: str
    nominal_hz: float | None


class QualityTable(QTableWidget):
    COLUMNS = ("Stream", "Device", "Rate (Hz)", "Samples", "Gaps", "Clipped", "Lost")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rows: list[StreamRow] = []
        self.setToolTip(
            "Rate: effective over the last 5 s / nominal. Lost: packets (BLE) or samples "
            "(simulator) the device failed to deliver."
        )

    def set_streams(self, rows: list[StreamRow]) -> None:
        self.rows = rows
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c in range(len(self.COLUMNS)):
                it = QTableWidgetItem("")
                if c >= 2:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, it)
            self.item(r, 0).setText(row.name)
            self.item(r, 1).setText(row.device)
        h = self.horizontalHeader().height() + sum(self.rowHeight(r) for r in range(len(rows))) + 4
        self.setFixedHeight(min(h, 240))

    def update_quality(self, quality: dict[str, StreamQuality], lost: dict[str, int], elapsed: float) -> None:
        for r, row in enumerate(self.rows):
            q = quality.get(row.name)
            if q is None:
                continue
            rate = self.item(r, 2)
            nominal = row.nominal_hz
            rate.setText(f"{q.recent_rate_hz:.1f} / {nominal:g}" if nominal else f"{q.recent_rate_hz:.2f}")
            low = nominal is not None and elapsed > 6 and q.recent_rate_hz < 0.9 * nominal
            rate.setForeground(QBrush(BAD) if low else self.palette().text())
            self.item(r, 3).setText(f"{q.samples:,}")
            self._count(r, 4, q.gaps, WARN)
            self._count(r, 5, q.clipped, WARN)
            self._count(r, 6, lost.get(row.device, 0), BAD)

    def _count(self, r: int, c: int, n: int, color: QColor) -> None:
        it = self.item(r, c)
        it.setText(f"{n:,}")
        it.setForeground(QBrush(color) if n else self.palette().text())


class SourceChips(QWidget):
    """One rounded label per device: "Polar H10 · streaming", coloured by state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QHBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(6)
        self._lay.addStretch(1)
        self.chips: dict[str, QLabel] = {}
        self.states: dict[str, str] = {}

    def set_sources(self, names: list[str]) -> None:
        for chip in self.chips.values():
            chip.deleteLater()
        self.chips.clear()
        self.states.clear()
        for i, n in enumerate(names):
            chip = QLabel()
            chip.setObjectName("sourceChip")
            self._lay.insertWidget(i, chip)
            self.chips[n] = chip
        self.update_states({n: "connecting" for n in names})

    def update_states(self, states: dict[str, str]) -> None:
        for name, state in states.items():
            chip = self.chips.get(name)
            if chip is None or self.states.get(name) == state:
                continue
            self.states[name] = state
            bg, fg = STATE_COLORS.get(state, STATE_COLORS["idle"])
            chip.setText(f"{name} · {state}")
            chip.setStyleSheet(
                f"QLabel {{ background: {bg}; color: {fg}; border-radius: 9px; padding: 2px 10px;"
                " font-weight: 600; }"
            )
