"""VideoSync: exact inverses, two-point fit, hostile stored data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.video import VideoSync, VideoSyncError, fit_sync


def test_directions_are_inverses() -> None:
    sync = VideoSync(-12.25, 43.5)
    v = np.linspace(-10, 3600, 1001)
    assert np.allclose(sync.to_video(sync.to_session(v)), v, rtol=0, atol=1e-9)
    assert sync.to_session(100.0) == pytest.approx(-12.25 + 100.0 * (1 + 43.5e-6), abs=1e-12)
    assert sync.nudged(0.04).to_session(0.0) == pytest.approx(-12.21)


def test_two_points_recover_offset_and_drift() -> None:
    truth = VideoSync(7.125, -35.0)
    pairs = [(v, truth.to_session(v)) for v in (3.0, 3000.0)]
    fitted = fit_sync(pairs)
    assert fitted.offset_s == pytest.approx(7.125, abs=1e-9)
    assert fitted.drift_ppm == pytest.approx(-35.0, abs=1e-6)
    # one pair: offset only
    one = fit_sync([(10.0, 15.5)])
    assert one == VideoSync(5.5, 0.0)
    # more pairs with errors: least squares lands between
    noisy = [
        (v, truth.to_session(v) + e)
        for v, e in ((0.0, 0.01), (1000.0, -0.01), (2000.0, 0.01), (3000.0, -0.01))
    ]
    assert fit_sync(noisy).drift_ppm == pytest.approx(-35.0, abs=10)


def test_marks_too_close_or_contradictory_are_refused() -> None:
    with pytest.raises(VideoSyncError, match="apart"):
        fit_sync([(10.0, 12.0), (10.2, 12.5)])
    with pytest.raises(VideoSyncError, match="drift"):
        fit_sync([(0.0, 0.0), (10.0, 20.0)])
    with pytest.raises(VideoSyncError):
        fit_sync([])
    with pytest.raises(VideoSyncError):
        fit_sync([(float("nan"), 1.0)])


def test_json_round_trip() -> None:
    sync = VideoSync(-3.5, 12.25)
    assert VideoSync.from_json(sync.to_json()) == sync
    assert VideoSync.from_json('{"offset_s": 2}') == VideoSync(2.0, 0.0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[1, 2]",
        "{}",
        '{"offset_s": "1"}',
        '{"offset_s": true}',
        '{"offset_s": NaN}',
        '{"offset_s": 1e308}',
        '{"offset_s": 0, "drift_ppm": 1e6}',
        '{"offset_s": 0, "drift_ppm": Infinity}',
        '{"offset_s": 0, "x": 1}',
        "[" * 100_000,
        json.dumps({"offset_s": [1]}),
    ],
)
def test_hostile_json_is_refused(text: str) -> None:
    with pytest.raises(VideoSyncError):
        VideoSync.from_json(text)
