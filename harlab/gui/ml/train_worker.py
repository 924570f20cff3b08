"""The train dialog's work for a :class:`~harlab.gui.background_job.BackgroundJob`:
:func:`harlab.mlops.training_pipeline.run_training`, tracked like ``harlab train``'s runs, plus
the validation confusion matrix as a PNG for the dialog."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from harlab.core import files
from harlab.gui.background_job import Work
from harlab.gui.ml.job import confusion_png
from harlab.mlops.paths import TrackingOptions, tracking_disabled_by_env
from harlab.mlops.training_pipeline import TrainRequest, TrainResult, run_training


def training_work(request: TrainRequest, out_dir: str | Path) -> Work:
    """The work of one run: returns ``(TrainResult, png path or "")``; the PNG goes to ``out_dir``."""

    def work(
        progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
    ) -> tuple[TrainResult, str]:
        # tracked in the same store as the command line's runs (MLFLOW_TRACKING_URI or harlab's own)
        tracking = TrackingOptions(
            enabled=not tracking_disabled_by_env(), tags={"harlab.source": "train dialog"}
        )
        result = run_training(request, tracking=tracking, progress=progress, say=status, cancel=cancel)
        png = ""
        if result.report is not None:
            fd, name = files.mkstemp(prefix="confusion-", suffix=".png", dir=out_dir)
            os.close(fd)
            groups = ", ".join(result.validation_groups)
            png = str(confusion_png(result.report, name, title=f"validation ({groups})"))
        return result, png

    return work
