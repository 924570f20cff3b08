"""Importing on a worker thread while a progress dialog stays responsive.

Both workers go through :mod:`harlab.importers.run`, the code ``harlab import``
runs: :class:`ImportWorker` reads one file into memory (a companion file is read
through its main file, exactly as on the command line), :class:`BatchImportWorker`
imports folders and several files into session files with the command's
expansion, per-input progress, cancel and per-file report.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from harlab.core.errors import HarlabError
from harlab.importers import ImportOptions
from harlab.importers.run import ImportCancelled, expand_inputs, import_paths, read_input


class ImportWorker(QObject):
    """Reads one input; emits ``finished(sessions)`` or ``failed(msg)``."""

    progress = Signal(float, str)
    finished = Signal(list)
    failed = Signal(str)

    def __init__(self, path: Path, options: ImportOptions | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.options = options or ImportOptions()

    @Slot()
    def run(self) -> None:
        try:
            inputs = expand_inputs([self.path])
            target = inputs[0] if len(inputs) == 1 else self.path
            _importer, sessions = read_input(
                target, self.options, progress=lambda f, msg: self.progress.emit(float(f), str(msg)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, the thread must end cleanly
            self.failed.emit(str(exc))
            return
        self.finished.emit(sessions)


class BatchImportWorker(QObject):
    """Imports ``paths`` into session files in ``out_dir``, like ``harlab import PATH... -o OUT``.

    ``progress(index, total, fraction, message)`` per input; ``finished(reports)`` with one
    :class:`~harlab.importers.run.FileReport` per input (fewer after a cancel), or
    ``failed(msg)`` when the batch could not start. ``cancel`` stops before the next
    progress step; the input being read then writes nothing.
    """

    progress = Signal(int, int, float, str)
    finished = Signal(list)
    failed = Signal(str)

    def __init__(self, paths: Sequence[Path], out_dir: Path, options: ImportOptions | None = None) -> None:
        super().__init__()
        self.paths = [Path(p) for p in paths]
        self.path = self.paths[0]
        self.out_dir = Path(out_dir)
        self.options = options or ImportOptions()
        self.cancel = threading.Event()
        self.cancelled = False

    def _progress(self, index: int, total: int, fraction: float, message: str) -> None:
        if self.cancel.is_set():
            self.cancelled = True
            raise ImportCancelled()
        self.progress.emit(index, total, float(fraction), str(message))

    @Slot()
    def run(self) -> None:
        try:
            reports = import_paths(self.paths, self.out_dir, self.options, progress=self._progress)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the thread must end cleanly
            self.failed.emit(str(exc) if isinstance(exc, HarlabError) else f"{type(exc).__name__}: {exc}")
            return
        self.finished.emit(reports)


def _start(worker: QObject, parent: QObject) -> QThread:
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)  # type: ignore[attr-defined]
    worker.finished.connect(thread.quit)  # type: ignore[attr-defined]
    worker.failed.connect(thread.quit)  # type: ignore[attr-defined]
    return thread


def start_import(path: Path, parent: QObject) -> tuple[QThread, ImportWorker]:
    """Create the thread and worker (not started: the caller connects the signals, then starts)."""
    worker = ImportWorker(path)
    return _start(worker, parent), worker


def start_batch_import(paths: Sequence[Path], out_dir: Path, parent: QObject) -> tuple[QThread, BatchImportWorker]:
    """Like :func:`start_import`, for a batch of files and folders written to ``out_dir``."""
    worker = BatchImportWorker(paths, out_dir)
    return _start(worker, parent), worker
