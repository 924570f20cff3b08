"""The workbench's model loop: predict a session, review the predictions, accept them.

* Predict with a model file on a worker thread (progress dialog; the window stays live);
  the track joins the session as an undoable, journalled edit (:class:`AddPredictionTrack`),
  so it survives a crash and Save stores it. Renaming and removing a prediction track are
  such edits too.
* Review: jump to the next stretch the model is least sure of, or the next place where
  prediction and label disagree (both select the stretch, so a class key labels it).
* Accept one selected predicted segment, or every one above a confidence threshold in
  the view, the selection or the whole recording, into a label track: ONE undoable,
  journalled edit built by :func:`harlab.labeling.commands.accept_predictions`.
* Train: the Train dialog (``harlab.gui.ml.train_dialog``).

Methods that would ask take the answers as arguments (tests and scripts call them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from harlab.core.errors import HarlabError, PredictionCancelled
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.gui import settings
from harlab.gui.annotator_view import describe_track
from harlab.gui.background_job import BackgroundJob, Work
from harlab.gui.file_fields import choose_model_file
from harlab.gui.label_actions import push_reported
from harlab.gui.prediction_view import next_disagreement, next_least_confident
from harlab.gui.timeline import Timeline
from harlab.gui.track_dialogs import AcceptPredictionsDialog
from harlab.labeling.commands import (
    AddPredictionTrack,
    Composite,
    EditCommand,
    RemovePredictionTrack,
    RenamePredictionTrack,
    accept_predictions,
)
from harlab.labeling.history import EditHistory


def predict_work(model_path: Path, session: Session) -> Work:
    """Load a model file and predict a whole session on a :class:`BackgroundJob`; the result is the
    track. The track is *not* added to the session here: the GUI thread adds it, so the session
    only ever changes on that thread."""

    def work(
        progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
    ) -> PredictionTrack:
        from harlab.ml.modelfile import ActivityModel
        from harlab.ml.predict import predict_session

        def report(done: int, total: int) -> None:
            if cancel.is_set():  # the batches not yet started are dropped
                raise PredictionCancelled("prediction cancelled")
            progress((int(done), int(total)))

        try:
            model = ActivityModel.load(model_path)
            return predict_session(model, session, add=False, progress=report)
        except PredictionCancelled:
            raise
        except Exception as exc:
            raise HarlabError(f"{Path(model_path).name}: {exc}") from exc

    return work


def show_stretch(timeline: Timeline, a: float, b: float, cursor: float) -> None:
    """Select [a, b] as a span (so a class key labels it), bring it into view (zooming out
    only if it is wider than the view) and put the cursor at ``cursor``: what every review
    jump does (least confident, disagreements, the adjudication's to-do items)."""
    hub = timeline.hub
    timeline.select(set())
    hub.set_selection((a, b))
    v0, v1 = hub.range
    if not (v0 <= a and b <= v1):
        w = max(v1 - v0, 1.5 * (b - a))
        timeline.set_range((a + b) / 2 - w / 2, (a + b) / 2 + w / 2)
    hub.set_cursor(cursor)


class PredictionActions(QObject):
    """Prediction slots of one main window (bound by shortcut name and menus)."""

    predicted = Signal(str)  #: a prediction track was added (its name)
    prediction_failed = Signal(str)

    def __init__(
        self,
        timeline: Timeline,
        history: Callable[[], EditHistory | None],
        report: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.hub = timeline.hub
        self._history = history
        self.report = report
        self.parent_widget = parent
        self._job: BackgroundJob | None = None
        self._job_session: Session | None = None
        self.train_dialog: QWidget | None = None

    # -- helpers -------------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.timeline.session

    @property
    def prediction(self) -> PredictionTrack | None:
        row = self.timeline.prediction_row
        return row.pred if row is not None else None

    def _label_track_name(self) -> str:
        return self.timeline.active_track or "activity"

    def _push(self, cmd: EditCommand) -> bool:
        return push_reported(self._history(), cmd, self.report)

    def _need_prediction(self) -> PredictionTrack | None:
        pred = self.prediction
        if pred is None:
            self.report("No predictions in this session: Models > Predict with model file…")
        return pred

    # -- review ----------------------------------------------------------------------------
    def _show_stretch(self, a: float, b: float, cursor: float) -> None:
        show_stretch(self.timeline, a, b, cursor)

    def next_least_confident(self) -> None:
        pred = self._need_prediction()
        if pred is None:
            return
        hit = next_least_confident(pred, self.hub.cursor)
        if hit is None:
            self.report("No less confident stretch after the cursor")
            return
        a, b, worst = hit
        self._show_stretch(a, b, worst)
        i = int(abs(pred.window_start - (worst - 1e-9)).argmin())
        self.report(f"Least confident: {pred.confidence[i]:.2f} at {self.timeline.format_time(worst)}")

    def next_disagreement(self, step: int = 1) -> None:
        """The next (``step`` < 0: previous) stretch where the active prediction and the active
        label track differ; the window routes the key here when no label tracks are compared."""
        pred = self._need_prediction()
        track = self.timeline.track
        if pred is None or track is None:
            return
        hit = next_disagreement(pred, track, self.hub.cursor, step)
        if hit is None:
            where = "after" if step > 0 else "before"
            self.report(f"No disagreement between {pred.name} and {track.name} {where} the cursor")
            return
        self._show_stretch(hit[0], hit[1], hit[0])
        self.report(f"{pred.name} and {track.name} disagree for {hit[1] - hit[0]:.1f} s")

    # -- accepting -------------------------------------------------------------------------
    def accept_prediction(self) -> bool:
        """Accept the selected predicted segment into the active label track."""
        pred = self._need_prediction()
        seg = self.timeline.selected_predicted_segment()
        if pred is None:
            return False
        if seg is None:
            self.report("Select a predicted segment first (click it in the prediction row)")
            return False
        cmd = accept_predictions(
            pred,
            self._label_track_name(),
            seg.start,
            seg.end,
            0.0,
            schema_names=self.session.schema.names if self.session is not None else (),
        )
        cmd.text = f"Accept predicted {seg.label} {seg.start:.1f}-{seg.end:.1f} s"
        if self._push(cmd):
            self.timeline.select_prediction(None)
            return True
        return False

    def _span(self, scope: str) -> tuple[float, float] | None:
        if scope == "visible":
            return self.hub.range
        if scope == "selection":
            return self.hub.selection
        return self.hub.bounds

    def build_accept(
        self, threshold: float, scope: str = "visible", track: str | None = None, keep_existing: bool = True
    ) -> Composite | None:
        """The one command accepting every predicted segment of the active prediction track in
        ``scope`` ("visible", "selection" or "all") whose confidence reaches ``threshold``.
        With ``keep_existing`` only unlabelled time of the label track is filled."""
        pred = self.prediction
        span = self._span(scope)
        if pred is None or span is None or self.session is None:
            return None
        name = track or self._label_track_name()
        t0, t1 = span
        target = self.session.label_tracks.get(name)
        spans = target.unlabelled(t0, t1) if keep_existing and target is not None else [(t0, t1)]
        parts = [
            accept_predictions(pred, name, a, b, threshold, schema_names=self.session.schema.names)
            for a, b in spans
        ]
        commands = [c for part in parts for c in part.commands]
        if not commands:
            return None
        return Composite(f"Accept {len(commands)} predictions of {pred.name} (≥ {threshold:.2f})", commands)

    def accept_predictions(
        self, threshold: float, scope: str = "visible", track: str | None = None, keep_existing: bool = True
    ) -> int:
        """Accept as ONE undoable edit; returns how many segments became labels."""
        cmd = self.build_accept(threshold, scope, track, keep_existing)
        if cmd is None:
            self.report("No predicted segment reaches that confidence there")
            return 0
        return len(cmd.commands) if self._push(cmd) else 0

    def accept_predictions_dialog(self) -> None:
        if self._need_prediction() is None or self.session is None:
            return

        def count(threshold: float, scope: str, track: str, keep: bool) -> int:
            cmd = self.build_accept(threshold, scope, track, keep)
            return 0 if cmd is None else len(cmd.commands)

        dialog = AcceptPredictionsDialog(
            list(self.session.label_tracks),
            self.timeline.active_track,
            self.hub.selection is not None,
            count,
            self.parent_widget,
            track_info=lambda name: (
                describe_track(self.session.label_tracks[name])
                if self.session is not None and name in self.session.label_tracks
                else "a new track"
            ),
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.accept_predictions(*dialog.values()))
        dialog.open()

    # -- predicting --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None

    def predict_dialog(self) -> None:
        if self.session is None:
            self.report("Open a session to predict")
            return
        path = choose_model_file(self.parent_widget, "Predict with a model file")
        if path:
            self.predict_with_model_file(path)

    def predict_with_model_file(self, path: str | Path) -> bool:
        """Predict the open session with the model in ``path`` on a worker thread."""
        if self.session is None:
            return False
        if self._job is not None:
            self.report("A prediction is already running")
            return False
        job = BackgroundJob(
            predict_work(Path(path), self.session),
            self,
            cancel_errors=(PredictionCancelled,),
            owner=self.parent_widget,
            progress_label=f"Predicting with {Path(path).name}…",
        )
        if job.dialog is not None:
            job.dialog.setObjectName("predict_progress")
            job.dialog.canceled.connect(self.cancel_prediction)
        job.progress.connect(self._progress)
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._stopped)
        job.ended.connect(self._end_job)
        self._job, self._job_session = job, self.session
        job.start()
        self.report(f"Predicting with {Path(path).name}…")
        return True

    def _progress(self, value: object) -> None:
        done, total = value  # type: ignore[misc]
        if self._job is not None:
            self._job.set_progress(done, total, f"Predicting windows… {done:,} of {total:,}")

    def cancel_prediction(self) -> None:
        """Stop the running prediction at its next batch; the session gets no track."""
        if self._job is not None and not self._job.cancel_requested:
            self._job.cancel()
            self.report("Cancelling the prediction…")

    def _stopped(self) -> None:
        self.report("Prediction cancelled: nothing was added")

    def _end_job(self) -> None:
        self._job = self._job_session = None

    def _done(self, track: object) -> None:
        assert isinstance(track, PredictionTrack)
        if self.session is None or self._job_session is not self.session:
            return  # the session was closed meanwhile
        self.add_track(track)

    def _failed(self, message: str) -> None:
        self.report(f"Prediction failed: {message}")
        self.prediction_failed.emit(message)
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "harlab",
            f"Prediction failed: {message}",
            QMessageBox.StandardButton.Ok,
            self.parent_widget,
        )
        box.setObjectName("error_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def add_track(self, track: PredictionTrack) -> bool:
        """Put ``track`` in the session (replacing one of the same name) as one undoable edit,
        and make it the track the review keys work on; unsaved until Save."""
        if self.session is None or not self._push(AddPredictionTrack(track)):
            return False
        self._activate(track.name)
        n = len(track.segments)
        self.report(
            f"{track.name}: {len(track):,} windows, {n:,} predicted segments from {track.model_name} "
            "(save to keep them)"
        )
        self.predicted.emit(track.name)
        return True

    def _activate(self, name: str) -> None:
        """Make ``name`` the active prediction once the timeline has its row: adding a track
        rebuilds the rows on the next turn of the event loop, and this call queues after it."""
        QTimer.singleShot(0, lambda: self.timeline.set_active_prediction(name))

    def rename_track(self, name: str | None = None, new_name: str | None = None) -> bool:
        """Rename a prediction track (the active one unless ``name``) as one undoable edit;
        without ``new_name`` a dialog asks."""
        name = name or self.timeline.active_prediction
        if self.session is None or name is None:
            self.report("No predictions in this session to rename")
            return False
        if new_name is None:
            text, ok = QInputDialog.getText(
                self.parent_widget, "Rename predictions", f"New name for {name}:", text=name
            )
            if not ok or not text.strip() or text.strip() == name:
                return False
            new_name = text.strip()
        if not self._push(RenamePredictionTrack(name, new_name)):
            return False
        self._activate(new_name)
        self.report(f"Renamed predictions {name} to {new_name}")
        return True

    def remove_track(self, name: str | None = None) -> bool:
        """Remove a prediction track (the active one unless ``name``) as one undoable edit."""
        name = name or self.timeline.active_prediction
        if self.session is None or name is None:
            self.report("No predictions in this session to remove")
            return False
        if not self._push(RemovePredictionTrack(name)):
            return False
        self.report(f"Removed predictions {name} (undo brings them back)")
        return True

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.stop()

    # -- training ---------------------------------------------------------------------------
    def open_train_dialog(self, session_paths: list[str] | None = None) -> QWidget | None:
        """The Train dialog (imported on first use: it loads torch); its trained model can be
        applied right away."""
        from harlab.gui.ml.train_dialog import TrainDialog

        if session_paths is None:
            session_paths = [p for p in settings.recent_files() if p.lower().endswith((".h5", ".hdf5"))]
        dialog = TrainDialog(self.parent_widget, session_paths, current_session=self.session)
        dialog.model_trained.connect(self._model_trained)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.train_dialog = dialog
        return dialog

    def _model_trained(self, path: str) -> None:
        self.report(f"Model saved to {path}")
        if self.session is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Model trained",
            f"Predict the open session with {Path(path).name}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self.parent_widget,
        )
        box.setObjectName("predict_prompt")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        yes = QMessageBox.StandardButton.Yes
        box.buttonClicked.connect(
            lambda b: self.predict_with_model_file(path) if box.standardButton(b) == yes else None
        )
        box.open()


__all__ = ["PredictionActions", "predict_work", "show_stretch", "HarlabError"]
