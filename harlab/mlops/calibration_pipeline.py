"""One calibration run, as ``harlab calibrate`` and the workbench both do it (Qt-free).

:func:`run_calibration` loads the general model (a file, or ``models:/NAME/VERSION`` from the
registry), reads the participant's sessions (each file's sha256 kept for the provenance),
adapts the model (:func:`harlab.ml.calibration.calibrate`), writes the personal model
atomically and tracks the run: an MLflow run linked to the parent model's run (tags
``harlab.parent_run_id``, ``harlab.parent_model_sha256``, ``harlab.parent_model_uri``), the
personal model registered as a version of its own name, and a JSON run record always.

The parent's run is found from the parent's registry version when it came from the registry,
else by the file's sha256: every model harlab logs tags its run with it
(:meth:`harlab.mlops.tracking.RunTracker.log_model`).
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harlab.core.errors import HarlabError
from harlab.core.metadata import sha256_of
from harlab.core.session import Session
from harlab.ml.model_archive import MODEL_SUFFIX
from harlab.mlops.paths import TrackingOptions
from harlab.mlops.training_pipeline import read_sources, source_names

if TYPE_CHECKING:
    from harlab.ml.calibration import CalibrationConfig, CalibrationResult
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.training import TrainProgress


@dataclass
class CalibrationRequest:
    """What to calibrate on: ``model`` is a model file, a ``models:/`` URI or a loaded model
    (then ``model_path``, when known, is recorded as its file); ``sources`` are session files or
    open sessions; ``track`` the label track (default: the model's)."""

    model: str | Path | ActivityModel
    sources: Sequence[str | Path | Session]
    config: CalibrationConfig | None = None
    track: str | None = None
    names: list[str] | None = None
    model_name: str | None = None  #: the personal model's name (default: the parent's + "-personal")
    model_path: str | Path | None = None
    #: per source, the file an open session was read from (None: not known, or never saved), so
    #: the personal model's provenance names the recording and its hash, not just "open session"
    source_files: Sequence[str | Path | None] | None = None


@dataclass
class CalibrationRun:
    result: CalibrationResult
    parent: dict[str, Any]  #: the parent's reference as recorded in the personal model
    seconds: float = 0.0
    model_path: Path | None = None
    run_record: Path | None = None
    run_id: str | None = None
    registered: dict[str, Any] | None = None  #: registered name and version, when registered
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> ActivityModel:
        return self.result.model


def _quiet(msg: str) -> None:
    """The default for ``say``."""


def registered_name(text: str) -> str:
    """A registered-model name from a file stem or model name (letters, digits, ``._-``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "personal-model"
    return name[:200]


def find_parent_run(sha256: str, tracking: TrackingOptions) -> str | None:
    """The MLflow run that logged the model file with this sha256 (tag ``harlab.model_sha256``),
    in any experiment of the store; None when tracking is off or no run has it."""
    from harlab.mlops.paths import mlflow_available, use_store

    if not tracking.enabled or not mlflow_available() or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    mlflow, _ = use_store(tracking.tracking_uri)
    try:
        runs = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"tags.`harlab.model_sha256` = '{sha256}'",
            output_format="list",
            max_results=1,
            order_by=["attributes.start_time DESC"],
        )
    except Exception:  # a store that cannot search is no reason to refuse a calibration
        return None
    return str(runs[0].info.run_id) if runs else None


def _load_parent(
    req: CalibrationRequest, tracking: TrackingOptions | None
) -> tuple[ActivityModel, dict[str, Any]]:
    from harlab.ml.calibration import parent_reference
    from harlab.ml.modelfile import ActivityModel

    if isinstance(req.model, ActivityModel):
        parent = parent_reference(req.model, req.model_path)
        if tracking is not None and "sha256" in parent:
            parent["mlflow_run_id"] = find_parent_run(parent["sha256"], tracking)
        return req.model, parent
    spec = str(req.model)
    if spec.startswith("models:/"):
        from harlab.mlops.registry import load_ref, public_uri

        model, ref = load_ref(*_split_uri(spec), tracking.tracking_uri if tracking else None)
        return model, parent_reference(
            model,
            None,
            model_uri=ref.uri,
            registry_uri=public_uri(ref.tracking_uri),
            mlflow_run_id=ref.run_id,
        )
    model = ActivityModel.load(spec)
    parent = parent_reference(model, spec)
    if tracking is not None:
        parent["mlflow_run_id"] = find_parent_run(parent["sha256"], tracking)
    return model, parent


def open_session_files(
    provenance: list[dict[str, Any]],
    sources: Sequence[str | Path | Session],
    files: Sequence[str | Path | None] | None,
) -> None:
    """Complete in place the provenance of each open session (``sources`` given as a
    :class:`Session`) whose file is known (``files``, one per source): its path and the sha256 of
    the file as it is on disk now. The session's labels are as they were open, which may be
    edits not yet saved to the file: the note says so."""
    if files is None:
        return
    if len(files) != len(sources):
        raise HarlabError(
            f"{len(files)} source files for {len(sources)} calibration sources: give one per source (None if unknown)"
        )
    for i, (src, file) in enumerate(zip(sources, files, strict=True)):
        if not isinstance(src, Session) or file is None or not str(file):
            continue
        path = Path(file).resolve()
        rec: dict[str, Any] = {
            "path": str(path),
            "note": "open session in the workbench: the labels as they were open, the hash of the file on disk",
        }
        if path.is_file():
            rec["sha256"] = sha256_of(path)
        else:
            rec["note"] += " (the file was not found when calibrating: no hash)"
        provenance[i] = rec


def _split_uri(spec: str) -> tuple[str, str]:
    from harlab.mlops.registry import parse_models_uri

    name, alias, version = parse_models_uri(spec)
    return name, alias or version or "latest"


def run_calibration(
    req: CalibrationRequest,
    *,
    output: str | Path | None = None,
    tracking: TrackingOptions | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    say: Callable[[str], None] = _quiet,
    cancel: threading.Event | None = None,
) -> CalibrationRun:
    """Load, read, calibrate, write and track one calibration (see the module docstring).

    ``output``: where the personal model goes (None: not written). ``tracking`` None tracks
    nothing; otherwise the run is tracked as the options say (``register`` names the registered
    model; default: the output file's stem), its JSON record beside ``output``. Raises
    :class:`~harlab.ml.calibration.CalibrationRefused` when the data cannot calibrate and
    :class:`~harlab.ml.training.TrainingCancelled` when ``cancel`` is set.
    """
    from harlab.ml.calibration import (
        CalibrationConfig,
        calibrate,
        calibration_dataset,
        calibration_stride,
        unknown_labels,
    )
    from harlab.ml.training import TrainingCancelled

    t0 = time.perf_counter()
    if not req.sources:
        raise HarlabError("choose at least one labelled session of the participant to calibrate on")
    say(f"loading the general model {req.model if not hasattr(req.model, 'info') else '(open model)'}")
    parent, parent_ref = _load_parent(req, tracking)
    sessions, provenance = read_sources(req.sources, say=say, cancel=cancel)
    open_session_files(provenance, req.sources, req.source_files)
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("calibration cancelled")
    track = req.track or parent.info.track
    stride = calibration_stride(parent.info.stride_s, (req.config or CalibrationConfig()).stride_s)
    say(
        f"cutting the model's {parent.info.window_s:g} s windows from track {track!r}, one every "
        f"{stride:g} s (the model predicts one every {parent.info.stride_s:g} s)"
    )
    data = calibration_dataset(
        parent, sessions, track, req.names or source_names(req.sources), provenance, stride_s=stride
    )
    counts = ", ".join(f"{c} {n}" for c, n in data.windows.class_counts().items())
    say(f"{len(data)} calibration windows: {counts}")
    ignored = unknown_labels(parent, sessions, track)
    out = Path(output) if output is not None else None
    name = req.model_name or (out.stem if out is not None else None)

    def finish(result: CalibrationResult) -> CalibrationResult:
        if ignored:
            result.warnings.append(f"labels the model does not know were left out: {', '.join(ignored)}")
        for w in result.warnings:
            say(f"warning: {w}")
        return result

    if tracking is None:
        result = finish(
            calibrate(parent, data, req.config, progress, cancel, parent_ref=parent_ref, name=name)
        )
        run = CalibrationRun(result, parent_ref)
        if out is not None:
            run.model_path = result.model.save(out)
        run.seconds = time.perf_counter() - t0
        return run

    from harlab.mlops.tracking import RunTracker, log_calibration

    if tracking.register is None and tracking.enabled:
        tracking = TrackingOptions(
            tracking.enabled,
            tracking.tracking_uri,
            tracking.experiment,
            registered_name(name or f"{parent.info.name}-personal"),
            tracking.run_name,
            dict(tracking.tags),
        )
    tags = dict(tracking.tags)
    for key, value in (
        ("harlab.parent_run_id", parent_ref.get("mlflow_run_id")),
        ("harlab.parent_model_sha256", parent_ref.get("sha256")),
        ("harlab.parent_model_uri", parent_ref.get("model_uri")),
        ("harlab.parent_model_name", parent_ref.get("name")),
    ):
        if value:
            tags[key] = str(value)
    tracking = TrackingOptions(
        tracking.enabled,
        tracking.tracking_uri,
        tracking.experiment,
        tracking.register,
        tracking.run_name,
        tags,
    )
    record = out.with_name(out.name + ".run.json") if out is not None else None
    with RunTracker(tracking, "calibrate", record, say=say) as tracker:
        result = finish(
            calibrate(
                parent, data, req.config, tracker.progress(progress), cancel, parent_ref=parent_ref, name=name
            )
        )
        run = CalibrationRun(result, parent_ref)
        with tempfile.TemporaryDirectory(prefix="harlab-calibrate-") as tmp:
            path = result.model.save(
                out if out is not None else Path(tmp) / f"{name or 'personal'}{MODEL_SUFFIX}"
            )
            run.registered = log_calibration(tracker, result, path)
        run.model_path = path if out is not None else None
        run.run_id = tracker.run_id
    run.run_record = tracker.record_path
    run.seconds = time.perf_counter() - t0
    return run
