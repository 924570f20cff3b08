"""Non-wear detection: where the accelerometer lay still, not on a person.

The method is the standard-deviation criterion of van Hees et al. as implemented in GGIR
(``detect_nonwear_clipping``, ``nonwear_approach``: the 60-min window marks its whole span, as
GGIR's "2023" approach does):

* van Hees VT et al. (2011), "Estimation of daily energy expenditure in pregnant and
  non-pregnant women using a wrist-worn tri-axial accelerometer", PLoS ONE 6(7): e22922;
* van Hees VT et al. (2013), "Separating movement and gravity components in an acceleration
  signal and implications for the assessment of human daily physical activity", PLoS ONE
  8(4): e61691 (the criterion and the 60/15-min windows used here).

The recording is cut into 15-min blocks; every 60-min window (4 blocks, stepped by one block)
is *non-wear* when, on at least 2 of the 3 axes, the sample standard deviation is below 13 mg
**and** the range (max - min) below 50 mg. A still device shows only sensor noise (a few mg),
while a person, even asleep, breathes, twitches and turns: a turn during sleep changes which
axis gravity falls on by hundreds of mg, so any hour with a change of posture is worn. The
non-wear spans are the union of the non-wear windows, so a still stretch is found to within
one block (15 min) at each end, and stretches shorter than the window are never flagged.

Windows with less than half their expected samples (gaps) are not judged: a gap is no
evidence of non-wear. Samples are read one chunk of blocks at a time (bounded memory on a
week at 100 Hz), and each block keeps count, mean, sum of squared deviations, minimum and
maximum per axis, combined exactly into window statistics (Chan et al.'s parallel variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.quality_tracks import QualityTrack, nonwear_spans
from harlab.core.session import Session
from harlab.core.streams import Stream, median_period

#: standard gravity, m/s² per g (the unit the thresholds are stated in)
_G = 9.80665
#: factor from each accelerometer unit to g
_TO_G = {"g": 1.0, "mg": 1e-3, "m/s^2": 1.0 / _G, "m/s2": 1.0 / _G, "m/s²": 1.0 / _G}
#: blocks read per chunk: 16 blocks of 15 min at 100 Hz x 3 axes is 35 MB of float32
_CHUNK_BLOCKS = 16
METHOD = (
    "van Hees 2013 (GGIR): std < 13 mg and range < 50 mg on >= 2 of 3 axes over 60-min windows, 15-min steps"
)
#: the track name harlab gives the detected non-wear
TRACK_NAME = "nonwear"


class NonwearError(HarlabError):
    """The session has no accelerometer the method can read, or a parameter is out of range."""


@dataclass(frozen=True)
class NonwearParams:
    """The method's parameters (GGIR's defaults: ``windowsizes[2:3] = 900, 3600``,
    ``sdcriter = 0.013``, ``racriter = 0.05``, ``wearthreshold = 2``)."""

    block_s: float = 900.0
    window_s: float = 3600.0
    std_g: float = 0.013
    range_g: float = 0.050
    min_axes: int = 2
    min_coverage: float = 0.5  #: fraction of the window's expected samples a judged window needs

    def check(self) -> None:
        if not (self.block_s > 0 and np.isfinite(self.block_s)):
            raise NonwearError(f"block length must be positive seconds, got {self.block_s}")
        k = self.window_s / self.block_s
        if not (np.isfinite(k) and k >= 1 and abs(k - round(k)) < 1e-9):
            raise NonwearError(
                f"the window ({self.window_s} s) must be a whole number of blocks ({self.block_s} s)"
            )
        if not (self.std_g > 0 and self.range_g > 0):
            raise NonwearError("std and range thresholds must be positive")
        if self.min_axes not in (1, 2, 3):
            raise NonwearError(f"min_axes must be 1, 2 or 3, got {self.min_axes}")
        if not 0 < self.min_coverage <= 1:
            raise NonwearError(f"min_coverage must lie in (0, 1], got {self.min_coverage}")

    def as_params(self) -> dict[str, str]:
        return {
            "block_s": f"{self.block_s:g}",
            "window_s": f"{self.window_s:g}",
            "std_mg": f"{self.std_g * 1000:g}",
            "range_mg": f"{self.range_g * 1000:g}",
            "min_axes": str(self.min_axes),
        }


def accelerometer_of(session: Session, name: str | None = None) -> Stream:
    """The stream non-wear is detected on: ``name``, or the first 3-axis accelerometer."""
    if name is not None:
        if name not in session.streams:
            raise NonwearError(
                f"the session has no stream {name!r} (streams: {', '.join(session.streams) or 'none'})"
            )
        return session.streams[name]
    for stream in session.streams.values():
        if stream.kind == "accelerometer" and stream.data.n_channels >= 3:
            return stream
    raise NonwearError(
        "the session has no 3-axis accelerometer stream (kind 'accelerometer') to detect non-wear on"
    )


def _scale_to_g(stream: Stream) -> float:
    units = {u.strip() for u in stream.units[:3]}
    if len(units) != 1 or next(iter(units)) not in _TO_G:
        raise NonwearError(
            f"stream {stream.name!r}: non-wear needs the accelerometer in g, mg or m/s^2, not {sorted(units)}"
        )
    return _TO_G[units.pop()]


def _block_stats(
    t: np.ndarray, v: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per block ``[edges[i], edges[i+1])``: count, mean, squared deviations, min, max per axis
    (sums accumulated in float64 over the float32 samples; deviations from the block's own mean,
    so no cancellation)."""
    nb = len(edges) - 1
    idx = np.searchsorted(t, edges)
    n = np.diff(idx).astype(np.float64)
    mean = np.zeros((nb, 3))
    m2 = np.zeros((nb, 3))
    lo = np.full((nb, 3), np.inf)
    hi = np.full((nb, 3), -np.inf)
    for b in np.flatnonzero(n > 0):
        x = v[idx[b] : idx[b + 1]]
        mu = x.mean(axis=0, dtype=np.float64)
        d = x - mu.astype(x.dtype)
        mean[b] = mu
        m2[b] = (d * d).sum(axis=0, dtype=np.float64)
        lo[b] = x.min(axis=0)
        hi[b] = x.max(axis=0)
    return n, mean, m2, lo, hi


