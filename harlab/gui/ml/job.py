"""One training run of the train dialog, as plain Python (Qt-free, runs on a worker thread).

:func:`run_training` does what ``harlab train`` does (read the sessions, cut windows,
train with early stopping on held-out participants) plus what a dialog needs to show
the result: the validation report with its confusion matrix, computed on exactly the
windows that early stopping watched (the same :func:`validation_split`), never on
training windows. Keeping it free of Qt lets the tests drive it directly and keeps the
Qt part a thin adapter of signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harlab.core.errors import HarlabError
from harlab.core.session import Session
from harlab.gui.ml.relabel import output_classes, relabeled_view

if TYPE_CHECKING:
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.training import TrainConfig, TrainProgress


#: the suffix harlab's model files use (``harlab train -o walk.harmodel``, the model registry)
MODEL_SUFFIX = ".harmodel"


@dataclass
class TrainRequest:
    """Everything the dialog collected. ``sources`` are file paths or open sessions (already
    relabelled on the GUI thread, so a later edit in the workbench cannot race the run)."""

    sources: list[str | Session]
    names: list[str]
    track: str
    mapping: dict[str, str | None]
    class_order: list[str]
    window_s: float
    stride_s: float | None
    rate_hz: float | None
    channels: list[str] | None
    policy: str
    config: TrainConfig
    model_name: str = "activity-model"


@dataclass
class TrainResult:
    model: ActivityModel
    report: dict[str, Any] | None  #: validation report (None without validation windows)
    n_windows: int
    class_counts: dict[str, int]
    validation_groups: list[str]
    group_kind: str  #: what was held out: "participant", "time block", ... (ValidationSplit.kind)
    seconds: float = 0.0
    sources: list[dict[str, Any]] = field(default_factory=list)
    validation_split: str = ""  #: in words, which windows the validation score comes from
    warnings: list[str] = field(default_factory=list)  #: classes on one side only, adjusted windows
    notes: list[str] = field(default_factory=list)  #: what cutting windows adjusted (rounding to samples)


def run_training(
    req: TrainRequest,
    progress: Callable[[TrainProgress], None] | None = None,
    status: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> TrainResult:
    """Read, relabel, cut, train and evaluate; raises ``TrainingCancelled`` when ``cancel`` is set."""
    import time

    from harlab.core.metadata import sha256_of
    from harlab.ml.dataset import build_dataset
    from harlab.ml.metrics import classification_report
    from harlab.ml.training import TrainingCancelled, choose_validation, train
    from harlab.storage import read_session

    def say(msg: str) -> None:
        if status:
            status(msg)

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("training cancelled")

    t0 = time.perf_counter()
    if not req.sources:
        raise HarlabError("choose at least one session to train on")
    classes = output_classes(req.mapping, req.class_order)
    if len(classes) < 2:
        raise HarlabError(f"training needs at least two classes; the mapping leaves {classes or 'none'}")
    sessions: list[Session] = []
    provenance: list[dict[str, Any]] = []
    for i, src in enumerate(req.sources, 1):
        check()
        if isinstance(src, Session):
            say(f"using the open session ({i}/{len(req.sources)})")
            sessions.append(src)
            provenance.append({"path": "", "note": "open session in the workbench"})
            continue
        say(f"reading {Path(src).name} ({i}/{len(req.sources)})")
        # Read the file whole and close it at once: the HDF5 library is shared by every
        # thread of the process, so this worker keeps its h5py use short and never holds
        # a file open while the GUI thread may open or close others.
        sessions.append(relabeled_view(read_session(src), req.track, req.mapping))
        provenance.append({"path": str(Path(src).resolve()), "sha256": sha256_of(src)})
    check()
    say(f"cutting {req.window_s:g} s windows from track {req.track!r}")

    def cut_progress(frac: float, msg: str) -> None:
        check()
        say(f"cutting windows: {msg}" if msg else f"cutting windows ({frac:.0%})")

    data = build_dataset(sessions, req.track, req.window_s, req.stride_s, req.rate_hz, req.channels,
                         req.policy, classes=classes, names=req.names, sources=provenance,
                         progress=cut_progress)
    present = sorted(set(data.y.tolist()))
    if len(present) < 2:
        raise HarlabError(f"only windows of {[data.classes[i] for i in present]} were found; "
                          "training needs windows of at least two classes")
    counts = {c: int((data.y == i).sum()) for i, c in enumerate(data.classes)}
    info = data.info
    info.name = req.model_name
    say(f"training {req.config.preset} on {len(data)} windows "
        f"({len(set(data.groups.tolist()))} {data.group_kind}s)")
    model = train(data.X, data.y, data.groups, info, req.config, progress, cancel, context=data.context,
                  blocks=data.blocks, group_kind=data.group_kind)
    check()
    # the same windows train() validated on (the choice is deterministic)
    split = choose_validation(data.groups, data.y, req.config.val_fraction, req.config.seed, data.blocks,
                              data.group_kind, data.classes)
    val = split.mask
    report = None
    if val.any() and model.validation_proba is not None:
        # the members as they were before any refit on the validation participants
        pred = model.validation_proba.argmax(1)
        vgroups = data.blocks if split.kind == "time block" and data.blocks is not None else data.groups
        report = classification_report(data.y[val], pred, data.classes, vgroups[val])
        report["group_kind"] = split.kind
    seconds = time.perf_counter() - t0
    model.info.metrics["train_seconds"] = round(seconds, 3)
    return TrainResult(model, report, len(data), counts, split.held_out, split.kind, seconds, provenance,
                       split.description, list(split.warnings), list(data.notes))


def default_model_path(first_source: str | None, preset: str, names: Sequence[str] = ()) -> Path:
    """Where "Save model as…" starts: beside the first session file, named after it and the preset."""
    if first_source:
        p = Path(first_source)
        return p.with_name(f"{p.stem}-{preset}{MODEL_SUFFIX}")
    stem = names[0] if names else "activity"
    return Path.home() / f"{stem}-{preset}{MODEL_SUFFIX}"


def confusion_png(report: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """The report's confusion matrix as a PNG (matplotlib Agg; safe off the GUI thread)."""
    from harlab.ml.evaluate import plot_confusion

    return plot_confusion(report, path, title=title)
