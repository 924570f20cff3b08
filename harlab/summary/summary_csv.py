"""The week summary as CSV: one row per session and local day, then one total row per session.

Columns, in this order (minutes are decimal minutes, rounded to 0.01):

``session_id, participant, file, source, day, recorded_min, nonwear_min, worn_min,
unclassified_min``, then one ``<class>_min`` per activity class (the union over the sessions
written, in the order first met). The total row of a session has ``day`` = ``total``.
A spreadsheet or pandas reads it as is (``pd.read_csv(path)``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from harlab.core.files import atomic_open
from harlab.summary.daily_activity import WeekSummary

#: the columns before the per-class ones
FIXED_COLUMNS: tuple[str, ...] = (
    "session_id",
    "participant",
    "file",
    "source",
    "day",
    "recorded_min",
    "nonwear_min",
    "worn_min",
    "unclassified_min",
)


def class_column(name: str) -> str:
    return f"{name}_min"


def summary_rows(summaries: Sequence[WeekSummary]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of :func:`write_summary_csv`."""
    classes: list[str] = []
    for s in summaries:
        classes += [c for c in s.classes if c not in classes]
    header = [*FIXED_COLUMNS, *(class_column(c) for c in classes)]
    rows: list[list[str]] = []

    def fmt(x: float) -> str:
        return f"{x:.2f}"

    for s in summaries:
        ident = [s.session_id, s.participant, Path(s.path).name if s.path else "", s.source]
        for d in s.days:
            mins = [fmt(d.minutes.get(c, 0.0)) for c in classes]
            rows.append(
                [
                    *ident,
                    d.title,
                    fmt(d.recorded_min),
                    fmt(d.nonwear_min),
                    fmt(d.worn_min),
                    fmt(d.unclassified_min),
                    *mins,
                ]
            )
        rows.append(
            [
                *ident,
                "total",
                fmt(s.recorded_total_min),
                fmt(s.nonwear_total_min),
                fmt(s.recorded_total_min - s.nonwear_total_min),
                fmt(s.unclassified_total_min),
                *(fmt(s.totals.get(c, 0.0)) for c in classes),
            ]
        )
    return header, rows


def write_summary_csv(path: str | Path, summaries: Sequence[WeekSummary]) -> Path:
    """Write the summaries to ``path`` atomically (the old file stays whole if this fails)."""
    header, rows = summary_rows(summaries)
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return Path(path)
