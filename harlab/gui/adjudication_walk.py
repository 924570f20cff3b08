"""The adjudicator's walk through a consensus' to-do list.

The consensus core (:func:`harlab.agreement.consensus`) settles what its rule can and leaves
the rest as a to-do list of spans where the annotators disagree; the consensus track is an
ordinary label track of the session with those spans left unlabelled. The walk only keeps
the list and a position in it. Whether an item is decided is read from the consensus track
itself (its span is fully labelled), never stored beside it: every decision is an undoable
command on the document's history (taking one annotator's labels there,
:class:`~harlab.labeling.commands.CopyLabels`, or drawing a new label with a class key,
:class:`~harlab.labeling.commands.LabelRange`), so undo and redo move the progress with them
and a crash-journal replay restores it.
"""

from __future__ import annotations

from harlab.agreement.consensus import Disagreement
from harlab.core.session import Session

#: Unlabelled time shorter than this inside an item does not keep it open (float rounding of
#: boundaries copied from another track).
OPEN_EPS_S = 1e-6


class AdjudicationWalk:
    """A position in the to-do list of the consensus track ``target`` built from ``sources``."""

    def __init__(
        self, session: Session, target: str, sources: list[str], items: list[Disagreement], rule: str
    ) -> None:
        self.session = session
        self.target = target
        self.sources = list(sources)
        self.items = sorted(items, key=lambda it: (it.start, it.end))
        self.rule = rule
        self.index = -1  #: the item shown (-1 before the first step)

    def __len__(self) -> int:
        return len(self.items)

    def decided(self, i: int) -> bool:
        """Item ``i`` is decided when the consensus track labels all of its span."""
        track = self.session.label_tracks.get(self.target)
        it = self.items[i]
        return track is not None and not track.unlabelled(it.start, it.end, min_len=OPEN_EPS_S)

    def n_decided(self) -> int:
        return sum(self.decided(i) for i in range(len(self.items)))

    def progress_text(self) -> str:
        return f"{self.n_decided()} of {len(self.items)} decided"

    @property
    def current(self) -> Disagreement | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def step(self, direction: int, open_only: bool = True) -> Disagreement | None:
        """Move to the next (``direction`` > 0) or previous item, skipping decided ones when
        ``open_only`` (wrapping round once); None when there is none to go to."""
        n = len(self.items)
        if not n:
            return None
        d = 1 if direction > 0 else -1
        i = self.index if self.index >= 0 else (-1 if d > 0 else n)
        for _ in range(n):
            i = (i + d) % n
            if not open_only or not self.decided(i):
                self.index = i
                return self.items[i]
        return None
