"""Prediction tracks: what a model said, kept apart from what a person labelled.

A prediction becomes ground truth only when a person accepts it into a label
track (as an undoable edit); until then it lives here with the exact model name
and version it came from, its per-window class probabilities and the smoothed
segments derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from harlab.core.errors import SessionError
from harlab.core.labels import Segment, utcnow


@dataclass
class PredictionTrack:
    """Per-window probabilities (N x K over ``classes``) plus smoothed segments."""

    name: str
    model_name: str
    model_version: str
    classes: list[str]
    window_start: np.ndarray
    window_end: np.ndarray
    probabilities: np.ndarray
    segments: list[Segment] = field(default_factory=list)
    created: datetime = field(default_factory=utcnow)
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise SessionError(f"invalid prediction track name {self.name!r}")
        self.window_start = np.ascontiguousarray(self.window_start, dtype=np.float64)
        self.window_end = np.ascontiguousarray(self.window_end, dtype=np.float64)
        self.probabilities = np.ascontiguousarray(self.probabilities, dtype=np.float32)
        n = len(self.window_start)
        if self.window_end.shape != (n,):
            raise SessionError(f"{self.name}: window_end shape {self.window_end.shape} != ({n},)")
        if self.probabilities.shape != (n, len(self.classes)):
            raise SessionError(
                f"{self.name}: probabilities shape {self.probabilities.shape} != ({n}, {len(self.classes)})"
            )
        if n and np.any(self.window_end < self.window_start):
            raise SessionError(f"{self.name}: a window ends before it starts")
        for s in self.segments:
            if s.label not in self.classes:
                raise SessionError(f"{self.name}: segment class {s.label!r} not among {self.classes}")

    def __len__(self) -> int:
        return len(self.window_start)

    @property
    def top_index(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1) if len(self) else np.zeros(0, int)

    @property
    def top_class(self) -> list[str]:
        return [self.classes[i] for i in self.top_index]

    @property
    def confidence(self) -> np.ndarray:
        """Top-class probability per window."""
        return self.probabilities.max(axis=1) if len(self) else np.zeros(0, np.float32)

    def windows_in(self, t0: float, t1: float) -> slice:
        """Index range of windows whose start lies in [t0, t1)."""
        i0 = int(np.searchsorted(self.window_start, t0, side="left"))
        i1 = int(np.searchsorted(self.window_start, t1, side="left"))
        return slice(i0, i1)
