"""Fitbit accelerometer-fetcher output (gondwanasoft/fitbit-accel-fetcher and its servers).

Two forms (``shared/reference/fitbit-formats.md`` §5a):

* the companion's CSV, one ``timestamp,x,y,z`` line per sample, no header, CRLF,
  ``timestamp`` an integer in ms on the watch's sensor clock (not Unix time), x/y/z
  in m/s²;
* the watch's binary part files (named ``1``, ``2``, ...): a uint32 LE header with the
  first sample's timestamp, then 8-byte records of int16 LE ``[Δt_ms, x·500, y·500, z·500]``
  with Δt = 0 for the first record.

The rate is measured from the timestamps, never assumed; gaps are flagged, not filled
(streams are never resampled on import). The older app's 15-bit timestamps left
spurious +32,768 ms jumps in its CSVs: those are detected and removed, and small
backward steps of the watch clock are clamped and flagged as suspect. There is no
absolute time, so ``start_utc`` is unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.session import Session
from harlab.core.streams import FLAG_GAP_BEFORE, FLAG_SUSPECT, Stream, median_period
from harlab.importers.import_support import (
    Locate,
    check_values,
    gap_flags,
    provenance,
    read_at_most,
    read_text,
)
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_bytes,
    head_text,
    iter_lines,
    register,
    warn,
)

ACCEL_SCALAR = 500.0  #: int16 counts per m/s² in the binary form
WRAP_MS = 32768  #: the old app's timestamp wrap artefact
_WRAP_TOLERANCE_MS = 1000
#: Largest binary part read: 24 h of records at 100 Hz (a part normally holds 60 s, 1,800 records).
MAX_PART_RECORDS = 24 * 3600 * 100
#: Largest timestamp read: 2^53 ms, the last integer a float64 time holds exactly.
MAX_STAMP_MS = 2**53
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LINE_RE = re.compile(rf"^\s*\d+\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*$")


def repair_clock(t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Remove +32,768 ms wrap artefacts and clamp backward steps.

    Returns (times in ms, flags, number of wrap jumps removed, number of samples clamped).
    """
    t = t_ms.astype(np.float64).copy()
    flags = np.zeros(len(t), np.uint8)
    if len(t) < 2:
        return t, flags, 0, 0
    dt = np.diff(t)
    jump = np.abs(dt - WRAP_MS) < _WRAP_TOLERANCE_MS
    wraps = np.flatnonzero(jump)
    t[1:] -= WRAP_MS * np.cumsum(jump)  # one pass, however many jumps a file has
    running = np.maximum.accumulate(t)
    back = t < running
    t = running
    flags[back] |= FLAG_SUSPECT
    return t, flags, len(wraps), int(back.sum())


def build_fetcher_session(
    path: Path,
    t_ms: np.ndarray,
    xyz: np.ndarray,
    options: ImportOptions,
    importer: str,
    form: str,
    locate: Locate,
) -> Session:
    """One session with an accelerometer stream on the watch clock, rate measured from it.

    ``xyz`` is checked for plausibility (``locate`` says where row i is in the file).
    """
    checked = check_values(
        path, xyz, stream="accelerometer", kind="accelerometer", units="m/s^2", locate=locate
    )
    t, flags, n_wraps, n_back = repair_clock(t_ms)
    flags = checked.flags(flags)
    period_ms = median_period(t)
    rate = 1000.0 / period_ms if period_ms else None
    flags |= gap_flags(t, period_ms)
    metadata = Metadata(
        participant_id=options.participant or "",
        devices=[DeviceInfo(name="fitbit", model="Fitbit (accel-fetcher app)", placement="wrist")],
        timezone=options.timezone or "UTC",
        start_utc=None,
        provenance=provenance(importer, [path]),
        extra={
            "t0_known": "false",
            "clock": "watch sensor clock (ms), not Unix time",
            "clock_origin_ms": f"{t[0]:.0f}" if len(t) else "",
            "form": form,
        },
    )
    session = Session(metadata)
    session.add_stream(
        Stream.from_arrays(
            "accelerometer",
            (t - t[0]) / 1000.0 if len(t) else t,
            checked.values,
            ["x", "y", "z"],
            "m/s^2",
            rate_hz=round(rate, 6) if rate else None,
            flags=flags,
            kind="accelerometer",
            device="fitbit",
            attrs={"clock_origin_ms": metadata.extra["clock_origin_ms"]},
        )
    )
    warn(session, "timestamps are on the watch's sensor clock: the absolute start time is unknown")
    gaps = int((flags & FLAG_GAP_BEFORE).astype(bool).sum())
    if gaps:
        warn(session, f"{gaps} gaps longer than 1.5 sample periods (flagged, not filled)")
    if n_wraps:
        warn(session, f"removed {n_wraps} spurious +{WRAP_MS} ms timestamp jumps (old 15-bit clock artefact)")
    if checked.note:
        warn(session, checked.note)
    if n_back:
        warn(
            session,
            f"{n_back} timestamps went backwards and were clamped to the previous one (flagged as suspect)",
        )
    return session


