"""Automatic sync on simulated videos against the truth they were rendered with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import VideoFileError
from harlab.core.session import Session
from harlab.video.auto_sync import AutoSyncError, estimate_sync, motion_signal
from tests.video.video_helpers import CLAP_AT_S, TRUE_SYNC, SimVideo

FRAME_S = 1 / 30


@pytest.fixture(scope="module")
def estimates(sync_video: SimVideo) -> dict[str, object]:
    found = estimate_sync(sync_video.path, sync_video.session, roi=sync_video.video.figure_roi)
    return {e.source: e for e in found} | {"order": [e.source for e in found]}


def test_motion_recovers_offset_within_a_frame_and_drift_within_20_ppm(estimates: dict[str, object]) -> None:
    motion = estimates["motion"]
    assert motion.confident, motion.message
    assert abs(motion.sync.offset_s - TRUE_SYNC.offset_s) < FRAME_S, motion.message
    assert abs(motion.sync.drift_ppm - TRUE_SYNC.drift_ppm) < 20.0, motion.message
    # over the whole video the estimate puts every frame within a frame of the truth
    v = np.linspace(0, 120, 50)
    assert np.max(np.abs(motion.sync.to_session(v) - TRUE_SYNC.to_session(v))) < FRAME_S
    assert estimates["order"][0] == "motion"


def test_audio_clap_recovers_the_offset(estimates: dict[str, object]) -> None:
    audio = estimates["audio"]
    assert audio.confident, audio.message
    clap_video = TRUE_SYNC.to_video(CLAP_AT_S)
    assert abs(audio.sync.to_session(clap_video) - CLAP_AT_S) < FRAME_S, audio.message


def test_plain_arrays_give_the_same_answer(sync_video: SimVideo, estimates: dict[str, object]) -> None:
    t, xyz = sync_video.session.streams["accel"].read()
    motion = estimate_sync(sync_video.path, accel=(t, xyz), roi=sync_video.video.figure_roi, use_audio=False)
    assert [e.source for e in motion] == ["motion"]
    assert motion[0].sync == estimates["motion"].sync


def test_unrelated_motion_is_low_confidence(unrelated_video: SimVideo, sync_video: SimVideo) -> None:
    for estimate in estimate_sync(
        unrelated_video.path, sync_video.session, roi=unrelated_video.video.figure_roi
    ):
        assert not estimate.confident, estimate.message
        assert "LOW CONFIDENCE" in estimate.message


def test_motion_signal_follows_the_region(cfr_video: SimVideo) -> None:
    whole = motion_signal(cfr_video.path)
    x, y, w, h = cfr_video.video.figure_roi
    figure = motion_signal(cfr_video.path, roi=(x, y, w, h))
    assert len(whole.times) == len(figure.times) == cfr_video.video.n_frames - 1
    assert np.allclose(whole.times[:3], (np.arange(3) + 0.5) / 30)
    # the code row changes in every frame; the region without it only where the arm moves
    still = motion_signal(cfr_video.path, roi=(0, 200, 40, 40))
    assert still.values.max() < 1.0 < figure.values.max()
    with pytest.raises(VideoFileError, match="outside"):
        motion_signal(cfr_video.path, roi=(300, 200, 100, 100))


def test_no_accelerometer_is_a_clear_error(cfr_video: SimVideo) -> None:
    with pytest.raises(AutoSyncError, match="accelerometer"):
        estimate_sync(cfr_video.path, Session())


def test_unreadable_video_is_a_clear_error(tmp_path: Path, sync_video: SimVideo) -> None:
    bad = tmp_path / "broken.mov"
    bad.write_bytes(b"\x00" * 5000)
    with pytest.raises(VideoFileError, match="broken.mov"):
        estimate_sync(bad, sync_video.session)
