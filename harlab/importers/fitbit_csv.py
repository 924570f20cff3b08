"""The seed's CSV recordings: ``ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ``.

These are what the seed's scoring service stored for each watch ``.bin`` upload
(one CSV = one recording, LF line endings) and the notebook's concatenation of all
of them (the training CSV, CRLF). There is no time column and the name carries
the *upload* time, so samples are placed at 10 Hz from an unknown start
(``metadata.start_utc`` is None). See ``shared/reference/fitbit-formats.md`` §2.5-2.7.

Splitting: the concatenation joins recordings with no boundary marker, so the only
visible boundary is a change of ActivityID. A single watch recording auto-stops at
60 s (at most about 600 rows) and may contain several codes (the activity can be
changed while recording), so the default ``split="auto"`` keeps a file of at most
one recording's length as one session with label segments, and cuts a longer file
into one session per run of equal ActivityID. ``ImportOptions.extra["split"]``
may force ``"runs"`` or ``"none"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harlab.core.errors import HarlabError, ImportFormatError
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.session import Session
from harlab.importers.fitbit_bin import (
    ACTIVITIES,
    SEED_RATE_HZ,
    build_seed_session,
    check_seed_values,
    code_runs,
)
from harlab.importers.import_support import provenance, read_text
from harlab.importers.importer import (
    Importer,
    ImportOptions,
    ProgressCallback,
    head_text,
    iter_lines,
    register,
    warn,
)

HEADER = "ActivityID,AccelX,AccelY,AccelZ,GyroX,GyroY,GyroZ"
COLUMNS = HEADER.split(",")
#: Rows one watch recording can hold: 60 one-second batches plus one of slack.
MAX_RECORDING_ROWS = 610
SPLIT_MODES = ("auto", "runs", "none")


def parse_seed_rows(path: Path, text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Validate the whole file; return (codes (N,) uint8, values (N, 6) float64, line of each row).

    Every problem raises :class:`ImportFormatError` with its line number.
    """
    lines = iter_lines(text.removeprefix("\ufeff"))
    first = next(lines, None)
    if first is None or not first[1].strip():
        raise ImportFormatError(path, "file is empty", line=1, expected=f"the header {HEADER!r}")
    if first[1].strip() != HEADER:
        raise ImportFormatError(
            path, f"unexpected header {first[1][:80]!r}", line=1, expected=f"exactly {HEADER!r}"
        )
    codes: list[int] = []
    rows: list[list[float]] = []
    line_nos: list[int] = []
    blank_at: int | None = None
    for no, line in lines:
        if not line.strip():
            blank_at = blank_at or no
            continue
        if blank_at is not None:
            raise ImportFormatError(
                path,
                "blank line inside the data",
                line=blank_at,
                expected="one row per line up to the end of the file",
            )
        fields = line.split(",")
        if len(fields) != 7:
            raise ImportFormatError(
                path, f"{len(fields)} fields", line=no, expected="7 comma-separated fields (" + HEADER + ")"
            )
        raw = fields[0].strip()
        if not (raw.isascii() and raw.isdigit()):
            raise ImportFormatError(
                path, f"ActivityID {raw!r} is not an integer", line=no, expected="an activity code 0-9"
            )
        code = int(raw)
        if code > 9:
            raise ImportFormatError(
                path,
                f"unknown activity code {code}",
                line=no,
                expected="an activity code 0-9 (Walking ... Situp)",
            )
        row: list[float] = []
        for col, tok in zip(COLUMNS[1:], fields[1:], strict=True):
            try:
                if "_" in tok:
                    raise ValueError(tok)
                v = float(tok)
            except ValueError:
                raise ImportFormatError(
                    path, f"{col} {tok.strip()[:40]!r} is not a number", line=no, expected="a decimal number"
                ) from None
            if not np.isfinite(v):
                raise ImportFormatError(
                    path, f"{col} is {tok.strip()!r}", line=no, expected="a finite sensor value"
                )
            row.append(v)
        codes.append(code)
        rows.append(row)
        line_nos.append(no)
    if not rows:
        raise ImportFormatError(
            path, "no data rows after the header", line=2, expected="rows of ActivityID and six sensor values"
        )
    return np.asarray(codes, np.uint8), np.asarray(rows, np.float64).reshape(-1, 6), line_nos


@register
class FitbitSeedCsvImporter(Importer):
    """The seed's per-recording and concatenated training CSVs (no time column)."""

    name = "fitbit_csv"
    description = (
        "Seed Fitbit CSV 'ActivityID,AccelX,...,GyroZ' (no time column: 10 Hz from an unknown start); "
        "a concatenated file is split into one session per run of equal ActivityID"
    )
    patterns = ("*.csv",)

    def sniff(self, path: Path) -> float:
        if path.is_dir():
            return 0.0
        first = head_text(path, 256).removeprefix("\ufeff").splitlines()
        if first and first[0].strip() == HEADER:
            return 0.95
        return 0.0

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        split = str(options.extra.get("split", "auto"))
        if split not in SPLIT_MODES:
            raise HarlabError(f"split={split!r} is not one of {', '.join(SPLIT_MODES)}")
        codes, raw, line_nos = parse_seed_rows(path, read_text(path))
        values, suspect, notes = check_seed_values(path, raw, lambda row, _col: {"line": line_nos[row]})
        if progress:
            progress(0.7, f"{path.name}: {len(codes)} rows")
        rate = float(options.rate_hz or SEED_RATE_HZ)
        runs = code_runs(codes)
        if split == "runs" or (split == "auto" and len(codes) > MAX_RECORDING_ROWS and len(runs) > 1):
            parts = [(s, e) for _, s, e in runs]
        else:
            parts = [(0, len(codes))]
        sessions = []
        for k, (s, e) in enumerate(parts, start=1):
            metadata = Metadata(
                participant_id=options.participant or "",
                devices=[
                    DeviceInfo(name="fitbit", model="Fitbit Versa (Activity Recorder app)", placement="wrist")
                ],
                timezone=options.timezone or "UTC",
                start_utc=None,
                provenance=provenance(self.name, [path]),
                extra={
                    "fs_nominal": f"{rate:g}",
                    "t0_known": "false",
                    "source_rows": f"{s + 2}-{e + 1}",  # file lines (header is line 1)
                },
            )
            if len(parts) > 1:
                metadata.extra["import_part"] = f"run{k:02d}_{ACTIVITIES[int(codes[s])]}"
                metadata.notes = (
                    f"run {k} of {len(parts)} in {path.name} "
                    f"(lines {s + 2}-{e + 1}, ActivityID {int(codes[s])})"
                )
            part_notes = notes if len(parts) == 1 or suspect[s:e].any() else []
            session = build_seed_session(
                values[s:e],
                codes[s:e],
                rate_hz=rate,
                metadata=metadata,
                annotator="Activity Recorder (watch)",
                suspect=suspect[s:e],
                notes=part_notes,
            )
            warn(
                session,
                f"no time column: samples placed at {rate:g} Hz from an unknown start "
                "(start time recorded as unknown)",
            )
            if len(parts) > 1:
                warn(
                    session,
                    "this file concatenates recordings with no boundary marker; it was cut where "
                    "ActivityID changes, so back-to-back recordings of one activity stay joined",
                )
            sessions.append(session)
        return sessions
