"""Physical plausibility limits of sensor streams: the one table every importer checks values against.

A value no sensor of that kind can produce is not a reading: it is a flipped bit, a
wrong unit, a zero-filled (sparse) file or bytes that are not sensor data at all. The
importers apply one rule (stated in ``docs/FORMAT.md``, section "Implausible values"):

* **Refuse** (an :class:`~harlab.core.errors.ImportFormatError` naming the file and the
  line or byte) a value that is not a finite number or lies beyond the float32 range a
  stream stores (1e39 would become infinity), and a stream in which more than
  :data:`MAX_MARKED_FRACTION` of the samples would have to be marked: then the file is
  in another unit or is not sensor data, and a session of NaN would only hide that.
* **Mark** a finite value outside its kind's range (below): the value becomes NaN and
  its sample is flagged ``FLAG_SUSPECT``; the import report says how many. So does an
  accelerometer sample (with gravity) reading exactly 0 on every axis, which gravity
  makes impossible.

The limits are deliberately wide (about twice the largest range of wearable and phone
sensors): they catch corruption, never a hard but real movement. A device whose own
range is known and narrower (the seed Fitbit's ±4 g) is checked against that range
by its importer, with the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.80665  #: standard gravity, m/s² per g

#: Largest magnitude a float32 value (what a stream stores) can hold; 1e39 becomes infinity.
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: A stream with more marked samples than this fraction is refused, not marked.
MAX_MARKED_FRACTION = 0.1


@dataclass(frozen=True)
class Limit:
    """The range of values a stream of one of ``kinds`` measured in ``unit`` can hold."""

    kinds: tuple[str, ...]
    unit: str
    low: float
    high: float
    why: str
    zero_impossible: bool = False  #: every channel exactly 0 at once cannot be a reading

    def describe(self) -> str:
        if self.low == -self.high:
            return f"±{self.high:.4g} {self.unit}"
        return f"{self.low:.4g}..{self.high:.4g} {self.unit}"


_ACCEL_WHY = "±50 g: past the range of any wearable or phone accelerometer (±2 to ±32 g)"
#: Why an accelerometer that includes gravity cannot read exactly 0 on every axis at once.
GRAVITY_ZERO = "an accelerometer always feels gravity, so it never reads exactly 0 on every axis"
_GYRO_WHY = "±4000 °/s: twice the ±2000 °/s at which wearable and phone gyroscopes saturate"

#: The table. A stream is checked channel by channel against the row of its kind and the
#: channel's unit; kinds or units not listed here get only the float32 check.
LIMITS: tuple[Limit, ...] = (
    Limit(("accelerometer",), "m/s^2", -490.0, 490.0, f"{_ACCEL_WHY}; {GRAVITY_ZERO}", zero_impossible=True),
    Limit(("accelerometer",), "g", -50.0, 50.0, f"{_ACCEL_WHY}; {GRAVITY_ZERO}", zero_impossible=True),
    Limit(("linear_acceleration", "gravity", "wrist_motion"), "m/s^2", -490.0, 490.0, _ACCEL_WHY),
    Limit(("linear_acceleration", "gravity", "wrist_motion"), "g", -50.0, 50.0, _ACCEL_WHY),
    Limit(("gyroscope", "wrist_motion"), "rad/s", -70.0, 70.0, _GYRO_WHY),
    Limit(("gyroscope",), "deg/s", -4000.0, 4000.0, _GYRO_WHY),
    Limit(
        ("heart_rate",),
        "bpm",
        20.0,
        300.0,
        "20-300 beats per minute: below deep bradycardia, above any human heart",
    ),
    Limit(
        ("magnetometer",),
        "uT",
        -5000.0,
        5000.0,
        "±5000 µT: phone and watch magnetometers saturate near ±4900 µT (the Earth's field is 25-65 µT)",
    ),
    Limit(("steps",), "steps/min", 0.0, 400.0, "0-400 steps per minute: about twice a sprinter's cadence"),
)

_UNIT_ALIASES = {
    "m/s²": "m/s^2",
    "m/s2": "m/s^2",
    "°/s": "deg/s",
    "dps": "deg/s",
    "µT": "uT",
    "μT": "uT",
    "1/min": "bpm",
}


def limit_for(kind: str, unit: str) -> Limit | None:
    """The row of :data:`LIMITS` for a channel of a ``kind`` stream measured in ``unit``, or None."""
    unit = _UNIT_ALIASES.get(unit.strip(), unit.strip())
    for row in LIMITS:
        if kind in row.kinds and unit == row.unit:
            return row
    return None


def too_many_marked(marked: int, samples: int) -> bool:
    """Whether ``marked`` of ``samples`` is past :data:`MAX_MARKED_FRACTION` (refuse, do not mark)."""
    return marked > 0 and marked > MAX_MARKED_FRACTION * samples


__all__ = [
    "FLOAT32_MAX",
    "G",
    "GRAVITY_ZERO",
    "LIMITS",
    "MAX_MARKED_FRACTION",
    "Limit",
    "limit_for",
    "too_many_marked",
]
