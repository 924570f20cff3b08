"""Models > Calibrate to this participant…: make a general model personal, and show what it changed.

The dialog picks the general model, the calibration recording (the open session, plus any other
recordings of the same participant) and its label track, and where the personal model goes
(beside the general one, named after the participant). Calibration runs as a
:class:`~harlab.gui.background_job.BackgroundJob` (progress, Cancel). When it ends the dialog
shows the before/after table on the recording's held-out blocks and emits
:attr:`CalibrateDialog.calibrated` with both prediction tracks, which the workbench adds as two
prediction rows on the timeline.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from harlab.core.session import Session
from harlab.gui.background_job import BackgroundJob
from harlab.gui.file_fields import choose_model_file, path_row
from harlab.gui.ml.calibrate_work import (
    CalibrationOutcome,
    calibrate_work,
    default_personal_path,
    registration_note,
)
from harlab.gui.ml.calibration_check import HELD_OUT_FRACTION, Scores
from harlab.ml.training import TrainingCancelled

BETTER, WORSE = "#2e7d32", "#c62828"


def table_rows(scores: dict[str, Scores]) -> list[tuple[str, float, float]]:
    """(row name, before, after): macro-F1, macro-F1 on the timeline (the smoothed segments, when
    both tracks have them), accuracy, then each recorded class' F1."""
    b, a = scores["before"], scores["after"]
    rows = [("Macro-F1", b.macro_f1, a.macro_f1)]
    if math.isfinite(b.timeline_macro_f1) and math.isfinite(a.timeline_macro_f1):
        rows.append(("Macro-F1 on the timeline", b.timeline_macro_f1, a.timeline_macro_f1))
    rows.append(("Accuracy", b.accuracy, a.accuracy))
    rows += [(f"F1 {c.replace('_', ' ')}", b.f1[c], a.f1.get(c, 0.0)) for c in b.f1]
    return rows


