"""The demo's video: the simulated participant filmed by a camera whose clock is off by a known sync.

``harlab demo --video`` renders it beside the session file (``<session>.mp4``, 320x240 H.264
with sound), puts the clap that starts the video into the accelerometer, and attaches it
with the true sync, so the workbench opens with video in step with the traces. The truth
(:data:`DEMO_VIDEO_SYNC`) is kept here, so a test can check that the automatic sync finds it.
Rendering costs about 4 s per simulated minute, which is why the demo makes a video only
when asked.
"""

from __future__ import annotations

from pathlib import Path

from harlab.core.files import atomic_write
from harlab.core.session import Session
from harlab.core.videos import VideoLink, VideoSync
from harlab.simulate.video_render import add_clap, render_video
from harlab.video.video_reference import probe_video

#: the demo camera's clock: it starts 1.5 s after the sensors and runs 40 ppm slow
DEMO_VIDEO_SYNC = VideoSync(1.5, 40.0)
#: session time of the clap (a flash and a click in the video, a burst in the accelerometer)
DEMO_CLAP_S = 4.0
DEMO_VIDEO_NAME = "camera"


def demo_video_path(session_path: str | Path) -> Path:
    """Where the demo puts the video of the session at ``session_path``: beside it, same stem."""
    return Path(session_path).with_suffix(".mp4")


def add_demo_video(
    session: Session,
    session_path: str | Path,
    *,
    sync: VideoSync = DEMO_VIDEO_SYNC,
    clap_at_s: float = DEMO_CLAP_S,
    name: str = DEMO_VIDEO_NAME,
) -> VideoLink:
    """Clap, render the video beside ``session_path`` (atomically) and attach it with the true sync.

    Call before saving the session: the clap changes its accelerometer, and the link is
    stored with the session (by a path relative to it).
    """
    add_clap(session, clap_at_s)
    video = demo_video_path(session_path)
    rendered = []
    atomic_write(
        video,
        lambda tmp: rendered.append(render_video(session, tmp, sync=sync, clap_at_s=clap_at_s, audio=True)),
        suffix=video.suffix,
    )
    link = VideoLink(name, probe_video(video, session_path), sync, roi=rendered[0].figure_roi)
    session.add_video(link)
    return link
