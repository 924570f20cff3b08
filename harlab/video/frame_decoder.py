"""Frame-accurate video decoding for a viewer that follows a cursor.

The frame shown at video time ``t`` is the one whose presentation time covers ``t``
(``pts[i] <= t < pts[i+1]``), for constant and variable frame rates alike. FFmpeg can
only seek to keyframes, so :class:`FrameDecoder` seeks to the keyframe at or before
that frame and decodes forward to it: the keyframe itself is shown only when it *is*
the frame. Consecutive requests (playback, frame steps) continue decoding from where
the last one stopped instead of seeking again.

Times before the first frame, after the last frame's end, or inside a gap longer than
a few frame durations have no frame: ``None`` ("no video here"), never the nearest
wrong frame.

:class:`FrameIndex` is built once per file from the demuxed packets (no decoding: a
1-hour file indexes in about a second) and gives every frame's time and keyframe flag.
:class:`FrameServer` runs one worker thread for a viewer: requests replace each other,
so a burst of seeks while scrubbing decodes only the last one.

PyAV is imported by the functions that open a file, not with the module (here and in
:mod:`~harlab.video.auto_sync`): loading it and FFmpeg's libraries took 50 ms of every start
of the workbench, whose video panel imports these modules, for sessions mostly without
video. ``tests/core/test_qt_free.py`` checks that the workbench starts without it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from harlab.core.errors import VideoFileError

#: a frame is held on screen for at most this many nominal frame durations; beyond: a gap, no video
GAP_FACTOR = 3.0
#: decode forward (no seek) when the wanted frame is at most this many frames after the last decoded one
FORWARD_LIMIT = 90


def open_container(path: str | Path) -> Any:
    """``av.open`` that turns FFmpeg's errors into a :class:`VideoFileError` naming the file."""
    import av  # on first use, as everywhere in harlab.video (see the module's docstring)

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise VideoFileError(path, f"FFmpeg cannot open this file as video ({exc})") from None


def video_stream(container: Any, path: str | Path) -> Any:
    if not container.streams.video:
        container.close()
        raise VideoFileError(path, "the file has no video stream")
    return container.streams.video[0]


