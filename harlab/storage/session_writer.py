"""Writing a session file chunk by chunk, in bounded memory: :class:`SessionWriter`.

A week at 100 Hz is 60 M samples per channel: building it as a :class:`~harlab.core.Session`
of arrays before :func:`~harlab.storage.save_session` would hold gigabytes. A
:class:`SessionWriter` takes the samples a block at a time and appends them to the stream
groups, whose min/max pyramid :class:`~harlab.storage.pyramid.StreamAppender` keeps current
on every append, so the file grows while memory stays at one block per stream (at most
``block_rows`` rows, 6 MB for six channels by default) plus HDF5's chunk cache.

What the file is and how it comes into being are those of every other save:

* the layout is ``docs/FORMAT.md``'s, written by the same functions as
  :func:`~harlab.storage.codec.write_session` (the same appender, the same blocks), so a
  session streamed in any chunking reads back equal to the same data saved in one go,
  pyramid included, and passes ``harlab validate``;
* the file is written under the write lock of ``path`` (held from the constructor to
  :meth:`SessionWriter.close` or :meth:`SessionWriter.abort`) into a temporary file beside
  it made by :func:`harlab.core.files.atomic_path` (named like a save's, so
  :func:`~harlab.storage.session_file.remove_stale_temps` cleans a killed one), and renamed
  over ``path`` only by :meth:`~SessionWriter.close`. An exception inside the ``with`` block
  or :meth:`~SessionWriter.abort` removes the temporary file: ``path`` is then as it was
  (absent, or the old file), never half-written. That is what lets an importer validate as
  it streams: a problem found in the last chunk still leaves nothing behind;
* a disk about to fill ends the writing with an error before HDF5 meets a failed write
  (:data:`DISK_MARGIN`).

:class:`SessionBuilder` is the part that assembles the groups inside an open HDF5 file; the
crash-safe :class:`~harlab.storage.RecordingWriter` and its journal recovery use it too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import h5py
import numpy as np

from harlab.core import files
from harlab.core.errors import SessionError, SessionFileError
from harlab.core.labels import LabelSchema, LabelTrack, Policy, Segment
from harlab.core.metadata import Metadata
from harlab.core.predictions import PredictionTrack
from harlab.core.streams import Stream, StreamData, check_samples
from harlab.storage.codec import (
    TEMP_SUFFIX,
    remove_stale_temps,
    write_label_track,
    write_metadata,
    write_prediction_track,
    write_root,
    write_schema,
    write_stream_attrs,
)
from harlab.storage.lock import FileLock
from harlab.storage.probe import trust
from harlab.storage.pyramid import StreamAppender, create_stream_group

#: Free bytes a :class:`SessionWriter` wants on the disk beyond the block it is about to write.
#: HDF5 (2.0) survives a failed write badly: the error reaches Python, but the library may crash
#: the process when it shuts down, so a writer refuses to go on before the disk is full.
DISK_MARGIN = 64 * 2**20

#: Rows a :class:`SessionWriter` buffers per stream before appending them to the file:
#: large enough that the pyramid's per-append work is negligible, small enough to be bounded
#: (2**18 rows of 6 float32 channels, time and flags: 9 MB).
DEFAULT_BLOCK_ROWS = 1 << 18


class ShapeOnly:
    """Stand-in StreamData used only to validate a stream's attributes (no samples yet)."""

    def __init__(self, n_channels: int) -> None:
        self.n_samples = 0
        self.n_channels = n_channels


