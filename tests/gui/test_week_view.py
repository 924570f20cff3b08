"""The week view in the workbench: opened through the shortcut table, a click in the actogram
moves the timeline there, non-wear is greyed on the timeline; screenshots to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from harlab.core.predictions import PredictionTrack
from harlab.signal.nonwear import detect_nonwear
from harlab.simulate import synthetic_session
from tests.signal.test_nonwear import _with_still

pytestmark = [pytest.mark.gui]

OUT = Path(__file__).resolve().parents[1] / "screenshots"
DAYS = 3


def predicted_days():
    """Three simulated days from 08:00 in Berlin (the simulator's day starts at 08:00: sleep at
    night, varied days), its activity track given as a prediction, and a morning (09:00-12:00 on
    the second day) with the watch on a table."""
    s = synthetic_session(
        DAYS * 86400.0,
        rate_hz=2.0,
        streams=["accel"],
        seed=4,
        start_utc=datetime(2024, 6, 10, 6, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
    )
    segs = list(s.label_tracks["activity"])
    classes = [c for c in s.schema.names if any(x.label == c for x in segs)]
    ws = np.arange(0.0, DAYS * 86400.0, 60.0)  # one-minute windows, confident in the simulated activity
    seg_start = np.array([x.start for x in segs])
    k = np.array([classes.index(segs[i].label) for i in np.searchsorted(seg_start, ws, side="right") - 1])
    probs = np.full((len(ws), len(classes)), 0.1 / len(classes), np.float32)
    probs[np.arange(len(ws)), k] += 0.9
    s.add_prediction_track(PredictionTrack("model", "demo", "1", classes, ws, ws + 60.0, probs, segs))
    return _with_still(s, 86400.0 + 3600.0, 86400.0 + 4 * 3600.0)


def test_week_view_click_moves_the_timeline(make_window, qtbot):
    session = predicted_days()
    w = make_window()
    w.show_session(session)
    w.qactions["toggle_week_view"].trigger()  # the table's action, as its key would
    dock = w.week_dock
    qtbot.waitUntil(lambda: dock.view.summary is not None, timeout=20000)
    summary = dock.view.summary
    assert len(summary.days) == DAYS + 1 and summary.source == "prediction model"
    assert dock.status.text().endswith("non-wear detected now, not stored")
    assert len(summary.nonwear_start) == 1
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)
    QApplication.processEvents()

    view = dock.view
    lay = view.layout_for(view.width())
    x = int(lay.acto_x + lay.acto_w * 14.5 / 24.0)  # 14:30 on the second day
    y = int(lay.row_y(1) + 10)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    want = summary.time_at(1, 24.0 * (x - lay.acto_x) / lay.acto_w)
    assert w.timeline.hub.cursor == pytest.approx(want)
    t0, t1 = w.timeline.hub.range
    assert t0 <= want <= t1 and t1 - t0 <= 3600.0 + 1e-6
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    QApplication.processEvents()
    OUT.mkdir(exist_ok=True)
    assert w.grab().save(str(OUT / "week_view_workbench.png"))
    assert view.grab().save(str(OUT / "week_view.png"))

    # storing the detected non-wear is an undoable edit; the timeline then greys it
    dock.store_button.click()
    assert "nonwear" in session.quality_tracks
    qtbot.waitUntil(lambda: dock.status.text().endswith("stored with the session"), timeout=20000)
    from harlab.gui.nonwear_shade import NonwearShade

    qtbot.waitUntil(
        lambda: any(isinstance(i, NonwearShade) for sp in w.timeline.stream_plots for i in sp.plot.items),
        timeout=5000,
    )
    a, b = session.quality_tracks["nonwear"].spans()[0]
    overview = w.timeline.overview
    assert overview.nonwear is not None  # the overview greys it too
    assert overview.nonwear.track.spans() == session.quality_tracks["nonwear"].spans()
    w.timeline.set_range(a - 3600.0, b + 3600.0)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    assert w.grab().save(str(OUT / "week_nonwear_timeline.png"))
    assert overview.grab().save(str(OUT / "week_nonwear_overview.png"))
    w.history.undo()
    assert session.quality_tracks == {}
    qtbot.waitUntil(lambda: w.timeline.overview.nonwear is None, timeout=5000)
    qtbot.waitUntil(lambda: dock.job is None or not dock.job.running, timeout=20000)


def test_week_exports_from_the_dock(make_window, qtbot, tmp_path):
    session = predicted_days()
    session.set_quality_track(detect_nonwear(session))
    w = make_window()
    w.show_session(session)
    w.toggle_week_view()
    qtbot.waitUntil(lambda: w.week_dock.view.summary is not None, timeout=20000)
    png = w.week_dock.write("png", tmp_path / "w.png")
    csv = w.week_dock.write("csv", tmp_path / "w.csv")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    assert csv.read_text().startswith("session_id,participant,file,source,day,")


def test_week_dock_follows_save_as(make_window, qtbot, tmp_path):
    """After Save As the week's summary and its exports name the new file, not the old one."""
    from harlab.storage import save_session

    first = save_session(predicted_days(), tmp_path / "first.h5")
    w = make_window()
    assert w.open_path(first)
    w.toggle_week_view()
    dock = w.week_dock
    qtbot.waitUntil(
        lambda: dock.view.summary is not None and dock.view.summary.path == str(first), timeout=20000
    )
    second = tmp_path / "second.h5"
    assert w.save_as(second)
    qtbot.waitUntil(
        lambda: dock.view.summary is not None and dock.view.summary.path.endswith("second.h5"), timeout=20000
    )
    assert dock.path.endswith("second.h5")
    csv = dock.write("csv", tmp_path / "w.csv").read_text()
    assert "second.h5" in csv and "first.h5" not in csv
    qtbot.waitUntil(lambda: dock.job is None or not dock.job.running, timeout=20000)
