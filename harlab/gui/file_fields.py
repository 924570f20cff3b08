"""A path field with its "…" button, and the one way to choose a model file.

Every dialog that takes a file has the same row (the path, editable, and a narrow button that
opens a file dialog); every place that opens a model file starts in the folder the last one
came from and remembers the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from harlab.gui import settings

MODEL_FILTER = "harlab models (*.harmodel);;All files (*)"


def path_row(edit: QLineEdit, browse: Callable[[], None], tip: str = "") -> QHBoxLayout:
    """``edit`` stretched beside a "…" button that calls ``browse``."""
    button = QPushButton("…")
    button.setFixedWidth(32)
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def choose_model_file(parent: QWidget | None, title: str) -> str:
    """Ask for a model file, starting where the last one was; "" when the user cancels."""
    path, _ = QFileDialog.getOpenFileName(
        parent, title, settings.get_str("model_dir", str(Path.cwd())), MODEL_FILTER
    )
    if path:
        settings.set_value("model_dir", str(Path(path).parent))
    return path
