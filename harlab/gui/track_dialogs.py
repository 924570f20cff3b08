"""Small dialogs of the workbench: a new label track, accepting predictions by threshold.

Each dialog only asks; the caller does (through undoable commands), so tests and scripts
call the doing part directly with the answers.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from harlab.core.errors import SessionError
from harlab.core.labels import LabelTrack
from harlab.core.wording import counted

SCOPES = {"visible": "The visible range", "selection": "The selected span", "all": "The whole recording"}


class AddTrackDialog(QDialog):
    """Name, overlap policy and annotator of a new label track (the annotator defaults to the
    person set in the settings; the track records it with its creation time)."""

    def __init__(self, existing: list[str], parent: QWidget | None = None, annotator: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("add_track_dialog")
        self.setWindowTitle("Add a label track")
        self.existing = set(existing)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. posture, context, transitions")
        self.policy = QComboBox()
        self.policy.addItem("Exclusive: one label at a time", "exclusive")
        self.policy.addItem("Overlapping: labels may overlap", "overlapping")
        self.annotator = QLineEdit(annotator)
        self.annotator.setObjectName("track_annotator")
        self.annotator.setPlaceholderText("who labels this track (e.g. your initials)")
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #d62728")
        form = QFormLayout(self)
        form.addRow("Track name", self.name)
        form.addRow("Overlap policy", self.policy)
        form.addRow("Annotator", self.annotator)
        form.addRow(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        text = self.name.text().strip()
        problem = ""
        if not text:
            problem = " "
        elif text in self.existing:
            problem = f"The session already has a track {text!r}"
        else:
            try:
                LabelTrack(text)
            except SessionError as exc:
                problem = str(exc)
        self.problem.setText(problem.strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), str(self.policy.currentData())

    def annotator_name(self) -> str:
        return self.annotator.text().strip()


class AcceptPredictionsDialog(QDialog):
    """Threshold, scope and target track for accepting many predicted segments at once.

    ``count(threshold, scope, track, keep_existing)`` says how many would be accepted; the
    dialog shows it live so the user sees the effect of the threshold before committing."""

    def __init__(
        self,
        label_tracks: list[str],
        current: str | None,
        has_selection: bool,
        count: Callable[[float, str, str, bool], int],
        parent: QWidget | None = None,
        track_info: Callable[[str], str] = lambda _name: "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("accept_predictions_dialog")
        self.setWindowTitle("Accept predictions")
        self._count = count
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.8)
        self.threshold.setToolTip(
            "Accept a predicted segment only if the model's mean probability for its class reaches this value"
        )
        self.scope = QComboBox()
        for key, text in SCOPES.items():
            self.scope.addItem(text, key)
        if has_selection:
            self.scope.setCurrentIndex(1)
        else:
            self.scope.model().item(1).setEnabled(False)
        self.track = QComboBox()
        self.track.setEditable(True)
        self.track.addItems(label_tracks)
        if current in label_tracks:
            self.track.setCurrentText(current)
        self.keep = QCheckBox("Keep existing labels (fill unlabelled time only)")
        self.keep.setChecked(True)
        self.summary = QLabel("")
        form = QFormLayout(self)
        form.addRow("Minimum confidence", self.threshold)
        form.addRow("Where", self.scope)
        form.addRow("Into label track", self.track)
        form.addRow(self.keep)
        form.addRow(self.summary)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.threshold.valueChanged.connect(self._update)
        self.scope.currentIndexChanged.connect(self._update)
        self.track.currentTextChanged.connect(self._update)
        self._track_info = track_info
        self.track.currentTextChanged.connect(lambda name: self.track.setToolTip(self._track_info(name)))
        self.track.setToolTip(self._track_info(self.track.currentText()))
        self.keep.toggled.connect(self._update)
        self._update()

    def values(self) -> tuple[float, str, str, bool]:
        return (
            float(self.threshold.value()),
            str(self.scope.currentData()),
            self.track.currentText().strip(),
            self.keep.isChecked(),
        )

    def _update(self) -> None:
        threshold, scope, track, keep = self.values()
        n = self._count(threshold, scope, track, keep) if track else 0
        self.summary.setText(f"{counted(n, 'predicted segment')} will become labels (one undoable edit)")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(n > 0)
