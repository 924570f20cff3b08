"""Label tables: harlab's own segment CSV, and any CSV with start, end and label columns.

harlab's segment table (:mod:`harlab.exporters.segment_table`) is recognised by its header and
read exactly: ``start_s``/``end_s`` at full float precision, one track per ``track`` value, the
annotator per row. A table of several sessions keeps the rows of the session imported into
(by ``session_id``); if none match, the import is refused rather than guessing.

Any other table is read through the column spec of the generic CSV importer
(:class:`~harlab.importers._csvspec.CsvSpec`), the one description of a CSV layout: its
``time_column`` is each segment's start, ``end_column`` its end, ``labels`` maps track names to
class columns, and the time unit, origin and zone are read by the same code as a sensor CSV
(:func:`~harlab.importers.generic_csv.read_times`): seconds (or ms, us, ns), ISO 8601 clock
times (placed by the session's start), epoch numbers, or sample indices (``time_unit =
"samples"`` at ``rate_hz``, by default the session's sample rate). Without a spec the columns
are found by name (start/begin/onset, end/stop/offset, label/class/activity) in seconds.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harlab.core.errors import ImportFormatError
from harlab.core.wording import counted
from harlab.exporters.segment_table import COLUMNS as SEGMENT_COLUMNS
from harlab.importers._csvspec import CsvSpec
from harlab.importers.importer import ImportOptions
from harlab.labelfiles.label_source import (
    MAX_LABEL_FILE_BYTES,
    MAX_SEGMENTS,
    FoundTrack,
    LabelFile,
    RawSegment,
    SessionClock,
    check_counts,
    check_name,
    check_time,
)

if TYPE_CHECKING:
    from harlab.importers.generic_csv import ColumnTimes, CsvTable

START_NAMES = ("start", "start_s", "start_time", "begin", "onset", "from", "t_start", "start_sec")
END_NAMES = ("end", "end_s", "end_time", "stop", "offset", "to", "t_end", "end_sec")
LABEL_NAMES = ("label", "class", "activity", "annotation", "value", "name")


def _check_size(path: Path) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read: {exc.strerror}", expected="a readable file") from exc
    if size > MAX_LABEL_FILE_BYTES:
        raise ImportFormatError(
            path, f"{size} bytes", expected=f"a label table of at most {MAX_LABEL_FILE_BYTES} bytes"
        )


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","


def is_segment_table(columns: list[str]) -> bool:
    return list(columns[: len(SEGMENT_COLUMNS)]) == list(SEGMENT_COLUMNS)


def read_label_csv(
    path: Path, clock: SessionClock, spec: CsvSpec | None = None, session_id: str = ""
) -> LabelFile:
    _check_size(path)
    # pandas, under the generic CSV reader, loads with the first CSV read: not with the label
    # import dialog (a freeze of about 0.6 s on the GUI thread) nor for the other formats
    from harlab.importers.generic_csv import CsvTable

    base = spec or CsvSpec(delimiter=_delimiter(path))
    table = CsvTable.read(path, base)
    n = len(table.df)
    if n == 0:
        raise ImportFormatError(
            path, "header but no rows", line=table.first_line, expected="one row per segment"
        )
    if n > MAX_SEGMENTS:
        raise ImportFormatError(path, f"{n} rows", expected=f"at most {MAX_SEGMENTS}")
    if spec is None and is_segment_table(table.columns):
        return _segment_table(path, table, session_id)
    return _spec_table(path, table, _complete_spec(path, table, base), clock)


def _segment_table(path: Path, table: CsvTable, session_id: str) -> LabelFile:
    notes = []
    rows = np.arange(len(table.df))
    ids = table.strings("session_id")
    present = sorted(set(ids))
    if len(present) > 1:
        rows = rows[ids == session_id]
        if not len(rows):
            raise ImportFormatError(
                path,
                f"the table holds sessions {', '.join(present[:5])} and none is this session ({session_id!r})",
                expected="rows with this session's session_id",
            )
        notes.append(f"kept the {len(rows)} rows of session {session_id} (of {len(present)} sessions)")
    elif present and session_id and present[0] != session_id:
        notes.append(f"the table was exported from session {present[0]!r}, not this one ({session_id!r})")
    starts, _ = table.numbers("start_s", allow_empty=False)
    ends, _ = table.numbers("end_s", allow_empty=False)
    tracks: dict[str, FoundTrack] = {}
    names, labels, annotators = table.strings("track"), table.strings("class"), table.strings("annotator")
    for r in rows:
        where = f"line {table.line(int(r))}"
        tname = check_name(path, str(names[r]), "track name", where)
        t = tracks.setdefault(tname, FoundTrack(tname))
        s, e = check_time(path, float(starts[r]), where), check_time(path, float(ends[r]), where)
        label = check_name(path, str(labels[r]), "class name", where)
        who = str(annotators[r]).strip()
        t.segments.append(RawSegment(s, e, label, where, who))
    for t in tracks.values():
        people = {s.annotator for s in t.segments}
        t.annotator = people.pop() if len(people) == 1 else ""
    out = list(tracks.values())
    check_counts(path, out)
    return LabelFile(path, "csv", out, notes)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _complete_spec(path: Path, table: CsvTable, spec: CsvSpec) -> CsvSpec:
    cols = table.columns
    start = spec.time_column or _find(cols, START_NAMES)
    end = spec.end_column or _find(cols, END_NAMES)
    labels = spec.labels
    if not labels:
        col = _find(cols, LABEL_NAMES)
        labels = {"labels": col} if col else {}
    missing = [w for w, c in (("start", start), ("end", end)) if c is None] + ([] if labels else ["label"])
    if missing:
        raise ImportFormatError(
            path,
            f"no {', '.join(missing)} column among {', '.join(cols[:12])}",
            line=table.first_line - 1,
            expected="columns start, end and label (or a column spec naming them: --spec)",
        )
    for c in (start, end, *labels.values()):
        table.need(str(c), "labels")
    return replace(spec, time_column=start, end_column=end, labels=dict(labels))


def _session_seconds(path: Path, times: ColumnTimes, clock: SessionClock, col: str) -> np.ndarray:
    if times.start_utc is None:
        return times.rel
    if clock.start_utc is None:
        raise ImportFormatError(
            path,
            f"column {col!r} holds clock times ({times.how}) but the session's start time is unknown",
            expected="times in seconds from the session start",
        )
    return times.rel + (times.start_utc - clock.start_utc).total_seconds()


def _spec_table(path: Path, table: CsvTable, spec: CsvSpec, clock: SessionClock) -> LabelFile:
    from harlab.importers.generic_csv import read_times

    options = ImportOptions(timezone=clock.timezone, rate_hz=clock.rate_hz)
    assert spec.time_column is not None and spec.end_column is not None
    starts = _session_seconds(path, read_times(table, spec, options), clock, spec.time_column)
    ends = _session_seconds(
        path, read_times(table, replace(spec, time_column=spec.end_column), options), clock, spec.end_column
    )
    who_col = _find(table.columns, ("annotator", "coder", "rater"))
    who = table.strings(who_col) if who_col else None
    tracks = []
    empty = 0
    for tname, col in spec.labels.items():
        name = check_name(path, tname, "track name", "column spec")
        labels = table.strings(col)
        segs = []
        for r in range(len(table.df)):
            where = f"line {table.line(r)}"
            label = str(labels[r]).strip()
            if not label:
                empty += 1
                continue
            s, e = check_time(path, float(starts[r]), where), check_time(path, float(ends[r]), where)
            a = str(who[r]).strip() if who is not None else ""
            segs.append(RawSegment(s, e, check_name(path, label, "class name", where), where, a))
        if segs:
            annotators = {s.annotator for s in segs}
            tracks.append(FoundTrack(name, segs, annotators.pop() if len(annotators) == 1 else ""))
    notes = [f"{counted(empty, 'row')} with an empty class left out"] if empty else []
    if not tracks:
        raise ImportFormatError(path, "no row has a class", expected="a class in the label column")
    check_counts(path, tracks)
    return LabelFile(path, "csv", tracks, notes)
