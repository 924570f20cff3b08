"""ActiLife's raw CSV export: ten header lines, then x, y, z in g, one row per sample.

ActiLife (ActiGraph's desktop software) writes::

    ------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.4 Firmware v2.5.0 date format M/d/yyyy at 30 Hz  Filter Normal -----------
    Serial Number: NEO1C04110003
    Start Time 11:55:00
    Start Date 12/20/2021
    Epoch Period (hh:mm:ss) 00:00:00
    Download Time 12:09:58
    Download Date 12/20/2021
    Current Memory Address: 0
    Current Battery Voltage: 4.26     Mode = 12
    --------------------------------------------------
    Accelerometer X,Accelerometer Y,Accelerometer Z     (optional; "Timestamp" may lead)
    -0.015,0.029,-1.006

The first line names the device, the date format of the other header lines and the
sample rate; sample ``i`` is at the start time plus ``i / rate`` (a ``Timestamp``
column, when exported, says the same and is not read). Times are the device's local
clock with no zone: ``--timezone`` places them, else UTC with a warning. An epoch
period other than 00:00:00 means activity counts, not raw samples, and is refused.
ActiLife fills idle sleep mode with the last sample, so an export cannot show it:
import the ``.gt3x`` to keep those stretches as gaps.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.plausibility import limit_for
from harlab.importers.import_support import ReadBudget, finite_number, provenance
from harlab.importers.importer import (
    ImportOptions,
    ProgressCallback,
    head_text,
    open_binary,
    register,
    warn_metadata,
)
from harlab.importers.sample_chunks import (
    AccelerometerAssembler,
    DeviceImporter,
    PlacedStart,
    SampleChunk,
    StartSession,
    chunk_bytes,
    file_budget,
    place_start,
)

HEADER_LINES = 10
_TITLE = re.compile(
    r"Data File Created By ActiGraph (?P<device>.*?) ActiLife v(?P<actilife>\S+)"
    r"(?: Firmware v(?P<firmware>\S+))? date format (?P<datefmt>\S+) at (?P<rate>\d+(?:\.\d+)?) Hz"
)
_AXES = ("Accelerometer X", "Accelerometer Y", "Accelerometer Z")
#: Bytes of a typical row (``-0.015,0.029,-1.006`` and its line end): a chunk of
#: :data:`~harlab.importers.sample_chunks.CHUNK_BYTES` is about 200,000 rows.
ROW_BYTES = 20


@dataclass
class ActiLifeHeader:
    device: str
    firmware: str
    actilife: str
    rate_hz: float
    serial: str
    start_local: datetime  #: naive, the device's local clock


def _date(path: Path, fmt: str, text: str, line: int) -> tuple[int, int, int]:
    """(year, month, day) of ``text`` written in .NET format ``fmt`` (``M/d/yyyy``, ``dd.MM.yyyy``, ...)."""
    keys = [p[:1] for p in re.split(r"[^A-Za-z]+", fmt) if p]
    parts = [p for p in re.split(r"[^0-9]+", text.strip()) if p]
    if sorted(keys) != ["M", "d", "y"] or len(parts) != 3:
        raise ImportFormatError(path, f"date {text!r} does not follow {fmt!r}", line=line, expected=fmt)
    got = dict(zip(keys, (int(p) for p in parts), strict=True))
    year = got["y"] + (2000 if got["y"] < 100 else 0)
    return year, got["M"], got["d"]


def parse_header(path: Path, lines: list[str]) -> ActiLifeHeader:
    """The export's header, checked: raw samples, a rate, a start date and time."""
    m = _TITLE.search(lines[0]) if lines else None
    if m is None:
        raise ImportFormatError(
            path,
            "the first line is not ActiLife's title",
            line=1,
            expected="'------------ Data File Created By ActiGraph ... date format M/d/yyyy at 30 Hz ...'",
        )
    fields: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(lines[1:HEADER_LINES], start=2):
        for key in ("Serial Number:", "Start Time", "Start Date", "Epoch Period (hh:mm:ss)"):
            if line.startswith(key):
                fields[key] = (i, line[len(key) :].strip())
    for key in ("Start Time", "Start Date"):
        if key not in fields:
            raise ImportFormatError(
                path, f"the header has no {key!r} line", expected="ActiLife's 10 header lines"
            )
    epoch_line, epoch = fields.get("Epoch Period (hh:mm:ss)", (0, "00:00:00"))
    if epoch not in ("00:00:00", "0:00:00"):
        raise ImportFormatError(
            path,
            f"epoch period {epoch}: this export holds activity counts, not raw samples",
            line=epoch_line,
            expected="a raw export (epoch period 00:00:00)",
        )
    rate = float(m["rate"])
    if not 0 < rate <= 10_000:
        raise ImportFormatError(path, f"rate {m['rate']} Hz", line=1, expected="a rate in 1..10000 Hz")
    t_line, t_text = fields["Start Time"]
    d_line, d_text = fields["Start Date"]
    y, mo, d = _date(path, m["datefmt"], d_text, d_line)
    try:
        day = datetime(y, mo, d)
    except ValueError:
        raise ImportFormatError(
            path, f"start date {d_text} is no date in {m['datefmt']}", line=d_line, expected=m["datefmt"]
        ) from None
    try:
        hh, mm, ss = (int(x) for x in t_text.split(":"))
        start = day.replace(hour=hh, minute=mm, second=ss)
    except ValueError:
        raise ImportFormatError(
            path, f"start time {t_text} is no time of day", line=t_line, expected="hh:mm:ss"
        ) from None
    return ActiLifeHeader(
        device=m["device"].strip(),
        firmware=m["firmware"] or "",
        actilife=m["actilife"],
        rate_hz=rate,
        serial=fields.get("Serial Number:", (0, ""))[1],
        start_local=start,
    )


