"""Days on the timeline: date ticks at local midnight, midnight lines, jumping to a day.

The session spans three local days in Europe/Berlin across the end of summer time
(Sun 25 Oct 2026 has 25 hours), so a day computed as 86,400 s from the first midnight, or a
clock computed by adding seconds to the local start, would be an hour off and fail here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF

from harlab.simulate import synthetic_session
from harlab.storage import save_session
from tests.gui.gui_helpers import open_window, press_shortcut

START = datetime(2026, 10, 23, 20, 0, tzinfo=UTC)  #: Fri 23 Oct, 22:00 summer time in Berlin
# local midnights in seconds from the start: Sat 24 Oct 00:00 CEST is 22:00 UTC on the 23rd,
# Sun 25 Oct 00:00 CEST a day later, Mon 26 Oct 00:00 CET 25 hours after that
SAT, SUN, MON = 2 * 3600.0, 26 * 3600.0, 51 * 3600.0
DURATION = 3 * 86400.0


@pytest.fixture(scope="module")
def days_path(tmp_path_factory):
    session = synthetic_session(
        DURATION,
        rate_hz=1.0,
        streams=("accel",),
        segments=[(SUN - 600.0, SUN + 600.0, "walking")],
        start_utc=START,
        timezone="Europe/Berlin",
    )
    return save_session(session, tmp_path_factory.mktemp("days") / "three_days.h5")


def ticks(window, t0: float, t1: float, width: float = 1400.0) -> dict[float, str]:
    """The labelled (major) ticks the time axis draws for view [t0, t1] ``width`` px wide:
    value -> text."""
    axis = window.timeline.time_axis
    (spacing, values), *_ = axis.tickValues(t0, t1, width)
    return dict(zip(values, axis.tickStrings(values, 1.0, spacing), strict=True))


def screen_x(view, vb, t: float) -> int:
    """Global x of time ``t`` in the ViewBox ``vb`` shown by the GraphicsView ``view``."""
    return view.viewport().mapToGlobal(view.mapFromScene(vb.mapViewToScene(QPointF(t, 0.0)))).x()


def test_midnight_ticks_carry_the_date(make_window, qtbot, days_path):
    w = open_window(make_window, qtbot, days_path)
    whole = ticks(w, 0.0, DURATION)
    assert whole[SAT] == "Sat 24 Oct"
    assert whole[SUN] == "Sun 25 Oct"
    assert whole[MON] == "Mon 26 Oct"
    # every other tick is a clock time of a local day, also on the day summer time ends
    clock = {v: s for v, s in whole.items() if v not in (SAT, SUN, MON)}
    assert clock and all(len(s) == 5 and s[2] == ":" for s in clock.values()), clock
    assert {s for v, s in clock.items() if SUN < v < MON} >= {"06:00", "12:00", "18:00"}
    assert clock[SUN + 7 * 3600] == "06:00"  # 7 h after midnight: the clock went back an hour

    # an hour around midnight: the midnight tick is the day, the others are times
    around = ticks(w, MON - 1800.0, MON + 1800.0)
    assert around[MON] == "Mon 26 Oct"
    assert around[MON - 600.0] == "23:50" and around[MON + 600.0] == "00:10"

    # a view inside one day has no date on its ticks
    assert all(":" in s for s in ticks(w, SUN + 3600.0, SUN + 7200.0).values())


def test_midnight_lines_on_rows_and_overview(make_window, qtbot, days_path):
    w = open_window(make_window, qtbot, days_path)
    tl = w.timeline
    assert len(tl.day_lines) == len(tl.stream_plots) + len(tl.bands)
    for lines in tl.day_lines:
        assert lines.times.tolist() == [SAT, SUN, MON]
    assert tl.overview.day_lines.times.tolist() == [SAT, SUN, MON]
    assert tl.overview.day_lines.names == ["Sat 24 Oct", "Sun 25 Oct", "Mon 26 Oct"]
    # only the midnights in view are painted
    tl.set_range(SUN - 3600.0, SUN + 3600.0)
    qtbot.waitUntil(tl.is_idle, timeout=5000)
    assert tl.day_lines[0].visible() == [SUN]
    assert tl.overview.day_lines.visible() == [SAT, SUN, MON]
    # a line sits where the axis writes the day: the same screen x in a row and on the axis
    row, axis = tl.stream_plots[0].plot.vb, tl.axis_plot.vb
    assert abs(screen_x(tl.glw, row, SUN) - screen_x(tl.axis_view, axis, SUN)) <= 1


def test_changing_the_timezone_moves_the_midnights(make_window, qtbot, days_path):
    w = open_window(make_window, qtbot, days_path)
    w.session.metadata.timezone = "UTC"
    w.timeline.refresh_timezone()
    assert w.timeline.day_lines[0].times.tolist() == [4 * 3600.0, 28 * 3600.0, 52 * 3600.0]
    assert ticks(w, 0.0, DURATION)[4 * 3600.0] == "Sat 24 Oct"


def test_jump_to_day(make_window, qtbot, days_path):
    w = open_window(make_window, qtbot, days_path)
    hub = w.timeline.hub
    assert w.actions.day_names() == [
        "Fri 23 Oct 2026",
        "Sat 24 Oct 2026",
        "Sun 25 Oct 2026",
        "Mon 26 Oct 2026",
    ]
    w.actions.go_to_day(2)
    assert hub.range == (SUN, MON)  # the 25-hour day, midnight to midnight
    assert hub.cursor == SUN
    press_shortcut(qtbot, w, "next_day")
    assert hub.range == (MON, MON + 86400.0)
    press_shortcut(qtbot, w, "prev_day")
    press_shortcut(qtbot, w, "prev_day")
    assert hub.range == (SAT, SUN)
    w.actions.go_to_day(0)  # the recording starts at 22:00: the day is shown whole, the cursor at the data
    assert hub.range == (-22 * 3600.0, SAT)
    assert hub.cursor == 0.0
    press_shortcut(qtbot, w, "prev_day")
    assert hub.range == (-22 * 3600.0, SAT)
    assert "No more days" in w.statusBar().currentMessage()
    # from a view that is not a whole day, next_day first shows the day in view
    w.timeline.set_range(SUN + 3600.0, SUN + 7200.0)
    press_shortcut(qtbot, w, "next_day")
    assert hub.range == (SUN, MON)


def test_go_to_day_asks_which(make_window, qtbot, days_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    w = open_window(make_window, qtbot, days_path)
    asked = {}

    def get_item(parent, title, label, items, current, editable):
        asked.update(items=items, current=current)
        return items[3], True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))
    press_shortcut(qtbot, w, "go_to_day")
    assert asked["items"][3] == "Mon 26 Oct 2026"
    assert w.timeline.hub.range[0] == MON


def bytes_read() -> int:
    """Bytes this process has read through read()/pread() so far (HDF5 reads with pread)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts reads through Linux's /proc")
