"""The "Calibration for MODEL" protocol preset of the record panel.

A participant records each class of a general model in two rounds by default (the seconds of
each class split between them), prompted by the panel's protocol view and labelled by the recorder (the protocol machinery of
:mod:`harlab.recording.protocol`, not a second one). The model file is remembered with the
protocol so that the finished recording can be calibrated against it straight away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from harlab.core.errors import HarlabError
from harlab.gui.file_fields import choose_model_file, path_row
from harlab.recording.protocol import (
    CALIBRATION_BOUTS,
    CALIBRATION_REST_S,
    CALIBRATION_SECONDS,
    MAX_CALIBRATION_BOUTS,
    Protocol,
    calibration_protocol,
)


@dataclass(frozen=True)
class CalibrationPreset:
    """A calibration protocol and the general model it calibrates."""

    model_path: Path
    protocol: Protocol

    @property
    def title(self) -> str:
        return self.protocol.name


def calibration_preset(
    model_path: str | Path,
    seconds_per_class: float = sum(CALIBRATION_SECONDS) / 2,
    rest_s: float = CALIBRATION_REST_S,
    bouts: int = CALIBRATION_BOUTS,
) -> CalibrationPreset:
    """The preset for the model in ``model_path``: its classes, in the model's order.

    Raises :class:`~harlab.core.errors.HarlabError` naming the file when it is no model."""
    from harlab.ml.modelfile import ActivityModel  # loads torch: only when a preset is made

    path = Path(model_path)
    model = ActivityModel.load(path)
    return CalibrationPreset(
        path, calibration_protocol(model.classes, path.stem, seconds_per_class, rest_s, bouts)
    )


class CalibrationPresetDialog(QDialog):
    """Asks for the general model, the seconds of each class, in how many bouts, and the rest
    between them."""

    def __init__(self, parent: QWidget | None = None, model_path: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("calibration_preset_dialog")
        self.setWindowTitle("Calibration protocol")
        self.preset: CalibrationPreset | None = None
        self.model = QLineEdit(model_path)
        self.model.setPlaceholderText("the general model (.harmodel)")
        row = path_row(self.model, self._browse)
        lo, hi = CALIBRATION_SECONDS
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(5, 600)
        self.seconds.setDecimals(0)
        self.seconds.setValue((lo + hi) / 2)
        self.seconds.setSuffix(" s per activity")
        self.seconds.setToolTip(f"{lo:.0f}–{hi:.0f} s of each activity is enough to calibrate a model")
        self.bouts = QSpinBox()
        self.bouts.setRange(1, MAX_CALIBRATION_BOUTS)
        self.bouts.setValue(CALIBRATION_BOUTS)
        self.bouts.setSuffix(" bouts")
        self.bouts.setToolTip(
            "The seconds of each activity split into bouts, one per round through the activities."
            " Calibration keeps the last bout aside to check that the personal model holds on a bout"
            " it was not fitted to; with one bout it can only check the end of that bout."
        )
        self.rest = QDoubleSpinBox()
        self.rest.setRange(0, 120)
        self.rest.setDecimals(0)
        self.rest.setValue(CALIBRATION_REST_S)
        self.rest.setSuffix(" s rest before each")
        self.info = QLabel(
            "The participant does each activity of the model in turn, round after round, prompted"
            " on screen; the recording is labelled as it goes."
        )
        self.info.setWordWrap(True)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("General model", row)
        form.addRow("Each activity", self.seconds)
        form.addRow("Split into", self.bouts)
        form.addRow("Rest", self.rest)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    def _browse(self) -> None:
        path = choose_model_file(self, "The general model to calibrate")
        if path:
            self.model.setText(path)

    def accept(self) -> None:
        """Read the model's classes; a file that is no model keeps the dialog open with the reason."""
        text = self.model.text().strip()
        if not text:
            self.error.setText("Choose the general model to calibrate.")
            return
        try:
            self.preset = calibration_preset(
                text, self.seconds.value(), self.rest.value(), self.bouts.value()
            )
        except HarlabError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