@register
class FitbitFetcherCsvImporter(Importer):
    """The accel-fetcher companion's headerless ``timestamp,x,y,z`` CSV."""

    name = "fitbit_fetcher_csv"
    description = (
        "Fitbit accel-fetcher CSV: headerless 'timestamp,x,y,z' lines, ms on the watch clock, "
        "m/s²; rate measured from the timestamps"
    )
    patterns = ("*.csv", "*.txt", "[0-9]*")

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        lines = [ln for ln in head_text(path, 2048).splitlines()[:-1] if ln.strip()][:5]
        if not lines or not all(_LINE_RE.match(ln) for ln in lines):
            return 0.0
        ts = [int(ln.split(",")[0]) for ln in lines]
        if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
            return 0.3
        return 0.85

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        text = read_text(path)
        stamps: list[int] = []
        rows: list[tuple[float, float, float]] = []
        line_nos: list[int] = []
        for no, line in iter_lines(text.removeprefix("\ufeff")):
            if not line.strip():
                continue
            fields = line.split(",")
            if len(fields) != 4:
                raise ImportFormatError(
                    path,
                    f"{len(fields)} fields",
                    line=no,
                    expected="4 comma-separated fields: timestamp,x,y,z",
                )
            tok = fields[0].strip()
            if not (tok.isascii() and tok.isdigit()):
                raise ImportFormatError(
                    path,
                    f"timestamp {tok[:40]!r} is not an integer",
                    line=no,
                    expected="an integer timestamp in ms (watch clock)",
                )
            if int(tok) > MAX_STAMP_MS:
                raise ImportFormatError(
                    path,
                    f"timestamp {tok[:40]} is too large",
                    line=no,
                    expected=f"milliseconds of the watch clock, at most {MAX_STAMP_MS}",
                )
            vals = []
            for axis, raw in zip("xyz", fields[1:], strict=True):
                raw = raw.strip()
                try:
                    if "_" in raw:
                        raise ValueError(raw)
                    v = float(raw)
                except ValueError:
                    raise ImportFormatError(
                        path,
                        f"{axis} {raw[:40]!r} is not a number",
                        line=no,
                        expected="a decimal number (m/s²)",
                    ) from None
                if not np.isfinite(v):
                    raise ImportFormatError(
                        path, f"{axis} is {raw!r}", line=no, expected="a finite acceleration in m/s²"
                    )
                vals.append(v)
            stamps.append(int(tok))
            rows.append((vals[0], vals[1], vals[2]))
            line_nos.append(no)
        if not rows:
            raise ImportFormatError(path, "file has no samples", line=1, expected="timestamp,x,y,z lines")
        if progress:
            progress(0.7, f"{path.name}: {len(rows)} samples")
        return [
            build_fetcher_session(
                path,
                np.asarray(stamps, np.int64),
                np.asarray(rows, np.float64),
                options,
                self.name,
                "csv",
                lambda row: {"line": line_nos[row]},
            )
        ]


@register
class FitbitFetcherBinImporter(Importer):
    """The accel-fetcher watch app's binary part files (uint32 header + int16 records)."""

    name = "fitbit_fetcher_bin"
    description = (
        "Fitbit accel-fetcher binary part (files '1', '2', ...): uint32 start timestamp, then "
        "int16 [Δt ms, x·500, y·500, z·500] records"
    )
    patterns = ("[0-9]", "[0-9][0-9]", "[0-9][0-9][0-9]", "[0-9][0-9][0-9][0-9]")

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        data = head_bytes(path, 4 + 8 * 256)
        if len(data) < 12:
            return 0.0
        n = (len(data) - 4) // 8
        rec = np.frombuffer(data[4 : 4 + 8 * n], "<i2").reshape(n, 4)
        if rec[0, 0] != 0 or np.any(rec[1:, 0] < 0) or np.any(rec[1:, 0] > 5000):
            return 0.0
        if n > 1 and np.median(rec[1:, 0]) == 0:
            return 0.0
        name = path.name[:-3] if path.name.endswith(".gz") else path.name
        whole = path.name.endswith(".gz") or (path.stat().st_size - 4) % 8 == 0
        if not whole:
            return 0.0
        return 0.8 if name.isdigit() else 0.3

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        data = read_at_most(
            path, 4 + 8 * MAX_PART_RECORDS, f"a part of at most {MAX_PART_RECORDS:,} records (24 h at 100 Hz)"
        )
        if len(data) < 4:
            raise ImportFormatError(
                path,
                f"file is {len(data)} bytes long",
                offset=0,
                expected="a 4-byte uint32 start timestamp, then 8-byte records",
            )
        if (len(data) - 4) % 8:
            whole = 4 + (len(data) - 4) // 8 * 8
            raise ImportFormatError(
                path,
                f"file ends inside a record ({len(data) - whole} stray bytes)",
                offset=whole,
                expected="8-byte records after the 4-byte header",
            )
        n = (len(data) - 4) // 8
        if n == 0:
            raise ImportFormatError(
                path, "file has a header but no records", offset=4, expected="8-byte records [Δt, x, y, z]"
            )
        t0 = int(np.frombuffer(data[:4], "<u4")[0])
        rec = np.frombuffer(data[4:], "<i2").reshape(n, 4)
        if rec[0, 0] != 0:
            raise ImportFormatError(
                path,
                f"first record's Δt is {int(rec[0, 0])}",
                offset=4,
                expected="Δt = 0 for the first record of a part",
            )
        neg = np.flatnonzero(rec[:, 0] < 0)
        if len(neg):
            i = int(neg[0])
            raise ImportFormatError(
                path,
                f"record {i} has a negative Δt ({int(rec[i, 0])} ms)",
                offset=4 + 8 * i,
                expected="Δt ≥ 0 ms since the previous record",
            )
        t_ms = t0 + np.cumsum(rec[:, 0].astype(np.int64))
        xyz = rec[:, 1:].astype(np.float32) / ACCEL_SCALAR
        session = build_fetcher_session(
            path, t_ms, xyz, options, self.name, "binary part", lambda row: {"offset": 4 + 8 * row + 2}
        )
        warn(session, "values wrap (not saturate) beyond ±65.5 m/s² in this format")
        return [session]