@dataclass(frozen=True)
class FrameIndex:
    """Every frame's presentation time (in presentation order) and whether it is a keyframe.

    ``pts`` are the stream's integer timestamps, ``starts`` the same in seconds; frame
    ``i`` is shown from ``starts[i]`` until ``ends[i]`` (the next frame's start, cut
    short at :data:`GAP_FACTOR` nominal durations so that a gap in the file shows nothing).
    """

    pts: np.ndarray  #: int64, presentation order
    starts: np.ndarray  #: float64 seconds
    ends: np.ndarray  #: float64 seconds
    keyframe: np.ndarray  #: bool
    key_before: np.ndarray  #: int64: index of the last keyframe at or before each frame
    time_base: Fraction
    nominal_frame_s: float  #: median frame duration
    #: what to seek to for each frame when it is a keyframe (the container's timestamp of its packet)
    seek_pts: np.ndarray | None = None
    #: frames are numbered, not timestamped (AVI): ``pts`` are frame numbers, counted from each keyframe
    ordinal: bool = False

    @classmethod
    def build(cls, path: str | Path, gap_factor: float = GAP_FACTOR) -> FrameIndex:
        import av

        container = open_container(path)
        try:
            stream = video_stream(container, path)
            tb = stream.time_base or Fraction(1, 1000)
            ordinal = "avi" in container.format.name.split(",")
            pts: list[int] = []
            keys: list[bool] = []
            durs: list[int] = []
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    if packet.pts is None:
                        break
                    pts.append(int(packet.pts))
                    keys.append(bool(packet.is_keyframe))
                    durs.append(int(packet.duration or 0))
                else:
                    if ordinal:
                        return cls._numbered(
                            np.array(pts, np.int64), np.array(keys, bool), stream, gap_factor, path
                        )
                    return cls.from_pts(
                        np.array(pts, np.int64),
                        np.array(keys, bool),
                        np.array(durs, np.int64),
                        tb,
                        gap_factor,
                        path,
                    )
            except av.FFmpegError as exc:
                raise VideoFileError(path, f"the video cannot be read ({exc})") from None
        finally:
            container.close()
        return cls._build_by_decoding(path, gap_factor)

    @classmethod
    def _numbered(
        cls, packet_pts: np.ndarray, keys: np.ndarray, stream: Any, gap_factor: float, path: str | Path
    ) -> FrameIndex:
        """AVI stores no presentation times (its B-frames come out with made-up ones): frame k of the
        decoder's output is shown at k frame durations; a keyframe's place in the output is its place
        among the packets (closed GOPs: every frame before it in the file is shown before it)."""
        rate = stream.guessed_rate or stream.base_rate or stream.average_rate
        if not rate or rate <= 0:
            raise VideoFileError(path, "the AVI file states no frame rate")
        tb = Fraction(1, 1) / Fraction(rate)
        index = cls.from_pts(
            np.arange(len(packet_pts), dtype=np.int64),
            keys,
            np.ones(len(packet_pts), np.int64),
            tb,
            gap_factor,
            path,
        )
        return cls(
            index.pts,
            index.starts,
            index.ends,
            index.keyframe,
            index.key_before,
            tb,
            index.nominal_frame_s,
            seek_pts=packet_pts,
            ordinal=True,
        )

    @classmethod
    def _build_by_decoding(cls, path: str | Path, gap_factor: float) -> FrameIndex:
        """Containers without packet timestamps (raw streams, some AVI): decode once for the frames' times."""
        import av

        container = open_container(path)
        try:
            stream = video_stream(container, path)
            tb = stream.time_base or Fraction(1, 1000)
            pts, keys = [], []
            try:
                for frame in container.decode(stream):
                    ts = frame.pts if frame.pts is not None else frame.dts
                    if ts is None:
                        raise VideoFileError(path, "the video's frames carry no timestamps")
                    pts.append(int(ts))
                    keys.append(bool(frame.key_frame))
            except av.FFmpegError as exc:
                raise VideoFileError(path, f"the video cannot be decoded ({exc})") from None
        finally:
            container.close()
        return cls.from_pts(
            np.array(pts, np.int64), np.array(keys, bool), np.zeros(len(pts), np.int64), tb, gap_factor, path
        )

    @classmethod
    def from_pts(
        cls,
        pts: np.ndarray,
        keyframe: np.ndarray,
        durations: np.ndarray,
        time_base: Fraction,
        gap_factor: float = GAP_FACTOR,
        path: str | Path = "<video>",
    ) -> FrameIndex:
        """The index from per-packet timestamps in decode order (sorted here into presentation order)."""
        if len(pts) == 0:
            raise VideoFileError(path, "the video stream has no frames")
        order = np.argsort(pts, kind="stable")
        pts, keyframe, durations = pts[order], keyframe[order], durations[order]
        keep = np.concatenate([[True], np.diff(pts) > 0])  # a repeated timestamp is one frame
        pts, keyframe, durations = pts[keep], keyframe[keep], durations[keep]
        keyframe = keyframe.copy()
        keyframe[0] = True  # decoding starts at the stream's start whatever the flag says
        tb = float(time_base)
        starts = pts.astype(np.float64) * time_base.numerator / time_base.denominator  # correctly rounded
        steps = np.diff(starts)
        if len(steps):
            nominal = float(np.median(steps))
        elif durations[-1] > 0:
            nominal = float(durations[-1]) * tb
        else:
            nominal = 1.0 / 30.0
        last = float(durations[-1]) * tb if durations[-1] > 0 else nominal
        ends = np.empty_like(starts)
        ends[:-1] = np.minimum(starts[1:], starts[:-1] + gap_factor * nominal)
        ends[-1] = starts[-1] + min(last, gap_factor * nominal)
        key_before = np.maximum.accumulate(np.where(keyframe, np.arange(len(pts)), 0))
        return cls(pts, starts, ends, keyframe, key_before, time_base, nominal)

    @property
    def n_frames(self) -> int:
        return len(self.pts)

    @property
    def start_s(self) -> float:
        return float(self.starts[0])

    @property
    def end_s(self) -> float:
        return float(self.ends[-1])

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def frame_rate(self) -> float:
        """Mean frames per second over the file."""
        return self.n_frames / self.duration_s if self.duration_s > 0 else 0.0

    def frame_at(self, t: float) -> int | None:
        """Index of the frame shown at video time ``t``, or None where the video shows nothing."""
        i = int(np.searchsorted(self.starts, t, side="right")) - 1
        if i < 0 or not t < self.ends[i]:
            return None
        return i

    def index_of_pts(self, pts: int) -> int | None:
        i = int(np.searchsorted(self.pts, pts))
        return i if i < len(self.pts) and self.pts[i] == pts else None


