"""One adjudicated track from several annotators' tracks, and the list of what is left to decide.

:func:`consensus` walks the elementary intervals (:mod:`harlab.agreement.intervals`) and applies
a rule on each:

* ``unanimous``: a label every track gives there;
* ``majority``: the value (a class, or no label) that more than half of the tracks give; with two
  tracks this is the same as unanimous;
* ``annotator:NAME``: the label of the track whose name (or annotator) is NAME wherever that
  track has one; elsewhere the majority of the others.

Where the rule settles nothing, the consensus track has no label and the interval becomes a
:class:`Disagreement` on the to-do list: plain data (times and each track's label), so an
adjudicator walks it and an undoable command (``harlab.labeling.commands``) records each decision
without this module knowing about commands. Neighbouring intervals with the same outcome merge, so
the to-do list names one span per disagreement, not one per boundary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harlab.agreement.intervals import MISSING, AgreementError, Intervals, check_tracks, elementary_intervals
from harlab.core.labels import LabelTrack, Segment

RULES = ("unanimous", "majority", "annotator:NAME")
#: The annotator recorded on a consensus track and its segments unless the caller names one.
CONSENSUS_ANNOTATOR = "consensus"


@dataclass(frozen=True)
class Disagreement:
    """A span where the rule chose no label: each track's label there (None = that track has none)."""

    start: float
    end: float
    labels: tuple[tuple[str, str | None], ...]  #: (track name, label) in the order tracks were given

    @property
    def duration(self) -> float:
        return self.end - self.start

    def label_of(self, track: str) -> str | None:
        """The label ``track`` gives here; KeyError for a track not compared."""
        for name, label in self.labels:
            if name == track:
                return label
        raise KeyError(track)

    @property
    def choices(self) -> list[str]:
        """The distinct labels proposed, in track order (what an adjudicator picks from)."""
        return list(dict.fromkeys(lab for _, lab in self.labels if lab is not None))

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "labels": dict(self.labels)}


@dataclass(frozen=True)
class ConsensusRule:
    """A parsed rule: ``kind`` is "unanimous", "majority" or "annotator" (then ``annotator`` is set)."""

    kind: str
    annotator: str = ""

    def __str__(self) -> str:
        return f"annotator:{self.annotator}" if self.kind == "annotator" else self.kind


@dataclass
class ConsensusResult:
    """The consensus track (an ordinary label track) and the disagreements left to decide."""

    track: LabelTrack
    todo: list[Disagreement]
    rule: ConsensusRule
    #: seconds the rule settled and seconds left to decide
    decided_s: float = 0.0
    open_s: float = 0.0


def parse_rule(rule: str | ConsensusRule) -> ConsensusRule:
    """``"unanimous"``, ``"majority"`` or ``"annotator:NAME"`` as a :class:`ConsensusRule`."""
    if isinstance(rule, ConsensusRule):
        return rule
    text = rule.strip()
    if text in ("unanimous", "majority"):
        return ConsensusRule(text)
    if text.startswith("annotator:") and text[len("annotator:") :].strip():
        return ConsensusRule("annotator", text[len("annotator:") :].strip())
    raise AgreementError(f"unknown consensus rule {rule!r}; one of {', '.join(RULES)}")


def _winner_column(tracks: Sequence[LabelTrack], name: str) -> int:
    """The track a rule ``annotator:NAME`` means: by track name first, then by annotator."""
    for i, t in enumerate(tracks):
        if t.name == name:
            return i
    hits = [i for i, t in enumerate(tracks) if t.annotator and t.annotator == name]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise AgreementError(f"annotator {name!r} made {len(hits)} of the tracks: name the track instead")
    known = ", ".join(f"{t.name} ({t.annotator})" if t.annotator else t.name for t in tracks)
    raise AgreementError(f"no track or annotator {name!r} among {known}")


def _majority(row: np.ndarray) -> tuple[int, bool]:
    """(value, settled): the value more than half of ``row`` holds (MISSING counts as a value)."""
    (value, count), *_ = Counter(row.tolist()).most_common(1)
    return int(value), count * 2 > len(row)


