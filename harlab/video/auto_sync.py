"""Finding the sync by itself: the video's motion (and its audio) against the accelerometer.

Both sides are turned into "how much is moving now" signals:

* video: the mean absolute difference between consecutive frames (downscaled to grey,
  optionally inside a region of interest, e.g. over the wrist), stamped at the midpoint
  of the two frames (:func:`motion_signal`);
* audio (where the file has it): the envelope of the sound (a clap, :func:`audio_envelope`);
* sensor: the high-passed accelerometer magnitude's absolute change over one frame
  duration (:func:`sensor_activity`), i.e. the same "change between two frames" the
  video measures, so the two curves line up at the right lag.

:func:`estimate_sync` first finds the offset by cross-correlating over all lags
(coarse, on a 100 Hz grid), then refines it to sub-millisecond steps in several
windows along the recording; a linear fit of the windows' offsets against video time
gives the drift. Confidence is the peak-to-sidelobe ratio (PSR) of the full
correlation together with the peak correlation and the windows' agreement; below
:data:`MIN_PSR` / :data:`MIN_PEAK_R` the result says ``confident=False`` and a caller
must ask before applying it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harlab.core.errors import HarlabError, VideoFileError
from harlab.core.session import Session
from harlab.video.frame_decoder import FrameIndex, open_container, video_stream
from harlab.video.video_sync import VideoSync

#: the grid of the coarse correlation (Hz)
GRID_HZ = 100.0
#: below these a result is low-confidence: shown, never applied silently
MIN_PSR = 4.0
MIN_PEAK_R = 0.5
#: windows disagreeing with the fitted line by more than this (s, rms) make a result low-confidence
MAX_WINDOW_RMS_S = 0.02


class AutoSyncError(HarlabError):
    """Automatic sync cannot run: no accelerometer, no overlap, nothing moving."""


@dataclass(frozen=True)
class Signal:
    """Samples of an activity signal: ``times`` (s, increasing) and ``values``."""

    times: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class SyncEstimate:
    """An automatic sync and how much to trust it."""

    sync: VideoSync
    source: str  #: "motion" or "audio"
    psr: float  #: peak-to-sidelobe ratio of the full cross-correlation
    peak_r: float  #: correlation coefficient at the peak (-1..1)
    window_rms_s: (
        float  #: rms disagreement of the windows with the fitted offset/drift line (0 with one window)
    )
    n_windows: int
    confident: bool
    windows: list[tuple[float, float, float]] = field(default_factory=list)  #: (video time, offset s, r)

    @property
    def message(self) -> str:
        verdict = "confident" if self.confident else "LOW CONFIDENCE: check before applying"
        return (
            f"{self.source}: offset {self.sync.offset_s:+.3f} s, drift {self.sync.drift_ppm:+.1f} ppm "
            f"(PSR {self.psr:.1f}, r {self.peak_r:.2f}, {self.n_windows} windows, "
            f"rms {1000 * self.window_rms_s:.1f} ms): {verdict}"
        )


# -- signals --------------------------------------------------------------------------


def motion_signal(
    path: str | Path,
    *,
    roi: tuple[int, int, int, int] | None = None,
    width: int = 160,
    index: FrameIndex | None = None,
) -> Signal:
    """Mean absolute difference of consecutive grey frames (0..255), at the midpoints of their times.

    ``roi`` is (x, y, w, h) in the video's own pixels. Frames are decoded once, in
    order, downscaled to ``width`` (threads on): the whole file, which for an hour of
    1080p takes minutes: a CLI or background job, not the GUI thread.
    """
    import av  # on first use (see frame_decoder's docstring)

    index = index or FrameIndex.build(path)
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        w = min(width, src_w)
        h = max(2, int(round(src_h * w / src_w)))
        crop = (slice(None), slice(None))
        if roi is not None:
            x, y, rw, rh = roi
            if rw <= 0 or rh <= 0 or x < 0 or y < 0 or x + rw > src_w or y + rh > src_h:
                raise VideoFileError(path, f"region {roi} is outside the {src_w}x{src_h} video")
            sx, sy = w / src_w, h / src_h
            crop = (
                slice(int(y * sy), max(int(y * sy) + 1, int((y + rh) * sy))),
                slice(int(x * sx), max(int(x * sx) + 1, int((x + rw) * sx))),
            )
        times: list[float] = []
        values: list[float] = []
        prev: np.ndarray | None = None
        prev_t = 0.0
        tb = float(stream.time_base)
        try:
            for frame in container.decode(stream):
                ts = frame.pts if frame.pts is not None else frame.dts
                if ts is None:
                    continue
                t = ts * tb
                grey = frame.to_ndarray(format="gray", width=w, height=h)[crop].astype(np.float32)
                if prev is not None and t > prev_t:
                    times.append(0.5 * (t + prev_t))
                    values.append(float(np.mean(np.abs(grey - prev))))
                prev, prev_t = grey, t
        except av.FFmpegError as exc:
            raise VideoFileError(path, f"decoding failed ({exc})") from None
    finally:
        container.close()
    return Signal(np.array(times), np.array(values))


def audio_envelope(path: str | Path, rate_hz: float = GRID_HZ) -> Signal | None:
    """The audio's envelope (mean absolute amplitude per 1/``rate_hz`` bin), or None without an audio track."""
    import av  # on first use (see frame_decoder's docstring)

    container = open_container(path)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        sr = 8000
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks: list[np.ndarray] = []
        start: float | None = None
        try:
            for frame in container.decode(stream):
                if start is None and frame.pts is not None and frame.time_base is not None:
                    start = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            raise VideoFileError(path, f"audio decoding failed ({exc})") from None
    finally:
        container.close()
    if not chunks:
        return None
    samples = np.abs(np.concatenate(chunks))
    per = int(sr / rate_hz)
    n = len(samples) // per
    if n < 2:
        return None
    env = samples[: n * per].reshape(n, per).mean(axis=1)
    times = (start or 0.0) + (np.arange(n) + 0.5) / rate_hz
    return Signal(times, env.astype(np.float64))


