"""The train dialog's worker: :func:`harlab.mlops.training_pipeline.run_training` on a QThread, reporting through Qt signals.

Signals cross from the worker thread to the dialog as queued connections (the worker
object lives in the thread, the dialog in the GUI thread), so every slot that touches
a widget runs on the GUI thread. Cancel is a plain :class:`threading.Event` that the
training loop checks every batch (every boosting round for LightGBM).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from harlab.core import files
from harlab.gui.ml.job import confusion_png
from harlab.mlops.paths import TrackingOptions, tracking_disabled_by_env
from harlab.mlops.training_pipeline import TrainRequest, run_training


class TrainWorker(QObject):
    """Emits ``progress(TrainProgress)`` per epoch, ``status(str)`` for the steps before,
    then exactly one of ``finished(TrainResult, png_path)``, ``cancelled()`` or ``failed(str)``."""

    progress = Signal(object)
    status = Signal(str)
    finished = Signal(object, str)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, request: TrainRequest, cancel: threading.Event, out_dir: str | Path) -> None:
        super().__init__()
        self.request = request
        self.cancel = cancel
        self.out_dir = Path(out_dir)

    @Slot()
    def run(self) -> None:
        from harlab.ml.training import TrainingCancelled

        try:
            # tracked like ``harlab train``'s runs, in the same store (MLFLOW_TRACKING_URI or harlab's own)
            tracking = TrackingOptions(enabled=not tracking_disabled_by_env(), tags={"harlab.source": "train dialog"})
            result = run_training(self.request, tracking=tracking, progress=self.progress.emit,
                                  say=self.status.emit, cancel=self.cancel)
            png = ""
            if result.report is not None:
                fd, name = files.mkstemp(prefix="confusion-", suffix=".png", dir=self.out_dir)
                import os

                os.close(fd)
                groups = ", ".join(result.validation_groups)
                png = str(confusion_png(result.report, name, title=f"validation ({groups})"))
        except TrainingCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - shown in the dialog; the thread must end cleanly
            if self.cancel.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(str(exc) or type(exc).__name__)
            return
        if self.cancel.is_set():
            self.cancelled.emit()
            return
        self.finished.emit(result, png)


def start_training(request: TrainRequest, cancel: threading.Event, out_dir: str | Path,
                   parent: QObject) -> tuple[QThread, TrainWorker]:
    """A thread and worker wired to quit when the worker is done; the caller connects the
    worker's signals and then calls ``thread.start()``.

    The worker is not ``deleteLater``-ed on its thread: deleting a Python-owned QObject there
    raced PySide's wrapper teardown with the GUI thread (a segfault in
    ``Shiboken::Object::destroy`` about one run in fifteen). The caller drops its reference
    after ``thread.finished`` instead, and Python deletes the worker on the GUI thread."""
    thread = QThread(parent)
    worker = TrainWorker(request, cancel, out_dir)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    for sig in (worker.finished, worker.cancelled, worker.failed):
        sig.connect(thread.quit)
    return thread, worker
