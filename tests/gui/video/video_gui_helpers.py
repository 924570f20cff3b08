"""Drivers for the video dock's tests: open a window with a video, read the frame on screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from harlab.core.session import Session
from harlab.simulate.video_render import RenderedVideo, read_frame_code
from harlab.video import VideoSync

#: the short video's clock: its time 0 is session time 2 s
OFFSET_SYNC = VideoSync(2.0, 0.0)
#: the synced video's true clocks
TRUE_SYNC = VideoSync(1.5, 80.0)
CLAP_AT_S = 3.0


@dataclass
class RenderedPair:
    """A video rendered of a simulated session, and how to make that session again (tests edit theirs)."""

    make_session: Callable[[], Session]
    video: RenderedVideo

    @property
    def path(self) -> Path:
        return self.video.path


def image_array(image: QImage) -> np.ndarray:
    """A QImage's pixels as an (H, W, 3) uint8 array."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    return rows[:, : w * 3].reshape(h, w, 3).copy()  # a copy: the buffer dies with ``rgb``


def code_on_screen(panel) -> int:
    """The frame number drawn into the picture the video view shows (read from its pixels)."""
    view = panel.view
    shot = view.grab().toImage()
    ratio = shot.devicePixelRatio()
    r = view.image_rect()
    crop = shot.copy(int(r.x() * ratio), int(r.y() * ratio), int(r.width() * ratio), int(r.height() * ratio))
    return read_frame_code(image_array(crop))


def open_with_video(qtbot, make_window, pair: RenderedPair, session: Session | None = None):
    """A window showing a fresh session with ``pair``'s video attached and its first frame decodable."""
    w = make_window()
    session = session if session is not None else pair.make_session()
    assert w.show_session(session)
    attach_and_wait(qtbot, w, pair.path)
    return w


def attach_and_wait(qtbot, w, path: Path, sync: VideoSync | None = None):
    before = set(w.session.videos)
    w.video_dock.attach(path)
    qtbot.waitUntil(lambda: bool(set(w.session.videos) - before), timeout=20000)
    (name,) = set(w.session.videos) - before
    qtbot.waitUntil(lambda: w.video_dock.feed is not None and w.video_dock.feed.ready, timeout=20000)
    if sync is not None:
        assert w.video_dock.set_sync(sync)
    return name


def wait_frame(qtbot, w, t: float) -> int | None:
    """Seek to session time ``t`` and wait until the frame the cursor maps to is on screen; its index."""
    panel = w.video_dock
    w.timeline.hub.seek(t)
    want = panel.frame_index_at(t)
    if want is None:
        qtbot.waitUntil(lambda: panel.shown is None, timeout=5000)
    else:
        qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == want, timeout=5000)
    return want
