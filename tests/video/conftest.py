"""Simulated videos for the video tests, each rendered once per test run (rendering is the slow part)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harlab.simulate import simulate_session
from harlab.simulate.video_render import add_clap, render_video
from tests.video.video_helpers import CLAP_AT_S, TRUE_SYNC, SimVideo


def _plan() -> list[tuple[str, float]]:
    return [
        ("sitting", 10),
        ("walking", 30),
        ("running", 25),
        ("standing", 15),
        ("jumping", 10),
        ("walking", 40),
    ]


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video")


@pytest.fixture(scope="session")
def cfr_video(video_dir: Path) -> SimVideo:
    """20 s at 30 fps with B-frames and a 1 s GOP: the usual H.264 a phone writes, small."""
    session = simulate_session([("walking", 15), ("running", 10)], seed=3)
    return SimVideo(session, render_video(session, video_dir / "cfr.mp4", duration_s=20.0, fps=30.0))


@pytest.fixture(scope="session")
def vfr_video(video_dir: Path) -> SimVideo:
    """Variable frame rate (intervals of 1/50 to 1/12 s) starting at 0.5 s, with a 1.5 s gap after 4 s."""
    rng = np.random.default_rng(11)
    steps = rng.choice([1 / 50, 1 / 30, 1 / 24, 1 / 12], size=400)
    times = 0.5 + np.concatenate([[0.0], np.cumsum(steps)])
    times = times[times < 9.0]
    times = np.where(times > 4.0, times + 1.5, times)
    session = simulate_session([("walking", 15)], seed=4)
    return SimVideo(session, render_video(session, video_dir / "vfr.mp4", frame_times=times, gop=24))


@pytest.fixture(scope="session")
def sync_video(video_dir: Path) -> SimVideo:
    """120 s at 30 fps with a clap (flash and click) and a known offset and drift."""
    session = simulate_session(_plan(), seed=1)
    add_clap(session, CLAP_AT_S)
    video = render_video(
        session, video_dir / "synced.mp4", sync=TRUE_SYNC, duration_s=120.0, clap_at_s=CLAP_AT_S, audio=True
    )
    return SimVideo(session, video)


@pytest.fixture(scope="session")
def unrelated_video(video_dir: Path) -> SimVideo:
    """40 s of another participant doing the same kinds of things: no true sync with :func:`sync_video`'s session."""
    session = simulate_session([(a, d / 3) for a, d in reversed(_plan())], seed=9)
    return SimVideo(session, render_video(session, video_dir / "unrelated.mp4", duration_s=40.0))
