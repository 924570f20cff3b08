"""Simulated annotators: label tracks derived from a session's true labels, wrong at known places.

Agreement and adjudication need sessions where people disagree, and tests need to know where.
An annotator here copies the true track with two kinds of error:

* **boundary jitter**: every boundary moves by a normal offset (``jitter_s`` standard deviation,
  clipped to three of them and to keep every segment at least ``min_segment_s`` long); a boundary
  two segments share moves as one, so an annotator's track stays as contiguous as the truth;
* **confusions**: whole segments given another class (picked from the other classes of the true
  track), at a rate or at segment indices the caller names. Different annotators never confuse the
  same segment, so every confusion is a disagreement between them.

Everything comes from one seeded generator, so a seed gives the same tracks, and the confusions
are returned (:class:`Confusion`: annotator, times, true and given label) for tests and docs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from harlab.core.labels import LabelTrack, Segment
from harlab.core.session import Session
from harlab.simulate.activity_table import SimulationError
from harlab.simulate.synthetic import synthetic_session


@dataclass(frozen=True)
class Confusion:
    """A segment an annotator labelled ``given`` where the truth is ``truth``, at ``start..end``
    of that annotator's (jittered) track; ``index`` is the segment's place in the true track."""

    annotator: str
    index: int
    start: float
    end: float
    truth: str
    given: str


@dataclass
class SimulatedAnnotators:
    """The annotators' tracks (in the order named) and every confusion they made."""

    tracks: list[LabelTrack]
    confusions: list[Confusion] = field(default_factory=list)

    def confusions_of(self, annotator: str) -> list[Confusion]:
        return [c for c in self.confusions if c.annotator == annotator]


def _jitter(
    starts: np.ndarray, ends: np.ndarray, sd: float, min_len: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct boundary moved by a clipped normal offset (a boundary two segments share is
    one boundary, so it moves once), then pushed forward where needed so that boundaries keep
    their order and each segment keeps ``min_len`` (or its own length, when shorter)."""
    if sd <= 0 or not len(starts):
        return starts.copy(), ends.copy()
    bounds = np.unique(np.concatenate([starts, ends]))
    moved = bounds + np.clip(rng.normal(0.0, sd, len(bounds)), -3 * sd, 3 * sd)
    moved = np.clip(moved, bounds[0], bounds[-1])  # nobody labels outside the labelled span
    is_seg = np.zeros(len(bounds), bool)  # is_seg[k]: bounds[k-1]..bounds[k] is a segment
    is_seg[np.searchsorted(bounds, ends)] = True
    need = np.where(is_seg, np.minimum(min_len, np.diff(bounds, prepend=bounds[0])), 0.0)
    for k in range(1, len(bounds)):
        moved[k] = max(moved[k], moved[k - 1] + need[k])
    for k in range(len(bounds) - 2, -1, -1):  # the end may have been pushed past the span: pull back
        moved[k] = min(moved[k], moved[k + 1] - need[k + 1])
    return moved[np.searchsorted(bounds, starts)], moved[np.searchsorted(bounds, ends)]


def simulate_annotators(
    truth: LabelTrack,
    names: Sequence[str] = ("A", "B"),
    *,
    jitter_s: float = 0.5,
    confusion_rate: float = 0.1,
    confused: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
    min_segment_s: float = 0.5,
) -> SimulatedAnnotators:
    """One track per name in ``names`` (track name and annotator both the name).

    ``confused`` gives, per annotator, the indices (in time order) of the true segments it
    mislabels; annotators it leaves out confuse each segment with probability
    ``confusion_rate`` instead, among segments no other annotator confused.
    """
    if len(set(names)) != len(names) or not names:
        raise SimulationError(f"annotator names must be distinct and at least one, got {list(names)}")
    if not (np.isfinite(jitter_s) and jitter_s >= 0):
        raise SimulationError(f"jitter_s must be zero or more seconds, got {jitter_s}")
    if not 0.0 <= confusion_rate <= 1.0:
        raise SimulationError(f"confusion_rate must lie in 0..1, got {confusion_rate}")
    segs = [s for s in truth if s.end > s.start]
    classes = list(dict.fromkeys(s.label for s in segs))
    n = len(segs)
    for who, idx in (confused or {}).items():
        if who not in names:
            raise SimulationError(f"confused names {who!r}, not one of the annotators {list(names)}")
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise SimulationError(f"confused[{who!r}]: segment index {bad[0]} outside 0..{n - 1}")
    if (confused or confusion_rate > 0) and len(classes) < 2 and n:
        raise SimulationError("confusions need at least two classes in the true track")
    rng = np.random.default_rng(seed)
    starts = np.array([s.start for s in segs], float)
    ends = np.array([s.end for s in segs], float)
    taken: set[int] = {i for idx in (confused or {}).values() for i in idx}
    out = SimulatedAnnotators([])
    for who in names:
        if confused is not None and who in confused:
            mine = sorted(set(confused[who]))
        else:
            free = [i for i in range(n) if i not in taken]
            mine = [i for i in free if rng.random() < confusion_rate]
            taken.update(mine)
        s, e = _jitter(starts, ends, jitter_s, min_segment_s, rng)
        track = LabelTrack(who, "exclusive", f"simulated annotator {who}", annotator=who)
        new_segs = []
        for i, seg in enumerate(segs):
            label = seg.label
            if i in mine:
                others = [c for c in classes if c != seg.label]
                label = others[int(rng.integers(len(others)))]
                out.confusions.append(Confusion(who, i, float(s[i]), float(e[i]), seg.label, label))
            new_segs.append(Segment(float(s[i]), float(e[i]), label, annotator=who, source="manual"))
        track.add_many(new_segs)
        out.tracks.append(track)
    return out


def annotated_session(
    duration_s: float = 600.0,
    names: Sequence[str] = ("A", "B"),
    *,
    jitter_s: float = 0.5,
    confusion_rate: float = 0.1,
    confused: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
    truth_track: str = "activity",
    **session_args: object,
) -> tuple[Session, SimulatedAnnotators]:
    """A :func:`~harlab.simulate.synthetic_session` with the annotators' tracks added beside its
    true track ``truth_track`` (``session_args`` go to synthetic_session)."""
    session = synthetic_session(duration_s, seed=seed, track=truth_track, **session_args)  # type: ignore[arg-type]
    sim = simulate_annotators(
        session.label_tracks[truth_track],
        names,
        jitter_s=jitter_s,
        confusion_rate=confusion_rate,
        confused=confused,
        seed=seed,
    )
    for track in sim.tracks:
        session.add_label_track(track)
    return session, sim
