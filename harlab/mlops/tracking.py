"""Tracked runs of ``harlab train`` and ``harlab evaluate``: MLflow when installed, a JSON record always.

A :class:`RunTracker` wraps one command run. With MLflow it starts a run in the chosen
store (default: the local SQLite store in harlab's data folder), logs per-epoch metrics
live from the training progress callback, then parameters, the data lineage, the
confusion matrix (PNG and numbers), the JSON report and the model (a pyfunc carrying
harlab's preprocessing plus the raw harlab model file), and optionally registers it.
A failed run ends FAILED, a cancelled one KILLED, so the store never shows a half run
as finished.

Whatever happens with MLflow, the same facts go into a local JSON run record (beside
the model file for ``train``), so a run without the ``mlops`` extra still leaves a
trace; the command line then says how to turn tracking on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harlab import __version__
from harlab.core import files
from harlab.core.errors import HarlabError
from harlab.mlops.paths import (
    INSTALL_HINT,
    TrackingOptions,
    data_dir,
    local_artifact_root,
    mlflow_available,
    use_store,
)

if TYPE_CHECKING:
    from harlab.ml.training import TrainProgress

__all__ = ["RunTracker", "TrackingOptions", "log_calibration", "log_evaluation", "log_training"]

MODEL_ARTIFACT = "model"  #: name of the logged pyfunc model inside a run
_PARAM_MAX = 6000


def to_stderr(msg: str) -> None:
    """Where a tracker's notes go unless its owner routes them (a dialog shows them as status)."""
    print(msg, file=sys.stderr, flush=True)


def metric_key(name: str) -> str:
    """MLflow metric and parameter names allow letters, digits, ``_ - . / `` and spaces."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)[:250]


def flatten_params(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested dicts to ``a.b`` keys; lists joined by commas; values cut to MLflow's limit."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_params(v, key + "."))
        else:
            text = ",".join(str(x) for x in v) if isinstance(v, list | tuple) else str(v)
            out[metric_key(key)] = text[:_PARAM_MAX]
    return out


def report_metrics(rep: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Scalar metrics of a classification report: accuracy, macro-F1, per-class scores, spread."""
    m: dict[str, float] = {f"{prefix}accuracy": rep["accuracy"], f"{prefix}macro_f1": rep["macro_f1"]}
    for c, v in rep.get("per_class", {}).items():
        for s in ("precision", "recall", "f1"):
            m[metric_key(f"{prefix}{s}.{c}")] = v[s]
    for s, v in rep.get("group_spread", {}).items():
        m[f"{prefix}{s}_group_std"] = v["std"]
        m[f"{prefix}{s}_group_min"] = v["min"]
    for s, v in rep.get("fold_spread", {}).items():
        m[f"{prefix}{s}_fold_std"] = v["std"]
    timeline = rep.get("timeline", {})  # the windows smoothed as prediction smooths them
    for s in ("accuracy", "macro_f1", "macro_f1_min_group"):
        if s in timeline:
            m[f"{prefix}timeline_{s}"] = timeline[s]
    return {k: float(v) for k, v in m.items() if v is not None and np.isfinite(v)}


