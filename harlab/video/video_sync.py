"""The mapping between a video's clock and the session's clock.

``session_time = offset_s + video_time * (1 + drift_ppm * 1e-6)``

``offset_s`` is the session time of the video's time 0; ``drift_ppm`` is how much
faster the session clock runs than the camera's (cameras drift by tens of ppm, 100 ms
an hour). The two directions are exact inverses of each other (up to float rounding).
A sync comes from marking one moment in both (offset only) or two moments far apart
(offset and drift): :func:`fit_sync`; or from :mod:`harlab.video.auto_sync`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError

#: the largest offset a stored sync may hold (a week), and the largest drift (1 %: no clock is that bad)
MAX_OFFSET_S = 7 * 24 * 3600.0
MAX_DRIFT_PPM = 10_000.0


class VideoSyncError(HarlabError):
    """A sync cannot be made from the given marks, or stored sync data is invalid."""


@dataclass(frozen=True)
class VideoSync:
    offset_s: float = 0.0
    drift_ppm: float = 0.0

    def __post_init__(self) -> None:
        for key, value, limit in (
            ("offset_s", self.offset_s, MAX_OFFSET_S),
            ("drift_ppm", self.drift_ppm, MAX_DRIFT_PPM),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise VideoSyncError(f"video sync {key} must be a number, not {type(value).__name__}")
            if not math.isfinite(value) or abs(value) > limit:
                raise VideoSyncError(
                    f"video sync {key} {value!r} is out of range (at most {limit:g} either way)"
                )

    @property
    def scale(self) -> float:
        """Session seconds per video second."""
        return 1.0 + self.drift_ppm * 1e-6

    def to_session(self, video_t: Any) -> Any:
        """Session time of video time ``video_t`` (a float or a numpy array)."""
        return self.offset_s + video_t * self.scale

    def to_video(self, session_t: Any) -> Any:
        """Video time of session time ``session_t`` (a float or a numpy array): the inverse of :meth:`to_session`."""
        return (session_t - self.offset_s) / self.scale

    def nudged(self, delta_s: float) -> VideoSync:
        """The same sync with the video shifted by ``delta_s`` later in session time (keys while watching)."""
        return VideoSync(self.offset_s + delta_s, self.drift_ppm)

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, float]:
        return {"offset_s": self.offset_s, "drift_ppm": self.drift_ppm}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> VideoSync:
        if not isinstance(data, dict):
            raise VideoSyncError(f"a video sync must be a JSON object, not {type(data).__name__}")
        extra = sorted(map(str, set(data) - {"offset_s", "drift_ppm"}))
        if extra:
            raise VideoSyncError(f"video sync has unknown fields {', '.join(extra)}")
        if "offset_s" not in data:
            raise VideoSyncError("video sync lacks offset_s")
        return cls(data["offset_s"], data.get("drift_ppm", 0.0))

    @classmethod
    def from_json(cls, text: str | bytes) -> VideoSync:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise VideoSyncError(f"video sync is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def fit_sync(pairs: Sequence[tuple[float, float]], *, min_span_s: float = 1.0) -> VideoSync:
    """The sync through marked moments, each a (video time, session time) pair.

    One pair fixes the offset (no drift). Two pairs fix offset and drift exactly; they
    must be at least ``min_span_s`` apart in the video, since two marks close together
    turn a mark's error of one frame into a huge drift. More pairs: least squares.
    """
    if not pairs:
        raise VideoSyncError("mark at least one moment in the video and in the traces")
    v = np.array([p[0] for p in pairs], dtype=np.float64)
    s = np.array([p[1] for p in pairs], dtype=np.float64)
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(s))):
        raise VideoSyncError("marked times must be finite numbers")
    if len(pairs) == 1:
        return VideoSync(float(s[0] - v[0]), 0.0)
    if float(np.ptp(v)) < min_span_s:
        raise VideoSyncError(
            f"the marks are {float(np.ptp(v)):.3g} s apart in the video; mark moments at least "
            f"{min_span_s:g} s apart (far apart is better) to measure drift"
        )
    if len(pairs) == 2:
        scale = (s[1] - s[0]) / (v[1] - v[0])
        offset = s[0] - v[0] * scale
    else:
        scale, offset = np.polyfit(v, s, 1)
    drift = (float(scale) - 1.0) * 1e6
    if not abs(drift) <= MAX_DRIFT_PPM:
        raise VideoSyncError(
            f"the marks imply a clock drift of {drift:.0f} ppm; check that each pair marks one moment"
        )
    return VideoSync(float(offset), drift)