class BeforeAfterTable(QTableWidget):
    """The general and the personal model's scores side by side, the change coloured."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setObjectName("before_after_table")
        self.setHorizontalHeaderLabels(["General (before)", "Personal (after)", "Change"])
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def show_scores(self, scores: dict[str, Scores]) -> None:
        rows = table_rows(scores)
        self.setRowCount(len(rows))
        self.setVerticalHeaderLabels([r[0] for r in rows])
        for i, (_name, before, after) in enumerate(rows):
            delta = after - before
            for j, text in enumerate((f"{before:.3f}", f"{after:.3f}", f"{delta:+.3f}")):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if j == 2 and abs(delta) >= 0.0005:
                    item.setForeground(QColor(BETTER if delta > 0 else WORSE))
                self.setItem(i, j, item)
            if i == 0:
                for j in range(3):
                    f = self.item(i, j).font()
                    f.setBold(True)
                    self.item(i, j).setFont(f)
        self.resizeRowsToContents()
        height = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        self.setFixedHeight(height + sum(self.rowHeight(i) for i in range(len(rows))))


class CalibrateDialog(QDialog):
    """See the module docstring; ``calibrated(CalibrationOutcome)`` when a run has finished."""

    calibrated = Signal(object)
    calibration_failed = Signal(str)
    calibration_cancelled = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        session: Session,
        session_path: str | Path | None = None,
        model_path: str | Path = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("calibrate_dialog")
        self.setWindowTitle("Calibrate to this participant")
        self.session = session
        self.session_path = Path(session_path) if session_path else None
        self.job: BackgroundJob | None = None
        self.outcome: CalibrationOutcome | None = None
        self._personal_edited = False

        self.model = QLineEdit(str(model_path))
        self.model.setPlaceholderText("the general model (.harmodel)")
        self.model.textChanged.connect(self._default_output)
        model_row = path_row(self.model, self._browse_model)
        who = session.metadata.participant_id
        name = self.session_path.name if self.session_path else "the open session"
        self.recording = QLabel(f"{name}" + (f" (participant {who})" if who else ""))
        self.recording.setWordWrap(True)
        self.extra = QListWidget()
        self.extra.setObjectName("extra_sessions")
        self.extra.setMaximumHeight(70)
        self.extra.setToolTip("Other recordings of the same participant, used whole for calibrating")
        add = QPushButton("Add recordings…")
        add.clicked.connect(self._add_sessions)
        remove = QPushButton("Remove")
        remove.clicked.connect(
            lambda: [self.extra.takeItem(self.extra.row(i)) for i in self.extra.selectedItems()]
        )
        extra_buttons = QHBoxLayout()
        extra_buttons.addWidget(add)
        extra_buttons.addWidget(remove)
        extra_buttons.addStretch(1)
        self.track = QComboBox()
        self.track.setObjectName("calibration_track")
        for t in session.label_tracks.values():
            self.track.addItem(f"{t.name} ({len(t)} segments)", t.name)
        if "activity" in session.label_tracks:
            self.track.setCurrentIndex(list(session.label_tracks).index("activity"))
        self.personal = QLineEdit()
        self.personal.textEdited.connect(self._mark_edited)
        out_row = path_row(self.personal, self._browse_output)
        self._default_output()

        form = QFormLayout()
        form.addRow("General model", model_row)
        form.addRow("Calibration recording", self.recording)
        form.addRow("Label track", self.track)
        form.addRow("More recordings", self.extra)
        form.addRow("", extra_buttons)
        form.addRow("Personal model", out_row)
        note = QLabel(
            f"The last {HELD_OUT_FRACTION:.0%} of every labelled activity is held out: the personal model"
            " never sees it, and both models are scored on it below."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #6b6b6b;")
        self.status = QLabel("")
        self.status.setObjectName("calibrate_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.table = BeforeAfterTable()
        self.table.setVisible(False)
        self.placeholder = QLabel(
            "Calibrate to compare the general and the personal model on the held-out end of each activity."
        )
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #8a8a8a; border: 1px dashed #bdbdbd; padding: 18px;")
        self.run_button = QPushButton("Calibrate")
        self.run_button.setObjectName("calibrate_run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.placeholder)
        lay.addWidget(self.table)
        lay.addWidget(self.status)
        lay.addStretch(1)
        lay.addLayout(buttons)
        self.resize(640, 520)

    # -- inputs ----------------------------------------------------------------------------
    def _mark_edited(self, _text: str) -> None:
        self._personal_edited = True

    def _default_output(self) -> None:
        text = self.model.text().strip()
        if text and not self._personal_edited:
            self.personal.setText(str(default_personal_path(text, self.session.metadata.participant_id)))

    def _browse_model(self) -> None:
        path = choose_model_file(self, "The general model to calibrate")
        if path:
            self.model.setText(path)

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the personal model as", self.personal.text(), "harlab models (*.harmodel)"
        )
        if path:
            self.personal.setText(path)
            self._personal_edited = True

    def _add_sessions(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            "Recordings of the same participant",
            str(self.session_path or Path.cwd()),
            "harlab sessions (*.h5)",
        )
        self.add_sessions(paths)

    def add_sessions(self, paths: list[str]) -> None:
        have = {self.extra.item(i).text() for i in range(self.extra.count())}
        for p in paths:
            if p not in have and Path(p) != self.session_path:
                self.extra.addItem(p)
                have.add(p)

    # -- the run -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> bool:
        """Check the inputs and calibrate on a worker thread; False (with the reason shown) if not."""
        if self.job is not None:
            return False
        model, out = self.model.text().strip(), self.personal.text().strip()
        track = self.track.currentData()
        problem = (
            "Choose the general model to calibrate."
            if not model
            else f"{model}: no such file"
            if not Path(model).is_file()
            else "The session has no label track to calibrate with."
            if track is None
            else "Choose where to save the personal model."
            if not out
            else "The personal model must not overwrite the general one."
            if Path(out).resolve() == Path(model).resolve()
            else ""
        )
        if problem:
            self._say(problem, error=True)
            return False
        source = str(self.session_path) if self.session_path else "the open session"
        extra = [self.extra.item(i).text() for i in range(self.extra.count())]
        job = BackgroundJob(
            calibrate_work(model, self.session, track, out, source, extra, self.session_path),
            self,
            cancel_errors=(TrainingCancelled,),
            owner=self,
            progress_label=f"Calibrating {Path(model).name}…",
        )
        if job.dialog is not None:
            job.dialog.setObjectName("calibrate_progress")
        job.connect_to(
            progress=self._progress,
            status=self._say,
            finished=self._done,
            failed=self._failed,
            cancelled=self._cancelled,
            ended=self._ended,
        )
        self.job = job
        self.run_button.setEnabled(False)
        self.table.setVisible(False)
        self._say(f"Calibrating {Path(model).name} to {source}…")
        job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progress(self, value: object) -> None:
        if self.job is None:
            return
        if isinstance(value, tuple) and len(value) == 3:
            done, total, label = value
            self.job.set_progress(int(done), int(total), str(label))

    def _done(self, outcome: object) -> None:
        assert isinstance(outcome, CalibrationOutcome)
        self.outcome = outcome
        self.table.show_scores(outcome.scores)
        self.placeholder.setVisible(False)
        self.table.setVisible(True)
        b, a = outcome.scores["before"], outcome.scores["after"]
        registered = registration_note(outcome.registered)
        warnings = "".join(f"<br>Note: {html.escape(w)}" for w in outcome.warnings)
        self._say(
            f"Saved {html.escape(str(outcome.personal_path))}{html.escape(registered)}. On the held-out"
            f" {b.n:,} windows macro-F1 went from {b.macro_f1:.3f} to {a.macro_f1:.3f}; both predictions"
            f" are on the timeline.{warnings}",
            rich=True,
        )
        self.calibrated.emit(outcome)

    def _failed(self, message: str) -> None:
        self._say(f"Calibration failed: {message}", error=True)
        self.calibration_failed.emit(message)

    def _cancelled(self) -> None:
        self._say("Calibration cancelled: no personal model was saved.")
        self.calibration_cancelled.emit()

    def _ended(self) -> None:
        self.job = None
        self.run_button.setEnabled(True)

    def _say(self, text: str, error: bool = False, rich: bool = False) -> None:
        self.status.setStyleSheet("color: #b3261e; font-weight: 600;" if error else "")
        self.status.setText(text if rich else html.escape(text))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.job is not None:
            self.job.stop()
        super().closeEvent(event)


__all__ = ["BeforeAfterTable", "CalibrateDialog", "table_rows"]
