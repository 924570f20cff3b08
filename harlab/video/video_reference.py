"""What a session remembers of a video file: where it was, what it was, and how to find it again.

A session never stores the video itself, only a :class:`VideoReference`: the path
(relative to the session's folder when the video lies beside or below it, so the pair
can be moved together), the file name, its size and the sha256 of its first MB (enough
to tell a different file with the same name from the original without reading hours of
video), and what probing it found (duration, frame rate, frame count, the time of the
first frame). :func:`resolve_video` finds the file again: at its path, else by name
beside the session, else "missing"; a file that is there but is not the same file is
reported as such, never used silently.

The reference itself is plain data in :mod:`harlab.core.videos` (a session loads
without PyAV); this module does what needs the file: fingerprint, probe, find.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from harlab.core.errors import VideoFileError
from harlab.core.videos import HEAD_BYTES, VideoReference


def head_sha256(path: str | Path, nbytes: int = HEAD_BYTES) -> str:
    """sha256 (hex) of the first ``nbytes`` of the file: a fingerprint that costs one read of 1 MB."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(nbytes))
    return h.hexdigest()


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
