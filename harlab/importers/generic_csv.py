"""Any CSV: a time column (or a rate), columns mapped to streams, optional label columns.

The mapping is a :class:`~harlab.importers._csvspec.CsvSpec` given as
``ImportOptions.extra["spec"]`` (a ``CsvSpec``, a dict, or a path to a ``.toml``/``.json``
spec file that can be saved and reused). Without a spec the importer reads the layout
harlab's own wide-CSV exporter writes, so an export imports back unchanged:

* a time column ``time_s`` (also accepted: ``time``, ``timestamp``, ``t``, ``seconds``
  and ``time_ms``/``time_us``/``time_ns``, with the unit from the suffix);
* channel columns ``<stream>.<channel>``, optionally with a unit: ``accelerometer.x [m/s^2]``;
* label columns ``label.<track>``; runs of equal non-empty values become segments;
* any other numeric column goes into one stream called ``data``.

A stream's rows where all its cells are empty are not samples of that stream (a
merged export leaves them empty); a row with only some of them empty is an error.
Literal NaN/inf cells are errors too: a harlab stream holds finite values only.

Times: numbers in s/ms/us/ns, or ISO 8601 with or without zone (no zone: the spec's or
the import's timezone, else UTC). Epoch-looking numbers (2000-2100 after the unit) and
ISO times set ``start_utc`` to the first row and make times relative to it; other
numbers are kept as they are (seconds after an unknown start). A label run spans
from its first row's time to the next run's first time (the last run: one median
period past its last row), so per-sample labels export and import back the same.

The table is read :data:`CHUNK_ROWS` rows at a time and streamed into the session (a week
of a phone's 100 Hz log is tens of millions of rows: never in memory at once). What the
first chunk decides holds for the rest: the time unit and origin, each stream's nominal
rate (the median spacing of its first chunk's samples) and so the gaps it flags. The
whole-input rules (too many implausible values, a stream with no samples) are applied
when the table ends, so a file refused late leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.labels import LabelSchema, LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata, check_timezone
from harlab.core.streams import FLAG_SUSPECT, median_period
from harlab.importers._csvspec import CsvSpec, CsvSpecError, StreamSpec
from harlab.importers.import_support import (
    MarkedTally,
    ReadBudget,
    check_width,
    gap_flags,
    iter_blocks,
    nominal_rate,
    provenance,
    runs,
)
from harlab.importers.importer import (
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    warn_metadata,
)
from harlab.importers.sample_chunks import DeviceImporter, SampleSink, StartSession, file_budget

UTC_COLUMN = "time_utc"  #: harlab's export writes it beside time_s when the start is known
TIME_NAMES = (
    "time_s",
    "time",
    "timestamp",
    "t",
    "seconds",
    "time_ms",
    "timestamp_ms",
    "time_us",
    "time_ns",
    "timestamp_ns",
    "datetime",
    UTC_COLUMN,
)
_UNIT_FACTOR = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_EPOCH_S = (946684800.0, 4102444800.0)  # 2000-01-01 .. 2100-01-01
_CHANNEL_RE = re.compile(
    r"^(?P<stream>[^.\[\]/]+)\.(?P<channel>[^\[\]]+?)\s*(?:[\[(](?P<unit>[^\])]*)[\])])?$"
)
LABEL_PREFIX = "label."


#: Rows parsed at a time: a chunk of a five-column table costs about 60 MB of pandas strings.
CHUNK_ROWS = 200_000
#: Bytes handed to the parser at a time (and checked for NUL, the mark of a binary file).
READ_BYTES = 4 * 2**20
#: Bytes read first to check the header's width: a header of MAX_COLUMNS short names fits, and a
#: wider one is still counted far past the limit.
HEAD_BYTES = 4 * 2**20
_EXPECT_TABLE = "a CSV table"


class CsvTable:
    """A CSV's cells as strings (the whole table, or one chunk of it), with each row's line number."""

    def __init__(self, path: Path, df: pd.DataFrame, first_line: int, decimal: str) -> None:
        self.path = path
        df.columns = [str(c).strip() for c in df.columns]
        self.df = df
        self.first_line = first_line  #: the line of this table's first row
        self.decimal = decimal

    @classmethod
    def read(cls, path: Path, spec: CsvSpec) -> CsvTable:
        """The whole table at once: for small tables (label files), never for recordings."""
        ((table, _),) = _iter_tables(path, spec, None)
        return table

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)

    def __len__(self) -> int:
        return len(self.df)

    def line(self, row: int) -> int:
        return self.first_line + row

    def need(self, col: str, what: str) -> None:
        if col not in self.df.columns:
            raise ImportFormatError(
                self.path,
                f"no column {col!r} for {what}",
                line=self.first_line - 1,
                expected="one of the header's columns: " + ", ".join(self.columns[:20]),
            )

    def strings(self, col: str) -> np.ndarray:
        return self.df[col].to_numpy(dtype=object)

    def numbers(self, col: str, allow_empty: bool) -> tuple[np.ndarray, np.ndarray]:
        """(float64 values, empty mask); non-numbers and NaN/inf raise with their line."""
        s = self.df[col].str.strip()
        empty = (s == "").to_numpy()
        if self.decimal != ".":
            s = s.str.replace(self.decimal, ".", regex=False)
        vals = pd.to_numeric(s.where(~empty, None), errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(vals) & ~empty
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ImportFormatError(
                self.path,
                f"column {col!r}: {self.df[col].iloc[row]!r} is not a finite number",
                line=self.line(row),
                expected="a finite decimal number",
            )
        if not allow_empty and empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise ImportFormatError(
                self.path, f"column {col!r} is empty", line=self.line(row), expected="a value in every row"
            )
        return vals, empty


class _CheckedBytes(io.RawIOBase):
    """The file's bytes for the parser, through the bounded block reader, refused at the first NUL."""

    def __init__(self, path: Path, budget: ReadBudget) -> None:
        self.path = path
        self._blocks = iter_blocks(path, READ_BYTES, budget, _EXPECT_TABLE)
        self._pending = b""
        self.consumed = 0  #: bytes handed out so far (progress)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            block = next(self._blocks, b"")
            nul = block.find(b"\0")
            if nul >= 0:
                raise ImportFormatError(
                    self.path,
                    "NUL character: this is a binary file",
                    offset=self.consumed + nul,
                    expected="CSV text",
                )
            self._pending = block
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.consumed += n
        return n


