"""An editable panel of the session's metadata (participant, device, timezone, notes).

Every edit is an :class:`~harlab.labeling.commands.EditMetadata` pushed on the session's
undo history, so it is undoable, journalled against a crash, and makes the session unsaved;
an undo or a recovered journal shows in the form at once. Typing in the notes becomes one
edit after a short pause rather than one per key. A timezone is applied only when it is a
valid IANA name; otherwise the field turns red and says why.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtCore import Qt, QTimer, Signal
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
from harlab.core.events import Event
from harlab.core.metadata import DeviceInfo, check_timezone
from harlab.core.session import Session
from harlab.labeling.commands import EditMetadata, metadata_values
from harlab.labeling.history import EditHistory

NOTES_PAUSE_MS = 800  #: typing in the notes becomes one edit after this pause


def describe_duration(seconds: float) -> str:
    """A session's length in the units a person would say it in: "47.2 s", "10 min 12 s",
    "4 h 0 min" (never "0.01 h" for a 47 s recording)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m} min" if h else f"{m} min {s} s"


class MetadataDock(QDockWidget):
    """Dock with the metadata form; ``changed`` fires after every edit it pushed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        self.setObjectName("metadata_dock")
        self.session: Session | None = None
        self.history: EditHistory | None = None
        self._loading = False
        self._pushing = False
        self._notes_timer = QTimer(self)
        self._notes_timer.setSingleShot(True)
        self._notes_timer.setInterval(NOTES_PAUSE_MS)
        self._notes_timer.timeout.connect(self._apply)
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
        # sized to the form, not to the longest zone name, so the dock and the workbench fit a
        # 1024 px screen
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
        self.notes.textChanged.connect(self._notes_changed)
        self.setEnabled(False)

    def set_session(self, session: Session | None, history: EditHistory | None = None) -> None:
        """Show ``session``'s metadata; edits go on ``history`` (None: the form is read-only)."""
        self.flush()
        if self.session is not None:
            self.session.events.disconnect(self._session_event)
        self.session, self.history = session, history
        if session is not None:
            session.events.connect(self._session_event)
        self._fill()

    def _session_event(self, event: Event) -> None:
        if event.kind != "metadata_changed":
            return
        if self._pushing:
            self._show_info()
        else:  # an undo, redo or recovered edit: show the values it set
            self._fill()

    def _fill(self) -> None:
        session = self.session
        self._loading = True
        try:
            self.setEnabled(session is not None and self.history is not None)
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
        lines = [
            f"Start: {start:%Y-%m-%d %H:%M:%S %Z}" if start else "Start: unknown",
            f"Duration: {describe_duration(s.duration_s)}",
            f"Streams: {', '.join(s.streams) or 'none'}",
        ]
        if md.provenance.importer:
            lines.append(f"Imported by: {md.provenance.importer}")
        self.info.setText("\n".join(lines))

    def flush(self) -> None:
        """Push notes typed within the last pause (before a save or close reads the session)."""
        if self._notes_timer.isActive():
            self._apply()

    def _notes_changed(self) -> None:
        if not self._loading:
            self._notes_timer.start()

    def form_values(self) -> dict[str, Any]:
        """The metadata the form shows, as :class:`EditMetadata` values (an invalid timezone
        is left out, and said so beside the field)."""
        assert self.session is not None
        md = self.session.metadata
        values: dict[str, Any] = {
            "participant_id": self.participant.text().strip(),
            "notes": self.notes.toPlainText(),
        }
        device = (
            self.device_name.text().strip(),
            self.device_model.text().strip(),
            self.placement.text().strip(),
        )
        if any(device) or md.devices:
            devices = [asdict(d) for d in md.devices] or [asdict(DeviceInfo())]
            devices[0].update(zip(("name", "model", "placement"), device, strict=True))
            values["devices"] = devices
        tz = self.timezone.currentText().strip()
        try:
            values["timezone"] = check_timezone(tz)
            self.tz_error.setText("")
            self.timezone.setStyleSheet("")
        except SessionError as exc:
            self.tz_error.setText(f"{exc}; kept {md.timezone}")
            self.timezone.setStyleSheet("QComboBox { border: 1px solid #d62728; }")
        return values

    def _apply(self) -> None:
        if self._loading or self.session is None or self.history is None:
            return
        self._notes_timer.stop()
        values = self.form_values()
        current = metadata_values(self.session, values)
        changes = {k: v for k, v in values.items() if current[k] != v}
        if not changes:
            return
        self._pushing = True
        try:
            self.history.push(EditMetadata(**changes))
        finally:
            self._pushing = False
        self.changed.emit()
