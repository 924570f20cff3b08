"""A screenshot of the train dialog after a run (tests/screenshots/train_dialog.png, gitignored),
for people to look at; it also checks what the picture must show."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from harlab.ml.class_rules import MERGE

pytestmark = [pytest.mark.gui, pytest.mark.slow]

OUT = Path(__file__).resolve().parents[2] / "screenshots"


def test_train_dialog_screenshot(make_dialog, session_files, qtbot):
    d = make_dialog(session_paths=session_files)
    d.resize(1280, 860)
    d.preset_combo.setCurrentText("ensemble")
    d.epochs_spin.setValue(8)
    d.window_spin.setValue(2.0)
    d.stride_spin.setValue(1.0)
    d.class_table.set_rule("lying", MERGE, "sitting")
    with qtbot.waitSignal(d.training_finished, timeout=120_000):
        assert d.start_training()
    qtbot.waitUntil(lambda: not d.training, timeout=10_000)
    assert d.curves.stages() == ["cnn1d", "cnn1d refit", "lightgbm"]
    assert len(d.curves.points("cnn1d", "val_acc")) >= 2
    QApplication.processEvents()
    OUT.mkdir(exist_ok=True)
    path = OUT / "train_dialog.png"
    assert d.grab().save(str(path))
    assert path.stat().st_size > 30_000
