"""The segment table shows times as the timeline does, and follows its time-mode toggle."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.gui_helpers import make_session

pytestmark = pytest.mark.gui


def test_segment_table_follows_the_timeline_time_mode(make_window, qtbot):
    s = make_session(minutes=10, n_segments=20)  # starts 07:00 UTC = 09:00 in Europe/Berlin
    w = make_window()
    assert w.show_session(s, unsaved=False)
    if not w.timeline.wall_clock:
        w.toggle_time_mode()
    model = w.table_dock.model
    first = model.segment(1)  # 30 s .. 54 s
    assert (first.start, first.end) == (30.0, 54.0)
    assert model.index(1, 1).data() == w.timeline.format_time(30.0)[-12:] == "09:00:30.000"
    assert model.index(1, 2).data() == "09:00:54.000"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Start (clock)"

    w.toggle_time_mode()  # the same toggle the View menu and its key use
    assert not w.timeline.wall_clock
    assert model.index(1, 1).data() == "0:30.000"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Start (from start)"

    # a typed time is read in the mode shown; plain seconds still work
    assert model.setData(model.index(1, 2), "0:55.5", Qt.ItemDataRole.EditRole)
    assert s.label_tracks["activity"][first.id].end == 55.5
    w.toggle_time_mode()
    assert model.setData(model.index(1, 2), "09:00:56.250", Qt.ItemDataRole.EditRole)
    assert s.label_tracks["activity"][first.id].end == 56.25
    assert model.setData(model.index(1, 2), "57", Qt.ItemDataRole.EditRole)
    assert s.label_tracks["activity"][first.id].end == 57.0
    with qtbot.waitSignal(model.edit_failed) as failed:
        assert not model.setData(model.index(1, 2), "nine o'clock", Qt.ItemDataRole.EditRole)
    assert "HH:MM:SS" in failed.args[0]


def test_clock_times_near_midnight_land_on_the_nearest_day():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from harlab.gui.timeaxis import format_time, parse_time

    start = datetime(2024, 5, 1, 23, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    t = 45 * 60.0  # 00:15 the next day
    text = format_time(t, start, True, date=False)
    assert text == "00:15:00.000"
    assert parse_time(text, start, True, near=40 * 60.0) == t
    assert parse_time("23:45", start, True, near=0.0) == 15 * 60.0
    assert parse_time("1:02:03.5", start, False) == 3723.5