def decide(codes: np.ndarray, rule: ConsensusRule, winner: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Per interval: the consensus code and whether it is settled (the rule applied to each row)."""
    n = len(codes)
    out = np.full(n, MISSING, np.int64)
    settled = np.zeros(n, bool)
    for i, row in enumerate(codes):
        if (row == row[0]).all():
            out[i], settled[i] = row[0], True
        elif rule.kind == "unanimous":
            continue
        elif rule.kind == "annotator" and row[winner] != MISSING:
            out[i], settled[i] = row[winner], True
        else:
            others = np.delete(row, winner) if rule.kind == "annotator" else row
            value, ok = _majority(others)
            if ok:
                out[i], settled[i] = value, True
    return out, settled


def consensus(
    tracks: Sequence[LabelTrack],
    rule: str | ConsensusRule = "majority",
    *,
    name: str = "consensus",
    annotator: str = CONSENSUS_ANNOTATOR,
    boundary_s: float = 0.0,
    t0: float | None = None,
    t1: float | None = None,
) -> ConsensusResult:
    """The consensus of ``tracks`` under ``rule`` as a new exclusive track named ``name``.

    Settled intervals with the same label merge into one segment (source "manual": a person's
    rule made it, annotator ``annotator``); unsettled ones merge into :class:`Disagreement` items
    in time order. Intervals where every track is unlabelled are neither.

    ``boundary_s`` settles boundary jitter: an unsettled stretch at most that long in which every
    track says what it says just before or just after it is a disagreement about where a
    boundary lies, not about what happened: it is split at its middle (:func:`_settle_boundaries`).
    """
    check_tracks(tracks)
    parsed = parse_rule(rule)
    if not (np.isfinite(boundary_s) and boundary_s >= 0):
        raise AgreementError(f"boundary_s must be zero or more seconds, got {boundary_s}")
    winner = _winner_column(tracks, parsed.annotator) if parsed.kind == "annotator" else -1
    iv = elementary_intervals(tracks, t0, t1)
    chosen, settled = decide(iv.codes, parsed, winner)
    edges = iv.edges
    if boundary_s > 0:
        edges, chosen, settled, codes = _settle_boundaries(iv, chosen, settled, boundary_s)
        iv = Intervals(edges, codes, iv.classes, iv.tracks)
    out = LabelTrack(
        name,
        "exclusive",
        f"consensus ({parsed}) of {', '.join(t.name for t in tracks)}",
        annotator=annotator,
    )
    segments = [
        Segment(a, b, iv.classes[c], annotator=annotator, source="manual")
        for a, b, c in _runs(iv, chosen, settled & (chosen != MISSING))
    ]
    out.add_many(segments)
    todo = disagreements(iv, ~settled)
    decided = float(iv.durations[settled & (chosen != MISSING)].sum())
    return ConsensusResult(out, todo, parsed, decided, float(sum(d.duration for d in todo)))


def _settle_boundaries(
    iv: Intervals, chosen: np.ndarray, settled: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each short unsettled stretch that only boundary jitter made at its middle.

    A stretch is jitter when it lasts at most ``limit`` seconds and every track's label in it is
    that track's label just before or just after it: nobody saw anything else there, they only
    placed a boundary differently. Its first half joins what comes before (a settled label, or
    the disagreement going on there), its second half what comes after. One pass, left to right;
    neighbours with the same outcome merge as it goes, so a boundary three annotators placed at
    three times settles once its pieces have merged.
    """
    pieces: list[list[Any]] = []  # [start, end, chosen, settled, row]
    for i in range(len(iv)):
        p: list[Any] = [
            float(iv.edges[i]),
            float(iv.edges[i + 1]),
            int(chosen[i]),
            bool(settled[i]),
            tuple(iv.codes[i]),
        ]
        if pieces and pieces[-1][2:] == p[2:]:
            pieces[-1][1] = p[1]
        else:
            pieces.append(p)
    out: list[list[Any]] = []
    for i, p in enumerate(pieces):
        nxt = pieces[i + 1] if i + 1 < len(pieces) else None
        if (
            not p[3]
            and p[1] - p[0] <= limit
            and out
            and nxt is not None
            and all(x in (lft, rgt) for x, lft, rgt in zip(p[4], out[-1][4], nxt[4], strict=True))
        ):
            mid = (p[0] + p[1]) / 2
            out[-1][1] = mid
            nxt[0] = mid
            continue
        if out and out[-1][2:] == p[2:]:
            out[-1][1] = p[1]
        else:
            out.append(p)
    if not out:
        return iv.edges, chosen, settled, iv.codes
    return (
        np.array([q[0] for q in out] + [out[-1][1]], float),
        np.array([q[2] for q in out], np.int64),
        np.array([q[3] for q in out], bool),
        np.array([q[4] for q in out], np.int64).reshape(len(out), iv.codes.shape[1]),
    )


def _runs(iv: Intervals, values: np.ndarray, keep: np.ndarray) -> list[tuple[float, float, int]]:
    """Maximal runs of neighbouring kept intervals with equal values: (start, end, value)."""
    runs: list[tuple[float, float, int]] = []
    for i in np.flatnonzero(keep):
        a, b, v = float(iv.edges[i]), float(iv.edges[i + 1]), int(values[i])
        if runs and runs[-1][1] == a and runs[-1][2] == v:
            runs[-1] = (runs[-1][0], b, v)
        else:
            runs.append((a, b, v))
    return runs


def disagreements(iv: Intervals, open_: np.ndarray) -> list[Disagreement]:
    """The intervals flagged ``open_``, neighbours with the same labels merged, as to-do items."""
    items: list[Disagreement] = []
    prev_row: tuple[int, ...] | None = None
    for i in np.flatnonzero(open_):
        a, b = float(iv.edges[i]), float(iv.edges[i + 1])
        row = tuple(int(x) for x in iv.codes[i])
        if items and prev_row == row and items[-1].end == a:
            items[-1] = Disagreement(items[-1].start, b, items[-1].labels)
        else:
            labels = tuple((t, iv.label(c)) for t, c in zip(iv.tracks, row, strict=True))
            items.append(Disagreement(a, b, labels))
        prev_row = row
    return items
