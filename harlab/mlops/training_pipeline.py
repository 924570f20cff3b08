"""One training run, as ``harlab train`` and the train dialog both do it (Qt-free).

:func:`run_training` reads the sessions (keeping each file's sha256 for the lineage),
applies the class rules (merge or ignore classes, :mod:`harlab.ml.class_rules`), cuts
windows, trains with early stopping on held-out participants, scores the validation
windows, writes the model when given a path, and tracks the run: an MLflow run when
tracking is on and MLflow is installed, a JSON run record always. The command line and
the dialog differ only in what they pass: where progress and notes go, when to cancel
(a :class:`threading.Event` the training loop checks every batch), where the model goes.

It lives in :mod:`harlab.mlops` because it ties training (:mod:`harlab.ml`) to tracking
(:mod:`harlab.mlops.tracking`), which sits above it.
"""

from __future__ import annotations

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
from harlab.core.window_defaults import DEFAULT_WINDOW_S
from harlab.core.wording import counted
from harlab.ml.class_rules import relabeled_view
from harlab.ml.model_archive import MODEL_SUFFIX
from harlab.mlops.paths import TrackingOptions

if TYPE_CHECKING:
    from harlab.ml.dataset import Dataset
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.training import TrainConfig, TrainProgress


@dataclass
class TrainRequest:
    """What to train on and how.

    ``sources`` are session file paths or open sessions; ``mapping`` is
    :func:`harlab.ml.class_rules.class_mapping`'s ``{class: new name or None}`` (None leaves the class
    out); ``classes`` are the model's classes in order (after the mapping; None: every class found).
    """

    sources: Sequence[str | Path | Session]
    config: TrainConfig
    track: str = "activity"
    window_s: float = DEFAULT_WINDOW_S
    stride_s: float | None = None
    rate_hz: float | None = None
    channels: list[str] | None = None
    policy: str = "majority"
    mapping: dict[str, str | None] = field(default_factory=dict)
    classes: list[str] | None = None
    names: list[str] | None = None  #: display names of the sources (default: file stems)
    model_name: str = "activity-model"


@dataclass
class TrainResult:
    model: ActivityModel
    data: Dataset
    report: dict[str, Any] | None  #: validation report (None without validation windows)
    class_counts: dict[str, int]
    validation_groups: list[str]
    group_kind: str  #: what was held out: "participant", "time block", ... (ValidationSplit.kind)
    seconds: float = 0.0
    validation_split: str = ""  #: in words, which windows the validation score comes from
    warnings: list[str] = field(default_factory=list)  #: classes on one side only, adjusted windows
    notes: list[str] = field(default_factory=list)  #: what cutting windows adjusted (rounding to samples)
    model_path: Path | None = None  #: the written model file (None when not asked to write one)
    run_record: Path | None = None  #: the JSON run record (None without tracking)
    run_id: str | None = None  #: the MLflow run (None when MLflow did not track it)

    @property
    def n_windows(self) -> int:
        return len(self.data)

    @property
    def sources(self) -> list[dict[str, Any]]:
        """Provenance of each session: file path and sha256, or a note for an open session."""
        return list(self.data.sources)


def _quiet(msg: str) -> None:
    """The default for ``say``: a caller that wants no notes gets none."""


def source_names(sources: Sequence[str | Path | Session]) -> list[str]:
    """Display names of sessions: file stems (numbered when two agree); for a session given as
    an object, the stem of the file it was imported from, else ``session N`` (people read
    these in the split and the report; a 32-character session id says nothing to them)."""
    names: list[str] = []
    for i, src in enumerate(sources, 1):
        if isinstance(src, Session):
            files = src.metadata.provenance.sources
            stem = Path(files[0].path).stem if files and files[0].path else f"session {i}"
        else:
            stem = Path(src).stem
        names.append(stem if stem not in names else f"{stem}-{i}")
    return names


def read_sources(
    sources: Sequence[str | Path | Session],
    track: str = "",
    mapping: dict[str, str | None] | None = None,
    say: Callable[[str], None] = _quiet,
    cancel: threading.Event | None = None,
) -> tuple[list[Session], list[dict[str, Any]]]:
    """The sessions, with the class rules ``mapping`` applied to label track ``track``, and their
    provenance (path and sha256).

    Each file is read whole and closed at once: the HDF5 library is shared by every thread of
    the process, so a worker keeps its h5py use short and never holds a file open while the GUI
    thread may open or close others.
    """
    from harlab.storage import read_session

    sessions: list[Session] = []
    provenance: list[dict[str, Any]] = []
    n = len(sources)
    for i, src in enumerate(sources, 1):
        _check(cancel)
        if isinstance(src, Session):
            say(f"using the open session ({i}/{n})")
            session = src
            provenance.append({"path": "", "note": "open session in the workbench"})
        else:
            say(f"reading {src} ({i}/{n})")
            session = read_session(src)
            provenance.append({"path": str(Path(src).resolve()), "sha256": sha256_of(src)})
        sessions.append(relabeled_view(session, track, mapping) if mapping else session)
    return sessions, provenance