@dataclass(frozen=True)
class DecodedFrame:
    """One frame ready to show: its index, its display interval in video time, RGB pixels (H x W x 3, uint8)."""

    index: int
    start_s: float
    end_s: float
    image: np.ndarray


@dataclass
class DecodeStats:
    """Counters for tests and benchmarks: how much work the decoder did."""

    requests: int = 0
    cache_hits: int = 0
    seeks: int = 0
    frames_decoded: int = 0


class FrameDecoder:
    """Frame-accurate random access into one video file, with a small LRU cache of converted frames.

    ``max_width`` scales frames down (keeping the aspect ratio) when converting them: a
    viewer needs no more pixels than it shows, and the cache then holds more frames in
    the same memory. ``cache_frames`` bounds the cache. All decoding happens under one
    lock, so the decoder may be shared by threads, but it is built for one worker thread
    (see :class:`FrameServer`) with the GUI asking it for frames.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        index: FrameIndex | None = None,
        max_width: int | None = None,
        cache_frames: int = 32,
        threads: bool = True,
    ) -> None:
        self.path = Path(path)
        self.index = index if index is not None else FrameIndex.build(self.path)
        self.max_width = max_width
        self.cache_frames = max(1, cache_frames)
        self.stats = DecodeStats()
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, DecodedFrame] = OrderedDict()
        self._container = open_container(self.path)
        self._stream = video_stream(self._container, self.path)
        if threads:
            self._stream.thread_type = "AUTO"
        self._frames: Any = None  # the running decode generator
        self._pos: int | None = None  # index of the last frame it gave
        self._target = 0  # pts of the frame being decoded to
        self._next_ordinal = 0  # numbered frames (AVI): the number of the next frame out of the decoder
        self.width, self.height = self._output_size(
            self._stream.codec_context.width, self._stream.codec_context.height
        )

    def _output_size(self, width: int, height: int) -> tuple[int, int]:
        if self.max_width and width > self.max_width:
            h = max(2, round(height * self.max_width / width / 2) * 2)
            return self.max_width, h
        return width, height

    # -- public ------------------------------------------------------------------------
    def frame_at(self, t: float) -> DecodedFrame | None:
        """The frame shown at video time ``t``, or None where the video has no frame."""
        i = self.index.frame_at(t)
        return None if i is None else self.frame(i)

    def frame(self, i: int) -> DecodedFrame:
        """Frame ``i`` (presentation order), from the cache or decoded."""
        if not 0 <= i < self.index.n_frames:
            raise IndexError(f"frame {i} is outside 0..{self.index.n_frames - 1}")
        with self._lock:
            self.stats.requests += 1
            hit = self._cache.get(i)
            if hit is not None:
                self._cache.move_to_end(i)
                self.stats.cache_hits += 1
                return hit
            decoded = self._decode(i)
            self._cache[i] = decoded
            while len(self._cache) > self.cache_frames:
                self._cache.popitem(last=False)
            return decoded

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        with self._lock:
            self._frames = None
            self._container.close()

    def __enter__(self) -> FrameDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding ----------------------------------------------------------------------
    def _decode(self, i: int) -> DecodedFrame:
        idx = self.index
        key = int(idx.key_before[i])
        pos = self._pos
        if not (
            self._frames is not None
            and pos is not None
            and pos < i
            and (idx.key_before[i] <= pos or i - pos <= FORWARD_LIMIT)
        ):
            self._seek(key)
        frame = self._decode_forward(i)
        if (
            frame is None and key > 0
        ):  # the seek landed after the frame (a misflagged keyframe): start earlier
            self._seek(int(idx.key_before[key - 1]))
            frame = self._decode_forward(i)
        if frame is None and key > 0:
            self._seek(0)
            frame = self._decode_forward(i)
        if frame is None:
            raise VideoFileError(self.path, f"frame {i} (at {idx.starts[i]:.3f} s) cannot be decoded")
        w, h = self._output_size(frame.width, frame.height)
        image = frame.to_ndarray(format="rgb24", width=w, height=h)
        return DecodedFrame(i, float(idx.starts[i]), float(idx.ends[i]), image)

    def _seek(self, key: int) -> None:
        self.stats.seeks += 1
        index = self.index
        seek_pts = index.seek_pts if index.seek_pts is not None else index.pts
        self._container.seek(int(seek_pts[key]), stream=self._stream, backward=True, any_frame=False)
        self._frames = self._frame_stream()
        self._pos = None
        self._next_ordinal = key

    def _frame_stream(self) -> Iterator[Any]:
        """Decoded frames from the current position on; frames before the wanted one that no other frame
        needs (non-reference B-frames) are not decoded at all, which makes a seek about a third cheaper."""
        codec = self._stream.codec_context
        skip = not self.index.ordinal  # numbered frames are counted: none may be left out
        for packet in self._container.demux(self._stream):
            if skip:
                codec.skip_frame = "DEFAULT" if packet.pts is None or packet.pts >= self._target else "NONREF"
            yield from packet.decode()

    def _decode_forward(self, i: int) -> Any:
        """Decode until frame ``i``; None when the decoder passes it or the file ends first."""
        import av

        target = self._target = int(self.index.pts[i])
        ts: int | None  # the frame's ordinal, pts or dts; None when it has neither
        try:
            for frame in self._frames:
                self.stats.frames_decoded += 1
                if self.index.ordinal:
                    ts, self._next_ordinal = self._next_ordinal, self._next_ordinal + 1
                else:
                    ts = frame.pts if frame.pts is not None else frame.dts
                if ts is None:
                    continue
                j = self.index.index_of_pts(int(ts))
                if j is not None:
                    self._pos = j
                if ts == target:
                    return frame
                if ts > target:
                    return None
        except av.FFmpegError as exc:
            self._frames = None
            raise VideoFileError(
                self.path, f"decoding failed near {self.index.starts[i]:.3f} s ({exc})"
            ) from None
        self._frames = None
        return None


T = TypeVar("T")


class LatestRequest(Generic[T]):
    """A one-slot mailbox: a new request replaces the one not yet taken (the latest wins).

    A viewer posts the cursor's time on every move; the worker takes whatever is newest
    when it is free, so scrubbing through an hour decodes a handful of frames, not all
    the positions the cursor passed.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self._pending = False
        self._closed = False
        self.replaced = 0  #: requests dropped because a newer one came first

    def put(self, value: T) -> None:
        with self._cond:
            if self._pending:
                self.replaced += 1
            self._value, self._pending = value, True
            self._cond.notify()

    def take(self, timeout: float | None = None) -> tuple[bool, T | None]:
        """(True, value) for the newest request; (False, None) on timeout or once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed, timeout)
            if self._closed or not self._pending:
                return False, None
            value, self._value, self._pending = self._value, None, False
            return True, value

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class FrameServer:
    """One worker thread decoding for a viewer: ``request(t)`` returns at once, ``deliver`` gets the result.

    ``deliver(t, frame)`` is called on the worker thread with the requested video time
    and its frame (None: no video there); a GUI forwards it to its own thread (a Qt
    signal). Errors while decoding go to ``on_error`` and the worker goes on.
    """

    decoder: FrameDecoder
    deliver: Callable[[float, DecodedFrame | None], None]
    on_error: Callable[[Exception], None] = lambda exc: None
    _mailbox: LatestRequest[float] = field(default_factory=LatestRequest, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> FrameServer:
        self._thread = threading.Thread(target=self._run, name=f"video {self.decoder.path.name}", daemon=True)
        self._thread.start()
        return self

    def request(self, t: float) -> None:
        self._mailbox.put(t)

    @property
    def replaced(self) -> int:
        return self._mailbox.replaced

    def close(self, timeout: float = 5.0) -> None:
        self._mailbox.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            ok, t = self._mailbox.take()
            if not ok or t is None:
                return
            try:
                frame = self.decoder.frame_at(t)
            except Exception as exc:  # noqa: BLE001 - reported, and the worker must survive a bad frame
                self.on_error(exc)
                continue
            self.deliver(t, frame)
