"""A participant's week: minutes of each activity per local day, with non-wear taken out.

:func:`summarise_file` is a pure function of a session file's path (it opens the file
read-only and returns a picklable :class:`WeekSummary`), so a cohort engine can run it on
any worker; :func:`summarise_session` does the same for a session in memory (the workbench).

What is counted, and why:

* **Activity** comes from a prediction track's smoothed segments (the first, or the one
  named), or, when the session has no prediction, from a label track: a reviewer of
  predicted timelines wants the model's week, a labeller their own.
* **Days** are calendar days in the session's timezone (``/metadata@timezone``): a day runs
  from local midnight to the next, so a day with a daylight-saving change is 23 or 25 h long,
  as the participant lived it. A session without a start time has "days" of 24 h from its start.
* **Non-wear** (the stored quality track, else :func:`harlab.signal.nonwear.detect_nonwear`
  run now) is subtracted from every activity: a device on a table is not "sitting".
* **Recorded** time is the span of the streams; what is recorded, worn and not covered by a
  segment is *unclassified*, so per day ``sum(activities) + unclassified + nonwear == recorded``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.labels import Segment
from harlab.core.quality_tracks import QualityTrack
from harlab.core.session import Session
from harlab.signal.nonwear import session_nonwear
from harlab.storage import open_session

#: the colour of non-wear in every view (a mid grey that no class colour of the palette uses)
NONWEAR_COLOR = "#9e9e9e"
#: the longest session summarised (a year: a guard against a corrupt time axis, not a real limit)
MAX_DAYS = 366


class SummaryError(HarlabError):
    """The session cannot be summarised (no activity track of the name asked for, absurd span)."""


@dataclass
class DaySummary:
    """One local calendar day."""

    day: date | None  #: the local date; None when the session has no start time
    index: int  #: 0 for the first day
    start_s: float  #: session seconds of the day's local midnight
    end_s: float  #: session seconds of the next local midnight
    recorded_min: float
    nonwear_min: float
    minutes: dict[str, float]  #: worn minutes per class
    unclassified_min: float
    #: a daylight-saving change inside the day: when (session seconds) and by how many hours the
    #: clock moved (+1 in spring, -1 in autumn); None and 0 on an ordinary day
    clock_change_s: float | None = None
    clock_shift_h: float = 0.0

    @property
    def title(self) -> str:
        return self.day.isoformat() if self.day is not None else f"day {self.index + 1}"

    @property
    def worn_min(self) -> float:
        return self.recorded_min - self.nonwear_min


@dataclass
class WeekSummary:
    """Everything the summary view and the exports show for one session."""

    path: str
    session_id: str
    participant: str
    timezone: str
    source: str  #: "prediction NAME", "labels NAME" or "none"
    classes: list[str]
    colors: dict[str, str]
    days: list[DaySummary]
    seg_start: np.ndarray  #: activity pieces (session seconds), one day at most each
    seg_end: np.ndarray
    seg_class: np.ndarray  #: int index into ``classes``
    nonwear_start: np.ndarray
    nonwear_end: np.ndarray
    nonwear_method: str = ""
    local_start: datetime | None = None  #: the session start in its timezone
    totals: dict[str, float] = field(default_factory=dict)  #: minutes per class over all days

    @property
    def nonwear_total_min(self) -> float:
        return float(sum(d.nonwear_min for d in self.days))

    @property
    def recorded_total_min(self) -> float:
        return float(sum(d.recorded_min for d in self.days))

    @property
    def unclassified_total_min(self) -> float:
        return float(sum(d.unclassified_min for d in self.days))

    def clock_hours(self, day_index: int, t: np.ndarray) -> np.ndarray:
        """The local clock time (hours after midnight, 0..24) of session times ``t`` in a day:
        what the actogram's x axis shows, so a 25-h autumn day draws its repeated hour twice
        and a 23-h spring day leaves its missing hour blank, as a wall clock would."""
        d = self.days[day_index]
        h = (np.asarray(t, dtype=np.float64) - d.start_s) / 3600.0
        if d.clock_change_s is not None:
            h = np.where(np.asarray(t) >= d.clock_change_s, h + d.clock_shift_h, h)
        return np.clip(h, 0.0, 24.0)

    def time_at(self, day_index: int, hour: float) -> float:
        """Session seconds when the local clock shows ``hour`` (0..24) on a day (the first time,
        on a day whose clock went back)."""
        d = self.days[day_index]
        t = d.start_s + hour * 3600.0
        if d.clock_change_s is not None and t >= d.clock_change_s:
            t = max(d.clock_change_s, d.start_s + (hour - d.clock_shift_h) * 3600.0)
        return float(min(d.end_s, t))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_bounds(
    start_utc: datetime | None, timezone: str, t0: float, t1: float
) -> list[tuple[date | None, float, float]]:
    """The local calendar days that ``[t0, t1]`` (session seconds) touches, as (date, start, end)
    in session seconds of their midnights; days of 24 h from ``t0`` when the start is unknown."""
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
        raise SummaryError(f"the session's time span {t0}..{t1} s is not a span")
    if (t1 - t0) > MAX_DAYS * 86400:
        raise SummaryError(
            f"the session spans {(t1 - t0) / 86400:.0f} days; a summary covers at most {MAX_DAYS}"
        )
    if start_utc is None:
        n = max(1, int(np.ceil((t1 - t0) / 86400.0 - 1e-12)))
        return [(None, t0 + 86400.0 * i, t0 + 86400.0 * (i + 1)) for i in range(n)]
    zone = _zone(timezone)
    first = (start_utc + timedelta(seconds=t0)).astimezone(zone).date()
    last = (start_utc + timedelta(seconds=t1)).astimezone(zone).date()

    def midnight(d: date) -> float:
        local = datetime.combine(d, time(0), tzinfo=zone)
        return (local - start_utc).total_seconds()

    out: list[tuple[date | None, float, float]] = []
    d = first
    while d <= last:
        nxt = d + timedelta(days=1)
        out.append((d, midnight(d), midnight(nxt)))
        d = nxt
    return out


def clock_change(
    start_utc: datetime | None, timezone: str, t0: float, t1: float
) -> tuple[float | None, float]:
    """The moment in ``[t0, t1)`` (session seconds) the zone's UTC offset changes and by how many
    hours, found by bisection to the millisecond; (None, 0) when it does not change."""
    if start_utc is None:
        return None, 0.0
    zone = _zone(timezone)

    def offset(t: float) -> float:
        off = (start_utc + timedelta(seconds=t)).astimezone(zone).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    a, b = t0, t1 - 1e-3
    before, after = offset(a), offset(b)
    if before == after:
        return None, 0.0
    while b - a > 1e-3:
        m = (a + b) / 2
        if offset(m) == before:
            a = m
        else:
            b = m
    return round(b, 3), (after - before) / 3600.0


def _covered_before(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Seconds of the sorted, disjoint spans lying before each ``t``."""
    if not len(start):
        return np.zeros(len(t))
    cum = np.concatenate([[0.0], np.cumsum(end - start)])
    i = np.searchsorted(start, t, side="right")
    out = cum[i]
    last = i - 1
    inside = (last >= 0) & (t < end[np.maximum(last, 0)])
    out[inside] -= end[last[inside]] - t[inside]
    return out


