"""Tiny videos for the video dock's tests (rendered once per run) and a window with one attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.core.session import Session
from harlab.simulate import simulate_session
from harlab.simulate.video_render import add_clap, render_video
from tests.gui.video.video_gui_helpers import CLAP_AT_S, OFFSET_SYNC, TRUE_SYNC, RenderedPair
from tests.video.conftest import _plan as video_plan


@pytest.fixture(scope="session")
def gui_video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gui_video")


@pytest.fixture(scope="session")
def short_video(gui_video_dir: Path) -> RenderedPair:
    """6 s at 30 fps, 320x240, starting at session time 2 s (the session runs 15 s)."""

    def make() -> Session:
        return simulate_session([("walking", 15)], seed=5)

    video = render_video(make(), gui_video_dir / "short.mp4", sync=OFFSET_SYNC, duration_s=6.0)
    return RenderedPair(make, video)


@pytest.fixture(scope="session")
def synced_video(gui_video_dir: Path) -> RenderedPair:
    """120 s with a clap, a known offset and drift: what the automatic sync must find."""

    def make() -> Session:
        session = simulate_session(video_plan(), seed=1)  # the plan the core's sync tests use
        add_clap(session, CLAP_AT_S)
        return session

    video = render_video(
        make(), gui_video_dir / "synced.mp4", sync=TRUE_SYNC, duration_s=120.0, clap_at_s=CLAP_AT_S
    )
    return RenderedPair(make, video)


@pytest.fixture(scope="session")
def unrelated_video(gui_video_dir: Path) -> RenderedPair:
    """Someone else's movements: no true sync with :func:`synced_video`'s session."""

    def make() -> Session:
        return simulate_session([("jumping", 8), ("walking", 10), ("running", 12), ("sitting", 10)], seed=8)

    return RenderedPair(make, render_video(make(), gui_video_dir / "unrelated.mp4", duration_s=38.0))
