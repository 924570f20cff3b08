"""The agreement panel's per-class table fits the panel's default width: every column in view,
no sideways scrolling, even with many classes and long class names."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QScrollArea

from harlab.agreement import compare_tracks
from harlab.core.labels import LabelTrack, Segment
from harlab.gui.agreement_panel import PANEL_WIDTH, AgreementPanel

pytestmark = pytest.mark.gui

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"  # gitignored, for people to look at

#: 18 classes, some with names as long as real schemas have
CLASSES = [
    "sitting", "standing", "lying", "walking", "walking_upstairs", "walking_downstairs",
    "jogging", "cycling", "sit_to_stand", "stand_to_sit", "lie_to_sit", "sit_to_lie",
    "vacuum_cleaning", "ironing", "rope_jumping", "nordic_walking", "household_chores", "other",
]  # fmt: skip


def two_coders() -> list[LabelTrack]:
    """Two tracks over every class, the second disagreeing on every third segment."""
    tracks = []
    for who, shift in (("A", 0), ("B", 1)):
        t = LabelTrack(f"coder {who}", annotator=who)
        t.add_many(
            [
                Segment(10.0 * i, 10.0 * i + 9.0, CLASSES[(i + shift * (i % 3 == 0)) % len(CLASSES)])
                for i in range(3 * len(CLASSES))
            ]
        )
        tracks.append(t)
    return tracks


def test_per_class_table_fits_the_default_width_with_18_classes(qtbot):
    panel = AgreementPanel()
    qtbot.addWidget(panel)
    panel.result = compare_tracks(two_coders(), step=1.0)
    assert len(panel.result.reliability.per_class) == 18
    panel._show()
    panel.resize(PANEL_WIDTH, 1400)
    panel.show()
    qtbot.waitExposed(panel)
    QApplication.processEvents()
    table = panel.per_class
    assert table.rowCount() == 18
    # no sideways scrolling, neither in the table nor in the panel's scroll area
    assert table.horizontalScrollBar().maximum() == 0
    scroll = panel.widget()
    assert isinstance(scroll, QScrollArea) and scroll.horizontalScrollBar().maximum() == 0
    # every column in view, the last (Ratings) included, its figures not elided
    header = table.horizontalHeader()
    right = header.sectionPosition(3) + header.sectionSize(3)
    assert right <= table.viewport().width()
    fm = table.fontMetrics()
    assert all(header.sectionSize(3) >= fm.horizontalAdvance(table.item(r, 3).text()) for r in range(18))
    # the short headers say in full what they are
    tips = [table.horizontalHeaderItem(c).toolTip() for c in range(4)]
    assert all(tips[1:]) and "Ratings" in table.horizontalHeaderItem(3).text() + tips[3]
    # a class name cut short is in full in its tooltip
    assert table.item(4, 0).toolTip() == table.item(4, 0).text()
    # the confusion matrix of the 18 classes too: the row names give way before the columns scroll
    assert panel.confusion.isVisible() and panel.confusion.horizontalScrollBar().maximum() == 0
    # the events table too: its six columns in view, the pair's names cut short rather than scrolled
    events = panel.events
    assert events.rowCount() == 1
    assert events.horizontalScrollBar().maximum() == 0
    eh = events.horizontalHeader()
    assert eh.sectionPosition(5) + eh.sectionSize(5) <= events.viewport().width()
    assert all(events.horizontalHeaderItem(c).toolTip() for c in range(6))
    assert events.item(0, 0).toolTip() == events.item(0, 0).text()
    SHOTS.mkdir(exist_ok=True)
    panel.grab().save(str(SHOTS / "agreement_panel_340px_18_classes.png"))
