"""What the research-accelerometer importers share: decoded samples in chunks, streamed into a session.

The device readers (ActiGraph ``.gt3x``, ActiLife CSV, Axivity ``.cwa``, GENEActiv ``.bin``) decode a file
a bounded piece at a time and yield :class:`SampleChunk` objects: times in seconds after
the recording's start, acceleration in g as the device reports it, and a way back from
a row to its place in the file. A week at 100 Hz is 60 million samples, so no reader
holds the whole file's bytes: each one walks its records in order and yields a chunk
every :data:`CHUNK_BYTES` of input.

:class:`AccelerometerAssembler` takes the chunks into a :class:`SampleSink`: each one converted
from g to the session format's m/s² (``docs/FORMAT.md``: units are SI), held to the
device's range by the plausibility rule block by block
(:class:`~harlab.importers.import_support.MarkedTally`), its gaps marked across chunk
boundaries too, and appended; the whole-input rules are applied when the input ends. The sink
is the streaming :class:`~harlab.storage.session_writer.SessionWriter` for ``harlab import``
(:meth:`DeviceImporter.read_into`: the file is renamed into place only after those rules pass)
or a :class:`SessionCollector` for a session in memory (:meth:`DeviceImporter.read`): one
decoding path, the same session either way.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from harlab.core.errors import HarlabError, ImportFormatError, SessionError
from harlab.core.labels import LabelSchema, LabelTrack
from harlab.core.metadata import Metadata
from harlab.core.plausibility import GRAVITY_ZERO, G, Limit
from harlab.core.session import Session
from harlab.core.stream_sink import StreamSink
from harlab.core.streams import FLAG_GAP_BEFORE, Stream
from harlab.importers.import_support import MAX_RATIO, RATIO_FLOOR, MarkedTally, ReadBudget, gap_flags
from harlab.importers.importer import (
    BeginSession,
    Importer,
    ImportOptions,
    ProgressCallback,
    resolve_timezone,
    warn_metadata,
)

#: Where a row of a chunk came from: ``{"offset": byte}`` or ``{"line": n}`` (ImportFormatError's keywords).
RowPlace = Callable[[int], dict[str, int]]
#: Most gaps listed in ``extra["gaps"]`` (about 70 bytes each): the metadata attribute stays far below
#: the session format's 1 MiB per attribute however often a device slept; flag 1 marks every gap anyway.
MAX_LISTED_GAPS = 5000
#: Input bytes a reader decodes before it yields a chunk: bounded memory whatever the file's length.
CHUNK_BYTES = 2**20


@dataclass
class SampleChunk:
    """Consecutive samples of one accelerometer, as decoded from one piece of a file."""

    time: np.ndarray  #: float64 (n,), seconds after the recording's start, non-decreasing
    values: np.ndarray  #: float32 (n, 3), g, as the device reports them
    place: RowPlace  #: row (0..n-1) of this chunk -> where it is in the file
    gap_before: np.ndarray | None = None  #: bool (n,): a gap the format itself marks before the row
    gyro: np.ndarray | None = None  #: float32 (n, 3), °/s, for devices that also hold a gyroscope


@dataclass
class GapNote:
    """A stretch without samples that the file explains (idle sleep mode), in seconds after the start."""

    start: float
    end: float
    reason: str


def device_limit(low_g: float, high_g: float, device: str) -> Limit:
    """A device's own accelerometer range as a plausibility limit in m/s², with a small margin
    (a reading at full scale is real: the sensor saturates, it does not overshoot by 10 %)."""
    return Limit(
        ("accelerometer",),
        "m/s^2",
        low_g * G * 1.1,
        high_g * G * 1.1,
        f"{low_g:g}..{high_g:g} g, the range of the {device} accelerometer; " + GRAVITY_ZERO,
        zero_impossible=True,
    )


def file_budget(path: Path, expected: str) -> ReadBudget:
    """The byte budget of one device file, refused at once when the file is larger (a stat, not a read)."""
    budget = ReadBudget()
    if path.is_file() and not path.name.endswith(".gz") and path.stat().st_size > budget.limit:
        raise budget.refuse(path, expected, path.stat().st_size)
    return budget


@dataclass
class PlacedStart:
    """A device clock's start placed in UTC, with the zone to show and a warning when it was guessed."""

    start_utc: datetime
    zone: str
    warning: str | None


