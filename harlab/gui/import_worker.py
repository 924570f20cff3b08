"""Importing on a :class:`~harlab.gui.background_job.BackgroundJob` while a progress dialog stays
responsive.

Both jobs go through :mod:`harlab.importers.run`, the code ``harlab import`` runs:
:func:`import_job` reads one file into memory (a companion file is read through its main
file, exactly as on the command line), :func:`batch_import_job` imports folders and several
files into session files with the command's expansion, per-input progress, cancel and
per-file report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from harlab.core.session import Session
from harlab.gui.background_job import BackgroundJob
from harlab.importers import ImportOptions
from harlab.importers.run import FileReport, ImportCancelled, expand_inputs, import_paths, read_input


def import_job(path: Path, parent: QWidget, options: ImportOptions | None = None) -> BackgroundJob:
    """Read one input: ``progress((fraction, message))``, then ``finished(sessions)`` or
    ``failed(message)``. Not started: the caller connects the signals, then starts it."""
    path = Path(path)

    def work(
        progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
    ) -> list[Session]:
        inputs = expand_inputs([path])
        target = inputs[0] if len(inputs) == 1 else path
        _importer, sessions = read_input(
            target, options or ImportOptions(), progress=lambda f, msg: progress((float(f), str(msg)))
        )
        return sessions

    return BackgroundJob(
        work, parent, owner=parent, progress_label=f"Importing {path.name}…", cancellable=False
    )


def batch_import_job(
    paths: Sequence[Path], out_dir: Path, parent: QWidget, options: ImportOptions | None = None
) -> BackgroundJob:
    """Import ``paths`` into session files in ``out_dir``, like ``harlab import PATH... -o OUT``.

    ``progress((index, total, fraction, message))`` per input; ``finished(reports)`` with one
    :class:`~harlab.importers.run.FileReport` per input (fewer after a cancel, which stops before
    the next progress step: the input being read then writes nothing), or ``failed(message)``
    when the batch could not start.
    """
    paths = [Path(p) for p in paths]

    def work(
        progress: Callable[[object], None], status: Callable[[str], None], cancel: threading.Event
    ) -> list[FileReport]:
        def step(index: int, total: int, fraction: float, message: str) -> None:
            if cancel.is_set():
                raise ImportCancelled()
            progress((index, total, float(fraction), str(message)))

        return import_paths(paths, Path(out_dir), options or ImportOptions(), progress=step)

    return BackgroundJob(work, parent, owner=parent, progress_label=f"Importing {paths[0].name}…")
