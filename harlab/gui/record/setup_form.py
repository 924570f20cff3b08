"""The recording's settings: participant, placement, output file, protocol, label classes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.core.labels import LabelSchema
from harlab.gui.record.calibration_preset import CalibrationPreset, CalibrationPresetDialog
from harlab.gui.record.labels_bar import schema_choices
from harlab.recording.protocol import Protocol, load_protocol

PLACEMENTS = ("left wrist", "right wrist", "chest", "hip", "left ankle", "right ankle", "upper arm", "pocket")


def default_output(folder: str | Path, participant: str = "", when: datetime | None = None) -> Path:
    """``folder/[participant_]YYYY-mm-dd_HH-MM-SS.h5``: sortable, unique per second, safe on every OS."""
    stamp = (when or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in participant.strip())
    return Path(folder) / (f"{safe}_{stamp}.h5" if safe else f"{stamp}.h5")


def describe_protocol(p: Protocol) -> str:
    minutes, secs = divmod(round(p.duration_s), 60)
    counts = Counter(s.activity.replace("_", " ") for s in p.steps)
    acts = ", ".join(counts)
    rounds = set(counts.values())
    each = f" ({rounds.pop()} bouts of each)" if len(rounds) == 1 and min(counts.values()) > 1 else ""
    return f"{len(p.steps)} steps, {minutes} min {secs:02d} s: {acts}{each}"


class SetupForm(QWidget):
    def __init__(self, output_dir: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output_dir = Path(output_dir)
        self.participant = QLineEdit()
        self.participant.setPlaceholderText("e.g. P01")
        self.placement = QComboBox()
        self.placement.setEditable(True)
        self.placement.addItems(PLACEMENTS)
        self.output = QLineEdit(str(default_output(self.output_dir)))
        self._output_edited = False
        self.output.textEdited.connect(self._mark_edited)
        self.participant.textChanged.connect(lambda _t: self.refresh_default_output())
        browse_out = QPushButton("…")
        browse_out.setToolTip("Choose where to save the recording")
        browse_out.setFixedWidth(32)
        browse_out.clicked.connect(self._browse_output)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse_out)
        self.protocol_path = QLineEdit()
        self.protocol_path.setPlaceholderText("none: label with the keys")
        self.protocol_path.editingFinished.connect(self._check_protocol)
        browse_p = QPushButton("…")
        browse_p.setToolTip("Choose a protocol file (.json, .toml or .txt)")
        browse_p.setFixedWidth(32)
        browse_p.clicked.connect(self._browse_protocol)
        self.preset: CalibrationPreset | None = None  #: "Calibration for MODEL", when chosen
        self.protocol_path.textEdited.connect(self._drop_preset)
        calibrate = QPushButton("Calibration for a model…")
        calibrate.setObjectName("calibration_preset_button")
        calibrate.setToolTip("Record each activity of a model in turn, to calibrate it to this participant")
        calibrate.clicked.connect(lambda: self.choose_calibration())
        self.calibration_button = calibrate
        p_row = QHBoxLayout()
        p_row.addWidget(self.protocol_path, 1)
        p_row.addWidget(browse_p)
        self.protocol_info = QLabel("")
        self.protocol_info.setWordWrap(True)
        self.auto_stop = QCheckBox("Stop and save when the protocol ends")
        self.auto_stop.setChecked(True)
        self.classes = QComboBox()
        for key, (title, _f) in schema_choices().items():
            self.classes.addItem(title, key)
        # as wide as the form, not as its longest title (which made the Record window wider than 1024 px)
        self.classes.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.classes.setMinimumContentsLength(12)
        self.classes.currentTextChanged.connect(self.classes.setToolTip)
        self.classes.setToolTip(self.classes.currentText())
        self.duration = QSpinBox()
        self.duration.setRange(0, 24 * 3600)
        self.duration.setSuffix(" s")
        self.duration.setSpecialValueText("no limit")
        self.duration.setToolTip("Stop and save automatically after this long (0: no limit)")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Participant", self.participant)
        form.addRow("Placement", self.placement)
        form.addRow("Output file", out_row)
        form.addRow("Label classes", self.classes)
        form.addRow("Protocol", p_row)
        form.addRow("", calibrate)
        form.addRow("", self.protocol_info)
        form.addRow(self.auto_stop)  # the whole row: the long text does not widen the field column
        form.addRow("Stop after", self.duration)

    # -- output file --------------------------------------------------------------------
    def _mark_edited(self, _text: str) -> None:
        self._output_edited = True

    def refresh_default_output(self) -> None:
        """A fresh time stamp (and participant) in the default name, unless the user typed one."""
        if not self._output_edited:
            self.output.setText(str(default_output(self.output_dir, self.participant.text())))

    def output_path(self) -> Path:
        text = self.output.text().strip()
        p = Path(text) if text else default_output(self.output_dir, self.participant.text())
        return p if p.suffix.lower() == ".h5" else p.with_name(p.name + ".h5")

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the recording as", self.output.text(), "harlab sessions (*.h5)"
        )
        if path:
            self.output.setText(path)
            self._output_edited = True

    # -- protocol -----------------------------------------------------------------------
    def _browse_protocol(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a protocol", str(self.output_dir), "Protocols (*.json *.toml *.txt);;All files (*)"
        )
        if path:
            self.protocol_path.setText(path)
            self._check_protocol()

    def choose_calibration(self) -> CalibrationPresetDialog:
        """Ask for the model and the durations of a calibration protocol (non-modal)."""
        dialog = CalibrationPresetDialog(self, str(self.preset.model_path) if self.preset else "")
        dialog.accepted.connect(lambda: dialog.preset and self.use_preset(dialog.preset))
        dialog.open()
        return dialog

    def use_preset(self, preset: CalibrationPreset) -> None:
        """Record ``preset``'s protocol; typing another protocol file drops it."""
        self.preset = preset
        self.protocol_path.setText(preset.title)
        self._check_protocol()

    def _drop_preset(self, _text: str) -> None:
        self.preset = None

    def _check_protocol(self) -> None:
        try:
            p = self.protocol()
        except HarlabError as exc:
            self.protocol_info.setStyleSheet("color: #b3261e;")
            self.protocol_info.setText(str(exc))
            return
        self.protocol_info.setStyleSheet("")
        self.protocol_info.setText(describe_protocol(p) if p else "")

    def protocol(self) -> Protocol | None:
        """The chosen protocol, or None; raises ProtocolError with file and line when it is bad."""
        text = self.protocol_path.text().strip()
        if self.preset is not None and text == self.preset.title:
            return self.preset.protocol
        return load_protocol(text) if text else None

    # -- labels -------------------------------------------------------------------------
    def schema(self) -> LabelSchema:
        return schema_choices()[self.classes.currentData()][1]()

    def set_enabled_for_recording(self, recording: bool) -> None:
        self.setEnabled(not recording)