def _check(cancel: threading.Event | None) -> None:
    from harlab.ml.training import TrainingCancelled

    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training cancelled")


def run_training(
    req: TrainRequest,
    *,
    output: str | Path | None = None,
    tracking: TrackingOptions | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    say: Callable[[str], None] = _quiet,
    cancel: threading.Event | None = None,
) -> TrainResult:
    """Read, relabel, cut, train, score and track one run (see the module docstring).

    ``output`` is where the model file goes (None: not written; the caller saves the result's model
    later). ``tracking`` None tracks nothing; otherwise the run is tracked as the options say, with
    its JSON record beside ``output`` (else in harlab's data folder, runs/). Raises
    :class:`~harlab.ml.training.TrainingCancelled` when ``cancel`` is set (the MLflow run ends KILLED).
    """
    from harlab.ml.dataset import build_dataset

    t0 = time.perf_counter()
    if not req.sources:
        raise HarlabError("choose at least one session to train on")
    if req.classes is not None and len(req.classes) < 2:
        raise HarlabError(
            f"training needs at least two classes; the class rules leave {req.classes or 'none'}"
        )
    sessions, provenance = read_sources(req.sources, req.track, req.mapping, say, cancel)
    _check(cancel)
    say(f"cutting {req.window_s:g} s windows from track {req.track!r}")

    def cut_progress(frac: float, msg: str) -> None:
        _check(cancel)
        say(f"cutting windows: {msg}" if msg else f"cutting windows ({frac:.0%})")

    data = build_dataset(
        sessions,
        req.track,
        req.window_s,
        req.stride_s,
        req.rate_hz,
        req.channels,
        req.policy,
        classes=req.classes,
        names=req.names or source_names(req.sources),
        sources=provenance,
        progress=cut_progress,
    )
    for line in data.notes:
        say(line)
    present = sorted(set(data.y.tolist()))
    if len(present) < 2:
        raise HarlabError(
            f"only windows of {', '.join(data.classes[i] for i in present) or 'no class'} were found; "
            "training needs windows of at least two classes"
        )
    counts = {c: int((data.y == i).sum()) for i, c in enumerate(data.classes)}
    data.info.name = req.model_name
    say(
        f"{counted(len(data), 'window')}, {counted(len(set(data.groups.tolist())), data.group_kind)}; "
        + ", ".join(f"{c} {n}" for c, n in counts.items())
    )
    out = Path(output) if output is not None else None
    if tracking is None:
        result = _train(req, data, counts, progress, say, cancel, t0)
        if out is not None:
            result.model_path = result.model.save(out)
        return result

    from harlab.mlops.tracking import RunTracker, log_training

    record = out.with_name(out.name + ".run.json") if out is not None else None
    with RunTracker(tracking, "train", record, say=say) as tracker:
        result = _train(req, data, counts, tracker.progress(progress), say, cancel, t0)
        with tempfile.TemporaryDirectory(prefix="harlab-train-") as tmp:
            # the run logs a model file even when the caller saves its own copy later
            path = result.model.save(
                out if out is not None else Path(tmp) / f"{req.model_name}{MODEL_SUFFIX}"
            )
            log_training(tracker, result.model, data, req.config, path, result.report, req.mapping)
        result.model_path = path if out is not None else None
        result.run_id = tracker.run_id
    result.run_record = tracker.record_path
    return result


def _train(
    req: TrainRequest,
    data: Dataset,
    counts: dict[str, int],
    progress: Callable[[TrainProgress], None] | None,
    say: Callable[[str], None],
    cancel: threading.Event | None,
    t0: float,
) -> TrainResult:
    """Train on ``data`` and score the windows early stopping watched (the same deterministic
    :func:`~harlab.ml.training.choose_validation`), by the members as they were before any refit."""
    from harlab.ml.metrics import classification_report
    from harlab.ml.training import choose_validation, train

    say(f"training preset {req.config.preset} on {len(data)} windows")
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        req.config,
        progress,
        cancel,
        context=data.context,
        blocks=data.blocks,
        group_kind=data.group_kind,
    )
    _check(cancel)
    split = choose_validation(
        data.groups,
        data.y,
        req.config.val_fraction,
        req.config.seed,
        data.blocks,
        data.group_kind,
        data.classes,
    )
    val = split.mask
    report = None
    if val.any() and model.validation_proba is not None:
        pred = model.validation_proba.argmax(1)
        vgroups = data.blocks if split.kind == "time block" and data.blocks is not None else data.groups
        report = classification_report(data.y[val], pred, data.classes, vgroups[val])
        report["group_kind"] = split.kind
    seconds = time.perf_counter() - t0
    model.info.metrics["train_seconds"] = round(seconds, 3)
    return TrainResult(
        model,
        data,
        report,
        counts,
        split.held_out,
        split.kind,
        seconds,
        split.description,
        list(model.info.metrics.get("warnings", split.warnings)),  # the split's, then the members'
        list(data.notes),
    )