def place_start(local: datetime, offset_s: float | None, options: ImportOptions) -> PlacedStart:
    """The UTC start of a recording whose clock read ``local`` (naive) at its start.

    A file that records its UTC offset (``offset_s``) is placed by it (``--timezone`` then
    only changes the zone shown); otherwise the zone comes from ``--timezone``, or UTC with
    the warning of :func:`~harlab.importers.importer.resolve_timezone`.
    """
    if offset_s is not None:
        zone, tzinfo = fixed_zone(offset_s)
        if options.timezone:
            zone = resolve_timezone(options)[0]
        return PlacedStart(local.replace(tzinfo=tzinfo).astimezone(UTC), zone, None)
    zone, warning = resolve_timezone(options)
    return PlacedStart(local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone, warning)


def fixed_zone(offset_s: float) -> tuple[str, timezone]:
    """An IANA name and a tzinfo for a fixed UTC offset a device file records.

    Whole-hour offsets have IANA names (``Etc/GMT+5`` is UTC-5: the sign is inverted by
    POSIX convention); others are shown as UTC while the start time still uses the exact offset.
    """
    tz = timezone(timedelta(seconds=offset_s))
    if offset_s % 3600 == 0 and -14 <= offset_s / 3600 <= 12:
        h = int(-offset_s // 3600)
        return ("UTC" if h == 0 else f"Etc/GMT{h:+d}"), tz
    return "UTC", tz


class SampleSink(StreamSink, Protocol):
    """Where an importer's samples go: a :class:`~harlab.storage.session_writer.SessionWriter`
    (streamed into the file) or a :class:`SessionCollector` (a session in memory)."""

    @property
    def metadata(self) -> Metadata: ...

    def add_label_track(self, track: LabelTrack) -> None: ...


#: What a device importer calls once it knows the metadata: returns the sink the samples go to
#: (``Importer.read_into``'s ``begin``, or :meth:`SessionCollector.begin`).
StartSession = Callable[[Metadata, LabelSchema], SampleSink]


class SessionCollector:
    """A :class:`SampleSink` that keeps the samples and builds a :class:`Session` from them.

    What :meth:`DeviceImporter.read` streams into, so a session in memory (tests, the GUI's
    preview) and a session streamed into a file come from one decoding path.
    """

    def __init__(self) -> None:
        self._metadata: Metadata | None = None
        self._schema: LabelSchema | None = None
        self._specs: dict[str, tuple[list[str], list[str] | str, float | None, str, str, dict[str, str]]] = {}
        self._parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {}
        self._tracks: list[LabelTrack] = []

    def begin(self, metadata: Metadata, schema: LabelSchema) -> SessionCollector:
        if self._metadata is not None:
            raise SessionError("a collector holds one session; begin was called twice")
        self._metadata, self._schema = metadata, schema
        return self

    @property
    def metadata(self) -> Metadata:
        if self._metadata is None:
            raise SessionError("the collector has not begun a session")
        return self._metadata

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
        if name in self._specs:
            raise SessionError(f"the session already has a stream {name!r}")
        self._specs[name] = (list(channels), units, rate_hz, kind, device, dict(attrs or {}))
        self._parts[name] = []

    def append(
        self, name: str, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None = None
    ) -> None:
        if name not in self._parts:
            raise SessionError(f"no stream {name!r} in this session; add_stream it first")
        self._parts[name].append((time, values, flags))

    def add_label_track(self, track: LabelTrack) -> None:
        if any(t.name == track.name for t in self._tracks):
            raise SessionError(f"the session already has a label track {track.name!r}")
        self._tracks.append(track)

    def session(self) -> Session:
        """The session (streams in the order they were added); the parts are freed stream by stream."""
        session = Session(self.metadata, self._schema)
        for name, (channels, units, rate, kind, device, attrs) in self._specs.items():
            parts = self._parts.pop(name)
            n_ch = len(channels)
            time = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
            values = (
                np.concatenate([np.asarray(p[1], np.float32).reshape(len(p[0]), n_ch) for p in parts])
                if parts
                else np.zeros((0, n_ch), np.float32)
            )
            flags = (
                np.concatenate([np.zeros(len(p[0]), np.uint8) if p[2] is None else p[2] for p in parts])
                if parts
                else np.zeros(0, np.uint8)
            )
            del parts
            session.add_stream(
                Stream.from_arrays(
                    name,
                    time,
                    values,
                    channels,
                    units,
                    rate,
                    flags=flags,
                    kind=kind,
                    device=device,
                    attrs=attrs,
                )
            )
        for track in self._tracks:
            for seg in track:
                session.schema.ensure(seg.label)
            session.add_label_track(track)
        return session


class AccelerometerAssembler:
    """Takes a reader's chunks into a :class:`SampleSink` as the session format stores them.

    The sink is opened (``begin``) at the first sample, with the metadata ``describe`` gives
    for that sample's time (the start of a recording is often known only from its first
    block or page). Each chunk is converted from g to m/s² (``docs/FORMAT.md``: units are
    SI), held to the device's range by the plausibility rule (implausible values NaN and
    flagged suspect, infinity refused at once) and appended with its gap flags: a pause
    longer than 1.5 periods of the nominal ``rate_hz`` between samples, across chunk
    boundaries too, gets ``FLAG_GAP_BEFORE`` on the sample after it, and so does any row a
    chunk marks itself. :meth:`finish` applies the whole-input rules once the input ends
    (too many implausible values refuse it) and writes the report lines and gap list, so
    a streamed file and a session in memory are the same.
    """

    def __init__(
        self,
        path: Path,
        rate_hz: float,
        limit: Limit,
        begin: StartSession,
        describe: Callable[[float], tuple[Metadata, float]],
    ) -> None:
        """``describe(first_time)`` returns the session's metadata and the shift subtracted from
        every time (readers whose clock does not start at the session's start)."""
        self.path = path
        self.rate_hz = rate_hz
        self._begin = begin
        self._describe = describe
        self.sink: SampleSink | None = None
        self.shift = 0.0
        self._device = ""
        self._gyro: bool | None = None
        self._temperature = False
        self._acc_tally = MarkedTally(
            path, stream="accelerometer", kind="accelerometer", units="m/s^2", limit=limit
        )
        self._gyro_tally = MarkedTally(path, stream="gyroscope", kind="gyroscope", units="rad/s")
        self._n = 0
        self._last: float | None = None

    def gap_flags_for(self, chunk: SampleChunk) -> np.ndarray:
        """FLAG_GAP_BEFORE of ``chunk``'s rows, the first one judged against the previous chunk's last time."""
        t = chunk.time
        flags = gap_flags(t, 1.0 / self.rate_hz, before=self._last)
        if len(t):
            if chunk.gap_before is not None:
                flags[chunk.gap_before] = FLAG_GAP_BEFORE
            self._last = float(t[-1])
        return flags

    def _open(self, chunk: SampleChunk) -> SampleSink:
        metadata, self.shift = self._describe(float(chunk.time[0]))
        sink = self._begin(metadata, LabelSchema())
        self.sink = sink
        self._device = metadata.device.name
        self._gyro = chunk.gyro is not None
        sink.add_stream(
            "accelerometer", ["x", "y", "z"], "m/s^2", self.rate_hz, kind="accelerometer", device=self._device
        )
        if self._gyro:
            sink.add_stream(
                "gyroscope", ["x", "y", "z"], "rad/s", self.rate_hz, kind="gyroscope", device=self._device
            )
        return sink

    def add(self, chunk: SampleChunk) -> None:
        """Check and append one chunk (refused at once for a value no stream can hold)."""
        if not len(chunk.time):
            return
        sink = self.sink or self._open(chunk)
        if (chunk.gyro is not None) != self._gyro:
            raise ImportFormatError(
                self.path,
                "the recording changes between samples with and without a gyroscope",
                expected="the same sensors in every block",
                **chunk.place(0),
            )
        flags = self.gap_flags_for(chunk)
        time = chunk.time - self.shift if self.shift else chunk.time
        acc = self._acc_tally.check(chunk.values.astype(np.float32) * np.float32(G), chunk.place)
        sink.append("accelerometer", time, acc.values, acc.flags(flags))
        if chunk.gyro is not None:
            gyro = self._gyro_tally.check(
                chunk.gyro.astype(np.float32) * np.float32(np.pi / 180), chunk.place
            )
            sink.append("gyroscope", time, gyro.values, gyro.flags(flags))
        self._n += len(chunk.time)

    def add_temperature(self, time: np.ndarray, celsius: np.ndarray) -> None:
        """The device's temperature, one value per block or page (an irregular stream of its own)."""
        if self.sink is None or not len(time):
            return
        if not self._temperature:
            self.sink.add_stream(
                "temperature", ["temperature"], "degC", None, kind="temperature", device=self._device
            )
            self._temperature = True
        t = np.asarray(time, np.float64) - self.shift
        self.sink.append("temperature", t, np.asarray(celsius, np.float32).reshape(-1, 1))

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def started(self) -> bool:
        """Whether the first sample arrived (and the sink was opened)."""
        return self.sink is not None

    def finish(self, gaps: list[GapNote] | None = None) -> Metadata:
        """Apply the whole-input rules once the input has ended and write the report lines and the
        gap list into the metadata (returned, for the importer's own warnings)."""
        if self.sink is None:
            raise SessionError("no samples were added")
        metadata = self.sink.metadata
        notes = [self._acc_tally.finish(), self._gyro_tally.finish() if self._gyro else ""]
        for note in notes:
            if note:
                warn_metadata(metadata, note)
        if gaps:
            shift = self.shift
            total = sum(g.end - g.start for g in gaps)
            reasons = sorted({g.reason for g in gaps})
            listed = gaps[:MAX_LISTED_GAPS]
            metadata.extra["gaps"] = json.dumps(
                [
                    {"start": round(g.start - shift, 3), "end": round(g.end - shift, 3), "reason": g.reason}
                    for g in listed
                ],
                separators=(",", ":"),
            )
            metadata.extra["gaps_total"] = str(len(gaps))
            warn_metadata(
                metadata,
                f"{self.path.name}: {len(gaps)} stretches without samples ({', '.join(reasons)}; "
                f"{total:.0f} s in all): kept as gaps (flag 1 on the sample after each), never filled",
            )
        return metadata


def chunk_bytes(options: ImportOptions) -> int:
    """Input bytes a reader decodes per chunk: :data:`CHUNK_BYTES`, or ``options.extra["chunk_bytes"]``
    (small pieces make every chunk boundary of a short file a test case)."""
    value = options.extra.get("chunk_bytes", CHUNK_BYTES)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise HarlabError(f"chunk_bytes must be a positive whole number of bytes, not {value!r}")
    return value


class DeviceImporter(Importer):
    """An importer that streams (the research-accelerometer files, and the generic CSV): one
    decoding path, streamed into the session file or collected in memory.

    Subclasses implement :meth:`import_into` (read the header, then feed the chunks to an
    :class:`AccelerometerAssembler` built on ``begin``); :meth:`read_into` streams that into the
    session file, :meth:`read` into a :class:`SessionCollector`.
    """

    streaming = True

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        raise NotImplementedError

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        collector = SessionCollector()
        self.import_into(path, options, collector.begin, progress)
        return [collector.session()]

    def read_into(
        self,
        path: Path,
        options: ImportOptions,
        begin: BeginSession,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.import_into(path, options, begin, progress)


def iter_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    label: Path,
    budget: ReadBudget,
    expected: str = "",
    piece_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """A zip member's bytes in pieces of ``piece_bytes``, counted against ``budget`` and the
    decompression ratio as :func:`~harlab.importers.import_support.read_member` counts a whole read."""
    if info.file_size > budget.limit - budget.used:
        raise budget.refuse(label, expected, info.file_size)
    ratio_limit = max(RATIO_FLOOR, MAX_RATIO * info.compress_size)
    n = 0
    try:
        with zf.open(info) as f:
            while piece := f.read(piece_bytes):
                n += len(piece)
                budget.take(label, len(piece), expected)
                if n > ratio_limit:
                    raise ImportFormatError(
                        label,
                        f"inflates to more than {ratio_limit:,} bytes from {info.compress_size:,} compressed "
                        f"bytes, past the {MAX_RATIO}:1 ratio an import accepts (a decompression bomb?)",
                        offset=ratio_limit,
                        expected=expected or None,
                    )
                yield piece
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise ImportFormatError(
            label, f"cannot read zip member: {exc}", offset=n, expected="an intact zip archive"
        ) from exc
