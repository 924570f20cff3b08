"""An editable panel of the session's metadata (participant, device, timezone, notes).

Edits are applied to ``session.metadata`` at once and announced by ``changed``, so the
window can mark the session unsaved. A timezone is applied only when it is a valid
IANA name; otherwise the field turns red and says why.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDockWidget,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import SessionError
from harlab.core.metadata import check_timezone
from harlab.core.session import Session


def describe_duration(seconds: float) -> str:
    """A session's length in the units a person would say it in: "47.2 s", "10 min 12 s",
    "4 h 0 min" (hours with two decimals turned a 47 s recording into "0.01 h")."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m} min" if h else f"{m} min {s} s"


class MetadataDock(QDockWidget):
    """Dock with the metadata form; ``changed`` fires after every applied edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        self.setObjectName("metadata_dock")
        self.session: Session | None = None
        self._loading = False
        w = QWidget()
        form = QFormLayout(w)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.participant = QLineEdit()
        self.device_name = QLineEdit()
        self.device_model = QLineEdit()
        self.placement = QLineEdit()
        self.placement.setPlaceholderText("e.g. left wrist")
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        zones = sorted(available_timezones())
        self.timezone.addItems(zones)
        # sized to the form, not to the longest zone name: that made the dock 330 px wide and
        # the workbench wider than a 1024 px screen
        self.timezone.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.timezone.setMinimumContentsLength(10)
        completer = QCompleter(zones, self.timezone)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timezone.setCompleter(completer)
        self.tz_error = QLabel("")
        self.tz_error.setStyleSheet("color: #d62728")
        self.tz_error.setWordWrap(True)
        self.notes = QPlainTextEdit()
        self.notes.setMaximumHeight(120)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Participant", self.participant)
        form.addRow("Device", self.device_name)
        form.addRow("Model", self.device_model)
        form.addRow("Placement", self.placement)
        form.addRow("Timezone", self.timezone)
        form.addRow("", self.tz_error)
        form.addRow("Notes", self.notes)
        form.addRow(self.info)
        outer = QWidget()
        box = QVBoxLayout(outer)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(w)
        box.addStretch(1)
        # a short window scrolls the form instead of cutting its last fields off
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(outer)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(min(330, outer.minimumSizeHint().width() + bar))  # as wide as the form needs
        scroll.setMaximumWidth(330)
        self.setWidget(scroll)
        self.participant.editingFinished.connect(self._apply)
        self.device_name.editingFinished.connect(self._apply)
        self.device_model.editingFinished.connect(self._apply)
        self.placement.editingFinished.connect(self._apply)
        self.timezone.lineEdit().editingFinished.connect(self._apply)
        self.timezone.activated.connect(lambda _i: self._apply())
        self.notes.textChanged.connect(self._apply)
        self.setEnabled(False)

    def set_session(self, session: Session | None) -> None:
        self.session = session
        self._loading = True
        try:
            self.setEnabled(session is not None)
            md = session.metadata if session else None
            dev = md.devices[0] if md and md.devices else None
            self.participant.setText(md.participant_id if md else "")
            self.device_name.setText(dev.name if dev else "")
            self.device_model.setText(dev.model if dev else "")
            self.placement.setText(dev.placement if dev else "")
            for field in (self.participant, self.device_name, self.device_model, self.placement):
                # show a long value from its beginning (setText leaves it scrolled to its end)
                field.setCursorPosition(0)
                field.setToolTip(field.text())
            self.timezone.setEditText(md.timezone if md else "UTC")
            self.notes.setPlainText(md.notes if md else "")
            self.tz_error.setText("")
            self._show_info()
        finally:
            self._loading = False

    def _show_info(self) -> None:
        s = self.session
        if s is None:
            self.info.setText("")
            return
        md = s.metadata
        start = md.local_start()
        lines = [f"Start: {start:%Y-%m-%d %H:%M:%S %Z}" if start else "Start: unknown",
                 f"Duration: {describe_duration(s.duration_s)}",
                 f"Streams: {', '.join(s.streams) or 'none'}"]
        if md.provenance.importer:
            lines.append(f"Imported by: {md.provenance.importer}")
        self.info.setText("\n".join(lines))

    def _apply(self) -> None:
        if self._loading or self.session is None:
            return
        md = self.session.metadata
        before = (md.participant_id, md.timezone, md.notes,
                  tuple(vars(md.devices[0]).values()) if md.devices else None)
        md.participant_id = self.participant.text().strip()
        if self.device_name.text() or self.device_model.text() or self.placement.text() or md.devices:
            dev = md.device
            dev.name = self.device_name.text().strip()
            dev.model = self.device_model.text().strip()
            dev.placement = self.placement.text().strip()
        tz = self.timezone.currentText().strip()
        try:
            md.timezone = check_timezone(tz)
            self.tz_error.setText("")
            self.timezone.setStyleSheet("")
        except SessionError as exc:
            self.tz_error.setText(f"{exc}; kept {md.timezone}")
            self.timezone.setStyleSheet("QComboBox { border: 1px solid #d62728; }")
        md.notes = self.notes.toPlainText()
        after = (md.participant_id, md.timezone, md.notes,
                 tuple(vars(md.devices[0]).values()) if md.devices else None)
        if after != before:
            self._show_info()
            self.changed.emit()
