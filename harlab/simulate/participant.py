"""Simulated participants: the traits that make one person's data differ from another's.

Traits come from the participant id alone (through SHA-256, not Python's salted
``hash``), so "P03" walks, wears the watch and has the heart rate of the same
person in every session, whatever the session's seed. That is what
subject-independent evaluation on simulated data needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Participant:
    """A person's traits. Built directly, the traits are the activity table's averages
    (no personal scaling); :meth:`from_id` gives a reproducible individual."""

    id: str = "average"
    age: float = 35.0  #: years
    rest_hr: float = 65.0  #: bpm
    vo2max_met: float = 12.5  #: aerobic capacity in METs; the heart reaches its maximum there
    cadence_scale: float = 1.0  #: multiplies every activity's step frequency (taller people: slower)
    amplitude_scale: float = 1.0  #: multiplies movement amplitudes (vigour)
    watch_twist: float = 0.0  #: rad, how far the watch is turned round the forearm

    @property
    def max_hr(self) -> float:
        """Tanaka et al. (2001): 208 - 0.7 * age."""
        return 208.0 - 0.7 * self.age

    def hr_target(self, met: float | np.ndarray) -> float | np.ndarray:
        """Steady-state heart rate at an effort of ``met`` (fraction of heart-rate reserve
        equal to the fraction of oxygen-uptake reserve, as in exercise physiology)."""
        frac = np.clip((np.asarray(met, float) - 1.0) / (self.vo2max_met - 1.0), 0.0, 1.0)
        return self.rest_hr + frac * (self.max_hr - self.rest_hr)

    @classmethod
    def from_id(cls, participant_id: str) -> Participant:
        digest = hashlib.sha256(participant_id.encode("utf-8")).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        return cls(
            id=participant_id,
            age=float(np.round(rng.uniform(20, 60))),
            rest_hr=float(np.round(rng.uniform(52, 76), 1)),
            vo2max_met=float(np.round(rng.uniform(9.5, 16.0), 2)),
            cadence_scale=float(np.clip(rng.normal(1.0, 0.05), 0.88, 1.12)),
            amplitude_scale=float(np.clip(np.exp(rng.normal(0.0, 0.15)), 0.7, 1.4)),
            watch_twist=float(np.clip(rng.normal(0.0, 0.15), -0.4, 0.4)),
        )
