"""A participant's week: per-day activity minutes, the actogram's pieces and totals, with
non-wear taken out (Qt-free; the view is :mod:`harlab.gui.week_view`, the command
``harlab summary``)."""

from harlab.summary.daily_activity import (
    NONWEAR_COLOR,
    DaySummary,
    SummaryError,
    WeekSummary,
    day_bounds,
    summarise_file,
    summarise_session,
)
from harlab.summary.summary_csv import FIXED_COLUMNS, summary_rows, write_summary_csv

__all__ = [
    "FIXED_COLUMNS",
    "NONWEAR_COLOR",
    "DaySummary",
    "SummaryError",
    "WeekSummary",
    "day_bounds",
    "summarise_file",
    "summarise_session",
    "summary_rows",
    "write_summary_csv",
]
