"""Quality tracks: spans of a recording whose data should not be read as behaviour.

A label says what a person did; a quality track says where the recording cannot tell
(the device lay on a table: *non-wear*). It is kept apart from labels and predictions
because it is derived from the signal by a named method, is recomputed rather than edited,
and is subtracted from everything that counts behaviour: summaries skip its spans and
training windows never overlap them (:mod:`harlab.signal.labelled_windows`).

A track is sorted, non-overlapping ``[start, end)`` spans in session seconds, with the
method that found them and its parameters, so a reader knows how they were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harlab.core.errors import SessionError

#: the kinds of quality track harlab writes; a file may only hold these
QUALITY_KINDS: tuple[str, ...] = ("nonwear",)
#: a session holds at most this many quality tracks (a file claiming more is refused)
MAX_QUALITY_TRACKS = 16


@dataclass
class QualityTrack:
    """Sorted, disjoint spans of one kind of quality problem, with the method that found them."""

    name: str
    kind: str
    start: np.ndarray
    end: np.ndarray
    method: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or len(self.name) > 200:
            raise SessionError(f"invalid quality track name {self.name!r}")
        if self.kind not in QUALITY_KINDS:
            raise SessionError(
                f"quality track {self.name!r}: unknown kind {self.kind!r} (known: {QUALITY_KINDS})"
            )
        self.start = np.ascontiguousarray(self.start, dtype=np.float64).reshape(-1)
        self.end = np.ascontiguousarray(self.end, dtype=np.float64).reshape(-1)
        if self.start.shape != self.end.shape:
            raise SessionError(
                f"quality track {self.name!r}: {len(self.start)} starts but {len(self.end)} ends"
            )
        if not (np.isfinite(self.start).all() and np.isfinite(self.end).all()):
            raise SessionError(f"quality track {self.name!r}: a span time is not finite")
        bad = np.flatnonzero(self.end <= self.start)
        if len(bad):
            i = int(bad[0])
            raise SessionError(
                f"quality track {self.name!r}: span {i} ends ({self.end[i]:g} s) before it starts ({self.start[i]:g} s)"
            )
        overlap = np.flatnonzero(self.start[1:] < self.end[:-1])
        if len(overlap):
            i = int(overlap[0]) + 1
            raise SessionError(
                f"quality track {self.name!r}: span {i} (from {self.start[i]:g} s) starts before span {i - 1} ends; "
                "spans must be sorted and disjoint"
            )

    def __len__(self) -> int:
        return len(self.start)

    @property
    def total_s(self) -> float:
        return float((self.end - self.start).sum())

    def spans(self) -> list[tuple[float, float]]:
        return [(float(a), float(b)) for a, b in zip(self.start, self.end, strict=True)]

    def covers(self, times: np.ndarray) -> np.ndarray:
        """Per time: whether it lies inside a span (``start <= t < end``)."""
        t = np.asarray(times, dtype=np.float64)
        i = np.searchsorted(self.start, t, side="right") - 1
        inside = i >= 0
        inside[inside] = t[inside] < self.end[i[inside]]
        return inside


def nonwear_spans(tracks: dict[str, QualityTrack]) -> QualityTrack | None:
    """The session's non-wear track (the first of kind ``nonwear``), None when it has none."""
    for track in tracks.values():
        if track.kind == "nonwear":
            return track
    return None