def _activity(
    session: Session, prediction: str | None, labels: str | None
) -> tuple[str, list[Segment], list[str]]:
    """(source description, segments, class names in schema order) of the counted activity."""
    if prediction is not None and prediction not in session.prediction_tracks:
        have = ", ".join(session.prediction_tracks) or "none"
        raise SummaryError(f"the session has no prediction track {prediction!r} (tracks: {have})")
    if labels is not None and labels not in session.label_tracks:
        have = ", ".join(session.label_tracks) or "none"
        raise SummaryError(f"the session has no label track {labels!r} (tracks: {have})")
    if labels is None and (prediction is not None or session.prediction_tracks):
        name = prediction or next(iter(session.prediction_tracks))
        track = session.prediction_tracks[name]
        return f"prediction {name}", list(track.segments), list(track.classes)
    if labels is not None or session.label_tracks:
        name = labels or next(iter(session.label_tracks))
        segs = list(session.label_tracks[name])
        used = {s.label for s in segs}
        return f"labels {name}", segs, [c for c in session.schema.names if c in used]
    return "none", [], []


def summarise_session(
    session: Session,
    path: str = "",
    prediction: str | None = None,
    labels: str | None = None,
    nonwear: QualityTrack | None = None,
) -> WeekSummary:
    """The week of ``session`` (see the module docstring for what is counted); ``nonwear``
    replaces the session's own (the workbench passes one it detected and has not stored)."""
    md = session.metadata
    t_lo, t_hi = session.time_bounds()
    if session.streams:
        # a regular stream's last sample covers one period: 4 h at 10 Hz is 240 min, not 239.998
        bounds = [
            (s.time_bounds()[0], s.time_bounds()[1] + (1.0 / s.rate_hz if s.rate_hz else 0.0))
            for s in session.streams.values()
            if s.n_samples
        ]
        if bounds:
            t_lo, t_hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    source, segments, classes = _activity(session, prediction, labels)
    for s in segments:
        if s.label not in classes:
            classes.append(s.label)
    code = {c: i for i, c in enumerate(classes)}
    colors = {c: session.schema.color(c) for c in classes}
    if nonwear is None:
        nonwear = session_nonwear(session)
    nw_s = nonwear.start if nonwear is not None else np.zeros(0)
    nw_e = nonwear.end if nonwear is not None else np.zeros(0)
    days = day_bounds(md.start_utc, md.timezone, t_lo, t_hi)

    seg_s = np.array([s.start for s in segments], dtype=np.float64)
    seg_e = np.array([s.end for s in segments], dtype=np.float64)
    seg_c = np.array([code[s.label] for s in segments], dtype=np.int64)
    keep = seg_e > seg_s
    seg_s, seg_e, seg_c = seg_s[keep], seg_e[keep], seg_c[keep]
    # pieces: each segment cut at the day boundaries and at the recording's bounds
    cuts = np.array([b[1] for b in days[1:]], dtype=np.float64)
    p_s, p_e, p_c = [], [], []
    for a, b, c in zip(seg_s, seg_e, seg_c, strict=True):
        a, b = max(a, t_lo), min(b, t_hi)
        if b <= a:
            continue
        inner = cuts[(cuts > a) & (cuts < b)]
        edges = np.concatenate([[a], inner, [b]])
        p_s.append(edges[:-1])
        p_e.append(edges[1:])
        p_c.append(np.full(len(edges) - 1, c))
    ps = np.concatenate(p_s) if p_s else np.zeros(0)
    pe = np.concatenate(p_e) if p_e else np.zeros(0)
    pc = np.concatenate(p_c) if p_c else np.zeros(0, np.int64)
    worn = (pe - ps) - (_covered_before(nw_s, nw_e, pe) - _covered_before(nw_s, nw_e, ps))
    day_of = np.searchsorted(cuts, ps, side="right")

    out_days: list[DaySummary] = []
    for i, (d, d0, d1) in enumerate(days):
        r0, r1 = max(d0, t_lo), min(d1, t_hi)
        rec = max(0.0, r1 - r0)
        nw = 0.0
        if rec > 0:
            nw = float(np.diff(_covered_before(nw_s, nw_e, np.array([r0, r1])))[0])
        mins = {c: 0.0 for c in classes}
        here = day_of == i
        for k, w in zip(pc[here], worn[here], strict=True):
            mins[classes[int(k)]] += float(w) / 60.0
        counted = sum(mins.values())
        change, shift = clock_change(md.start_utc, md.timezone, d0, d1)
        out_days.append(
            DaySummary(
                day=d,
                index=i,
                start_s=d0,
                end_s=d1,
                recorded_min=rec / 60.0,
                nonwear_min=nw / 60.0,
                minutes=mins,
                unclassified_min=max(0.0, (rec - nw) / 60.0 - counted),
                clock_change_s=change,
                clock_shift_h=shift,
            )
        )
    totals = {c: float(sum(d.minutes[c] for d in out_days)) for c in classes}
    return WeekSummary(
        path=str(path),
        session_id=md.session_id,
        participant=md.participant_id,
        timezone=md.timezone,
        source=source,
        classes=classes,
        colors=colors,
        days=out_days,
        seg_start=ps,
        seg_end=pe,
        seg_class=pc,
        nonwear_start=np.asarray(nw_s, dtype=np.float64),
        nonwear_end=np.asarray(nw_e, dtype=np.float64),
        nonwear_method=nonwear.method if nonwear is not None else "",
        local_start=md.start_utc.astimezone(_zone(md.timezone)) if md.start_utc is not None else None,
        totals=totals,
    )


def summarise_file(path: str | Path, prediction: str | None = None, labels: str | None = None) -> WeekSummary:
    """The week of the session file at ``path``, opened read-only (a pure function of the file,
    for running on a cohort engine's workers)."""
    with open_session(path) as sf:
        return summarise_session(sf.session, str(path), prediction, labels)