class _Counted(io.RawIOBase):
    """A readable stream whose decompressed bytes count against the import budget as they are read."""

    def __init__(self, f: IO[bytes], path: Path, budget: ReadBudget) -> None:
        self._f, self._path, self._budget = f, path, budget

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._f.read(len(b))
        self._budget.take(self._path, len(data), "an ActiLife CSV export")
        b[: len(data)] = data
        return len(data)


def _columns(path: Path, first: list[str]) -> list[int]:
    """Indices of x, y, z given the export's first row after the header: a column header or data."""
    if not any(re.search(r"[A-Za-z]", c) for c in first):
        return [0, 1, 2]
    names = [c.strip() for c in first]
    missing = [a for a in _AXES if a not in names]
    if missing:
        raise ImportFormatError(
            path, f"no column {missing[0]!r}", line=HEADER_LINES + 1, expected=", ".join(_AXES)
        )
    return [names.index(a) for a in _AXES]


def iter_rows(path: Path, rate_hz: float, text: IO[str], chunk_rows: int) -> Iterator[SampleChunk]:
    """The samples after the header (``text`` is positioned after it), ``chunk_rows`` at a time;
    a bad cell names its line."""
    try:
        reader = pd.read_csv(
            text, header=None, dtype=str, keep_default_na=False, engine="c", chunksize=chunk_rows
        )
        row0 = 0  # samples so far
        line0 = HEADER_LINES + 1  # line of the chunk's first row
        use: list[int] | None = None
        for df in reader:
            cells = df.to_numpy()
            if use is None:
                use = _columns(path, [str(c) for c in cells[0]]) if len(cells) else [0, 1, 2]
                if use != [0, 1, 2] or any(re.search(r"[A-Za-z]", str(c)) for c in cells[0]):
                    cells, line0 = cells[1:], line0 + 1
            if cells.shape[1] <= max(use):
                raise ImportFormatError(
                    path, f"{cells.shape[1]} columns", line=line0, expected="x, y, z in g on every row"
                )
            cells = cells[:, use]
            try:
                values = cells.astype(np.float64)
            except (ValueError, TypeError):
                values = np.empty(cells.shape)
                for (r, c), cell in np.ndenumerate(cells):
                    values[r, c] = finite_number(path, str(cell), line0 + r, "-0.015")
            bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
            if len(bad):
                r = int(bad[0])
                raise ImportFormatError(
                    path,
                    f"{cells[r].tolist()} holds a value that is not finite",
                    line=line0 + r,
                    expected="finite numbers in g",
                )
            n = len(values)
            yield SampleChunk(
                (row0 + np.arange(n)) / rate_hz,
                values.astype(np.float32),
                lambda row, base=line0: {"line": base + row},  # type: ignore[misc]
            )
            row0 += n
            line0 += n
    except pd.errors.EmptyDataError:
        return
    except (pd.errors.ParserError, ValueError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ImportFormatError(
            path,
            f"not a consistent CSV table: {exc}",
            line=HEADER_LINES + int(m.group(1)) if m else None,
            expected="rows of three comma-separated numbers",
        ) from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(path, "file is not text", expected="ASCII text") from exc


@register
class ActiLifeCsvImporter(DeviceImporter):
    """ActiLife's raw CSV export of an ActiGraph recording."""

    name = "actilife_csv"
    description = "ActiLife raw CSV exports of ActiGraph recordings (header with serial, start, rate; g)"
    patterns = ("*.csv",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        first = head_text(path, 512).splitlines()[:1]
        return 0.95 if first and _TITLE.search(first[0]) else 0.0

    def import_into(
        self, path: Path, options: ImportOptions, begin: StartSession, progress: ProgressCallback | None
    ) -> None:
        budget = file_budget(path, "an ActiLife CSV export")
        rows = max(1, chunk_bytes(options) // ROW_BYTES)
        with open_binary(path) as raw:
            text = io.TextIOWrapper(io.BufferedReader(_Counted(raw, path, budget)), encoding="ascii")
            try:
                lines = [text.readline().rstrip("\r\n") for _ in range(HEADER_LINES)]
            except UnicodeDecodeError as exc:
                raise ImportFormatError(path, "the header is not text", expected="ASCII text") from exc
            header = parse_header(path, lines)
            placed = place_start(header.start_local, None, options)
            limit = limit_for("accelerometer", "m/s^2")
            assert limit is not None  # a row of the plausibility table
            asm = AccelerometerAssembler(
                path,
                header.rate_hz,
                limit,
                begin,
                lambda _first: (self._metadata(path, header, placed, options), 0.0),
            )
            for chunk in iter_rows(path, header.rate_hz, text, rows):
                asm.add(chunk)
                if progress:
                    progress(0.5, f"{path.name}: {asm.n_samples:,} samples")
        if asm.n_samples == 0:
            raise ImportFormatError(
                path, "the export holds no samples", line=HEADER_LINES + 1, expected="rows of x, y, z in g"
            )
        metadata = asm.finish()
        if placed.warning:
            warn_metadata(metadata, placed.warning)

    def _metadata(
        self, path: Path, header: ActiLifeHeader, placed: PlacedStart, options: ImportOptions
    ) -> Metadata:
        return Metadata(
            participant_id=options.participant or "",
            devices=[
                DeviceInfo(
                    name="actigraph",
                    model=f"ActiGraph {header.device}",
                    firmware=header.firmware,
                    address=header.serial,
                )
            ],
            timezone=placed.zone,
            start_utc=placed.start_utc,
            provenance=provenance(self.name, [path]),
            extra={
                "fs_nominal": f"{header.rate_hz:g}",
                "t0_known": "true",
                "t0_source": "ActiLife header Start Date and Start Time (device local clock)",
                "serial_number": header.serial,
                "actilife_version": header.actilife,
                "source_unit": "g (converted to m/s^2)",
            },
        )
