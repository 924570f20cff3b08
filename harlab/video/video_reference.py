"""What a session remembers of a video file: where it was, what it was, and how to find it again.

A session never stores the video itself, only a :class:`VideoReference`: the path
(relative to the session's folder when the video lies beside or below it, so the pair
can be moved together), the file name, its size and the sha256 of its first MB (enough
to tell a different file with the same name from the original without reading hours of
video), and what probing it found (duration, frame rate, frame count, the time of the
first frame). :func:`resolve_video` finds the file again: at its path, else by name
beside the session, else "missing"; a file that is there but is not the same file is
reported as such, never used silently.

Stored references are read back with :meth:`VideoReference.from_json`, which treats
them as hostile input: every field is type- and range-checked, and a bad one is a
:class:`VideoFileError` naming the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from harlab.core.errors import VideoFileError, quote_input

#: how much of the file's start :attr:`VideoReference.sha256_head` covers
HEAD_BYTES = 1 << 20
#: the longest video a reference may claim (a week): anything longer is a corrupt or hostile value
MAX_DURATION_S = 7 * 24 * 3600.0
#: the highest frame rate a reference may claim
MAX_FRAME_RATE = 10_000.0


def head_sha256(path: str | Path, nbytes: int = HEAD_BYTES) -> str:
    """sha256 (hex) of the first ``nbytes`` of the file: a fingerprint that costs one read of 1 MB."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(nbytes))
    return h.hexdigest()


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
        if not isinstance(data, dict):
            raise VideoFileError(where, f"a video reference must be a JSON object, not {type(data).__name__}")
        fields = ("path", "name", "size", "sha256_head", "duration_s", "frame_rate", "frame_count", "start_s")
        missing = [k for k in fields if k not in data]
        if missing:
            raise VideoFileError(where, f"video reference lacks {', '.join(missing)}")
        extra = sorted(set(data) - set(fields))
        if extra:
            raise VideoFileError(where, f"video reference has unknown fields {', '.join(map(str, extra))}")
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
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise VideoFileError(where, f"video reference is not valid JSON: {exc}") from None
        return cls.from_dict(data, where=where)


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


def stored_path(video: Path, session_path: str | Path | None) -> str:
    """How a reference stores ``video``: relative (POSIX) when it lies in the session's folder tree, else absolute."""
    video = video.resolve()
    if session_path is not None:
        folder = Path(session_path).resolve().parent
        try:
            return video.relative_to(folder).as_posix()
        except ValueError:
            pass
    return str(video)


def probe_video(path: str | Path, session_path: str | Path | None = None) -> VideoReference:
    """Open ``path`` with FFmpeg (PyAV), index its video stream and return its reference.

    The frame count, duration and first-frame time come from the packet index (the same
    one the decoder uses), not from container headers, which may be missing or wrong.
    Raises :class:`VideoFileError` naming the file when FFmpeg cannot open it or it has
    no video stream.
    """
    from harlab.video.frame_decoder import FrameIndex  # the index needs PyAV; import where used

    p = Path(path)
    if not p.is_file():
        raise VideoFileError(p, "no such video file" if not p.exists() else "not a regular file")
    index = FrameIndex.build(p)
    size = os.stat(p).st_size
    return VideoReference(
        path=stored_path(p, session_path),
        name=p.name,
        size=size,
        sha256_head=head_sha256(p),
        duration_s=index.duration_s,
        frame_rate=index.frame_rate,
        frame_count=index.n_frames,
        start_s=index.start_s,
    )


class VideoStatus(Enum):
    FOUND = "found"  #: at its stored path, same size and fingerprint
    FOUND_BY_NAME = "found by name"  #: moved: found by name beside the session, same size and fingerprint
    DIFFERENT_FILE = "different file"  #: a file with the name is there but its size or fingerprint differ
    MISSING = "missing"  #: nowhere to be found: ask the user


@dataclass(frozen=True)
class VideoLocation:
    """Where :func:`resolve_video` looked and what it found."""

    status: VideoStatus
    path: (
        Path | None
    )  #: the file to open (FOUND, FOUND_BY_NAME) or the impostor (DIFFERENT_FILE); None when MISSING
    message: str  #: one sentence for the user

    @property
    def usable(self) -> bool:
        return self.status in (VideoStatus.FOUND, VideoStatus.FOUND_BY_NAME)


def same_file(ref: VideoReference, path: Path) -> bool:
    """Whether ``path`` has the reference's size and first-MB fingerprint (size first: it costs nothing)."""
    try:
        return os.stat(path).st_size == ref.size and head_sha256(path) == ref.sha256_head
    except OSError:
        return False


def resolve_video(ref: VideoReference, session_path: str | Path | None = None) -> VideoLocation:
    """Find the referenced file: at its stored path, else by name beside the session, else MISSING.

    A relative stored path is taken relative to the session's folder. A candidate whose
    size or fingerprint differs is a different file with the same name: reported as
    :attr:`VideoStatus.DIFFERENT_FILE` (if no true match is found elsewhere), never opened
    as if it were the original.
    """
    folder = Path(session_path).resolve().parent if session_path is not None else None
    stored = Path(ref.path)
    candidates: list[tuple[Path, VideoStatus]] = []
    if stored.is_absolute():
        candidates.append((stored, VideoStatus.FOUND))
    elif folder is not None:
        candidates.append((folder / stored, VideoStatus.FOUND))
    if folder is not None:
        candidates.append((folder / ref.name, VideoStatus.FOUND_BY_NAME))
    impostor: Path | None = None
    for candidate, status in candidates:
        if not candidate.is_file():
            continue
        if same_file(ref, candidate):
            where = "at its place" if status is VideoStatus.FOUND else "beside the session"
            return VideoLocation(status, candidate, f"video {ref.name} found {where}: {candidate}")
        impostor = impostor or candidate
    if impostor is not None:
        return VideoLocation(
            VideoStatus.DIFFERENT_FILE,
            impostor,
            f"{impostor} is not the video this session refers to (size or content differ from "
            f"{ref.name}, {ref.size} bytes); choose the original file",
        )
    return VideoLocation(
        VideoStatus.MISSING,
        None,
        f"video {ref.name} is missing (not at {ref.path} nor beside the session); choose where it is",
    )
