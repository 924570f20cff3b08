"""Agreement of named label tracks in one session or pooled over many sessions.

:func:`compare_tracks` is everything about one session's tracks: unit statistics
(:mod:`harlab.agreement.reliability`) on a per-sample grid or per window, and event matching
(:mod:`harlab.agreement.event_match`) for every pair of tracks. :func:`compare_files` does it for
each session file and pools the units and the events of all sessions (each session's units count
once; sessions are not averaged, so a long session weighs more, as its labelled time does).

A session lacking one of the tracks is skipped and named in ``skipped``; a track found in no
session, or no session having them all, is an error, never an empty result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from harlab.agreement.event_match import EventAgreement, match_events, pool_events
from harlab.agreement.intervals import (
    AgreementError,
    Units,
    check_tracks,
    elementary_intervals,
    per_sample,
    per_window,
    pool_units,
)
from harlab.agreement.reliability import Reliability, reliability
from harlab.core.labels import LabelTrack
from harlab.core.session import Session
from harlab.core.wording import counted
from harlab.storage import open_session

#: The default grid step of per-sample agreement, seconds: label boundaries are placed by eye on
#: a screen, so finer steps change the statistics by less than their own uncertainty.
DEFAULT_STEP_S = 1.0
#: The default tolerance of event matching, seconds.
DEFAULT_TOLERANCE_S = 2.0


@dataclass
class SessionAgreement:
    """The agreement of the tracks in one session (or pooled over several: ``name`` "pooled")."""

    name: str
    tracks: tuple[str, ...]
    annotators: tuple[str, ...]  #: each track's annotator ("" = unknown)
    span: tuple[float, float]  #: seconds compared
    reliability: Reliability
    events: list[EventAgreement] = field(default_factory=list)


@dataclass
class MultiAgreement:
    """Per session and pooled; ``skipped`` names sessions left out and why."""

    pooled: SessionAgreement
    sessions: list[SessionAgreement]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def pick_tracks(session: Session, names: Sequence[str], where: str = "the session") -> list[LabelTrack]:
    """The label tracks ``names`` of ``session``; an error naming the missing ones and what exists."""
    if len(names) < 2:
        raise AgreementError(f"name at least two tracks to compare, got {len(names)}")
    missing = [n for n in names if n not in session.label_tracks]
    if missing:
        have = ", ".join(session.label_tracks) or "none"
        raise AgreementError(f"{where} has no label track {', '.join(map(repr, missing))} (it has: {have})")
    tracks = [session.label_tracks[n] for n in names]
    check_tracks(tracks)
    return tracks


def _units(
    tracks: Sequence[LabelTrack], step: float, window: float | None
) -> tuple[Units, tuple[float, float]]:
    iv = elementary_intervals(tracks)
    span = (float(iv.edges[0]), float(iv.edges[-1])) if len(iv.edges) else (0.0, 0.0)
    return (per_window(iv, window) if window is not None else per_sample(iv, step)), span


def compare_tracks(
    tracks: Sequence[LabelTrack],
    *,
    step: float = DEFAULT_STEP_S,
    window: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE_S,
    name: str = "",
) -> SessionAgreement:
    """Agreement of ``tracks`` (at least two, one session): per sample every ``step`` seconds, or
    per ``window`` when given, and events within ``tolerance`` for every pair."""
    check_tracks(tracks)
    units, span = _units(tracks, step, window)
    return SessionAgreement(
        name,
        tuple(t.name for t in tracks),
        tuple(t.annotator for t in tracks),
        span,
        reliability(units),
        [match_events(a, b, tolerance) for a, b in combinations(tracks, 2)],
    )


def compare_files(
    paths: Sequence[Path],
    names: Sequence[str],
    *,
    step: float = DEFAULT_STEP_S,
    window: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> MultiAgreement:
    """:func:`compare_tracks` on each session file (opened read-only, labels only), and pooled."""
    if not paths:
        raise AgreementError("no session files to compare")
    if len(names) < 2:
        raise AgreementError(f"name at least two tracks to compare, got {len(names)}")
    per: list[SessionAgreement] = []
    units: list[Units] = []
    events: list[list[EventAgreement]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in paths:
        with open_session(path) as sf:
            have = sf.session.label_tracks
            seen.update(n for n in names if n in have)
            missing = [n for n in names if n not in have]
            if missing:
                skipped.append((str(path), f"no track {', '.join(missing)}"))
                continue
            tracks = pick_tracks(sf.session, names, str(path))
            u, span = _units(tracks, step, window)
            pairs = [match_events(a, b, tolerance) for a, b in combinations(tracks, 2)]
            annotators = tuple(t.annotator for t in tracks)
        units.append(u)
        events.append(pairs)
        per.append(SessionAgreement(str(path), tuple(names), annotators, span, reliability(u), pairs))
    nowhere = [n for n in names if n not in seen]
    if nowhere:
        raise AgreementError(
            f"track {', '.join(map(repr, nowhere))} is in none of the {counted(len(paths), 'session file')}"
        )
    if not per:
        raise AgreementError(
            f"no session has all of the tracks {', '.join(names)} ({len(skipped)} skipped: "
            f"{skipped[0][0]}: {skipped[0][1]})"
        )
    pooled = SessionAgreement(
        "pooled",
        tuple(names),
        per[0].annotators if all(p.annotators == per[0].annotators for p in per) else ("",) * len(names),
        (0.0, sum(p.span[1] - p.span[0] for p in per)),
        reliability(pool_units(units)),
        [pool_events([e[i] for e in events]) for i in range(len(events[0]))],
    )
    return MultiAgreement(pooled, per, skipped)
