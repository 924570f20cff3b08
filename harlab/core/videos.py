"""Videos beside a session's sensors, as data: references, clock syncs and the session's links.

A session never holds a video, only a :class:`VideoLink` per attached file: a
:class:`VideoReference` (where the file was, what it was, how to recognise it: path
relative to the session's folder when beside it, name, size, sha256 of its first MB,
duration, frame rate, frame count, first-frame time), the :class:`VideoSync` between the
video's clock and the session's, and an optional region of interest (the wrist, for the
automatic sync). Finding, probing and decoding files need PyAV and live in
:mod:`harlab.video`; this module is plain data, so a session with videos loads, saves,
validates and exports where PyAV is missing.

Stored values are read back with ``from_dict``/``from_json``, which treat them as hostile
input: every field is type- and range-checked, and a bad one raises an error naming it.

The sync maps clocks: ``session_time = offset_s + video_time * (1 + drift_ppm * 1e-6)``.
``offset_s`` is the session time of the video's time 0; ``drift_ppm`` is how much faster
the session clock runs than the camera's (cameras drift by tens of ppm, 100 ms an hour).
A sync comes from marking one moment in both (offset only) or two moments far apart
(offset and drift): :func:`fit_sync`; or from :mod:`harlab.video.auto_sync`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError, VideoFileError, quote_input

#: how much of the file's start :attr:`VideoReference.sha256_head` covers
HEAD_BYTES = 1 << 20
#: the longest video a reference may claim (a week): anything longer is a corrupt or hostile value
MAX_DURATION_S = 7 * 24 * 3600.0
#: the highest frame rate a reference may claim
MAX_FRAME_RATE = 10_000.0


def _json_object(
    data: object, what: str, required: Sequence[str], optional: Sequence[str], problem: Any
) -> dict[str, Any]:
    """``data`` when it is a JSON object with all ``required`` and no other than ``optional`` fields;
    else ``problem(message)`` is raised (each class raises its own error type)."""
    if not isinstance(data, dict):
        raise problem(f"a {what} must be a JSON object, not {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise problem(f"{what} lacks {', '.join(missing)}")
    extra = sorted(map(str, set(data) - {*required, *optional}))
    if extra:
        raise problem(f"{what} has unknown fields {', '.join(extra)}")
    return data


def _json_load(text: str | bytes, what: str, problem: Any) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise problem(f"{what} is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class VideoReference:
    """A video file as a session knows it (see the module docstring for why these fields)."""

    path: str  #: as stored: relative to the session folder (POSIX separators) when beside it, else absolute
    name: str  #: the file name, for finding a moved video again
    size: int  #: bytes
    sha256_head: str  #: sha256 of the first :data:`HEAD_BYTES` (64 lowercase hex digits)
    duration_s: float  #: from the first frame's start to the last frame's end
    frame_rate: float  #: average frames per second (variable-frame-rate files: the mean)
    frame_count: int
    start_s: float  #: presentation time of the first frame in the file's own clock (seconds)

    def __post_init__(self) -> None:
        _validate(self, self.path or "<video reference>")

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "size": self.size,
            "sha256_head": self.sha256_head,
            "duration_s": self.duration_s,
            "frame_rate": self.frame_rate,
            "frame_count": self.frame_count,
            "start_s": self.start_s,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: object, *, where: str = "<video reference>") -> VideoReference:
        """A reference from stored data, every field checked (a session file is untrusted input)."""
        fields = ("path", "name", "size", "sha256_head", "duration_s", "frame_rate", "frame_count", "start_s")
        data = _json_object(data, "video reference", fields, (), lambda m: VideoFileError(where, m))
        for key in ("path", "name", "sha256_head"):
            if not isinstance(data[key], str):
                raise VideoFileError(where, f"video reference field {key} must be a string")
        for key in ("size", "frame_count"):
            if not isinstance(data[key], int) or isinstance(data[key], bool):
                raise VideoFileError(where, f"video reference field {key} must be an integer")
        for key in ("duration_s", "frame_rate", "start_s"):
            if not isinstance(data[key], int | float) or isinstance(data[key], bool):
                raise VideoFileError(where, f"video reference field {key} must be a number")
        return cls(
            path=data["path"],
            name=data["name"],
            size=data["size"],
            sha256_head=data["sha256_head"],
            duration_s=float(data["duration_s"]),
            frame_rate=float(data["frame_rate"]),
            frame_count=data["frame_count"],
            start_s=float(data["start_s"]),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "<video reference>") -> VideoReference:
        return cls.from_dict(
            _json_load(text, "video reference", lambda m: VideoFileError(where, m)), where=where
        )


def _validate(ref: VideoReference, where: str) -> None:
    """Range checks shared by construction and loading: one place for what a valid reference is."""
    if not ref.path or "\x00" in ref.path or len(ref.path) > 4096:
        raise VideoFileError(
            where, "video reference path must be a non-empty path of at most 4096 characters"
        )
    if (
        not ref.name
        or "/" in ref.name
        or "\\" in ref.name
        or "\x00" in ref.name
        or ref.name in (".", "..")
        or len(ref.name) > 255
    ):
        raise VideoFileError(where, f"video reference name {quote_input(ref.name, 80)!r} is not a file name")
    if Path(ref.path.replace("\\", "/")).name != ref.name:
        raise VideoFileError(where, f"video reference name {ref.name!r} does not match its path {ref.path!r}")
    if ref.size < 0 or ref.size > 1 << 50:
        raise VideoFileError(where, f"video reference size {ref.size} is out of range")
    if len(ref.sha256_head) != 64 or any(c not in "0123456789abcdef" for c in ref.sha256_head):
        raise VideoFileError(where, "video reference sha256_head must be 64 lowercase hex digits")
    for key, value, low, high in (
        ("duration_s", ref.duration_s, 0.0, MAX_DURATION_S),
        ("frame_rate", ref.frame_rate, 0.0, MAX_FRAME_RATE),
        ("start_s", ref.start_s, -MAX_DURATION_S, MAX_DURATION_S),
    ):
        if not math.isfinite(value) or not low <= value <= high:
            raise VideoFileError(
                where, f"video reference {key} {value!r} is out of range [{low:g}, {high:g}]"
            )
    if ref.frame_rate == 0.0 and ref.frame_count > 1:
        raise VideoFileError(where, "video reference has frames but a frame rate of 0")
    if ref.frame_count < 0 or ref.frame_count > MAX_DURATION_S * MAX_FRAME_RATE:
        raise VideoFileError(where, f"video reference frame_count {ref.frame_count} is out of range")


#: the largest offset a stored sync may hold (a week), and the largest drift (1 %: no clock is that bad)
MAX_OFFSET_S = 7 * 24 * 3600.0
MAX_DRIFT_PPM = 10_000.0


class VideoSyncError(HarlabError):
    """A sync cannot be made from the given marks, or a sync, link name or region is invalid."""


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
        data = _json_object(data, "video sync", ("offset_s",), ("drift_ppm",), VideoSyncError)
        return cls(data["offset_s"], data.get("drift_ppm", 0.0))

    @classmethod
    def from_json(cls, text: str | bytes) -> VideoSync:
        return cls.from_dict(_json_load(text, "video sync", VideoSyncError))


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


#: the most videos one session may link (a stored file claiming more is hostile)
MAX_VIDEOS = 64
#: the longest link name
MAX_LINK_NAME = 200
#: the largest region-of-interest coordinate or size, in pixels (16K video is 15360 wide)
MAX_ROI_PX = 1 << 16


@dataclass(frozen=True)
class VideoLink:
    """One video attached to a session: its name there, the file's reference, the sync and a region.

    Frozen: a change is a new link put through a command (``dataclasses.replace``), so
    undo, redo and the crash journal compare and restore plain values. ``roi`` is
    ``(x, y, width, height)`` in the video's pixels, the region the automatic sync looks at.
    """

    name: str
    reference: VideoReference
    sync: VideoSync = field(default_factory=VideoSync)
    roi: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        check_link_name(self.name)
        if not isinstance(self.reference, VideoReference):
            raise VideoSyncError(f"video {self.name!r}: reference must be a VideoReference")
        if not isinstance(self.sync, VideoSync):
            raise VideoSyncError(f"video {self.name!r}: sync must be a VideoSync")
        if self.roi is not None:
            object.__setattr__(self, "roi", check_roi(self.roi, self.name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reference": self.reference.to_dict(),
            "sync": self.sync.to_dict(),
            "roi": None if self.roi is None else list(self.roi),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: object, *, where: str = "<video link>") -> VideoLink:
        """A link from stored data, every field checked; a bad one raises :class:`VideoFileError` naming ``where``."""
        data = _json_object(
            data, "video link", ("name", "reference"), ("sync", "roi"), lambda m: VideoFileError(where, m)
        )
        name = data["name"]
        if not isinstance(name, str):
            raise VideoFileError(where, "video link name must be a string")
        roi = data.get("roi")
        if roi is not None and (
            not isinstance(roi, list | tuple)
            or len(roi) != 4
            or any(not isinstance(v, int) or isinstance(v, bool) for v in roi)
        ):
            raise VideoFileError(where, "video link roi must be null or four integers [x, y, width, height]")
        sync = data.get("sync")
        try:
            return cls(
                name,
                VideoReference.from_dict(data["reference"], where=where),
                VideoSync() if sync is None else VideoSync.from_dict(sync),
                None if roi is None else (roi[0], roi[1], roi[2], roi[3]),
            )
        except VideoSyncError as exc:
            raise VideoFileError(where, str(exc)) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "<video link>") -> VideoLink:
        return cls.from_dict(_json_load(text, "video link", lambda m: VideoFileError(where, m)), where=where)

    def video_time(self, session_t: Any) -> Any:
        """Video time of session time ``session_t`` (float or numpy array), by this link's sync."""
        return self.sync.to_video(session_t)

    @property
    def session_span(self) -> tuple[float, float]:
        """Session times of the first frame's start and the last frame's end."""
        ref = self.reference
        return (
            float(self.sync.to_session(ref.start_s)),
            float(self.sync.to_session(ref.start_s + ref.duration_s)),
        )


