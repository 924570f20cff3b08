"""Predicting one session of a cohort, on whichever worker holds it (:mod:`harlab.mlops.cohort`).

:func:`predict_file` is the per-session function of ``harlab predict MODEL SESSION...``: it opens
the session file for writing on the worker (taking its lock, so a file another process has open
for writing fails with that process named, and is left as it was), refuses an unsound file before
any work, predicts, and saves atomically, exactly as a single ``harlab predict`` does.

The model travels as its file's bytes (:class:`PredictJob`, sent to each worker once) and each
worker loads it once: a model file is plain arrays and JSON, so a worker trusts nothing it would
not trust from disk, and no member object has to survive pickling.

Resumption: a session whose track of that name already came from this very model (its
``model_version``: the model file's SHA-256 or the exact registered ``models:/NAME/VERSION``) with
the same stride and smoothing is skipped; ``resume=False`` predicts it again.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harlab.core.classnames import class_key, find_class
from harlab.core.errors import HarlabError
from harlab.core.files import input_file
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import SmoothingConfig, predict_session
from harlab.mlops.cohort import Skipped
from harlab.storage import open_session


@dataclass(frozen=True)
class PredictJob:
    """What every session of a cohort is predicted with."""

    model_bytes: bytes  #: the model file, byte for byte
    model_version: str  #: recorded in each track; equal versions mean the same model (resumption)
    params: dict[str, str] = field(default_factory=dict)  #: added to each track's params (registry)
    name: str | None = None  #: track name (None: the model's TRACK-predicted)
    stride_s: float | None = None  #: None: the model's
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    resume: bool = True
    #: prediction threads per session (0: one in a Dask worker, harlab.ml.predict's choice elsewhere)
    threads: int = 0

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.model_bytes).hexdigest()


@dataclass(frozen=True)
class PredictOutcome:
    """What one prediction gave, for the command's report."""

    track: str
    windows: int
    segments: int
    counts: list[tuple[str, int]]  #: predicted segments per class, most first
    orientation: str
    #: label classes of the session the model does not know (one spelling per class)
    unknown_labels: list[str]


_models: dict[str, ActivityModel] = {}
_models_lock = threading.Lock()


def job_model(job: PredictJob) -> ActivityModel:
    """The job's model, loaded once per worker process (the last one only: a worker serves one
    cohort at a time)."""
    key = job.digest
    with _models_lock:
        model = _models.get(key)
        if model is None:
            with tempfile.TemporaryDirectory(prefix="harlab-cohort-") as tmp:
                path = Path(tmp) / "model.harmodel"
                path.write_bytes(job.model_bytes)
                model = ActivityModel.load(path)
            _models.clear()
            _models[key] = model
    return model


def same_prediction(track: PredictionTrack, job: PredictJob, model: ActivityModel) -> bool:
    """Whether ``track`` is what ``job`` would write: the same model version, stride and smoothing."""
    sm = job.smoothing
    stride = model.info.stride_s if job.stride_s is None else job.stride_s
    params = track.params
    return (
        track.model_version == job.model_version
        and params.get("stride_s") == f"{stride:g}"
        and params.get("p_switch") == ("" if sm.p_switch is None else f"{sm.p_switch:g}")
        and params.get("min_duration_s") == f"{sm.min_duration_s:g}"
    )


def unknown_label_classes(session: Session, track: str, classes: list[str]) -> list[str]:
    """The classes of ``session``'s ``track`` labels that none of ``classes`` matches (names
    compared as everywhere, :mod:`harlab.core.classnames`), each once, in order of appearance."""
    labels = session.label_tracks.get(track)
    if labels is None:
        return []
    seen: set[str] = set()
    unknown: list[str] = []
    for seg in labels:
        key = class_key(seg.label)
        if key not in seen and find_class(seg.label, classes) is None:
            unknown.append(seg.label)
        seen.add(key)
    return unknown


def job_threads(job: PredictJob) -> int:
    """Threads to predict one session with: the job's; in a Dask worker without one, 1 (a worker
    runs as many sessions at once as it has threads, so more would oversubscribe its cores);
    elsewhere 0 (harlab.ml.predict's choice)."""
    if job.threads:
        return job.threads
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return 0
    return 1


def predict_file(path: str | Path, job: PredictJob) -> PredictOutcome | Skipped:
    """Predict the session file at ``path`` into itself with ``job``'s model (see the module
    docstring); :class:`Skipped` when it already holds this prediction and ``job.resume``."""
    path = Path(path)
    if not path.exists():
        raise HarlabError(f"{path}: no such session file")
    input_file(path, "a session file")  # a FIFO or device is named, never opened
    model = job_model(job)
    name = job.name or f"{model.info.track}-predicted"
    if job.resume:
        with open_session(path) as sf:
            old = sf.session.prediction_tracks.get(name)
            if old is not None and same_prediction(old, job, model):
                return Skipped(f"track {name!r} already holds this model's prediction")
    with open_session(path, writable=True) as sf:
        sf.require_sound()  # before the work: a file that fails validate is not written into
        unknown = unknown_label_classes(sf.session, model.info.track, model.classes)
        track = predict_session(
            model,
            sf.session,
            job.name,
            job.stride_s,
            job.smoothing,
            job.model_version,
            workers=job_threads(job),
        )
        track.params.update(job.params)
        sf.save()
    counts = Counter(s.label for s in track.segments)
    return PredictOutcome(
        track=track.name,
        windows=len(track),
        segments=len(track.segments),
        counts=counts.most_common(),
        orientation=track.params.get("orientation", "as worn"),
        unknown_labels=unknown,
    )
