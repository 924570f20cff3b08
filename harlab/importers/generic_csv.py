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
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.labels import LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata, check_timezone
from harlab.core.session import Session
from harlab.core.streams import FLAG_SUSPECT, Stream, median_period
from harlab.importers._csvspec import CsvSpec, CsvSpecError, StreamSpec
from harlab.importers.import_support import (
    check_values,
    check_width,
    gap_flags,
    nominal_rate,
    provenance,
    read_text,
    runs,
)
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    register,
    warn,
)

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


class CsvTable:
    """The CSV's cells as strings, with the line number of each data row."""

    def __init__(self, path: Path, spec: CsvSpec) -> None:
        self.path = path
        text = read_text(path)
        if "\0" in text:
            off = text.index("\0")
            raise ImportFormatError(
                path, "NUL character: this is a binary file", offset=off, expected="CSV text"
            )
        if not text.strip():
            raise ImportFormatError(path, "file is empty", expected="a CSV table")
        self.first_line = spec.skip_rows + (2 if spec.header else 1)
        check_width(path, text, spec.delimiter, spec.skip_rows)
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=spec.delimiter,
                header=0 if spec.header else None,
                skiprows=spec.skip_rows,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="c",
                skipinitialspace=True,
            )
        except (pd.errors.ParserError, ValueError) as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise ImportFormatError(
                path,
                f"not a consistent CSV table: {exc}",
                line=int(m.group(1)) if m else None,
                expected=f"rows of {spec.delimiter!r}-separated fields",
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise ImportFormatError(path, "no columns", expected="a CSV header and rows") from exc
        df.columns = [str(c).strip() for c in df.columns]
        self.df = df
        self.decimal = spec.decimal

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)

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


class ColumnTimes:
    """One time column read: seconds relative to ``start_utc`` (its first row) when the times are
    absolute (epoch numbers, ISO 8601), else seconds as written; ``how`` says which."""

    def __init__(self, rel: np.ndarray, start_utc: datetime | None, how: str) -> None:
        self.rel = rel
        self.start_utc = start_utc
        self.how = how