def check_link_name(name: object) -> str:
    """A video's name in a session: non-empty, printable, at most :data:`MAX_LINK_NAME` characters."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_LINK_NAME
        or any(not c.isprintable() for c in name)
    ):
        raise VideoSyncError(
            f"a video's name must be 1 to {MAX_LINK_NAME} printable characters, not {quote_input(str(name), 80)!r}"
        )
    return name


def check_roi(roi: object, name: str = "") -> tuple[int, int, int, int]:
    """``(x, y, width, height)`` as four integers: x, y >= 0, width, height > 0, all within :data:`MAX_ROI_PX`."""
    whose = f"video {name!r}: " if name else ""
    if not isinstance(roi, list | tuple) or len(roi) != 4:
        raise VideoSyncError(f"{whose}a region is four integers x, y, width, height")
    values = tuple(roi)
    if any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values):
        raise VideoSyncError(f"{whose}a region is four integers x, y, width, height")
    x, y, w, h = (int(v) for v in values)
    if x < 0 or y < 0 or w <= 0 or h <= 0 or max(x + w, y + h) > MAX_ROI_PX:
        raise VideoSyncError(
            f"{whose}region {x},{y},{w},{h} is out of range (x, y >= 0; width, height > 0; "
            f"within {MAX_ROI_PX} px)"
        )
    return (x, y, w, h)
