"""The device picker: simulated devices always, real ones from a background Bluetooth scan."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.wording import counted
from harlab.gui.record.devices import (
    DeviceChoice,
    Scanner,
    ScanRunner,
    choice_from_found,
    default_scanner,
    simulated_choices,
)

ROLE = Qt.ItemDataRole.UserRole


class DevicePicker(QWidget):
    """A table of devices (name, RSSI, recognised profile) with multi-selection.

    ``selection_changed`` fires when the picked rows change; ``scan_finished(str)`` when a
    scan ends (the status text), which tests and the panel use to know the scan is over.
    """

    selection_changed = Signal()
    scan_finished = Signal(str)

    def __init__(
        self, scanner: Scanner | None = None, scan_timeout: float = 5.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._scanner = scanner or default_scanner
        self._scan_timeout = scan_timeout
        self._runner: ScanRunner | None = None
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Device", "RSSI", "Profile"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self.selection_changed)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("scanStatus")
        self.scan_button = QPushButton("Scan for Bluetooth devices")
        self.scan_button.clicked.connect(self.start_scan)
        row = QHBoxLayout()
        row.addWidget(self.scan_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addLayout(row)
        self._found: list[DeviceChoice] = []
        self._rebuild()
        self.table.selectRow(0)  # the activity simulator: recording works out of the box

    # -- rows ---------------------------------------------------------------------------
    def choices(self) -> list[DeviceChoice]:
        return [self.table.item(r, 0).data(ROLE) for r in range(self.table.rowCount())]

    def selected(self) -> list[DeviceChoice]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [c for c in (self.table.item(r, 0).data(ROLE) for r in rows) if c.recordable]

    def select_keys(self, keys: list[str]) -> None:
        """Select exactly the rows whose :attr:`DeviceChoice.key` is in ``keys``."""
        self.table.clearSelection()
        for r, c in enumerate(self.choices()):
            if c.key in keys:
                self.table.selectRow(r)

    def _rebuild(self) -> None:
        keep = {c.key for c in self.selected()} if self.table.rowCount() else set()
        self.table.setRowCount(0)
        for c in simulated_choices() + self._found:
            r = self.table.rowCount()
            self.table.insertRow(r)
            name = QTableWidgetItem(c.title)
            name.setData(ROLE, c)
            rssi = QTableWidgetItem("—" if c.rssi is None else f"{c.rssi} dBm")
            rssi.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            prof = QTableWidgetItem(c.profile or "not recognised")
            if c.simulated:
                name.setToolTip("Simulated: no hardware needed")
            if not c.recordable:
                for it in (name, rssi, prof):
                    it.setFlags(Qt.ItemFlag.ItemIsEnabled)  # visible, not selectable
                    it.setForeground(QBrush(QColor("#8a8a8a")))
                    it.setToolTip("harlab does not recognise this device's services")
            for col, it in enumerate((name, rssi, prof)):
                self.table.setItem(r, col, it)
        if keep:
            self.select_keys(list(keep))

    # -- scanning -----------------------------------------------------------------------
    @property
    def scanning(self) -> bool:
        return self._runner is not None

    def start_scan(self) -> None:
        if self._runner is not None:
            return
        self.scan_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(f"Scanning for Bluetooth devices ({self._scan_timeout:.0f} s)…")
        runner = ScanRunner(self._scanner, self._scan_timeout)
        runner.found.connect(self._on_found)
        runner.failed.connect(self._on_failed)
        self._runner = runner
        runner.start()

    def _done(self, text: str) -> None:
        self._runner = None
        self.scan_button.setEnabled(True)
        self.status.setText(text)
        self.scan_finished.emit(text)

    def _on_found(self, rows: list) -> None:
        self._found = [choice_from_found(r) for r in rows]
        self._rebuild()
        n_ok = sum(c.recordable for c in self._found)
        if not rows:
            text = "No Bluetooth devices found. Wake the device (wear the strap, shake the sensor) and scan again."
        else:
            text = f"{counted(len(rows), 'Bluetooth device')} found, {n_ok} with a profile harlab can record."
        self._done(text)

    def _on_failed(self, message: str) -> None:
        self.status.setStyleSheet("color: #b3261e;")
        self._done(message + ". Simulated devices still work.")
