"""The start screen shown when no session is open: recent sessions and first steps."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from harlab import __version__

#: what harlab does, in the one line a first-time user reads
PURPOSE = (
    "Record or import wearable-sensor data, label the activities in it, "
    "and train and check models that recognise them."
)
MAX_RECENT_ROWS = 12  #: rows the recent list grows to before it scrolls


class StartScreen(QWidget):
    """Buttons for the first steps; ``open_requested(path)`` when a recent file is chosen."""

    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("harlab")
        f = QFont()
        f.setPointSize(26)
        f.setBold(True)
        title.setFont(f)
        version = QLabel(f"version {__version__}")
        version.setEnabled(False)  # the palette's muted text
        heading = QHBoxLayout()
        heading.addWidget(title)
        heading.addSpacing(12)
        heading.addWidget(version, 0, Qt.AlignmentFlag.AlignBottom)
        heading.addStretch(1)
        self.subtitle = QLabel(PURPOSE)
        self.subtitle.setWordWrap(True)
        self.open_button = QPushButton("Open session…")
        self.demo_button = QPushButton("Open the demo")
        self.demo_button.setToolTip("Simulate a short wrist-worn recording with labels and open it")
        self.import_button = QPushButton("Import a file…")
        self.import_button.setToolTip("CSV, Fitbit exports, WISDM, UCI HAPT… (drag and drop works too)")
        # datasets come as folders (the Fitbit seed, WISDM, UCI HAPT), so the start screen offers them
        self.import_folder_button = QPushButton("Import a folder…")
        self.import_folder_button.setToolTip(
            "Every importable file in a folder, each written as a session file"
        )
        self.record_button = QPushButton("Record…")
        self.record_button.setToolTip(
            "Record from the activity simulator or a Bluetooth sensor, labelling live with class keys"
        )
        buttons = QVBoxLayout()
        for b in (
            self.open_button,
            self.demo_button,
            self.import_button,
            self.import_folder_button,
            self.record_button,
        ):
            b.setMinimumHeight(34)
            b.setMinimumWidth(200)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.recent = QListWidget()
        self.recent.setMinimumWidth(280)
        self.recent.setSpacing(2)
        self.recent.itemActivated.connect(
            lambda item: self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        # as tall as its rows (up to MAX_RECENT_ROWS), not the whole window: an empty list
        # is a line of text, not a large white box
        self.no_recent = QLabel("No recent sessions yet: open the demo to try harlab.")
        self.no_recent.setEnabled(False)
        recent_box = QVBoxLayout()
        recent_box.addWidget(QLabel("<b>Recent sessions</b>"))
        recent_box.addWidget(self.recent)
        recent_box.addWidget(self.no_recent)
        hint = QLabel("Drop a session (.h5), an importable file or a folder anywhere on this window.")
        hint.setWordWrap(True)
        recent_box.addSpacing(8)
        recent_box.addWidget(hint)
        recent_box.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(buttons)
        row.addSpacing(24)
        row.addLayout(recent_box, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 36, 48, 36)
        outer.addLayout(heading)
        outer.addWidget(self.subtitle)
        outer.addSpacing(12)
        self._outer = outer
        self.recovery = None  #: a RecoveryBar while interrupted recordings wait in the folder
        outer.addSpacing(8)
        outer.addLayout(row, 1)

    def check_recoveries(self, folder: str | Path) -> None:
        """Offer recordings in ``folder`` that a killed or crashed recorder left behind.

        The session is rebuilt from its journal when the user agrees (the crash-safe
        writer's recovery), then offered for opening like any other file.
        """
        from harlab.gui.record.recovery import RecoveryBar

        if self.recovery is not None:
            self._outer.removeWidget(self.recovery)
            self.recovery.deleteLater()
        self.recovery = RecoveryBar(folder, self)
        self.recovery.open_requested.connect(self.open_requested)
        self._outer.insertWidget(3, self.recovery)  # under the heading, the purpose and a spacing

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}    —    {Path(p).parent}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.no_recent.setVisible(not paths)
        if paths:
            rows = min(len(paths), MAX_RECENT_ROWS)
            row_h = self.recent.sizeHintForRow(0) + 2 * self.recent.spacing()
            self.recent.setFixedHeight(rows * row_h + 2 * self.recent.frameWidth() + 2)
