"""The calibrate dialog's work for a :class:`~harlab.gui.background_job.BackgroundJob` (Qt-free).

One run: hold the end of every labelled segment of the recording out
(:mod:`harlab.gui.ml.calibration_check`), calibrate the general model on the rest with the
calibration core (the same call as ``harlab calibrate``), then predict the whole recording with
the general and the personal model and score both on the held-out blocks. The prediction tracks
are returned, not added: the GUI thread adds them to the session as undoable edits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harlab.core.errors import HarlabError
from harlab.core.files import safe_name
from harlab.core.labels import LabelSchema
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.gui.background_job import Work
from harlab.gui.ml.calibration_check import Block, Scores, calibration_track, compare, held_out_blocks
from harlab.ml.model_archive import MODEL_SUFFIX


def default_personal_path(model_path: str | Path, participant: str) -> Path:
    """Beside the general model, named after it and the participant: ``general-P07.harmodel``."""
    p = Path(model_path)
    who = safe_name(participant) if participant.strip() else "personal"
    return p.with_name(f"{p.stem}-{who}{MODEL_SUFFIX}")


def registration_note(registered: dict[str, Any] | None) -> str:
    """ " (registered as NAME version N)" for a run's registry entry
    (:meth:`harlab.mlops.tracking.RunTracker.log_model`'s answer), "" when it was not registered."""
    if not registered or not registered.get("registered_version"):
        return ""
    return f" (registered as {registered['registered_name']} version {registered['registered_version']})"


@dataclass(frozen=True)
class CalibrationOutcome:
    """What the dialog shows and the workbench adds after a run."""

    personal_path: Path
    before: PredictionTrack  #: the general model's prediction of the recording
    after: PredictionTrack  #: the personal model's
    scores: dict[str, Scores]  #: "before" and "after", on the held-out blocks
    blocks: list[Block]
    registered: dict[str, Any] | None = None  #: the personal model's registry name and version
    warnings: list[str] = field(default_factory=list)


def held_out_session(session: Session, track_name: str, blocks: list[Block]) -> Session:
    """``session`` with its label track ``track_name`` cut to what calibration may learn from; the
    streams are the same objects (read, never written), the session itself is left alone."""
    # a copy of the schema: the session's own would keep forwarding its events to this one
    out = Session(session.metadata, LabelSchema.from_list(session.schema.to_list()))
    for stream in session.streams.values():
        out.add_stream(stream)
    out.add_label_track(calibration_track(session.label_tracks[track_name], blocks))
    return out


def calibrate_work(
    model_path: str | Path,
    session: Session,
    track_name: str,
    personal_path: str | Path,
    source_name: str,
    extra_sessions: Sequence[str] = (),
    session_path: str | Path | None = None,
) -> Work:
    """The work of one calibration run for ``session`` (the recording the check is shown on,
    named after the file ``source_name`` in the personal model's provenance) plus whole
    ``extra_sessions`` files; ``session_path``: the file ``session`` was opened from (its path
    and sha256 go into the provenance); returns a :class:`CalibrationOutcome`. The run is
    :func:`harlab.mlops.calibration_pipeline.run_calibration`, tracked like ``harlab calibrate``'s."""
    model_path, personal_path = Path(model_path), Path(personal_path)

    def work(
        progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
    ) -> CalibrationOutcome:
        from harlab.ml.modelfile import ActivityModel
        from harlab.ml.predict import predict_session
        from harlab.mlops.calibration_pipeline import CalibrationRequest, run_calibration
        from harlab.mlops.paths import TrackingOptions, tracking_disabled_by_env

        if track_name not in session.label_tracks:
            raise HarlabError(f"{source_name}: no label track {track_name!r}")
        blocks = held_out_blocks(session.label_tracks[track_name])
        if not blocks:
            raise HarlabError(f"{source_name}: the label track {track_name!r} has no labelled segment")
        request = CalibrationRequest(
            model_path,
            [held_out_session(session, track_name, blocks), *extra_sessions],
            track=track_name,
            names=[Path(source_name).stem, *(Path(p).stem for p in extra_sessions)],
            source_files=[session_path, *(None for _ in extra_sessions)],
        )
        tracking = TrackingOptions(
            enabled=not tracking_disabled_by_env(), tags={"harlab.source": "calibrate dialog"}
        )

        def report(p: object) -> None:  # a TrainProgress: the member being adapted and its epoch
            stage, epoch, epochs = (getattr(p, k, None) for k in ("stage", "epoch", "epochs"))
            if isinstance(epoch, int) and isinstance(epochs, int):
                progress((epoch, epochs, f"Calibrating {stage}: {epoch} of {epochs}"))

        run = run_calibration(
            request, output=personal_path, tracking=tracking, progress=report, say=status, cancel=cancel
        )
        # the personal model is saved: a cancel from here on is too late, the check runs (seconds)
        preds = {}
        for key, path in (("before", model_path), ("after", personal_path)):
            status(f"Predicting the recording with {path.name}…")
            model = ActivityModel.load(path)
            preds[key] = predict_session(model, session, name=f"{key}: {path.stem}", add=False)
        return CalibrationOutcome(
            personal_path,
            preds["before"],
            preds["after"],
            compare(preds, blocks),
            blocks,
            run.registered,
            run.notes + list(run.result.warnings),
        )

    return work
