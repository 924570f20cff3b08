"""Screenshots of the main views, saved to tests/screenshots/ (gitignored) for people to look at.

Each also checks what the picture must show: the summarised indicator when zoomed out, raw
samples when zoomed in, a bounded number of drawn rectangles with 20,000 segments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from harlab.core import LabelClass, Segment, Session, Stream
from harlab.simulate import make_demo_session, synthetic_session
from tests.gui.gui_helpers import make_session

pytestmark = [pytest.mark.gui, pytest.mark.slow]

OUT = Path(__file__).resolve().parents[1] / "screenshots"


def shoot(w, qtbot, name: str) -> Path:
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    QApplication.processEvents()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.png"
    assert w.grab().save(str(path))
    assert path.stat().st_size > 10_000  # not an empty window
    return path


def demo_session(minutes: float = 10.0) -> Session:
    return make_demo_session(duration_min=minutes, seed=3)


def day_session(rate: float = 25.0) -> Session:
    """24 h of a simulated wrist: asleep (lying) at night, active by day, with rare one-sample spikes."""
    from datetime import UTC, datetime

    hour = 3600.0
    s = synthetic_session(
        rate_hz=rate,
        streams={"accel": "wrist_accel"},
        classes=[LabelClass("sleep", "#6a3d9a", "1"), LabelClass("active", "#ff7f0e", "2")],
        plan=[
            ("lying", 8 * hour),
            ("sitting", hour),
            ("walking", 4 * hour),
            ("standing", 3 * hour),
            ("running", hour),
            ("walking", 3 * hour),
            ("sitting", 4 * hour),
        ],
        segments=[(0, 8 * hour, "sleep"), (9 * hour, 20 * hour, "active")],
        participant="P07",
        seed=7,
        start_utc=datetime(2024, 5, 1, 22, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
    )
    stream = s.streams["wrist_accel"]
    t, acc = stream.read()
    acc = acc.copy()
    acc[np.random.default_rng(7).integers(0, len(t), 30), 0] += 40  # spikes must stay visible when summarised
    s.streams["wrist_accel"] = Stream.from_arrays(
        "wrist_accel", t, acc, stream.channels, stream.units, rate, kind="accelerometer"
    )
    return s


def test_screenshots(make_window, qtbot):
    w = make_window()
    w.resize(1400, 860)
    shoot(w, qtbot, "start_screen")

    assert w.show_session(demo_session(10.0), unsaved=False)
    w.timeline.set_range(120.0, 240.0)
    shoot(w, qtbot, "typical_zoom")
    w.timeline.set_range(200.0, 201.5)
    shoot(w, qtbot, "extreme_zoom_raw")
    assert w.timeline.summary_text() == "raw samples"

    w.set_dark(True)
    w.timeline.set_range(60.0, 360.0)
    shoot(w, qtbot, "dark_palette")
    w.set_dark(False)

    many = make_session(minutes=180, n_segments=20_000)
    assert w.show_session(many, unsaved=False)
    w.timeline.set_range(0.0, 180 * 60.0)
    shoot(w, qtbot, "segments_20000")
    band = w.timeline.bands[0].band
    assert 0 < band.last_drawn <= 2 * w.timeline.glw.width()

    assert w.show_session(day_session(), unsaved=False)
    w.actions.zoom_all()
    shoot(w, qtbot, "whole_day_summarised")
    assert "summarised" in w.timeline.summary_text()
    sp = w.timeline.stream_plots[0]
    assert float(np.nanmax(sp.envelope.hi[:, 0])) > 35  # the spikes survive min/max summarising


def test_layout_screenshots_at_1280x800(make_window, qtbot):
    """Many rows (three streams, two label tracks, two prediction tracks with heatmaps) and
    the plain demo session, at 1280×800 (test_layout.py checks the geometry)."""
    from tests.gui.gui_helpers import make_predictions

    s = make_session(minutes=10, n_segments=20)
    s.add_segments("second annotator", [Segment(30, 90, "walking"), Segment(100, 200, "sitting")])
    make_predictions(s, name="activity-predicted")
    make_predictions(s, name="second-model", seed=1)
    w = make_window()
    w.resize(1280, 800)
    w.heatmap_action.setChecked(True)
    assert w.show_session(s, unsaved=False)
    w.timeline.set_range(60.0, 260.0)
    shoot(w, qtbot, "layout_many_rows")
    w.heatmap_action.setChecked(False)
    assert w.show_session(demo_session(10.0), unsaved=False)
    w.timeline.set_range(120.0, 240.0)
    shoot(w, qtbot, "layout_few_rows")
    assert w.timeline.scroll.verticalScrollBar().maximum() == 0


def test_prediction_screenshot(make_window, qtbot):
    """Predictions under the labels: hatched predicted segments, the confidence strip (with a
    doubtful and a wrong stretch) and the per-class heatmap."""
    from tests.gui.gui_helpers import make_predictions

    s = make_session(minutes=10, n_segments=20)
    make_predictions(s, noise=0.35, doubt=(125.0, 139.0), wrong=(185.0, 200.0, "running"))
    w = make_window()
    w.resize(1400, 860)
    w.heatmap_action.setChecked(True)
    assert w.show_session(s, unsaved=False)
    w.timeline.set_range(60.0, 260.0)
    w.timeline.hub.set_cursor(130.0)
    w.actions.cursor_right()  # any key-driven move; the doubtful stretch stays in view
    w.predictions.next_disagreement()
    path = shoot(w, qtbot, "predictions")
    row = w.timeline.pred_rows[0]
    assert row.heat_plot is not None and row.heatmap.last_shape[0] == 3
    assert 0 < row.confidence.last_columns <= w.timeline.glw.width()
    assert path.exists()
    # in the heatmap the confidently wrong "running" stretch is bright in the running row only
    from tests.gui.gui_helpers import view_pos

    img = w.timeline.glw.grab().toImage()
    heat = row.heat_plot

    def lightness(t: float, k: int) -> float:
        pos = view_pos(heat, t, k + 0.5)
        return img.pixelColor(pos.x(), pos.y()).lightnessF()

    running = w.session.prediction_tracks["activity-predicted"].classes.index("running")
    assert lightness(192.0, running) > 0.5 > lightness(192.0, 1 - min(running, 1))
    w.heatmap_action.setChecked(False)


def test_demo_with_model_predictions_screenshot(make_window, qtbot):
    """The demo session with the shipped demo model's predictions beside its labels (README):
    two prediction rows (the model's smoothed segments, and the same windows unsmoothed) with
    their heatmaps, more rows than fit, so the rows scroll above a time axis that stays put."""
    pytest.importorskip("torch")
    from harlab.ml.demo_predictions import DEMO_PREDICTION_TRACK, make_demo_session_with_predictions
    from harlab.simulate.batch_session import demo_model_path

    if not demo_model_path().exists():
        pytest.skip("no demo model file")
    from harlab.ml.modelfile import ActivityModel
    from harlab.ml.predict import SmoothingConfig, predict_session

    s = make_demo_session_with_predictions(20, seed=1)
    assert DEMO_PREDICTION_TRACK in s.prediction_tracks
    predict_session(
        ActivityModel.load(demo_model_path()),
        s,
        name="demo model, unsmoothed",
        smoothing=SmoothingConfig(p_switch=None),
    )
    w = make_window()
    w.resize(1400, 860)
    w.heatmap_action.setChecked(True)
    assert w.show_session(s, unsaved=False)
    w.timeline.set_range(240.0, 600.0)
    w.timeline.hub.set_cursor(420.0)
    assert (
        w.timeline.scroll.verticalScrollBar().maximum() > 0
    )  # two 13-class heatmaps do not fit: the rows scroll
    path = shoot(w, qtbot, "workbench_predictions")
    assert path.stat().st_size < 300_000
    w.heatmap_action.setChecked(False)
