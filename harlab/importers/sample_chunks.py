"""What the research-accelerometer importers share: decoded samples in chunks, and the session they make.

The device readers (ActiGraph ``.gt3x``, ActiLife CSV, Axivity ``.cwa``, GENEActiv ``.bin``) decode a file
a bounded piece at a time and yield :class:`SampleChunk` objects: times in seconds after
the recording's start, acceleration in g as the device reports it, and a way back from
a row to its place in the file. A week at 100 Hz is 60 million samples, so no reader
holds the whole file's bytes: each one walks its records in order and yields a chunk
every few MiB of input.

:class:`AccelerometerAssembler` is the one consumer today. It converts each chunk from g
to the session format's m/s² (``docs/FORMAT.md``: units are SI, as every other importer
writes), marks gaps across chunk boundaries too, and, once the whole input has been read
(validation before anything is written), holds the values to the device's own range by
the plausibility rule and builds the session. A streaming session writer
consumes the same chunks instead: it appends each chunk (``values * G``, flags from
:meth:`AccelerometerAssembler.gap_flags_for`) and applies the refusal rules when the
input ends, before the file is renamed into place.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import Metadata
from harlab.core.plausibility import GRAVITY_ZERO, G, Limit
from harlab.core.session import Session
from harlab.core.streams import FLAG_GAP_BEFORE, Stream
from harlab.importers.import_support import MAX_RATIO, RATIO_FLOOR, ReadBudget, check_values
from harlab.importers.importer import ImportOptions, resolve_timezone, warn

#: Where a row of a chunk came from: ``{"offset": byte}`` or ``{"line": n}`` (ImportFormatError's keywords).
RowPlace = Callable[[int], dict[str, int]]
#: Most gaps listed in ``extra["gaps"]`` (about 70 bytes each): the metadata attribute stays far below
#: the session format's 1 MiB per attribute however often a device slept; flag 1 marks every gap anyway.
MAX_LISTED_GAPS = 5000
#: Input bytes a reader decodes before it yields a chunk: bounded memory whatever the file's length.
CHUNK_BYTES = 4 * 2**20


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


def temperature_stream(time: np.ndarray, celsius: np.ndarray, device: str) -> Stream:
    """The device's temperature, one value per block or page (irregular: blocks are not evenly timed)."""
    return Stream.from_arrays(
        "temperature",
        np.asarray(time, np.float64),
        np.asarray(celsius, np.float32).reshape(-1, 1),
        ["temperature"],
        "degC",
        None,
        kind="temperature",
        device=device,
    )


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