def detect_nonwear(
    session: Session, stream: str | None = None, params: NonwearParams | None = None
) -> QualityTrack:
    """The non-wear spans of ``session`` (a :class:`QualityTrack` named :data:`TRACK_NAME`)."""
    p = params or NonwearParams()
    p.check()
    acc = accelerometer_of(session, stream)
    scale = _scale_to_g(acc)
    empty = QualityTrack(
        TRACK_NAME, "nonwear", np.zeros(0), np.zeros(0), METHOD, {**p.as_params(), "stream": acc.name}
    )
    if acc.data.n_samples < 2:
        return empty
    first, last = acc.data.time_bounds()
    if not (np.isfinite(first) and np.isfinite(last)) or last <= first:
        return empty
    nblocks = int(np.ceil((last - first) / p.block_s + 1e-12)) or 1
    edges = first + p.block_s * np.arange(nblocks + 1)
    n = np.zeros(nblocks)
    mean = np.zeros((nblocks, 3))
    m2 = np.zeros((nblocks, 3))
    lo = np.full((nblocks, 3), np.inf)
    hi = np.full((nblocks, 3), -np.inf)
    period = None
    for c0 in range(0, nblocks, _CHUNK_BLOCKS):
        c1 = min(nblocks, c0 + _CHUNK_BLOCKS)
        t, v = acc.read(edges[c0], edges[c1] if c1 < nblocks else np.nextafter(last, np.inf))
        if period is None and acc.rate_hz is None:
            period = median_period(t[:100_000])
        xyz = np.ascontiguousarray(v[:, :3])  # the stream's own units and float32: scaled below, per block
        ok = np.isfinite(xyz).all(axis=1)
        if not ok.all():
            t, xyz = t[ok], xyz[ok]
        stats = _block_stats(t, xyz, edges[c0 : c1 + 1])
        n[c0:c1], mean[c0:c1], m2[c0:c1], lo[c0:c1], hi[c0:c1] = stats
    mean *= scale
    m2 *= scale * scale
    lo *= scale
    hi *= scale
    k = int(round(p.window_s / p.block_s))
    if nblocks < k:
        return empty
    rate = acc.rate_hz or (1.0 / period if period else None)
    if not rate:
        return empty
    nw = nblocks - k + 1
    wn = np.sum([n[j : j + nw] for j in range(k)], axis=0)
    wsum = np.sum([n[j : j + nw, None] * mean[j : j + nw] for j in range(k)], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wmean = wsum / wn[:, None]
        wm2 = np.sum(
            [m2[j : j + nw] + n[j : j + nw, None] * (mean[j : j + nw] - wmean) ** 2 for j in range(k)], axis=0
        )
        wstd = np.sqrt(wm2 / np.maximum(wn - 1, 1)[:, None])
    wlo = np.min(np.stack([lo[j : j + nw] for j in range(k)]), axis=0)
    whi = np.max(np.stack([hi[j : j + nw] for j in range(k)]), axis=0)
    still_axes = ((wstd < p.std_g) & (whi - wlo < p.range_g)).sum(axis=1)
    judged = wn >= p.min_coverage * p.window_s * rate
    flagged = (still_axes >= p.min_axes) & judged
    block_flag = np.zeros(nblocks, dtype=bool)
    for j in range(k):
        block_flag[j : j + nw] |= flagged
    starts, ends = _runs(block_flag, edges)
    ends = np.minimum(ends, last)
    return QualityTrack(TRACK_NAME, "nonwear", starts, ends, METHOD, {**p.as_params(), "stream": acc.name})


def _runs(flag: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of the runs of True blocks."""
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return edges[np.flatnonzero(d == 1)], edges[np.flatnonzero(d == -1)]


def session_nonwear(session: Session) -> QualityTrack | None:
    """The session's stored non-wear track, or one detected now (None without an accelerometer).

    What summaries use: a stored track (made by ``harlab nonwear`` or the workbench) is the
    one a person saw; otherwise the method runs on the data as it is.
    """
    stored = nonwear_spans(session.quality_tracks)
    if stored is not None:
        return stored
    try:
        return detect_nonwear(session)
    except NonwearError:
        return None