def stream_spec(
    name: str,
    channels: list[str],
    units: list[str] | str,
    rate_hz: float | None = None,
    kind: str = "",
    device: str = "",
    attrs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A stream's description as the builder (and the recording journal) keeps it, validated
    by :class:`~harlab.core.streams.Stream` (names, units per channel, a positive rate)."""
    if isinstance(units, str):
        units = [units] * len(channels)
    spec: dict[str, Any] = {
        "name": name,
        "channels": list(channels),
        "units": list(units),
        "rate_hz": rate_hz,
        "kind": kind,
        "device": device,
        "attrs": dict(attrs or {}),
    }
    _stream_of(spec)
    return spec


def _stream_of(spec: dict[str, Any]) -> Stream:
    return Stream(
        spec["name"],
        list(spec["channels"]),
        list(spec["units"]),
        cast(StreamData, ShapeOnly(len(spec["channels"]))),  # the attributes need only the shape
        spec.get("rate_hz"),
        spec.get("kind", ""),
        spec.get("device", ""),
        dict(spec.get("attrs") or {}),
    )


class SessionBuilder:
    """Assembles a session inside an open, empty HDF5 file from stream, sample and label calls.

    Samples are buffered per stream and appended ``block`` rows at a time; labels,
    predictions, the schema and the metadata are written by :meth:`finish`, so they may
    change until then.
    """

    def __init__(self, f: h5py.File, metadata: Metadata, schema: LabelSchema) -> None:
        self.f = f
        self.metadata = metadata
        self.schema = schema
        self.tracks: dict[str, LabelTrack] = {}
        self.predictions: list[PredictionTrack] = []
        self.streams: list[dict[str, Any]] = []
        self.ids: dict[str, int] = {}  #: stream name -> index for :meth:`append`
        self.appenders: list[StreamAppender] = []
        self.pending: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        self.pending_rows: list[int] = []
        self.last: list[float] = []
        write_root(f)
        write_metadata(f, metadata)
        write_schema(f, schema)

    def add_stream(self, spec: dict[str, Any]) -> int:
        """A new, empty stream group; returns the stream's index for :meth:`append`."""
        if spec["name"] in self.ids:
            raise SessionError(f"the session already has a stream {spec['name']!r}")
        stream = _stream_of(spec)
        g = create_stream_group(self.f["streams"], spec["name"], len(spec["channels"]))
        write_stream_attrs(g, stream)
        self.streams.append(spec)
        self.appenders.append(StreamAppender(g))
        self.pending.append([])
        self.pending_rows.append(0)
        self.last.append(-np.inf)
        self.ids[spec["name"]] = len(self.streams) - 1
        return len(self.streams) - 1

    def stream_id(self, name: str) -> int:
        """The index of stream ``name``; a clear error when it was never added."""
        sid = self.ids.get(name)
        if sid is None:
            raise SessionError(f"no stream {name!r} in this session; add_stream it first")
        return sid

    def check(
        self, sid: int, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block as stored (float64 times, float32 (N, C) values, uint8 flags), or a
        :class:`SessionError` saying what is wrong with it, before anything is buffered."""
        name = self.streams[sid]["name"]
        n_ch = len(self.streams[sid]["channels"])
        t = np.ascontiguousarray(time, dtype=np.float64)
        v = np.asarray(values, dtype=np.float32)
        if v.ndim == 1:
            v = v[:, None] if n_ch == 1 else v[None, :]
        v = np.ascontiguousarray(v)
        check_samples(t, v, f"stream {name!r}")
        if v.shape[1] != n_ch:
            raise SessionError(f"stream {name!r}: {v.shape[1]} channels appended to a {n_ch}-channel stream")
        fl = np.zeros(len(t), np.uint8) if flags is None else np.ascontiguousarray(flags, dtype=np.uint8)
        if fl.shape != t.shape:
            raise SessionError(f"stream {name!r}: flags shape {fl.shape} does not match {t.shape}")
        if len(t) and t[0] < self.last[sid]:
            raise SessionError(
                f"stream {name!r}: timestamps go backwards ({self.last[sid]:.6f} s then {t[0]:.6f} s)"
            )
        return t, v, fl

    def append(self, sid: int, t: np.ndarray, v: np.ndarray, fl: np.ndarray, block: int) -> None:
        """Buffer a checked block (see :meth:`check`); append to the file past ``block`` rows."""
        if not len(t):
            return
        self.last[sid] = float(t[-1])
        self.pending[sid].append((t, v, fl))
        self.pending_rows[sid] += len(t)
        if self.pending_rows[sid] >= block:
            self.push(sid)

    def push(self, sid: int) -> None:
        parts = self.pending[sid]
        if not parts:
            return
        t = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        fl = np.concatenate([p[2] for p in parts])
        self.pending[sid] = []
        self.pending_rows[sid] = 0
        self.appenders[sid].append(t, v, fl)

    def n_samples(self, sid: int) -> int:
        return self.appenders[sid].n + self.pending_rows[sid]

    def track(self, name: str, policy: Policy = "exclusive", description: str = "") -> LabelTrack:
        if name not in self.tracks:
            self.tracks[name] = LabelTrack(name, policy, description)
        return self.tracks[name]

    def finish(self) -> None:
        """Append what is buffered and write labels, predictions, schema and metadata."""
        for sid in range(len(self.appenders)):
            self.push(sid)
        for track in self.tracks.values():
            for seg in track:
                self.schema.ensure(seg.label)
        write_schema(self.f, self.schema)
        write_metadata(self.f, self.metadata)
        for track in self.tracks.values():
            write_label_track(self.f["labels"], track)
        for p in self.predictions:
            write_prediction_track(self.f["predictions"], p)


class SessionWriter:
    """Write a session file stream block by stream block, atomically, under its write lock.

    ::

        with SessionWriter(path, metadata, schema) as w:
            w.add_stream("accel", ["x", "y", "z"], "m/s^2", rate_hz=100.0, kind="accelerometer")
            for t, v, flags in blocks:            # any block sizes; times non-decreasing per stream
                w.append("accel", t, v, flags)
            w.add_segment("activity", Segment(0.0, 60.0, "walking"))
            w.metadata.extra["note"] = "..."      # metadata and schema may change until close
        # leaving the block normally renames the finished file onto ``path``;
        # leaving it with an exception leaves ``path`` as it was and no temporary file

    Importers stream through this class (see :meth:`harlab.importers.importer.Importer.read_into`):
    check each block as it is read and raise an
    :class:`~harlab.core.errors.ImportFormatError` at the first problem; the writer is then
    aborted and nothing is written. Every append is checked as
    :class:`~harlab.storage.RecordingWriter` checks it (finite times that never go backwards,
    the stream's channel count); an error names the stream.

    ``path`` is replaced if it exists (as :func:`~harlab.storage.save_session` does); a caller
    that must not overwrite checks first. The constructor raises
    :class:`~harlab.core.errors.FileLockedError` while another process writes ``path``.
    """

    def __init__(
        self,
        path: str | Path,
        metadata: Metadata,
        schema: LabelSchema | None = None,
        *,
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ) -> None:
        self.path = Path(path)
        self.block_rows = max(1, int(block_rows))
        self._done = True
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise SessionFileError(self.path, f"the folder {folder} does not exist")
        if self.path.is_dir():
            raise SessionFileError(self.path, "is a folder; cannot write a session file there")
        self._lock = FileLock(self.path).acquire()
        self._stack = contextlib.ExitStack()
        self._h5: h5py.File | None = None
        try:
            remove_stale_temps(self.path)
            tmp = self._stack.enter_context(files.atomic_path(self.path, suffix=TEMP_SUFFIX))
            self._h5 = h5py.File(tmp, "w", track_order=True, locking=False)
            self._builder = SessionBuilder(self._h5, metadata, schema or LabelSchema())
        except BaseException as exc:
            self._fail(exc)
            raise
        self._done = False

    @property
    def metadata(self) -> Metadata:
        """The session's metadata, written when the writer closes (edit it until then)."""
        return self._builder.metadata

    @property
    def schema(self) -> LabelSchema:
        """The label schema, written when the writer closes; classes of added segments join it."""
        return self._builder.schema

    def _check_open(self) -> None:
        if self._done:
            raise SessionError(f"the session writer of {self.path} is closed")

    def add_stream(
        self,
        name: str,
        channels: list[str],
        units: list[str] | str,
        rate_hz: float | None = None,
        kind: str = "",
        device: str = "",
        attrs: dict[str, str] | None = None,
    ) -> None:
        """Declare a stream (no samples yet); ``units`` is one per channel or one for all."""
        self._check_open()
        self._builder.add_stream(stream_spec(name, channels, units, rate_hz, kind, device, attrs))

    def append(
        self, name: str, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None = None
    ) -> None:
        """Add samples to stream ``name`` (times in seconds after ``metadata.start_utc``,
        non-decreasing across calls; ``values`` (N, C); ``flags`` uint8 per sample or None)."""
        self._check_open()
        sid = self._builder.stream_id(name)
        t, v, fl = self._builder.check(sid, time, values, flags)
        if self._builder.pending_rows[sid] + len(t) >= self.block_rows:
            self._check_space(self._builder.pending_rows[sid] + len(t), v.shape[1])
        self._builder.append(sid, t, v, fl, self.block_rows)

    def _check_space(self, rows: int, n_channels: int) -> None:
        """Refuse to write ``rows`` more rows when the disk would be left with less than
        :data:`DISK_MARGIN` (uncompressed size: an upper bound of what they take)."""
        try:
            st = os.statvfs(self.path.parent if str(self.path.parent) else ".")
        except (OSError, AttributeError):  # no statvfs (Windows): HDF5 reports the failure
            return
        free = st.f_bavail * st.f_frsize
        need = rows * (8 + 1 + 4 * n_channels) + DISK_MARGIN
        if free < need:
            raise SessionFileError(
                self.path,
                f"could not save: the disk is almost full ({free / 2**20:.0f} MiB free, "
                f"{need / 2**20:.0f} MiB wanted to go on)",
            )

    def n_samples(self, name: str) -> int:
        """Samples appended to stream ``name`` so far."""
        return self._builder.n_samples(self._builder.stream_id(name))

    @property
    def stream_names(self) -> list[str]:
        return list(self._builder.ids)

    @property
    def label_tracks(self) -> dict[str, LabelTrack]:
        """The label tracks added so far (written when the writer closes)."""
        return dict(self._builder.tracks)

    def add_segment(
        self, track: str, segment: Segment, policy: Policy = "exclusive", description: str = ""
    ) -> Segment:
        """Add one label segment to ``track`` (created on first use); returns it with its id."""
        self._check_open()
        return self._builder.track(track, policy, description).add(segment)

    def add_label_track(self, track: LabelTrack) -> None:
        """Add a whole label track (segments are small: a week has thousands, not millions)."""
        self._check_open()
        if track.name in self._builder.tracks:
            raise SessionError(f"the session already has a label track {track.name!r}")
        self._builder.tracks[track.name] = track

    def add_prediction_track(self, track: PredictionTrack) -> None:
        self._check_open()
        self._builder.predictions.append(track)

    def close(self) -> Path:
        """Finish the file and rename it onto ``path`` (fsynced); returns ``path``."""
        if self._done:
            return self.path
        try:
            self._builder.finish()
            assert self._h5 is not None
            self._h5.close()
            self._h5 = None
        except BaseException as exc:
            self._fail(exc)
            raise
        try:
            self._stack.close()  # fsync, rename, fsync the folder
        except OSError as exc:
            raise SessionFileError(self.path, f"could not save: {exc.strerror or exc}") from None
        finally:
            self._done = True
            self._lock.release()
        trust(self.path)  # written by this process: opening it needs no probe in a child
        return self.path

    def abort(self) -> None:
        """Give up: remove the temporary file and release the lock; ``path`` is untouched."""
        if not self._done:
            self._fail(SessionError(f"writing {self.path} was abandoned"))

    def _fail(self, exc: BaseException) -> None:
        self._done = True
        try:
            if self._h5 is not None:
                with contextlib.suppress(Exception):
                    self._h5.close()
                self._h5 = None
            self._stack.__exit__(type(exc), exc, exc.__traceback__)  # removes the temporary file
        finally:
            self._lock.release()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if e is None:
            self.close()
        else:
            self._fail(e)