@dataclass
class AccelerometerAssembler:
    """Gathers a reader's chunks and builds the validated session from them.

    ``rate_hz`` is the nominal rate: a pause longer than 1.5 periods between samples gets
    ``FLAG_GAP_BEFORE`` on the sample after it (the session format's gap marking), and so
    does any row a chunk marks itself.
    """

    path: Path
    rate_hz: float
    limit: Limit
    device: str = "accelerometer"
    _times: list[np.ndarray] = field(default_factory=list)
    _values: list[np.ndarray] = field(default_factory=list)
    _flags: list[np.ndarray] = field(default_factory=list)
    _gyro: list[np.ndarray] = field(default_factory=list)
    _places: list[tuple[int, RowPlace]] = field(default_factory=list)
    _n: int = 0
    _last: float | None = None

    def gap_flags_for(self, chunk: SampleChunk) -> np.ndarray:
        """FLAG_GAP_BEFORE of ``chunk``'s rows, the first one judged against the previous chunk's last time."""
        t = chunk.time
        flags = np.zeros(len(t), np.uint8)
        if len(t):
            limit = 1.5 / self.rate_hz
            prev = np.empty(len(t))
            prev[0] = t[0] if self._last is None else self._last
            prev[1:] = t[:-1]
            flags[(t - prev) > limit] = FLAG_GAP_BEFORE
            if chunk.gap_before is not None:
                flags[chunk.gap_before] = FLAG_GAP_BEFORE
            self._last = float(t[-1])
        return flags

    def add(self, chunk: SampleChunk) -> None:
        if not len(chunk.time):
            return
        self._flags.append(self.gap_flags_for(chunk))
        self._times.append(chunk.time)
        self._values.append(chunk.values.astype(np.float32) * np.float32(G))  # m/s², chunk by chunk
        if chunk.gyro is not None:
            self._gyro.append(chunk.gyro)
        self._places.append((self._n, chunk.place))
        self._n += len(chunk.time)

    def add_all(self, chunks: Iterable[SampleChunk]) -> None:
        for chunk in chunks:
            self.add(chunk)

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def first_time(self) -> float:
        """Time of the first sample (NaN before any)."""
        return float(self._times[0][0]) if self._times else float("nan")

    def place(self, row: int) -> dict[str, int]:
        """Where the ``row``-th sample of the whole input is in the file."""
        starts = [s for s, _ in self._places]
        k = int(np.searchsorted(starts, row, side="right")) - 1
        start, where = self._places[max(k, 0)]
        return where(row - start)

    def session(self, metadata: Metadata, gaps: list[GapNote] | None = None, shift: float = 0.0) -> Session:
        """The session with an ``accelerometer`` stream in m/s² (and a ``gyroscope`` in rad/s when the
        chunks held one); refuses by the plausibility rule. ``shift`` is subtracted from every time
        (readers whose clock does not start at the session's start)."""
        # one list at a time, each freed once joined: the peak is the largest list twice, not all of them
        time = np.concatenate(self._times) if self._times else np.zeros(0)
        self._times = []
        if shift:
            time -= shift
        values = np.concatenate(self._values) if self._values else np.zeros((0, 3), np.float32)
        self._values = []
        flags = np.concatenate(self._flags) if self._flags else np.zeros(0, np.uint8)
        self._flags = []
        checked = check_values(
            self.path,
            values,
            stream="accelerometer",
            kind="accelerometer",
            units="m/s^2",
            locate=self.place,
            limit=self.limit,
        )
        session = Session(metadata)
        session.add_stream(
            Stream.from_arrays(
                "accelerometer",
                time,
                checked.values,
                ["x", "y", "z"],
                "m/s^2",
                self.rate_hz,
                flags=checked.flags(flags),
                kind="accelerometer",
                device=metadata.device.name,
            )
        )
        if checked.note:
            warn(session, checked.note)
        if self._gyro:
            gyro = check_values(
                self.path,
                np.concatenate(self._gyro) * np.float32(np.pi / 180),
                stream="gyroscope",
                kind="gyroscope",
                units="rad/s",
                locate=self.place,
            )
            self._gyro = []
            session.add_stream(
                Stream.from_arrays(
                    "gyroscope",
                    time,
                    gyro.values,
                    ["x", "y", "z"],
                    "rad/s",
                    self.rate_hz,
                    flags=gyro.flags(flags),
                    kind="gyroscope",
                    device=metadata.device.name,
                )
            )
            if gyro.note:
                warn(session, gyro.note)
        if gaps:
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
            warn(
                session,
                f"{self.path.name}: {len(gaps)} stretches without samples ({', '.join(reasons)}; "
                f"{total:.0f} s in all): kept as gaps (flag 1 on the sample after each), never filled",
            )
        return session


def iter_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: Path, budget: ReadBudget, expected: str = ""
) -> Iterator[bytes]:
    """A zip member's bytes in pieces of :data:`CHUNK_BYTES`, counted against ``budget`` and the
    decompression ratio as :func:`~harlab.importers.import_support.read_member` counts a whole read."""
    if info.file_size > budget.limit - budget.used:
        raise budget.refuse(label, expected, info.file_size)
    ratio_limit = max(RATIO_FLOOR, MAX_RATIO * info.compress_size)
    n = 0
    try:
        with zf.open(info) as f:
            while piece := f.read(CHUNK_BYTES):
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
