"""Offer to recover recordings that were interrupted (the app was killed, the power went).

The crash-safe writer leaves a journal beside the session file; when the Record window
opens, any journal in the output folder that nobody is writing is offered for recovery.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from harlab.gui.record.worker import Worker
from harlab.storage import has_unrecovered_journal, recover

JOURNAL_SUFFIX = ".journal"


def interrupted_recordings(folder: str | Path) -> list[Path]:
    """Session paths in ``folder`` whose recording was interrupted and can be recovered."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for j in sorted(folder.glob(f"*.h5{JOURNAL_SUFFIX}")):
        path = j.with_name(j.name[: -len(JOURNAL_SUFFIX)])
        try:
            if has_unrecovered_journal(path):
                out.append(path)
        except OSError:
            continue
    return out


class RecoveryBar(QFrame):
    """A yellow bar: "An interrupted recording was found: X  [Recover] [Not now]"."""

    open_requested = Signal(str)
    recovered = Signal(str)

    def __init__(self, folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryBar")
        self.setStyleSheet(
            "QFrame#recoveryBar { background: #fff8e1; border: 1px solid #ffb300; border-radius: 6px; }"
            " QFrame#recoveryBar QLabel { color: #4e3b00; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.recover_button = QPushButton("Recover")
        self.open_button = QPushButton("Open in workbench")
        self.dismiss_button = QPushButton("Not now")
        self.recover_button.clicked.connect(self.recover_next)
        self.open_button.clicked.connect(lambda: self.last and self.open_requested.emit(str(self.last)))
        self.dismiss_button.clicked.connect(lambda: self.setVisible(False))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.addWidget(self.text, 1)
        for b in (self.recover_button, self.open_button, self.dismiss_button):
            lay.addWidget(b)
        self.pending = interrupted_recordings(folder)
        self.last: Path | None = None
        self._worker: Worker | None = None
        self._show_pending()

    def _show_pending(self) -> None:
        self.open_button.setVisible(self.last is not None)
        if not self.pending:
            if self.last is None:
                self.setVisible(False)
            else:
                self.recover_button.setVisible(False)
            return
        more = f" (and {len(self.pending) - 1} more)" if len(self.pending) > 1 else ""
        prefix = f"Recovered {self.last.name}. " if self.last is not None else ""
        self.text.setText(
            f"{prefix}An interrupted recording was found: <b>{self.pending[0].name}</b>{more}. "
            "Recover what was recorded?"
        )
        self.recover_button.setVisible(True)
        self.setVisible(True)

    def recover_next(self) -> None:
        if not self.pending or self._worker is not None:
            return
        path = self.pending[0]
        self.recover_button.setEnabled(False)
        self.text.setText(f"Recovering {path.name}…")
        w = Worker(lambda: recover(path), name="record-recover")
        w.done.connect(lambda result: self._done(path, result))
        w.failed.connect(lambda msg: self._done(path, None, msg))
        self._worker = w
        w.start()

    def _done(self, path: Path, result: object, error: str = "") -> None:
        self._worker = None
        self.recover_button.setEnabled(True)
        self.pending.pop(0)
        if error:
            self.text.setText(f"{path.name} could not be recovered: {error}")
            self.setVisible(True)
            return
        if result is None:
            self.text.setText(f"{path.name}: the recording was interrupted before anything was recorded.")
        else:
            self.last = Path(str(result))
            self.text.setText(f"Recovered {self.last.name}.")
            self.recovered.emit(str(self.last))
        if self.pending:
            self._show_pending()
        else:
            self.recover_button.setVisible(False)
            self.open_button.setVisible(self.last is not None)
