"""What the train dialog adds to a training run (Qt-free): where "Save model as…" starts, and the
validation confusion matrix as a PNG. The run itself is :func:`harlab.mlops.training_pipeline.run_training`,
the same as ``harlab train``'s."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harlab.ml.model_archive import MODEL_SUFFIX


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