def lineage_of(data: Any) -> dict[str, Any]:
    """Data lineage of a :class:`harlab.ml.dataset.Dataset`: sessions (file path and sha256, session
    id, participant, windows and their hash), the label track and policy, class counts, groups."""
    info = data.info
    counts = {str(k): int(v) for k, v in data.windows.class_counts().items()}
    sessions = [dict(s) for s in data.sources]
    digest = hashlib.sha256()
    for s in sessions:
        digest.update(str(s.get("windows_sha256", "")).encode())
    return {
        "track": info.track,
        "label_policy": info.label_policy,
        "window_s": info.window_s,
        "stride_s": info.stride_s,
        "rate_hz": info.rate_hz,
        "channels": list(info.channels),
        "units": list(info.units),
        "classes": list(data.classes),
        "class_counts": counts,
        "n_windows": int(len(data)),
        "group_kind": data.group_kind,
        "groups": sorted({str(g) for g in data.groups.tolist()}),
        "participants": sorted({str(s.get("participant", "")) for s in sessions}),
        "sessions": sessions,
        "windows_digest": digest.hexdigest(),
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


class RunTracker:
    """One tracked command run; use as a context manager (see the module docstring)."""

    def __init__(
        self,
        options: TrackingOptions,
        kind: str,
        record_path: Path | None = None,
        say: Callable[[str], None] = to_stderr,
    ) -> None:
        self.options = options
        self.say = say
        self.kind = kind
        self.record_path = record_path
        self.mlflow: Any = None
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.tracking_uri: str | None = None
        self.record: dict[str, Any] = {
            "kind": kind,
            "status": "RUNNING",
            "harlab_version": __version__,
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "params": {},
            "metrics": {},
            "history": [],
            "lineage": None,
            "artifacts": [],
            "mlflow": None,
        }
        self._t0 = time.perf_counter()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        #: where the record goes when it has no place of its own (or the run failed)
        self._fallback_path = data_dir() / "runs" / f"{stamp}-{kind}-{os.getpid()}.json"
        self._announced: Path | None = None

    def _announce_record(self, why: str) -> None:
        """Tracking is off: say so, and where the JSON run record goes instead."""
        self._announced = self.record_path or self._fallback_path
        self.say(f"{why}; the JSON run record goes to {self._announced}")

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> RunTracker:
        if not self.options.enabled:
            self._announce_record("tracking off (--no-track or HARLAB_TRACKING=off)")
            return self
        if not mlflow_available():
            self._announce_record(
                f"tracking off: MLflow is not installed (to track runs and register models: {INSTALL_HINT})"
            )
            return self
        self._start_mlflow()
        return self

    def _start_mlflow(self) -> None:
        mlflow, uri = use_store(self.options.tracking_uri)
        self.tracking_uri = uri
        try:
            exp = mlflow.get_experiment_by_name(self.options.experiment)
            if exp is None:
                eid = mlflow.create_experiment(
                    self.options.experiment, artifact_location=local_artifact_root(uri)
                )
            else:
                eid = exp.experiment_id
            tags = {"harlab.kind": self.kind, "harlab.version": __version__, **self.options.tags}
            run = mlflow.start_run(experiment_id=eid, run_name=self.options.run_name, tags=tags)
        except HarlabError:
            raise
        except Exception as exc:  # MLflow raises many types for an unreachable or bad store
            raise HarlabError(f"cannot start an MLflow run at {uri}: {exc}") from exc
        self.mlflow = mlflow
        self.experiment_id = eid
        self.run_id = run.info.run_id
        self.record["mlflow"] = {
            "tracking_uri": uri,
            "experiment": self.options.experiment,
            "experiment_id": eid,
            "run_id": self.run_id,
        }
        self.say(f"tracking run {self.run_id} in experiment {self.options.experiment!r} at {uri}")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        from harlab.ml.training import TrainingCancelled

        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, TrainingCancelled | KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        self.record["status"] = status
        self.record["ended_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.record["seconds"] = round(time.perf_counter() - self._t0, 3)
        if exc is not None:
            self.record["error"] = str(exc)
            self.record_path = None  # no record beside a model file that was not written
        if self.mlflow is not None:
            try:
                self.mlflow.end_run(status=status)
            except Exception as end_exc:  # never hide the original error behind a store error
                self.say(f"warning: could not close MLflow run {self.run_id}: {end_exc}")
        path = self.write_record()
        if self._announced is not None and path != self._announced:
            self.say(f"the JSON run record went to {path} instead")

    def write_record(self) -> Path:
        """Write the JSON run record atomically (beside the model, or in the data folder's runs/)."""
        path = self.record_path or self._fallback_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic_open(path, "w") as f:
            json.dump(_jsonable(self.record), f, indent=1)
        self.record_path = path
        return path

    # -- logging ----------------------------------------------------------------------------------
    def log_params(self, params: dict[str, Any]) -> None:
        flat = flatten_params(params)
        self.record["params"].update(flat)
        if self.mlflow is not None:
            items = list(flat.items())
            for i in range(0, len(items), 90):  # MLflow accepts 100 params per batch
                self.mlflow.log_params(dict(items[i : i + 90]))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        clean = {metric_key(k): float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}
        if step is None:
            self.record["metrics"].update(clean)
        else:
            self.record["history"].append({"step": step, **clean})
        if self.mlflow is not None and clean:
            self.mlflow.log_metrics(clean, step=step)

    def progress(
        self, inner: Callable[[TrainProgress], None] | None = None, prefix: Callable[[], str] | None = None
    ) -> Callable[[TrainProgress], None]:
        """A training progress callback that logs each epoch's metrics (step = epoch), then calls ``inner``."""

        def report(p: TrainProgress) -> None:
            pre = (prefix() if prefix else "") + p.stage
            self.log_metrics(
                {
                    f"{pre}.loss": p.loss,
                    f"{pre}.acc": p.acc,
                    f"{pre}.val_loss": p.val_loss,
                    f"{pre}.val_acc": p.val_acc,
                    f"{pre}.val_f1": p.val_f1,
                },
                step=p.epoch,
            )
            if inner is not None:
                inner(p)

        return report

    def log_json(self, obj: Any, artifact_file: str) -> None:
        self.record["artifacts"].append(artifact_file)
        if self.mlflow is not None:
            self.mlflow.log_dict(_jsonable(obj), artifact_file)

    def log_file(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.record["artifacts"].append(f"{artifact_path + '/' if artifact_path else ''}{Path(path).name}")
        if self.mlflow is not None:
            self.mlflow.log_artifact(str(path), artifact_path)

    def log_lineage(self, data: Any, context: str) -> dict[str, Any]:
        """Sessions, participants, label track, class counts and hashes: JSON artifact, params, and an
        MLflow dataset input (so the run's Inputs show the windows' digest)."""
        lin = lineage_of(data)
        self.record["lineage" if context == "training" else f"lineage_{context}"] = lin
        self.log_json(lin, f"lineage/{context}.json")
        self.log_params(
            {
                f"data.{context}.n_sessions": len(lin["sessions"]),
                f"data.{context}.n_windows": lin["n_windows"],
                f"data.{context}.participants": lin["participants"],
                f"data.{context}.track": lin["track"],
                f"data.{context}.digest": lin["windows_digest"][:16],
            }
        )
        if self.mlflow is not None:
            from mlflow.data.numpy_dataset import from_numpy  # what mlflow.data registers at import

            ds = from_numpy(
                np.asarray(data.X, np.float32),
                targets=np.asarray(data.y),
                name=f"{lin['track']}-windows",
                digest=lin["windows_digest"][:16],
            )
            self.mlflow.log_input(
                ds,
                context=context,
                tags={"harlab.track": lin["track"], "harlab.sessions": str(len(lin["sessions"]))},
            )
        return lin

    def log_report(self, rep: dict[str, Any], name: str, prefix: str = "") -> None:
        """Metrics, the confusion matrix as PNG and numbers, and the full report as JSON."""
        from harlab.ml.evaluate import plot_confusion

        self.log_metrics(report_metrics(rep, prefix))
        self.record.setdefault("reports", {})[name] = rep
        self.log_json(
            {"classes": rep["classes"], "confusion": rep["confusion"], "rows": "true", "cols": "predicted"},
            f"confusion/{name}.json",
        )
        self.log_json(rep, f"reports/{name}.json")
        if self.mlflow is not None:
            with tempfile.TemporaryDirectory() as tmp:
                png = plot_confusion(rep, Path(tmp) / f"{name}.png")
                self.log_file(png, "confusion")

    def log_model(self, model: Any, model_path: Path) -> dict[str, Any] | None:
        """Log the pyfunc (with the harlab model file inside), the raw model file, and register it
        when asked; returns ``{"model_uri", "registered_name", "registered_version"}``."""
        self.log_file(model_path, "harlab_model")
        if self.mlflow is None:
            if self.options.register:
                self.say(f"not registered as {self.options.register!r}: tracking is off")
            return None
        from harlab.mlops.registry import log_pyfunc

        out = log_pyfunc(model, model_path, self.options.register)
        # the run that made a model file is found again by the file's hash (a calibration of
        # the file links its own run to this one: harlab.mlops.calibration_pipeline)
        self.mlflow.set_tag("harlab.model_sha256", out["model_sha256"])
        self.record["mlflow"].update(out)
        if out.get("registered_version"):
            self.say(
                f"registered {out['registered_name']} version {out['registered_version']} "
                f"(models:/{out['registered_name']}/{out['registered_version']})"
            )
        return out


# -- what the commands log -------------------------------------------------------------------------


def log_training(
    run: RunTracker,
    model: Any,
    data: Any,
    config: Any,
    model_path: Path,
    report: dict[str, Any] | None,
    class_mapping: dict[str, str | None] | None = None,
) -> None:
    """Everything about a finished training run: parameters (with the class merges and ignores),
    lineage, the validation report (the windows early stopping watched, scored by the members as they
    were before any refit on them), final metrics and the model."""
    info = model.info
    changed = {k: v for k, v in (class_mapping or {}).items() if v != k}
    run.log_params(
        {
            "train": asdict(config),
            "model.name": info.name,
            "model.preset": info.preset,
            "model.classes": info.classes,
            "model.channels": info.channels,
            "model.units": info.units,
            "model.rate_hz": info.rate_hz,
            "model.window_s": info.window_s,
            "model.stride_s": info.stride_s,
            "model.track": info.track,
            "model.label_policy": info.label_policy,
            "classes.merged": [f"{k}={v}" for k, v in changed.items() if v is not None],
            "classes.ignored": [k for k, v in changed.items() if v is None],
            "harlab_version": __version__,
        }
    )
    run.log_lineage(data, "training")
    metrics = info.metrics
    final: dict[str, float] = {
        "n_train_windows": info.n_train_windows,
        "n_validation_windows": metrics.get("n_validation_windows", 0),
    }
    if "train_seconds" in metrics:
        final["train_seconds"] = metrics["train_seconds"]
    for member, summ in metrics.get("members", {}).items():
        for k, v in summ.items():
            if isinstance(v, int | float):
                final[f"{member}.{k}"] = v
    run.log_metrics(final)
    if report is not None:
        run.log_report(
            {**report, "validation_groups": metrics.get("validation_groups", [])}, "validation", prefix="val_"
        )
    run.log_json(model.history, "training/history.json")
    run.log_model(model, model_path)


def log_calibration(run: RunTracker, result: Any, model_path: Path) -> dict[str, Any] | None:
    """A calibration (:class:`harlab.ml.calibration.CalibrationResult`): its settings, the parent
    model, the calibration data's lineage, the held-out block's reports before and after, the
    provenance and the personal model; its registered version is tagged with the parent.
    Returns what :meth:`RunTracker.log_model` returns."""
    model = result.model
    cal = model.info.calibration or {}
    parent = cal.get("parent", {})
    run.log_params(
        {
            "calibration": cal.get("config", {}),
            "calibration.calibrated_classes": result.calibrated_classes,
            "calibration.fallback_classes": result.fallback_classes,
            "parent": {
                k: parent.get(k)
                for k in ("name", "preset", "sha256", "path", "model_uri", "mlflow_run_id")
                if parent.get(k)
            },
            "model.name": model.info.name,
            "model.classes": model.classes,
            "harlab_version": __version__,
        }
    )
    run.log_lineage(result.data, "calibration")
    run.log_metrics(
        {
            "calibrate_seconds": result.seconds,
            "n_calibration_windows": result.n_windows,
            "n_held_out_windows": result.n_held_out,
        }
    )
    for name, rep in (("before", result.before), ("after", result.after)):
        if rep is not None:
            run.log_report(rep, f"held_out_{name}", prefix=f"{name}_")
    run.log_json(cal, "calibration/provenance.json")
    out = run.log_model(model, model_path)
    if out and out.get("registered_version"):
        from harlab.mlops.registry import tag_version

        tags = {
            "harlab.parent_model_name": parent.get("name"),
            "harlab.parent_model_sha256": parent.get("sha256"),
            "harlab.parent_model_uri": parent.get("model_uri"),
            "harlab.parent_run_id": parent.get("mlflow_run_id"),
            "harlab.calibration_run_id": run.run_id,
        }
        tag_version(
            out["registered_name"],
            out["registered_version"],
            {k: str(v) for k, v in tags.items() if v},
            run.tracking_uri,
        )
    return out


def log_evaluation(run: RunTracker, rep: dict[str, Any], data: Any, model_ref: dict[str, Any] | None) -> None:
    """A ``harlab evaluate`` run: the model it evaluated (file, hash, registry URI), the data, the report."""
    run.log_params(
        {
            "evaluate.mode": "cv" if "folds" in rep else "model",
            "evaluate.n_windows": rep["n"],
            "evaluate.group_kind": rep.get("group_kind", ""),
        }
    )
    if model_ref:
        run.log_params({f"evaluated_model.{k}": v for k, v in model_ref.items()})
    if "folds" in rep:
        run.log_params({"cv.k": rep["k"], "cv.preset": rep.get("preset", "")})
        for f in rep["folds"]:
            run.log_metrics(
                {
                    "fold_accuracy": f["accuracy"],
                    "fold_macro_f1": f["macro_f1"],
                    "fold_train_s": f["train_s"],
                    **(
                        {"fold_timeline_macro_f1": f["timeline_macro_f1"]} if "timeline_macro_f1" in f else {}
                    ),
                },
                step=f["fold"],
            )
    run.log_lineage(data, "evaluation")
    run.log_report(rep, "evaluation")
