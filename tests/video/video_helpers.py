"""Shared names of the video tests: the simulated video fixture type and the truth it was rendered with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harlab.core.session import Session
from harlab.simulate.video_render import RenderedVideo
from harlab.video.video_sync import VideoSync

#: the true clocks of the sync video: video time 0 is session time 2.5 s, and the camera runs 60 ppm slow
TRUE_SYNC = VideoSync(2.5, 60.0)
CLAP_AT_S = 4.0


@dataclass
class SimVideo:
    session: Session
    video: RenderedVideo

    @property
    def path(self) -> Path:
        return self.video.path
