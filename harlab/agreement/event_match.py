"""Event-level agreement: do two annotators mark the same segments, and how far apart are the boundaries?

Per-sample agreement hides what an adjudicator sees: one walk split in two, a boundary a second
late. Here each segment is an event. A segment of the first track and one of the second *match*
when both their starts and both their ends lie within ``tolerance`` seconds of each other (and,
by default, they carry the same label). Matching is one-to-one: candidate pairs are taken in order
of their total boundary offset, smallest first, each segment used at most once (greedy on a
sorted list: deterministic, and optimal whenever a segment has a single candidate, which a
tolerance shorter than half the shortest segment guarantees).

With the first track as the reference, recall is the share of its segments matched and precision
the share of the second's; F1 their harmonic mean. Boundary offsets (second minus first, seconds)
of the matched pairs give the mean, median and 95th percentile of ``|offset|`` over both
boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harlab.agreement.intervals import AgreementError
from harlab.core.labels import LabelTrack

#: Comparing floats read back from files: a boundary exactly ``tolerance`` away matches.
_EPS = 1e-9


@dataclass(frozen=True)
class EventAgreement:
    """Segments of ``second`` matched against the reference ``first``."""

    first: str
    second: str
    tolerance: float
    n_first: int
    n_second: int
    matched: int
    #: signed offsets (second - first) of the matched pairs' starts and ends, seconds
    start_offsets: np.ndarray
    end_offsets: np.ndarray

    @property
    def recall(self) -> float | None:
        return self.matched / self.n_first if self.n_first else None

    @property
    def precision(self) -> float | None:
        return self.matched / self.n_second if self.n_second else None

    @property
    def f1(self) -> float | None:
        total = self.n_first + self.n_second
        return 2 * self.matched / total if total else None

    def offset_stats(self) -> dict[str, float | None]:
        """Mean, median and 95th percentile of |offset| over both boundaries of the matched pairs."""
        return offset_stats(np.concatenate([self.start_offsets, self.end_offsets]))


def offset_stats(offsets: np.ndarray) -> dict[str, float | None]:
    a = np.abs(np.asarray(offsets, float))
    if not len(a):
        return {"mean": None, "median": None, "p95": None}
    return {"mean": float(a.mean()), "median": float(np.median(a)), "p95": float(np.percentile(a, 95))}


def _segments(track: LabelTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    segs = list(track)
    return (
        np.array([s.start for s in segs], float),
        np.array([s.end for s in segs], float),
        np.array([s.label for s in segs], object),
    )


def match_events(
    first: LabelTrack, second: LabelTrack, tolerance: float = 1.0, *, same_label: bool = True
) -> EventAgreement:
    """Match the segments of ``second`` to those of ``first`` within ``tolerance`` seconds."""
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise AgreementError(f"the tolerance must be zero or more seconds, got {tolerance}")
    s1, e1, l1 = _segments(first)
    s2, e2, l2 = _segments(second)
    # candidates: for each segment of first, the segments of second whose start is within tolerance
    lo = np.searchsorted(s2, s1 - tolerance - _EPS, side="left")
    hi = np.searchsorted(s2, s1 + tolerance + _EPS, side="right")
    cand: list[tuple[float, int, int]] = []
    for i in range(len(s1)):
        for j in range(int(lo[i]), int(hi[i])):
            ds, de = abs(s2[j] - s1[i]), abs(e2[j] - e1[i])
            if de <= tolerance + _EPS and (not same_label or l1[i] == l2[j]):
                cand.append((ds + de, i, j))
    cand.sort()
    used1: set[int] = set()
    used2: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in cand:
        if i not in used1 and j not in used2:
            used1.add(i)
            used2.add(j)
            pairs.append((i, j))
    pairs.sort()
    ii = np.array([p[0] for p in pairs], np.int64)
    jj = np.array([p[1] for p in pairs], np.int64)
    return EventAgreement(
        first.name,
        second.name,
        float(tolerance),
        len(s1),
        len(s2),
        len(pairs),
        s2[jj] - s1[ii] if len(pairs) else np.zeros(0),
        e2[jj] - e1[ii] if len(pairs) else np.zeros(0),
    )


def pool_events(parts: list[EventAgreement]) -> EventAgreement:
    """Several sessions' matches of the same pair of tracks as one (counts and offsets summed)."""
    if not parts:
        raise AgreementError("no event matches to pool")
    p0 = parts[0]
    return EventAgreement(
        p0.first,
        p0.second,
        p0.tolerance,
        sum(p.n_first for p in parts),
        sum(p.n_second for p in parts),
        sum(p.matched for p in parts),
        np.concatenate([p.start_offsets for p in parts]),
        np.concatenate([p.end_offsets for p in parts]),
    )
