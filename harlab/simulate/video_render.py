"""A video of the simulated participant, in step with the simulated sensors by a known sync.

The figure is a body with an upper arm and a forearm; the forearm's angle follows the
simulated wrist: the accelerometer magnitude, high-passed (what the wrist's own
movement adds to gravity). A clap at the start shows as a flash (a white "clapper"
box) and, with ``audio=True``, a click on the audio track; :func:`add_clap` puts the
same clap into the session's accelerometer. The frame number is drawn into the top
row of every frame as :data:`CODE_BITS` black/white blocks, so a test reads back which
frame a decoder returned (:func:`read_frame_code`), whatever scaling was applied.

The video's clock differs from the session's by a known :class:`VideoSync` (offset and
drift), so sync estimation can be checked against the truth. Frame ``i`` shows the
participant at session time ``sync.to_session(frame_time[i])``. Written with PyAV
(libx264, and AAC for audio).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.simulate.activity_table import SimulationError
from harlab.video.auto_sync import accel_highpassed, find_accelerometer
from harlab.video.video_sync import VideoSync

if TYPE_CHECKING:  # PyAV loads with the first video written, as in harlab.video (frame_decoder's docstring)
    import av

#: bits of the frame number drawn in the top row (65,536 frames: 36 minutes at 30 fps; more wrap around)
CODE_BITS = 16
#: the code row's height as a fraction of the frame height
CODE_ROW = 1 / 12
#: forearm radians per m/s² of high-passed accelerometer magnitude, and the largest swing
ARM_GAIN = 0.025
ARM_LIMIT = 2.0
_BACKGROUND = 90
_TIME_BASE = Fraction(1, 90000)
_AUDIO_RATE = 16000


@dataclass(frozen=True)
class RenderedVideo:
    """What :func:`render_video` wrote, and the truth a test checks against."""

    path: Path
    sync: VideoSync  #: the true mapping video time -> session time
    frame_times: np.ndarray  #: video time of each frame (seconds)
    width: int
    height: int
    figure_roi: tuple[int, int, int, int]  #: (x, y, w, h): the figure, without the code row and the clapper
    clap_video_s: float | None  #: video time of the clap, if any

    @property
    def n_frames(self) -> int:
        return len(self.frame_times)


def add_clap(session: Session, at_s: float, stream: str = "accel", peak: float = 60.0) -> None:
    """Put a clap into the session's accelerometer at session time ``at_s``: a 60 ms ringing burst.

    Replaces the stream by one with the clap added (the sensor data of a participant who
    clapped, for the video's flash and click to be found in).
    """
    old = session.streams[stream]
    t, v = old.read()
    values = np.array(v, dtype=np.float32, copy=True)
    dt = t - at_s
    inside = (dt >= 0) & (dt < 0.06)
    burst = peak * np.exp(-dt[inside] / 0.015) * np.cos(2 * np.pi * 35 * dt[inside])
    values[inside, 0] += burst.astype(np.float32)
    flags = old.data.read_flags()
    session.remove_stream(stream)
    session.add_stream(
        Stream.from_arrays(
            stream,
            t,
            values,
            old.channels,
            old.units,
            old.rate_hz,
            flags=flags,
            kind=old.kind,
            device=old.device,
            attrs=dict(old.attrs),
        )
    )


def frame_code_blocks(index: int, width: int, height: int) -> np.ndarray:
    """The code row for frame ``index``: (rows, width) uint8, bit 0 leftmost, white = 1."""
    rows = max(4, int(height * CODE_ROW))
    row = np.zeros((rows, width), np.uint8)
    edges = np.linspace(0, width, CODE_BITS + 1).round().astype(int)
    for bit in range(CODE_BITS):
        if (index >> bit) & 1:
            row[:, edges[bit] : edges[bit + 1]] = 255
    return row


def read_frame_code(image: np.ndarray) -> int:
    """The frame number drawn into ``image`` (RGB or grey, any size the frame was scaled to)."""
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    h, w = grey.shape
    y = max(1, int(h * CODE_ROW / 2))
    edges = np.linspace(0, w, CODE_BITS + 1)
    value = 0
    for bit in range(CODE_BITS):
        step = edges[bit + 1] - edges[bit]
        x0, x1 = int(edges[bit] + 0.3 * step), int(edges[bit + 1] - 0.3 * step)
        if grey[y - 1 : y + 2, x0 : max(x0 + 1, x1)].mean() > 127:
            value |= 1 << bit
    return value


def _draw_bar(
    canvas: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], half: float, shade: float
) -> None:
    """An anti-aliased thick segment, so sub-pixel movement changes pixels (a smooth motion signal)."""
    h, w = canvas.shape
    x0, x1 = int(max(0, min(p0[0], p1[0]) - half - 2)), int(min(w, max(p0[0], p1[0]) + half + 3))
    y0, y1 = int(max(0, min(p0[1], p1[1]) - half - 2)), int(min(h, max(p0[1], p1[1]) + half + 3))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length2 = dx * dx + dy * dy or 1.0
    u = np.clip(((xx - p0[0]) * dx + (yy - p0[1]) * dy) / length2, 0.0, 1.0)
    dist = np.hypot(xx - (p0[0] + u * dx), yy - (p0[1] + u * dy))
    alpha = np.clip(half - dist + 0.5, 0.0, 1.0)
    region = canvas[y0:y1, x0:x1]
    region[:] = region * (1 - alpha) + shade * alpha


def render_video(
    session: Session,
    path: str | Path,
    *,
    sync: VideoSync | None = None,
    duration_s: float | None = None,
    fps: float = 30.0,
    frame_times: Sequence[float] | np.ndarray | None = None,
    size: tuple[int, int] = (320, 240),
    clap_at_s: float | None = None,
    audio: bool = False,
    gop: int = 30,
    bframes: int = 2,
    preset: str = "ultrafast",
    crf: int = 23,
    arm_gain: float = ARM_GAIN,
    codec: str = "libx264",
) -> RenderedVideo:
    """Write a video (H.264 in the container ``path``'s suffix names) of the session's participant and return what was written.

    ``sync`` is the truth (default: the same clock): frame at video time ``v`` shows
    session time ``sync.to_session(v)``. Frames are at ``i / fps`` for ``duration_s`` (default: as
    long as the session from the video's time 0), or at the given ``frame_times``
    (seconds, increasing: a variable-frame-rate file, gaps allowed). ``clap_at_s`` (session
    time) adds the clap's flash (and click with ``audio``); put the same clap into the
    sensors with :func:`add_clap`. ``codec`` other than libx264 (e.g. "libvpx-vp9" for
    WebM, "mpeg4" or "mjpeg" for AVI) gets FFmpeg's defaults for that codec.
    """
    sync = sync or VideoSync()
    width, height = size
    if width % 2 or height % 2 or width < 64 or height < 48:
        raise SimulationError(f"video size {width}x{height} must be even and at least 64x48")
    if frame_times is None:
        if duration_s is None:
            duration_s = float(sync.to_video(session.time_bounds()[1]))
        times = np.arange(int(round(duration_s * fps))) / fps
    else:
        times = np.asarray(frame_times, dtype=np.float64)
        if len(times) == 0 or np.any(np.diff(times) <= 0) or times[0] < 0:
            raise SimulationError("frame_times must be non-negative and increasing")
    if len(times) == 0:
        raise SimulationError("the video would have no frames")
    t, xyz = session.streams[find_accelerometer(session)].read()
    hp = accel_highpassed(t, xyz)
    session_times = sync.to_session(times)
    angles = np.clip(
        arm_gain * np.interp(session_times, hp.times, hp.values, left=0.0, right=0.0), -ARM_LIMIT, ARM_LIMIT
    )
    clap_video = None if clap_at_s is None else float(sync.to_video(clap_at_s))

    import av  # on first use

    out = Path(path)
    container = av.open(str(out), "w")
    try:
        stream = cast(
            av.VideoStream, container.add_stream(codec, rate=int(round(fps)) if frame_times is None else 30)
        )
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.codec_context.time_base = _TIME_BASE
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {
                "preset": preset,
                "crf": str(crf),
                "x264-params": f"bframes={bframes}:scenecut=0",
            }
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=_AUDIO_RATE)
            astream.layout = "mono"
        code_rows = max(4, int(height * CODE_ROW))
        shoulder = (width * 0.45, height * 0.42)
        elbow = (width * 0.45, height * 0.62)
        forearm = height * 0.28
        clapper = (int(width * 0.78), code_rows + 6, int(width * 0.18), int(height * 0.18))
        base = np.full((height, width), float(_BACKGROUND))
        _draw_bar(
            base, (width * 0.40, height * 0.30), (width * 0.40, height * 0.80), width * 0.05, 40.0
        )  # body
        head_y, head_x = np.mgrid[0:height, 0:width]
        base[np.hypot(head_x - width * 0.40, head_y - height * 0.22) < height * 0.07] = 40.0
        _draw_bar(base, shoulder, elbow, width * 0.02, 200.0)  # upper arm
        for i, (v, angle) in enumerate(zip(times, angles, strict=True)):
            canvas = base.copy()
            hand = (elbow[0] + forearm * np.cos(angle - 0.3), elbow[1] - forearm * np.sin(angle - 0.3))
            _draw_bar(canvas, elbow, hand, width * 0.025, 230.0)
            if clap_video is not None and clap_video <= v < clap_video + 0.1:
                x, y, w, h = clapper
                canvas[y : y + h, x : x + w] = 255.0
            canvas[:code_rows] = frame_code_blocks(i, width, height)
            grey = canvas.round().astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.repeat(grey[:, :, None], 3, axis=2), format="rgb24")
            frame.pts = int(round(v / _TIME_BASE))
            frame.time_base = _TIME_BASE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None:
            _write_audio(container, astream, float(times[-1]) + 1.0 / fps, clap_video)
    finally:
        container.close()
    roi = (0, code_rows + 1, clapper[0] - 2, height - code_rows - 1)
    return RenderedVideo(out, sync, times, width, height, roi, clap_video)


def _write_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    duration_s: float,
    click_at_s: float | None,
) -> None:
    """Quiet noise with a 10 ms click (the clap) at video time ``click_at_s``."""
    import av  # on first use

    n = int(duration_s * _AUDIO_RATE)
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(n) * 0.003).astype(np.float32)
    if click_at_s is not None:
        i0 = int(round(click_at_s * _AUDIO_RATE))
        k = np.arange(int(0.01 * _AUDIO_RATE))
        burst = 0.8 * np.exp(-k / (0.002 * _AUDIO_RATE)) * np.sin(2 * np.pi * 1500 * k / _AUDIO_RATE)
        lo, hi = max(0, i0), min(n, i0 + len(k))
        if hi > lo:
            samples[lo:hi] += burst[lo - i0 : hi - i0].astype(np.float32)
    block = 1024
    for start in range(0, n, block):
        chunk = samples[start : start + block]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.sample_rate = _AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, _AUDIO_RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