def read_times(table: CsvTable, spec: CsvSpec, options: ImportOptions) -> ColumnTimes:
    """The times of ``spec.time_column`` (or rows at ``spec.rate_hz``): units, origin and zone as
    the spec says; sample indices (``time_unit = "samples"``) are divided by the rate."""
    n = len(table.df)
    if spec.time_column is None:
        rate = spec.rate_hz or options.rate_hz
        if not rate:
            raise ImportFormatError(
                table.path,
                "no time column and no rate, so a spec is needed",
                line=table.first_line - 1,
                expected="a column named time_s/time/timestamp, or a CsvSpec with time_column or rate_hz",
            )
        return ColumnTimes(np.arange(n, dtype=np.float64) / rate, None, f"row / {rate} Hz")
    col = spec.time_column
    table.need(col, "time")
    unit = spec.time_unit
    if unit == "auto":
        unit = _time_unit_from_name(col)
    raw = table.df[col].str.strip()
    empty = (raw == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise ImportFormatError(
            table.path, f"time column {col!r} is empty", line=table.line(row), expected="a time in every row"
        )
    if unit == "auto":
        # an ISO time is never a number: a first cell that is one makes the column numeric, so a
        # stray word further down is reported as such, not as a bad ISO time
        looks_numeric = pd.to_numeric(raw.iloc[:1], errors="coerce").notna().all()
        unit = "auto-number" if looks_numeric else "iso"
    if unit == "iso":
        return _iso_times(table, col, raw, spec, options)
    if unit == "samples":
        rate = spec.rate_hz or options.rate_hz
        if not rate:
            raise ImportFormatError(
                table.path,
                f"time column {col!r} holds sample indices but no rate was given",
                line=table.first_line - 1,
                expected="a CsvSpec with rate_hz (samples per second)",
            )
        idx, _ = table.numbers(col, allow_empty=False)
        return ColumnTimes(idx / rate, None, f"sample index / {rate} Hz")
    if unit == "ns":  # integers: keep nanosecond precision of epoch times
        ints = pd.to_numeric(raw, errors="coerce")
        if ints.notna().all() and pd.api.types.is_integer_dtype(ints.dtype):
            v = ints.to_numpy(dtype=np.int64)
            secs0 = v[0] * 1e-9
            if spec.time_origin == "unix" or (
                spec.time_origin == "auto" and _EPOCH_S[0] <= secs0 <= _EPOCH_S[1]
            ):
                return ColumnTimes((v - v[0]).astype(np.float64) * 1e-9, _utc(int(v[0]), "ns"), "unix ns")
            return ColumnTimes(v.astype(np.float64) * 1e-9, None, "ns")
    vals, _ = table.numbers(col, allow_empty=False)
    if unit == "auto-number":
        unit = _guess_numeric_unit(vals, spec.time_origin)
    factor = _UNIT_FACTOR[unit]
    first = float(vals[0]) * factor
    if spec.time_origin == "unix" or (spec.time_origin == "auto" and _EPOCH_S[0] <= first <= _EPOCH_S[1]):
        # subtract in the file's unit first: epoch milliseconds lose digits when scaled
        return ColumnTimes((vals - vals[0]) * factor, datetime.fromtimestamp(first, UTC), f"unix {unit}")
    return ColumnTimes(vals * factor, None, unit)


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
    return pd.Timestamp(value, unit=unit, tz="UTC").to_pydatetime()


def _iso_times(
    table: CsvTable, col: str, raw: pd.Series, spec: CsvSpec, options: ImportOptions
) -> ColumnTimes:
    tz = spec.timezone or options.timezone or "UTC"
    try:
        check_timezone(tz)
    except HarlabError as exc:
        raise ImportFormatError(
            table.path, str(exc), expected="an IANA timezone such as Europe/Berlin"
        ) from exc
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
            utc = ts.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise").dt.tz_convert("UTC")
        except (ValueError, TypeError) as exc:  # DST gaps and repeats
            raise ImportFormatError(
                table.path,
                f"local times cannot be placed in {tz}: {exc}",
                expected="times that exist once in that timezone",
            ) from exc
        how = f"ISO 8601 local time in {tz}"
    ns = utc.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype(np.int64)
    return ColumnTimes((ns - ns[0]).astype(np.float64) * 1e-9, _utc(int(ns[0]), "ns"), how)


def _start_from_utc_column(table: CsvTable, times: ColumnTimes) -> datetime:
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
    start = first - pd.Timedelta(float(times.rel[0]), unit="s")
    return start.round("us").to_pydatetime()  # the column has microseconds; drop float residue


def _check_order(table: CsvTable, t: np.ndarray, rows: np.ndarray, what: str) -> None:
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        i = int(back[0])
        raise ImportFormatError(
            table.path,
            f"{what}: time goes backwards ({t[i]:.6f} s then {t[i + 1]:.6f} s)",
            line=table.line(int(rows[i + 1])),
            expected="rows in time order",
        )


def _spec_from_options(options: ImportOptions, table_columns: list[str] | None = None) -> CsvSpec | None:
    raw = options.extra.get("spec")
    if raw is None:
        return None
    return CsvSpec.coerce(raw)


@register
class GenericCsvImporter(Importer):
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

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        try:
            spec = _spec_from_options(options)
        except CsvSpecError as exc:
            raise ImportFormatError(path, f"bad CSV spec: {exc}", expected="a valid CsvSpec") from exc
        table = CsvTable(path, spec or CsvSpec())
        if progress:
            progress(0.3, "parsed CSV")
        if spec is None:
            spec = infer_spec(table.columns, options.rate_hz)
            if not spec.streams:
                raise ImportFormatError(
                    path,
                    "no data columns besides time and labels; a spec is needed",
                    line=table.first_line - 1,
                    expected="columns <stream>.<channel> or a CsvSpec naming the columns",
                )
        elif not spec.streams:
            inferred = infer_spec(table.columns, spec.rate_hz or options.rate_hz, spec.time_column)
            spec.streams = inferred.streams
            spec.labels = spec.labels or inferred.labels
            spec.time_column = spec.time_column or inferred.time_column
        if len(table.df) == 0:
            raise ImportFormatError(
                path, "header but no data rows", line=table.first_line, expected="at least one data row"
            )
        times = read_times(table, spec, options)
        if times.start_utc is None and UTC_COLUMN in table.columns and spec.time_column != UTC_COLUMN:
            times.start_utc = _start_from_utc_column(table, times)
        session = self._build(path, table, spec, times, options)
        if progress:
            progress(1.0, "done")
        return [session]

    def _build(
        self, path: Path, table: CsvTable, spec: CsvSpec, times: ColumnTimes, options: ImportOptions
    ) -> Session:
        meta = Metadata(
            participant_id=options.participant or spec.participant or "",
            devices=[DeviceInfo(name=path.stem)],
            timezone=options.timezone or spec.timezone or "UTC",
            start_utc=times.start_utc,
            notes=f"imported from {path.name}",
            extra={"time": times.how, "time_column": spec.time_column or ""},
        )
        session = Session(meta)
        all_rows = np.arange(len(table.df))
        _check_order(table, times.rel, all_rows, "time column")
        for st in spec.streams:
            cols = []
            for c in st.columns:
                table.need(c, f"stream {st.name!r}")
                cols.append(table.numbers(c, allow_empty=True))
            empties = np.stack([e for _, e in cols], axis=1)
            some = cast(np.ndarray, empties.any(axis=1) & ~empties.all(axis=1))  # one per row
            present = ~empties.all(axis=1)
            if not present.any():
                raise ImportFormatError(
                    path,
                    f"stream {st.name!r}: every row is empty",
                    line=table.first_line,
                    expected="at least one sample",
                )
            with np.errstate(over="ignore"):  # a product past float64 is infinity, refused just below
                values = np.stack([v for v, _ in cols], axis=1)[present] * st.scale
            rows = np.flatnonzero(present)
            checked = check_values(
                path,
                values,
                stream=st.name,
                kind=st.kind,
                units=st.unit_list(),
                locate=lambda i, rows=rows: {"line": table.line(int(rows[i]))},  # type: ignore[misc]  # mypy cannot infer a bound default
            )
            t = times.rel[present]
            period = median_period(t)
            flags = checked.flags(gap_flags(t, period))
            if checked.note:
                warn(session, checked.note)
            if some.any():  # a sample with some channels missing (an export writes NaN as empty)
                flags[some[present]] |= FLAG_SUSPECT
                warn(
                    session,
                    f"{path.name}: {int(some.sum())} rows of stream {st.name!r} have empty "
                    f"cells in some channels (first at line {table.line(int(np.flatnonzero(some)[0]))}); "
                    "kept as NaN and flagged suspect",
                )
            units = st.unit_list()
            session.add_stream(
                Stream.from_arrays(
                    st.name,
                    t,
                    checked.values,
                    st.channel_names(),
                    units,
                    rate_hz=nominal_rate(period),
                    flags=flags,
                    kind=st.kind,
                    device=st.device,
                    attrs={"columns": ",".join(st.columns)},
                )
            )
        period_all = median_period(times.rel) or 0.0
        for track_name, col in spec.labels.items():
            table.need(col, f"label track {track_name!r}")
            labels = np.array([s.strip() for s in table.strings(col)], dtype=object)
            segs = []
            for a, b in runs(labels):
                if not labels[a]:
                    continue
                end = times.rel[b] if b < len(labels) else times.rel[b - 1] + period_all
                segs.append(
                    Segment(
                        float(times.rel[a]),
                        float(end),
                        str(labels[a]),
                        source="imported",
                        note=f"{path.name} lines {table.line(a)}-{table.line(b - 1)}",
                    )
                )
            track = LabelTrack(track_name, "exclusive")
            track.add_many(segs)
            for s in segs:
                session.schema.ensure(s.label)
            session.add_label_track(track)
        meta.provenance = provenance(self.name, [path], notes=f"spec: {spec.to_dict()}")
        return session


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