def test_opening_reads_a_small_part_of_the_file(make_window, qtbot, tmp_path):
    """Opening a session and drawing it whole reads the pyramid's coarse levels, never whole
    channels; each zoom to a few seconds then reads the few chunks it shows. (The file is one harlab
    just wrote: the hostile-file checks of a foreign file run in child processes or scan the
    bytes through a memory map, and the check Save needs reads a file this large in a child
    process too, so none of them is counted here.)"""
    session = synthetic_session(
        2 * 3600.0, rate_hz=100.0, streams=("accel", "gyro"), start_utc=START, timezone="Europe/Berlin"
    )
    path = save_session(session, tmp_path / "two_hours.h5")
    del session
    size = path.stat().st_size
    w = make_window()
    assert w.open_path(path)  # once first: what opening imports and reads besides the file
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    assert w.close_session()
    before = bytes_read()
    assert w.open_path(path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    opening = bytes_read() - before
    assert w.timeline.summarised_factor() > 1  # the whole recording, summarised
    assert opening < 0.05 * size, (opening, size)
    for t in (600.0, 3000.0, 7000.0):
        before = bytes_read()
        w.timeline.set_range(t, t + 5.0)
        qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
        assert w.timeline.summarised_factor() == 1  # raw samples
        assert bytes_read() - before < 0.05 * size, (bytes_read() - before, size)


def test_weeks_start_on_monday_and_relative_time_has_no_dates(qapp):
    from harlab.gui.timeaxis import TimeAxisItem, local_start

    axis = TimeAxisItem(local_start(START, "Europe/Berlin"), wall_clock=True)
    (spacing, values), *_ = axis.tickValues(0.0, 30 * 86400.0, 500.0)
    assert spacing == 7 * 86400
    names = axis.tickStrings(values, 1.0, spacing)
    assert names and all(n.startswith("Mon ") for n in names), names
    assert names[0] == "Mon 26 Oct" and values[0] == MON
    axis.set_wall_clock(False)
    (spacing, values), *_ = axis.tickValues(0.0, DURATION, 1400.0)
    assert all(":" in n for n in axis.tickStrings(values, 1.0, spacing))
