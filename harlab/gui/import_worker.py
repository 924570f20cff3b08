"""Importing a file on a worker thread while a progress dialog stays responsive."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from harlab.core.session import Session
from harlab.importers import ImportOptions, detect


class ImportWorker(QObject):
    """Runs ``detect(path).read(path, options)``; emits ``finished(sessions)`` or ``failed(msg)``."""

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
            importer = detect(self.path)
            sessions: list[Session] = importer.read(
                self.path, self.options, lambda f, msg: self.progress.emit(float(f), str(msg)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, the thread must end cleanly
            self.failed.emit(str(exc))
            return
        if not sessions:
            self.failed.emit(f"{self.path}: the importer found no recording in it")
            return
        self.finished.emit(sessions)


def start_import(path: Path, parent: QObject) -> tuple[QThread, ImportWorker]:
    """Create the thread and worker (started; the caller connects the signals first via
    the returned objects before events are processed)."""
    thread = QThread(parent)
    worker = ImportWorker(path)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    worker.failed.connect(thread.quit)
    return thread, worker
