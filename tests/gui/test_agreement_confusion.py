"""The agreement panel's confusion matrix with 18 classes: it fits the panel (no scrolling
sideways or down), every cell's tooltip names both classes in full with the count, and a click
opens it large."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from harlab.core import LabelClass, LabelTrack, Segment
from harlab.simulate import synthetic_session
from tests.gui.gui_helpers import press_shortcut

pytestmark = [pytest.mark.gui]

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
NAMES = [
    "walking", "running", "sitting", "standing", "lying", "stairs_up", "stairs_down", "cycling",
    "jumping", "vacuuming", "ironing", "rope_jumping", "nordic_walking", "watching_tv",
    "computer_work", "car_driving", "folding_laundry", "house_cleaning",
]  # fmt: skip
BOUT = 10.0


def eighteen_classes():
    """Two coders over 36 bouts of 18 classes; B calls every fourth bout by the next class."""
    n = 2 * len(NAMES)
    s = synthetic_session(n * BOUT, rate_hz=10.0, streams=("accel",), classes=[LabelClass(c) for c in NAMES])
    for coder, shift in (("A", 0), ("B", 1)):
        track = LabelTrack(coder)
        track.add_many(
            [
                Segment(i * BOUT, (i + 1) * BOUT, NAMES[(i + (shift if i % 4 == 0 else 0)) % len(NAMES)])
                for i in range(n)
            ]
        )
        s.add_label_track(track)
    return s


def test_eighteen_classes_fit_the_panel_with_names_and_counts_in_tooltips(make_window, qtbot):
    session = eighteen_classes()
    w = make_window()
    w.show_session(session, unsaved=False)
    press_shortcut(qtbot, w, "toggle_agreement")
    panel = w.agreement_dock
    panel.choose(["A", "B"])
    qtbot.waitUntil(lambda: panel.result is not None and panel.is_idle(), timeout=20_000)
    view = panel.confusion
    assert view.rowCount() == view.columnCount() == len(NAMES) == len(panel.result.reliability.classes)
    qtbot.waitUntil(lambda: view.isVisible())
    # all of it in view: nothing to scroll, in the matrix or in the panel around it
    assert view.horizontalScrollBar().maximum() == 0 and view.verticalScrollBar().maximum() == 0
    scroll = panel.widget()
    assert scroll.horizontalScrollBar().maximum() == 0
    right = view.mapTo(scroll.viewport(), view.rect().topRight()).x()
    assert right <= scroll.viewport().width()
    # names cut to fit, whole in the tooltips, with the counts
    classes = list(panel.result.reliability.classes)
    i, j = classes.index("folding_laundry"), classes.index("house_cleaning")
    cm = panel.result.reliability.pairs[0].confusion
    assert np.array_equal(view.counts, cm)
    assert (
        view.item(i, j)
        .toolTip()
        .startswith(
            f"A says folding_laundry, B says house_cleaning: {int(cm[i, j])} of {int(cm[i].sum())} samples"
        )
    )
    assert view.verticalHeaderItem(i).toolTip() == "A says folding_laundry"
    assert view.horizontalHeaderItem(j).text() == str(j + 1)
    assert view.verticalHeader().width() <= 130
    SHOTS.mkdir(exist_ok=True)
    scroll.ensureWidgetVisible(view)
    assert panel.grab().save(str(SHOTS / "agreement_confusion_18_classes.png"))
    # a click opens it large, with the full names as headers
    with qtbot.waitSignal(view.clicked_to_enlarge, timeout=2000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton)
    big = panel.confusion_dialog
    assert big is not None and big.view.horizontalHeaderItem(j).text() == "house_cleaning"
    big.resize(1400, 1000)
    assert big.grab().save(str(SHOTS / "agreement_confusion_18_classes_large.png"))
    big.close()


def test_cells_show_what_their_width_allows_and_never_an_elided_text(qtbot):
    from harlab.gui.ml.confusion_view import Axes, ConfusionView

    k = 6
    cm = (np.eye(k, dtype=int) * 95 + 3).tolist()
    view = ConfusionView(axes=Axes("A says", "B says", "samples", "legend"))
    qtbot.addWidget(view)
    view.set_report({"confusion": cm, "classes": [f"class_{i}" for i in range(k)]})
    view.show()
    qtbot.waitExposed(view)
    seen = []
    for width in (700, 330, 150):
        view.resize(width, 200)
        qtbot.waitUntil(lambda w=width: view.width() == w)
        seen.append(view.item(0, 0).text())
        metrics = view.fontMetrics()
        assert all(
            metrics.horizontalAdvance(view.item(i, j).text()) < view.columnWidth(j)
            for i in range(k)
            for j in range(k)
        )
        assert view.item(0, 1).toolTip() == "A says class_0, B says class_1: 3 of 113 samples (3%)"
    assert seen == ["98  87%", "87%", ""]
