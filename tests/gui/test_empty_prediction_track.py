"""A prediction track with segments but no windows (a file someone else wrote) must draw as an
empty row: an exception raised inside a Qt paint override takes the whole process down
(shiboken crashes while reporting it), so the row's painters must not raise on empty input."""

from __future__ import annotations

import numpy as np
import pytest

from harlab.core import Segment
from harlab.core.predictions import PredictionTrack
from harlab.gui.prediction_view import column_values
from harlab.storage import save_session
from tests.gui.gui_helpers import make_session, open_window

pytestmark = pytest.mark.gui


def test_column_values_of_no_windows_is_all_nan() -> None:
    empty = np.zeros(0)
    out = column_values(empty, empty, np.zeros(0, np.float32), 0.0, 10.0, 7, how="min")
    assert out.shape == (7, 1)
    assert np.isnan(out).all()


def test_a_window_free_prediction_track_opens_and_paints(make_window, qtbot, tmp_path) -> None:
    s = make_session(minutes=2)
    s.add_prediction_track(
        PredictionTrack(
            name="empty",
            model_name="m",
            model_version="1",
            classes=["walking", "sitting"],
            window_start=np.zeros(0),
            window_end=np.zeros(0),
            probabilities=np.zeros((0, 2)),
            segments=[Segment(0.0, 5.0, "walking")],
        )
    )
    path = save_session(s, tmp_path / "empty_pred.h5")
    w = open_window(make_window, qtbot, path)
    w.timeline.glw.viewport().repaint()
    assert any(row.name == "empty" for row in w.timeline.pred_rows)