def find_accelerometer(session: Session) -> str:
    """The session's accelerometer stream (kind "accelerometer", else a stream named like one)."""
    for name, stream in session.streams.items():
        if stream.kind == "accelerometer" and stream.data.n_channels >= 3:
            return name
    for name in session.streams:
        if "acc" in name.lower() and session.streams[name].data.n_channels >= 3:
            return name
    raise AutoSyncError("the session has no accelerometer stream to sync the video with")


def accel_highpassed(times: np.ndarray, xyz: np.ndarray, window_s: float = 1.0) -> Signal:
    """|a| minus its moving average over ``window_s``: movement without gravity."""
    times = np.asarray(times, np.float64)
    mag = np.sqrt(np.sum(np.asarray(xyz, np.float64) ** 2, axis=1))
    if len(times) < 2 or times[-1] <= times[0]:
        raise AutoSyncError("the accelerometer has too few samples to sync with")
    rate = (len(times) - 1) / (times[-1] - times[0])
    n = max(1, int(round(window_s * rate)))
    pad = np.pad(mag, (n // 2, n - 1 - n // 2), mode="edge")
    return Signal(times, mag - np.convolve(pad, np.ones(n) / n, mode="valid"))


def sensor_activity(hp: Signal, frame_s: float) -> Signal:
    """The high-passed magnitude's absolute change over one frame duration, on :data:`GRID_HZ`: what a camera sees."""
    grid = np.arange(hp.times[0] + frame_s, hp.times[-1] - frame_s, 1.0 / GRID_HZ)
    return Signal(grid, _change(hp, grid, frame_s))


def _change(hp: Signal, t: np.ndarray, frame_s: float) -> np.ndarray:
    return np.abs(
        np.interp(t + frame_s / 2, hp.times, hp.values) - np.interp(t - frame_s / 2, hp.times, hp.values)
    )


# -- correlation ----------------------------------------------------------------------


def _zscore(x: np.ndarray, compress: bool = True) -> np.ndarray:
    if compress:  # tame a clap's spike so that steady motion counts too
        x = np.log1p(np.maximum(x, 0.0) / (np.median(x) + 1e-9))
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(np.float64)


def _coarse(
    video: Signal, sensor: Signal, max_lag_s: float | None, min_overlap: float, compress: bool = True
) -> tuple[float, float, float]:
    """(lag, psr, r) where lag = session time minus video time, from the full cross-correlation on the grid."""
    dt = 1.0 / GRID_HZ
    vgrid = np.arange(video.times[0], video.times[-1], dt)
    v = _zscore(np.interp(vgrid, video.times, video.values), compress)
    s = _zscore(sensor.values, compress)
    n = len(v) + len(s) - 1
    size = 1 << int(np.ceil(np.log2(n)))
    corr = np.fft.irfft(np.fft.rfft(s, size) * np.conj(np.fft.rfft(v, size)), size)
    lags_idx = np.concatenate([np.arange(0, len(s)), np.arange(-(len(v) - 1), 0)])
    vals = np.concatenate([corr[: len(s)], corr[size - (len(v) - 1) :]])
    # overlap (samples) for each lag: sensor index k pairs with video index j for k - j = lag
    overlap = np.minimum(len(s), lags_idx + len(v)) - np.maximum(0, lags_idx)
    lag_s = sensor.times[0] - vgrid[0] + lags_idx * dt
    ok = overlap >= max(16, min_overlap * min(len(v), len(s)))
    if max_lag_s is not None:
        ok &= np.abs(lag_s) <= max_lag_s
    if not np.any(ok):
        raise AutoSyncError("the video and the accelerometer do not overlap at any allowed offset")
    r = np.where(ok, vals / np.maximum(overlap, 1), -np.inf)
    k = int(np.argmax(r))
    side = r[ok & (np.abs(lag_s - lag_s[k]) > 1.0)]
    psr = float((r[k] - side.mean()) / side.std()) if len(side) > 10 and side.std() > 0 else 0.0
    return float(lag_s[k]), psr, float(r[k])


def _refine(
    video: Signal,
    hp: Signal,
    frame_s: float,
    sel: np.ndarray,
    lag: float,
    span_s: float,
    step_s: float = 0.0005,
) -> tuple[float, float]:
    """Best lag (s) near ``lag`` for the video samples ``sel``, comparing the raw signals sample by sample."""
    vt, vv = video.times[sel], video.values[sel]
    lags = lag + np.arange(-span_s, span_s + step_s / 2, step_s)
    inside = (vt + lags.min() - frame_s > hp.times[0]) & (vt + lags.max() + frame_s < hp.times[-1])
    vt, vv = vt[inside], vv[inside]
    if len(vt) < 20:
        return lag, 0.0
    vr = _ranks(vv)  # ranks: the picture's response to movement saturates, rank correlation does not care
    rs = np.array([_pearson(vr, _ranks(_change(hp, vt + g, frame_s))) for g in lags])
    k = int(np.argmax(rs))
    best = float(lags[k])
    if 0 < k < len(rs) - 1:  # parabola through the peak and its neighbours
        denom = rs[k - 1] - 2 * rs[k] + rs[k + 1]
        if denom < 0:
            best += float(0.5 * (rs[k - 1] - rs[k + 1]) / denom) * step_s
    return best, float(rs[k])


def estimate_from_signals(
    video: Signal,
    hp: Signal,
    *,
    frame_s: float,
    source: str = "motion",
    max_offset_s: float | None = None,
    n_windows: int | None = None,
    min_overlap: float = 0.5,
) -> SyncEstimate:
    """Offset, drift and confidence from a video activity signal and a high-passed accelerometer magnitude.

    ``video`` is in video time, ``hp`` in session time. ``max_offset_s`` bounds the
    searched offsets (None: any with at least ``min_overlap`` of the shorter signal overlapping).
    ``n_windows`` (default: one per 20 s of video, 3 to 8) are refined separately for the drift.
    """
    if len(video.times) < 20 or float(np.ptp(video.values)) == 0.0:
        raise AutoSyncError("the video shows no movement to sync with")
    sensor = sensor_activity(hp, frame_s)
    if len(sensor.times) < 20:
        raise AutoSyncError("the accelerometer recording is too short to sync with")
    lag, psr, r = _coarse(video, sensor, max_offset_s, min_overlap)
    lag, r_fine = _refine(video, hp, frame_s, np.ones(len(video.times), bool), lag, 0.03)
    duration = float(video.times[-1] - video.times[0])
    if n_windows is None:
        n_windows = int(np.clip(duration // 20, 3, 8))
    edges = np.linspace(video.times[0], video.times[-1], n_windows + 1)
    windows: list[tuple[float, float, float]] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        sel = (video.times >= a) & (video.times < b)
        if sel.sum() < 20 or np.ptp(video.values[sel]) == 0:
            continue
        w_lag, w_r = _refine(video, hp, frame_s, sel, lag, 0.05)
        if w_r > MIN_PEAK_R / 2:
            windows.append((0.5 * (a + b), w_lag, w_r))
    sync, rms = _fit_windows(windows, lag)
    confident = (
        psr >= MIN_PSR
        and max(r, r_fine) >= MIN_PEAK_R
        and rms <= MAX_WINDOW_RMS_S
        and len(windows) >= min(3, n_windows)
    )
    return SyncEstimate(sync, source, psr, max(r, r_fine), rms, len(windows), confident, windows)


def _fit_windows(windows: Sequence[tuple[float, float, float]], lag: float) -> tuple[VideoSync, float]:
    """offset + drift from the windows' (video time, lag): lag = offset + video_time * drift."""
    if len(windows) < 2:
        return VideoSync(lag, 0.0), 0.0
    vt = np.array([w[0] for w in windows])
    lags = np.array([w[1] for w in windows])
    weights = np.array([max(w[2], 1e-3) for w in windows])
    slope, offset = np.polyfit(vt, lags, 1, w=weights)
    rms = float(np.sqrt(np.mean((lags - (offset + slope * vt)) ** 2)))
    drift = float(np.clip(slope * 1e6, -5000.0, 5000.0))
    return VideoSync(float(offset), drift), rms


#: an audio result needs a sharper peak: one clap against a whole recording of movement
MIN_AUDIO_PSR = 10.0


def estimate_from_audio(
    envelope: Signal, times: np.ndarray, xyz: np.ndarray, *, max_offset_s: float | None = None
) -> SyncEstimate:
    """Offset (no drift: one clap cannot tell) from the audio envelope against the accelerometer's impulses.

    A clap is an impulse: the accelerometer magnitude above its 50 ms moving average,
    uncompressed, so the sharpest impulse in the recording dominates, as the click
    dominates the sound.
    """
    impulses = accel_highpassed(times, xyz, window_s=0.05)
    sensor = Signal(impulses.times, np.abs(impulses.values))
    lag, psr, r = _coarse(envelope, sensor, max_offset_s, 0.5, compress=False)
    confident = psr >= MIN_AUDIO_PSR and r >= MIN_PEAK_R
    return SyncEstimate(VideoSync(lag, 0.0), "audio", psr, r, 0.0, 1, confident, [(0.0, lag, r)])


def estimate_sync(
    path: str | Path,
    session: Session | None = None,
    *,
    accel: tuple[np.ndarray, np.ndarray] | None = None,
    roi: tuple[int, int, int, int] | None = None,
    max_offset_s: float | None = None,
    use_audio: bool = True,
) -> list[SyncEstimate]:
    """Automatic syncs of the video at ``path`` with a session's accelerometer (or ``accel=(times, xyz)``).

    One estimate from the video's motion and, where the file has sound and ``use_audio``,
    one from its audio envelope; the best first (confident before low-confidence; motion
    before audio, since it also measures drift). Each may be low-confidence: check
    ``confident`` before applying.
    """
    if accel is None:
        if session is None:
            raise AutoSyncError("give a session or accelerometer arrays")
        t, xyz = session.streams[find_accelerometer(session)].read()
    else:
        t, xyz = accel
    hp = accel_highpassed(t, xyz)
    index = FrameIndex.build(path)
    estimates = [
        estimate_from_signals(
            motion_signal(path, roi=roi, index=index),
            hp,
            frame_s=index.nominal_frame_s,
            max_offset_s=max_offset_s,
        )
    ]
    env = audio_envelope(path) if use_audio else None
    if env is not None and float(np.ptp(env.values)) > 0.0:
        with contextlib.suppress(AutoSyncError):  # nothing in the sound to go by: the motion estimate stands
            estimates.append(estimate_from_audio(env, t, xyz, max_offset_s=max_offset_s))
    return sorted(estimates, key=lambda e: (not e.confident, e.source != "motion"))