def _iter_tables(path: Path, spec: CsvSpec, chunk_rows: int | None) -> Iterator[tuple[CsvTable, int]]:
    """The CSV in chunks of ``chunk_rows`` rows (None: one table), each with the input bytes read so far."""
    budget = file_budget(path, _EXPECT_TABLE)  # a sparse terabyte is refused by its size, unread
    head = head_bytes(path, HEAD_BYTES)
    if b"\0" in head:
        raise ImportFormatError(
            path, "NUL character: this is a binary file", offset=head.index(b"\0"), expected="CSV text"
        )
    if not head.strip():
        raise ImportFormatError(path, "file is empty", expected=_EXPECT_TABLE)
    check_width(path, head.decode("utf-8", errors="replace"), spec.delimiter, spec.skip_rows)
    first_line = spec.skip_rows + (2 if spec.header else 1)
    raw = _CheckedBytes(path, budget)
    try:
        reader = pd.read_csv(
            io.BufferedReader(raw, READ_BYTES),
            sep=spec.delimiter,
            header=0 if spec.header else None,
            skiprows=spec.skip_rows,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
            skipinitialspace=True,
            encoding="utf-8",
            chunksize=chunk_rows or (1 << 62),
        )
        with reader:
            for df in reader:
                table = CsvTable(path, df, first_line, spec.decimal)
                yield table, raw.consumed
                first_line += len(table)
    except (pd.errors.ParserError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise ImportFormatError(path, "file is not text", expected="utf-8 text") from exc
        m = re.search(r"line (\d+)", str(exc))
        raise ImportFormatError(
            path,
            f"not a consistent CSV table: {exc}",
            line=int(m.group(1)) if m else None,
            expected=f"rows of {spec.delimiter!r}-separated fields",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise ImportFormatError(path, "no columns", expected="a CSV header and rows") from exc


def infer_spec(columns: list[str], rate_hz: float | None = None, time_column: str | None = None) -> CsvSpec:
    """The spec for harlab's own export layout (see the module docstring)."""
    lower = {c.lower(): c for c in columns}
    time_col = time_column or next((lower[n] for n in TIME_NAMES if n in lower), None)
    labels: dict[str, str] = {}
    streams: dict[str, StreamSpec] = {}
    plain: list[str] = []
    for c in columns:
        if c == time_col or (c == UTC_COLUMN and time_col != UTC_COLUMN):
            continue
        if c.startswith(LABEL_PREFIX) and len(c) > len(LABEL_PREFIX):
            labels[c[len(LABEL_PREFIX) :]] = c
            continue
        m = _CHANNEL_RE.match(c)
        if m:
            st = streams.setdefault(m["stream"], StreamSpec(m["stream"], [], [], []))
            st.columns.append(c)
            st.channels.append(m["channel"].strip())  # type: ignore[union-attr]
            st.units.append((m["unit"] or "").strip())  # type: ignore[union-attr]
        else:
            plain.append(c)
    if plain:
        name = "data" if "data" not in streams else "data_columns"
        streams[name] = StreamSpec(name, plain)
    for st in streams.values():
        st.kind = st.name if st.name in ("accelerometer", "gyroscope", "magnetometer", "heart_rate") else ""
    return CsvSpec(
        time_column=time_col,
        rate_hz=None if time_col else rate_hz,
        streams=list(streams.values()),
        labels=labels,
    )


def _time_unit_from_name(name: str) -> str:
    n = name.lower()
    for suffix, unit in (("_ns", "ns"), ("_us", "us"), ("_ms", "ms"), ("_s", "s")):
        if n.endswith(suffix):
            return unit
    return "auto"


@dataclass
class _Clock:
    """How the time column reads, decided on the first chunk and kept for the rest."""

    how: str = ""
    start_utc: datetime | None = None
    kind: str = ""  #: "rate", "ns" (integer nanoseconds), "number" or "iso"
    rate: float = 0.0
    factor: float = 1.0  #: seconds per unit of the file's numbers
    origin: float = 0.0  #: subtracted from every number (in the file's unit) before scaling
    origin_ns: int = 0  #: subtracted from integer or ISO nanoseconds
    zone: str = "UTC"  #: where ISO times without a zone are placed

    def times(self, table: CsvTable, spec: CsvSpec, options: ImportOptions, row0: int) -> np.ndarray:
        """Seconds of each row of ``table`` (rows ``row0``.. of the file) after the session's start."""
        n = len(table)
        if spec.time_column is None:
            rate = spec.rate_hz or options.rate_hz
            if not rate:
                raise ImportFormatError(
                    table.path,
                    "no time column and no rate, so a spec is needed",
                    line=table.first_line - 1,
                    expected="a column named time_s/time/timestamp, or a CsvSpec with time_column or rate_hz",
                )
            self.kind, self.how = "rate", f"row / {rate} Hz"
            return (row0 + np.arange(n, dtype=np.float64)) / rate
        col = spec.time_column
        table.need(col, "time")
        raw = table.df[col].str.strip()
        empty = (raw == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise ImportFormatError(
                table.path,
                f"time column {col!r} is empty",
                line=table.line(row),
                expected="a time in every row",
            )
        if not self.kind:
            self._decide(table, raw, spec, options)
        if self.kind == "iso":
            ns, _ = _iso_ns(table, raw, self.zone)
            return (ns - self.origin_ns).astype(np.float64) * 1e-9
        if self.kind == "ns":
            ints = pd.to_numeric(raw, errors="coerce")
            if ints.notna().all() and pd.api.types.is_integer_dtype(ints.dtype):
                return (ints.to_numpy(dtype=np.int64) - self.origin_ns).astype(np.float64) * 1e-9
        vals, _ = table.numbers(col, allow_empty=False)
        if self.kind == "ns":  # a later chunk with a fraction: nanoseconds as floats
            return (vals - float(self.origin_ns)) * 1e-9
        return (vals - self.origin) * self.factor

    def _decide(self, table: CsvTable, raw: pd.Series, spec: CsvSpec, options: ImportOptions) -> None:
        col = cast(str, spec.time_column)
        unit = spec.time_unit
        if unit == "auto":
            unit = _time_unit_from_name(col)
        if unit == "auto":
            # an ISO time is never a number: a first cell that is one makes the column numeric, so a
            # stray word further down is reported as such, not as a bad ISO time
            looks_numeric = pd.to_numeric(raw.iloc[:1], errors="coerce").notna().all()
            unit = "auto-number" if looks_numeric else "iso"
        if unit == "samples":
            rate = spec.rate_hz or options.rate_hz
            if not rate:
                raise ImportFormatError(
                    table.path,
                    f"time column {col!r} holds sample indices but no rate was given",
                    line=table.first_line - 1,
                    expected="a CsvSpec with rate_hz (samples per second)",
                )
            self.kind, self.factor, self.how = "number", 1.0 / rate, f"sample index / {rate} Hz"
            return
        if unit == "iso":
            self.zone = spec.timezone or options.timezone or "UTC"
            try:
                check_timezone(self.zone)
            except HarlabError as exc:
                raise ImportFormatError(
                    table.path, str(exc), expected="an IANA timezone such as Europe/Berlin"
                ) from exc
            ns, self.how = _iso_ns(table, raw, self.zone)
            self.kind, self.origin_ns, self.start_utc = "iso", int(ns[0]), _utc(int(ns[0]), "ns")
            return
        if unit == "ns":  # integers: keep nanosecond precision of epoch times
            ints = pd.to_numeric(raw, errors="coerce")
            if ints.notna().all() and pd.api.types.is_integer_dtype(ints.dtype):
                v0 = int(ints.iloc[0])
                self.kind = "ns"
                if spec.time_origin == "unix" or (
                    spec.time_origin == "auto" and _EPOCH_S[0] <= v0 * 1e-9 <= _EPOCH_S[1]
                ):
                    self.origin_ns, self.start_utc, self.how = v0, _utc(v0, "ns"), "unix ns"
                else:
                    self.how = "ns"
                return
        vals, _ = table.numbers(col, allow_empty=False)
        if unit == "auto-number":
            unit = _guess_numeric_unit(vals, spec.time_origin)
        self.kind, self.factor = "number", _UNIT_FACTOR[unit]
        first = float(vals[0]) * self.factor
        if spec.time_origin == "unix" or (spec.time_origin == "auto" and _EPOCH_S[0] <= first <= _EPOCH_S[1]):
            # subtract in the file's unit first: epoch milliseconds lose digits when scaled
            self.origin, self.start_utc, self.how = (
                float(vals[0]),
                datetime.fromtimestamp(first, UTC),
                f"unix {unit}",
            )
        else:
            self.how = unit


@dataclass
class ColumnTimes:
    """One time column read: seconds relative to ``start_utc`` (its first row) when the times are
    absolute (epoch numbers, ISO 8601), else seconds as written; ``how`` says which."""

    rel: np.ndarray
    start_utc: datetime | None
    how: str


def read_times(table: CsvTable, spec: CsvSpec, options: ImportOptions) -> ColumnTimes:
    """The times of ``spec.time_column`` of a whole table (or rows at ``spec.rate_hz``): units,
    origin and zone as the spec says; sample indices (``time_unit = "samples"``) over the rate."""
    clock = _Clock()
    rel = clock.times(table, spec, options, 0)
    return ColumnTimes(rel, clock.start_utc, clock.how)


def _guess_numeric_unit(vals: np.ndarray, origin: str) -> str:
    """Epoch times tell their unit by magnitude; small numbers are seconds."""
    if not len(vals):
        return "s"
    v = abs(float(vals[0]))
    for unit, factor in (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0)):
        if _EPOCH_S[0] <= v * factor <= _EPOCH_S[1]:
            return unit
    return "s"


def _utc(value: int, unit: str) -> datetime:
    # a datetime holds microseconds: the nanoseconds go, as intended, without pandas' warning
    return pd.Timestamp(value, unit=unit, tz="UTC").to_pydatetime(warn=False)


def _iso_ns(table: CsvTable, raw: pd.Series, zone: str) -> tuple[np.ndarray, str]:
    """ISO 8601 times of one chunk as UTC nanoseconds (int64), and how they were read."""
    try:
        ts = pd.to_datetime(raw, format="ISO8601", utc=False)
    except (ValueError, TypeError):
        ts = None
    if ts is None or ts.isna().any():
        # bad strings, or mixed offsets: parse with UTC normalisation and find the culprit
        parsed = pd.to_datetime(raw, format="ISO8601", utc=True, errors="coerce")
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise ImportFormatError(
                table.path,
                f"time {raw.iloc[row]!r} is not an ISO 8601 time",
                line=table.line(row),
                expected="e.g. 2024-05-01T12:00:00.123+02:00",
            )
        ts = parsed
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        utc = ts.dt.tz_convert("UTC")
        how = "ISO 8601 with zone"
    else:
        try:
            utc = ts.dt.tz_localize(zone, ambiguous="raise", nonexistent="raise").dt.tz_convert("UTC")
        except (ValueError, TypeError) as exc:  # DST gaps and repeats
            raise ImportFormatError(
                table.path,
                f"local times cannot be placed in {zone}: {exc}",
                expected="times that exist once in that timezone",
            ) from exc
        how = f"ISO 8601 local time in {zone}"
    return utc.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype(np.int64), how


def _start_from_utc_column(table: CsvTable, first_rel: float) -> datetime:
    """The session start from harlab's ``time_utc`` column: its first time minus the first ``time_s``."""
    raw = table.df[UTC_COLUMN].str.strip()
    first = pd.to_datetime(raw.iloc[0], format="ISO8601", utc=True, errors="coerce")
    if pd.isna(first):
        raise ImportFormatError(
            table.path,
            f"{UTC_COLUMN} {raw.iloc[0]!r} is not an ISO 8601 time",
            line=table.line(0),
            expected="e.g. 2024-05-01T10:00:00.000000Z",
        )
    start = first - pd.Timedelta(first_rel, unit="s")
    return start.round("us").to_pydatetime()  # the column has microseconds; drop float residue


#: A stream's nominal rate (and so the pauses flagged as gaps) is the median spacing of its first
#: this many samples, however the table is chunked: the same file gives the same session.
PERIOD_SAMPLES = 1000


@dataclass
class _StreamState:
    """One stream of the spec across the chunks: checked block by block, declared to the sink
    once its first :data:`PERIOD_SAMPLES` samples fix its rate (held until then)."""

    spec: StreamSpec
    tally: MarkedTally
    period: float | None = None
    declared: bool = False
    held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_held: int = 0
    last: float | None = None  #: the time of its previous sample (gaps across chunk boundaries)
    partial: int = 0  #: rows with some of its cells empty
    first_partial: int = 0  #: the line of the first of them

    def add(self, table: CsvTable, rel: np.ndarray, sink: SampleSink) -> None:
        st = self.spec
        cols = []
        for c in st.columns:
            table.need(c, f"stream {st.name!r}")
            cols.append(table.numbers(c, allow_empty=True))
        empties = np.stack([e for _, e in cols], axis=1)
        some = cast(np.ndarray, empties.any(axis=1) & ~empties.all(axis=1))  # one per row
        present = ~empties.all(axis=1)
        if not present.any():
            return
        with np.errstate(over="ignore"):  # a product past float64 is infinity, refused by the check
            values = np.stack([v for v, _ in cols], axis=1)[present] * st.scale
        rows = np.flatnonzero(present)
        checked = self.tally.check(values, lambda i: {"line": table.line(int(rows[i]))})
        flags = checked.flags(np.zeros(len(rows), np.uint8))
        if some.any():  # a sample with some channels missing (an export writes NaN as empty)
            flags[some[present]] |= FLAG_SUSPECT
            if not self.partial:
                self.first_partial = table.line(int(np.flatnonzero(some)[0]))
            self.partial += int(some.sum())
        self.held.append((rel[present], checked.values, flags))
        self.n_held += len(rows)
        if self.declared or self.n_held >= PERIOD_SAMPLES:
            self.flush(sink)

    def flush(self, sink: SampleSink) -> None:
        """Declare the stream (at its first flush) and append what is held, gaps flagged."""
        if not self.declared:
            if not self.held:
                return
            st = self.spec
            self.period = median_period(np.concatenate([h[0] for h in self.held])[:PERIOD_SAMPLES])
            sink.add_stream(
                st.name,
                st.channel_names(),
                st.unit_list(),
                rate_hz=nominal_rate(self.period),
                kind=st.kind,
                device=st.device,
                attrs={"columns": ",".join(st.columns)},
            )
            self.declared = True
        for t, values, flags in self.held:
            flags |= gap_flags(t, self.period, before=self.last)
            sink.append(self.spec.name, t, values, flags)
            self.last = float(t[-1])
        self.held, self.n_held = [], 0


@dataclass
class _LabelRuns:
    """Runs of equal labels in one label column, carried across chunk boundaries."""

    track: str
    column: str
    segments: list[Segment] = field(default_factory=list)
    open: tuple[str, float, int, int] | None = (
        None  #: (label, start, first line, last line) of the run going on
    )

    def add(self, path: Path, table: CsvTable, rel: np.ndarray) -> None:
        table.need(self.column, f"label track {self.track!r}")
        labels = np.array([s.strip() for s in table.strings(self.column)], dtype=object)
        for a, b in runs(labels):
            label = str(labels[a])
            if self.open is not None and self.open[0] == label:
                self.open = (label, self.open[1], self.open[2], table.line(b - 1))
                continue
            self.close(path, float(rel[a]))
            self.open = (label, float(rel[a]), table.line(a), table.line(b - 1))

    def close(self, path: Path, end: float) -> None:
        """End the run going on at ``end`` (an empty label is no segment)."""
        if self.open is not None and self.open[0]:
            label, start, first, last = self.open
            self.segments.append(
                Segment(start, end, label, source="imported", note=f"{path.name} lines {first}-{last}")
            )
        self.open = None


def _spec_from_options(options: ImportOptions, table_columns: list[str] | None = None) -> CsvSpec | None:
    raw = options.extra.get("spec")
    if raw is None:
        return None
    return CsvSpec.coerce(raw)


@register
class GenericCsvImporter(DeviceImporter):
    """Streamed like the device files (``read_into``); ``read`` collects the same session in memory."""

    name = "csv"
    description = "Any CSV with a time column (or a rate), configured by a CsvSpec (TOML/JSON)"
    patterns = ("*.csv", "*.tsv")  #: other names (.txt) are read when given explicitly

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        head = head_bytes(path, 4096)
        if not head or b"\0" in head:
            return 0.0
        try:
            first = head.decode("utf-8").splitlines()[0]
        except (UnicodeDecodeError, IndexError):
            return 0.0
        try:
            dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
            cells = next(csv.reader([first], dialect))
        except (csv.Error, StopIteration):
            return 0.0
        if len(cells) < 2:
            return 0.0
        has_header = any(not _is_number(c) for c in cells)
        if not has_header:
            return 0.0
        names = [c.strip() for c in cells]
        if "time_s" in names and any(_CHANNEL_RE.match(c) for c in names):
            return 0.3  # harlab's own export layout
        return 0.1

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        try:
            given = _spec_from_options(options)
        except CsvSpecError as exc:
            raise ImportFormatError(path, f"bad CSV spec: {exc}", expected="a valid CsvSpec") from exc
        size = path.stat().st_size if path.is_file() and not path.name.endswith(".gz") else None
        clock = _Clock()
        sink: SampleSink | None = None
        spec = given or CsvSpec()
        streams: list[_StreamState] = []
        labels: list[_LabelRuns] = []
        schema = LabelSchema()
        rows = 0
        last: tuple[float, int] | None = None  #: the previous chunk's last time and its line
        first_times: list[np.ndarray] = []  #: the first PERIOD_SAMPLES rows' times
        for table, consumed in _iter_tables(path, spec, _chunk_rows(options)):
            if not len(table):
                continue
            if sink is None:
                spec = _complete_spec(path, table, given, options)
            rel = clock.times(table, spec, options, rows)
            _check_order(table, rel, last)
            if sink is None:
                if clock.start_utc is None and UTC_COLUMN in table.columns and spec.time_column != UTC_COLUMN:
                    clock.start_utc = _start_from_utc_column(table, float(rel[0]))
                sink = begin(self._metadata(path, spec, clock, options), schema)
                streams = [
                    _StreamState(st, MarkedTally(path, stream=st.name, kind=st.kind, units=st.unit_list()))
                    for st in spec.streams
                ]
                labels = [_LabelRuns(name, col) for name, col in spec.labels.items()]
            for state in streams:
                state.add(table, rel, sink)
            for run in labels:
                run.add(path, table, rel)
            if rows < PERIOD_SAMPLES:
                first_times.append(rel[: PERIOD_SAMPLES - rows])
            rows += len(table)
            last = (float(rel[-1]), table.line(len(table) - 1))
            if progress and size:
                progress(0.95 * min(1.0, consumed / size), f"{path.name}: {rows:,} rows")
        if sink is None or last is None:
            raise ImportFormatError(
                path, "header but no data rows", line=spec.skip_rows + 2, expected="at least one data row"
            )
        metadata = sink.metadata
        for state in streams:
            state.flush(sink)
            if not state.declared:
                raise ImportFormatError(
                    path,
                    f"stream {state.spec.name!r}: every row is empty",
                    line=spec.skip_rows + (2 if spec.header else 1),
                    expected="at least one sample",
                )
            note = state.tally.finish()
            if note:
                warn_metadata(metadata, note)
            if state.partial:
                warn_metadata(
                    metadata,
                    f"{path.name}: {state.partial} rows of stream {state.spec.name!r} have empty "
                    f"cells in some channels (first at line {state.first_partial}); "
                    "kept as NaN and flagged suspect",
                )
        for run in labels:
            run.close(path, last[0] + (median_period(np.concatenate(first_times)) or 0.0))
            track = LabelTrack(run.track, "exclusive")
            track.add_many(run.segments)
            for seg in run.segments:
                schema.ensure(seg.label)
            sink.add_label_track(track)
        metadata.provenance = provenance(self.name, [path], notes=f"spec: {spec.to_dict()}")
        if progress:
            progress(1.0, "done")

    def _metadata(self, path: Path, spec: CsvSpec, clock: _Clock, options: ImportOptions) -> Metadata:
        return Metadata(
            participant_id=options.participant or spec.participant or "",
            devices=[DeviceInfo(name=path.stem)],
            timezone=options.timezone or spec.timezone or "UTC",
            start_utc=clock.start_utc,
            notes=f"imported from {path.name}",
            extra={"time": clock.how, "time_column": spec.time_column or ""},
        )


def _chunk_rows(options: ImportOptions) -> int:
    """Rows per chunk: :data:`CHUNK_ROWS`, or ``options.extra["chunk_rows"]`` (small chunks make
    every chunk boundary of a short file a test case)."""
    value = options.extra.get("chunk_rows", CHUNK_ROWS)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise HarlabError(f"chunk_rows must be a positive whole number of rows, not {value!r}")
    return value


def _complete_spec(path: Path, table: CsvTable, given: CsvSpec | None, options: ImportOptions) -> CsvSpec:
    """The spec given, with what it leaves out read from the header (harlab's export layout)."""
    if given is None:
        spec = infer_spec(table.columns, options.rate_hz)
        if not spec.streams:
            raise ImportFormatError(
                path,
                "no data columns besides time and labels; a spec is needed",
                line=table.first_line - 1,
                expected="columns <stream>.<channel> or a CsvSpec naming the columns",
            )
        return spec
    if not given.streams:
        inferred = infer_spec(table.columns, given.rate_hz or options.rate_hz, given.time_column)
        given.streams = inferred.streams
        given.labels = given.labels or inferred.labels
        given.time_column = given.time_column or inferred.time_column
    return given


def _check_order(table: CsvTable, t: np.ndarray, last: tuple[float, int] | None) -> None:
    """Refuse time going backwards, within the chunk or from the previous chunk's last row."""
    if last is not None and t[0] < last[0]:
        raise ImportFormatError(
            table.path,
            f"time column: time goes backwards ({last[0]:.6f} s then {t[0]:.6f} s)",
            line=table.line(0),
            expected="rows in time order",
        )
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        i = int(back[0])
        raise ImportFormatError(
            table.path,
            f"time column: time goes backwards ({t[i]:.6f} s then {t[i + 1]:.6f} s)",
            line=table.line(i + 1),
            expected="rows in time order",
        )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


__all__ = [
    "ColumnTimes",
    "CsvSpec",
    "CsvTable",
    "GenericCsvImporter",
    "StreamSpec",
    "infer_spec",
    "read_times",
]
