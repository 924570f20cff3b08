"""Explore on a real WISDM session (18 classes) at 1024×640: the legend lists every class
whole, without scrolling, beside a plot that keeps most of the width (skips without
../shared/data)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harlab.storage import read_session
from tests.real_data import SHARED_DATA

DATA = SHARED_DATA
WATCH = DATA / "wisdm2019" / "wisdm-dataset" / "raw" / "watch"
ACCEL = WATCH / "accel" / "data_1600_accel_watch.txt"
GYRO = WATCH / "gyro" / "data_1600_gyro_watch.txt"


def test_explore_legend_shows_all_18_wisdm_classes_at_1024x640(qtbot, tmp_path):
    if not (ACCEL.is_file() and GYRO.is_file()):
        pytest.skip("WISDM subject 1600 (../shared/data/wisdm2019) not present")
    from harlab.gui.ml.explore_dialog import ExploreDialog

    out = tmp_path / "w.h5"
    subprocess.run(
        [sys.executable, "-m", "harlab", "import", str(ACCEL), str(GYRO), "-o", str(out), "-q"],
        check=True,
        env=os.environ.copy(),
        timeout=300,
    )
    dlg = ExploreDialog(read_session(out))
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.resize(1024, 640)
    qtbot.waitUntil(lambda: dlg.width() == 1024)
    legend = dlg.legend
    assert legend.count() == 18 == len(dlg.items)
    assert legend.verticalScrollBar().maximum() == 0 and legend.horizontalScrollBar().maximum() == 0
    view = legend.viewport().rect()
    for i in range(legend.count()):
        item = legend.item(i)
        rect = legend.visualItemRect(item)
        need = legend.fontMetrics().horizontalAdvance(item.text()) + legend.iconSize().width()
        assert view.contains(rect) and rect.width() >= need, item.text()  # whole, not "sandw…"
    assert dlg.plot.width() > 3 * legend.width()
    dlg.grab().save("/tmp/harlab_explore_wisdm.png")
