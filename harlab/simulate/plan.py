"""Plans: which activity the simulated participant performs, and for how long.

A :class:`Plan` is an ordered list of ``(activity, duration_s)`` steps. It is
what a study protocol looks like ("stand 60 s, walk 120 s, ..."), what the
simulator follows, and what the activity labels are cut from, so labels and
signal agree by construction. :func:`random_plan` builds plausible plans: a
varied protocol for short sessions, a day with sleep, desk work, commutes and
exercise for long ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from harlab.simulate.activity_table import POSTURES, SimulationError, canonical_name

#: Seconds per duration unit, for plans and for command-line durations (``90s``, ``2h``, ``7d``).
UNIT_SECONDS: dict[str, float] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}


def parse_duration(text: str, default_unit: str = "s") -> float:
    """Seconds in ``text``: a number with an optional unit of :data:`UNIT_SECONDS` (``90``,
    ``1.5 min``, ``2h``, ``7d``); a bare number is in ``default_unit``. Signs are kept, so the
    caller's range check can name what was given."""
    m = re.fullmatch(r"\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = (m.group(2).lower() if m else "") or default_unit
    if m is None or unit not in UNIT_SECONDS:
        raise SimulationError(
            f"cannot read the duration {text!r} (expected a number with an optional unit s, min, h or d, "
            "such as 90m, 2h or 7d)"
        )
    return float(m.group(1)) * UNIT_SECONDS[unit]


@dataclass(frozen=True)
class Step:
    activity: str
    duration_s: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "activity", canonical_name(self.activity))
        d = float(self.duration_s)
        if not np.isfinite(d) or d <= 0:
            raise SimulationError(
                f"step {self.activity!r}: duration must be a positive number of seconds, got {self.duration_s!r}"
            )
        object.__setattr__(self, "duration_s", d)


class Plan(Sequence[Step]):
    """An immutable sequence of steps; start times are cumulative sums of durations.

    An empty plan is a valid value (a slice can be empty) but cannot be simulated.
    """

    def __init__(self, steps: Iterable[Step | tuple[str, float]] = ()) -> None:
        self._steps: tuple[Step, ...] = tuple(
            s if isinstance(s, Step) else Step(str(s[0]), float(s[1])) for s in steps
        )
        self._starts = np.concatenate([[0.0], np.cumsum([s.duration_s for s in self._steps])])

    @classmethod
    def of(cls, plan: Plan | Iterable[Step | tuple[str, float]]) -> Plan:
        return plan if isinstance(plan, Plan) else cls(plan)

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, i: int) -> Step: ...

    @overload
    def __getitem__(self, i: slice) -> Plan: ...

    def __getitem__(self, i: int | slice) -> Step | Plan:
        """A step, or a Plan for a slice."""
        if isinstance(i, slice):
            return Plan(self._steps[i])
        return self._steps[i]

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plan) and self._steps == other._steps

    def __hash__(self) -> int:
        return hash(self._steps)

    def __repr__(self) -> str:
        inner = ", ".join(f"({s.activity!r}, {s.duration_s:g})" for s in self._steps[:6])
        more = f", ... {len(self) - 6} more" if len(self) > 6 else ""
        return f"Plan([{inner}{more}])"

    @property
    def duration_s(self) -> float:
        return float(self._starts[-1])

    def spans(self) -> list[tuple[float, float, str]]:
        """(start, end, activity) of every step, in seconds from the start."""
        return [
            (float(self._starts[i]), float(self._starts[i + 1]), s.activity)
            for i, s in enumerate(self._steps)
        ]

    def activity_at(self, t: float) -> str:
        i = int(np.searchsorted(self._starts, t, side="right")) - 1
        return self._steps[min(max(i, 0), len(self._steps) - 1)].activity

    def to_list(self) -> list[list[object]]:
        return [[s.activity, s.duration_s] for s in self._steps]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def parse(cls, text: str, source: str = "<plan>") -> Plan:
        """Read a plan from text: one ``activity duration`` per line (or ``activity, duration``).

        Durations take an optional unit: ``90``, ``90s``, ``1.5 min``, ``2m``, ``1h``.
        Blank lines and ``#`` comments are skipped. A JSON list of pairs is accepted too.
        """
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                return cls((str(a), float(d)) for a, d in json.loads(stripped))
            except (ValueError, TypeError) as exc:
                raise SimulationError(
                    f"{source}: not a JSON list of [activity, seconds] pairs ({exc})"
                ) from exc
        steps: list[Step] = []
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r"([A-Za-z_\- ]+?)\s*[,;:\t ]\s*([0-9.]+)\s*([a-zA-Z]*)", line)
            if not m:
                raise SimulationError(
                    f"{source}, line {n}: cannot read {raw!r} (expected 'activity duration', e.g. 'walking 60s')"
                )
            unit = m.group(3).lower()
            scale = 1 if not unit else UNIT_SECONDS.get(unit)
            if scale is None:
                raise SimulationError(
                    f"{source}, line {n}: unknown duration unit {m.group(3)!r} (expected s, min, h or d)"
                )
            try:
                steps.append(Step(m.group(1).strip(), float(m.group(2)) * scale))
            except (SimulationError, ValueError) as exc:
                raise SimulationError(f"{source}, line {n}: {exc}") from exc
        if not steps:
            raise SimulationError(f"{source}: the plan has no steps")
        return cls(steps)

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SimulationError(f"{p}: cannot read the plan ({exc})") from exc
        return cls.parse(text, str(p))


# -- random plans --------------------------------------------------------------------------------------

#: Bout lengths (seconds, log-uniform between the bounds) for a short, varied protocol.
_PROTOCOL_BOUT = {
    "walking": (30, 90),
    "running": (25, 75),
    "stairs_up": (15, 40),
    "stairs_down": (15, 40),
    "sitting": (30, 90),
    "standing": (20, 60),
    "lying": (30, 90),
    "jumping": (15, 35),
    "cycling": (30, 90),
    "squat": (15, 40),
    "situp": (15, 40),
}
_PROTOCOL_ORDER = tuple(_PROTOCOL_BOUT)

# Day-scale behaviour: per context, activity weights and bout lengths (seconds, log-uniform).
_DAY_BOUT = {
    "walking": (60, 900),
    "running": (600, 2400),
    "stairs_up": (15, 60),
    "stairs_down": (15, 60),
    "sitting": (300, 3600),
    "standing": (30, 600),
    "lying": (600, 3600),
    "jumping": (30, 120),
    "cycling": (600, 2400),
    "squat": (30, 120),
    "situp": (30, 120),
}
_DAY_WEIGHTS = {
    # context: activity weights of the next bout
    "morning": {"standing": 4, "walking": 4, "sitting": 2, "stairs_up": 1, "stairs_down": 1, "cycling": 1},
    "work": {"sitting": 8, "standing": 2, "walking": 3, "stairs_up": 1, "stairs_down": 1},
    "exercise": {
        "running": 4,
        "cycling": 2,
        "jumping": 1,
        "squat": 1,
        "situp": 1,
        "walking": 2,
        "standing": 1,
    },
    "evening": {"sitting": 5, "standing": 3, "walking": 3, "lying": 1, "stairs_up": 1, "stairs_down": 1},
}


def _context(hour: float) -> str:
    h = hour % 24
    if h >= 23 or h < 7:
        return "night"
    if h < 9:
        return "morning"
    if 17 <= h < 19:
        return "exercise"
    if h < 17:
        return "work"
    return "evening"


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _day_bout(rng: np.random.Generator, ctx: str, prev: str | None) -> tuple[str, float]:
    """The next bout of a day plan in context ``ctx`` after ``prev``: (activity, seconds).
    At night lying, with short awakenings; by day an activity weighted by the context."""
    if ctx == "night":
        if prev == "lying" and rng.random() < 0.15:
            return str(rng.choice(["sitting", "standing", "walking"])), _log_uniform(rng, 20, 240)
        return "lying", _log_uniform(rng, 1200, 5400)
    weights = dict(_DAY_WEIGHTS[ctx])
    weights.pop(prev or "", None)
    names = list(weights)
    p = np.array([weights[n] for n in names], float)
    act = str(rng.choice(names, p=p / p.sum()))
    return act, _log_uniform(rng, *_DAY_BOUT[act])


def _needs_transition(prev: str | None, nxt: str) -> bool:
    """Getting from one posture to another (or up from lying) is a labelled transition."""
    if prev is None or prev == nxt:
        return False
    return (prev in POSTURES and nxt in POSTURES) or "lying" in (prev, nxt)


def random_plan(
    duration_s: float, seed: int = 0, *, start_hour: float = 8.0, transitions: bool = True
) -> Plan:
    """A plausible plan lasting exactly ``duration_s`` seconds, deterministic given ``seed``.

    Up to two hours it is a varied protocol: every activity appears (when time
    allows) in bouts of 15-90 s (shorter in sessions under 15 minutes), as in a lab study. Longer plans follow a day
    starting at ``start_hour`` (local time): sleep at night with short awakenings,
    a morning routine, desk work with walks and stairs, exercise in the late
    afternoon, and a quieter evening. With ``transitions`` a short labelled
    "transition" step (2-4 s) separates posture changes.
    """
    duration_s = float(duration_s)
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise SimulationError(f"plan duration must be positive, got {duration_s!r}")
    rng = np.random.default_rng([int(seed), 0x504C414E])
    steps: list[tuple[str, float]] = []
    elapsed = 0.0
    prev: str | None = None
    day = duration_s > 2 * 3600
    queue: list[str] = []
    while elapsed < duration_s - 1e-9:
        if not day:
            if not queue:
                order = list(_PROTOCOL_ORDER)
                rng.shuffle(order)
                if order[0] == prev:
                    order.append(order.pop(0))
                queue = order
            act = queue.pop(0)
            lo, hi = _PROTOCOL_BOUT[act]
            # short sessions get short bouts, so that they still show many activities
            scale = min(1.0, max(0.15, duration_s / 900.0))
            bout = max(5.0, _log_uniform(rng, lo, hi) * scale)
        else:
            act, bout = _day_bout(rng, _context(start_hour + elapsed / 3600.0), prev)
        if transitions and _needs_transition(prev, act):
            t = min(round(float(rng.uniform(2.0, 4.0)), 3), duration_s - elapsed)
            steps.append(("transition", t))
            elapsed += t
            if elapsed >= duration_s - 1e-9:
                break
        remaining = duration_s - elapsed
        bout = min(round(bout, 3), remaining)
        if remaining - bout < 1.0:  # no slivers at the end
            bout = remaining
        if steps and steps[-1][0] == act:
            steps[-1] = (act, steps[-1][1] + bout)
        else:
            steps.append((act, bout))
        elapsed += bout
        prev = act
    # Make the plan end exactly at duration_s: the last step takes what the others leave
    # (start times are cumulative sums, so compute them the way Plan does).
    before = float(np.cumsum([d for _, d in steps[:-1]])[-1]) if len(steps) > 1 else 0.0
    for last in (round(duration_s - before, 3), duration_s - before):
        steps[-1] = (steps[-1][0], last)
        plan = Plan(steps)
        if plan.duration_s == duration_s:
            break
    return plan


# -- a week of free living -----------------------------------------------------------------------------

#: Seconds in a day.
DAY_S = 86400.0


@dataclass(frozen=True)
class DaySchedule:
    """One day of a week plan, in hours after that day's local midnight.

    ``nonwear`` are the stretches the device is off the wrist (a shower after waking,
    charging in the evening, some days forgotten on the table for hours);
    ``off_overnight``: it also lies on the table from bedtime to the next morning.
    """

    day: int
    weekend: bool
    wake_h: float
    bed_h: float
    exercise: tuple[float, float] | None
    nonwear: tuple[tuple[float, float], ...]
    off_overnight: bool

    def context(self, h: float, off_last_night: bool) -> tuple[str, float]:
        """The context at hour ``h`` and the hour it ends (the next edge of the schedule)."""
        edges = [self.wake_h, self.bed_h, 24.0]
        for a, b in self.nonwear:
            edges += [a, b]
        if self.exercise:
            edges += list(self.exercise)
        if not self.weekend:
            edges += [9.0, 17.0]
        else:
            edges += [self.wake_h + 1.5]
        end = min(e for e in edges if e > h + 1e-9)
        if h < self.wake_h:
            return ("nonwear" if off_last_night else "night"), end
        if h >= self.bed_h:
            return ("nonwear" if self.off_overnight else "night"), end
        if any(a <= h < b for a, b in self.nonwear):
            return "nonwear", end
        if self.exercise and self.exercise[0] <= h < self.exercise[1]:
            return "exercise", end
        if self.weekend:
            return ("morning" if h < self.wake_h + 1.5 else "evening"), end
        return ("morning" if h < 9.0 else "work" if h < 17.0 else "evening"), end


def day_schedule(day: int, seed: int = 0) -> DaySchedule:
    """Day ``day`` (0 = a Monday) of the week plans of ``seed``: every day drawn on its own, so
    days differ (wake and bed times, exercise or none, when and how long the device is off)
    and weekends sleep longer and do not work."""
    rng = np.random.default_rng([int(seed), int(day), 0x5745454B])
    weekend = day % 7 in (5, 6)
    wake = float(rng.uniform(7.5, 9.5) if weekend else rng.uniform(6.0, 7.5))
    bed = float(rng.uniform(23.0, 23.95) if weekend else rng.uniform(22.0, 23.5))
    nonwear: list[tuple[float, float]] = []
    if rng.random() < 0.8:  # a shower after getting up
        a = wake + float(rng.uniform(0.2, 0.7))
        nonwear.append((a, a + float(rng.uniform(0.15, 0.4))))
    if rng.random() < 0.35:  # forgotten on the table after the shower, found at lunch or later
        a = float(rng.uniform(11.0, 13.0))
        nonwear.append((a, a + float(rng.uniform(2.0, 4.0))))
    if rng.random() < 0.5:  # charging in the evening
        a = float(rng.uniform(19.5, 21.0))
        nonwear.append((a, min(a + float(rng.uniform(0.75, 1.5)), bed - 0.1)))
    exercise = None
    if rng.random() < (0.6 if weekend else 0.4):
        a = float(rng.uniform(10.0, 15.0) if weekend else rng.uniform(17.2, 18.5))
        exercise = (a, a + float(rng.uniform(0.5, 1.2)))
        nonwear = [(x, y) for x, y in nonwear if y <= exercise[0] or x >= exercise[1]]
    return DaySchedule(
        day=int(day),
        weekend=weekend,
        wake_h=wake,
        bed_h=bed,
        exercise=exercise,
        nonwear=tuple(nonwear),
        off_overnight=bool(rng.random() < 0.12),
    )


def week_plan(
    duration_s: float = 7 * DAY_S, seed: int = 0, *, start_hour: float = 0.0, transitions: bool = True
) -> Plan:
    """A free-living plan of ``duration_s`` seconds (a week by default) starting at ``start_hour``
    of a Monday (local time), deterministic given ``seed``.

    Each day follows its :func:`day_schedule`: sleep at night (lying, with short awakenings),
    a morning routine, desk work on weekdays, exercise on some days, a quieter evening, and
    stretches of ``nonwear`` (device off the wrist: still, near-constant orientation, no heart
    rate) of minutes to hours. Bouts are drawn as in :func:`random_plan`'s day, from a
    generator per day, so a day's plan does not depend on the days before it.
    """
    duration_s = float(duration_s)
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise SimulationError(f"plan duration must be positive, got {duration_s!r}")
    if not 0.0 <= start_hour < 24.0:
        raise SimulationError(f"start_hour must be in [0, 24), got {start_hour!r}")
    t0 = float(start_hour) * 3600.0
    t1 = t0 + duration_s
    steps: list[tuple[str, float]] = []
    prev: str | None = None
    off_last_night = False
    for day in range(int(np.ceil(t1 / DAY_S))):
        sched = day_schedule(day, seed)
        rng = np.random.default_rng([int(seed), day, 0x424F5554])
        h = 0.0
        while h < 24.0 - 1e-9:
            ctx, end_h = sched.context(h, off_last_night)
            room = (end_h - h) * 3600.0
            act, bout = ("nonwear", room) if ctx == "nonwear" else _day_bout(rng, ctx, prev)
            if transitions and _needs_transition(prev, act) and room > 8.0:
                t = round(float(rng.uniform(2.0, 4.0)), 3)
                steps.append(("transition", t))
                room -= t
                h += t / 3600.0
            bout = min(bout, room)
            if room - bout < 1.0:  # no slivers before the next part of the day
                bout = room
            if steps and steps[-1][0] == act:
                steps[-1] = (act, steps[-1][1] + bout)
            else:
                steps.append((act, bout))
            h += bout / 3600.0
            prev = act
        off_last_night = sched.off_overnight
    return _window(steps, t0, t1)


def _window(steps: list[tuple[str, float]], t0: float, t1: float) -> Plan:
    """The part of a plan (from time 0) between ``t0`` and ``t1``, lasting exactly ``t1 - t0``."""
    out: list[tuple[str, float]] = []
    start = 0.0
    for act, d in steps:
        a, b = max(start, t0), min(start + d, t1)
        if b > a + 1e-9:
            out.append((act, round(b - a, 3)))
        start += d
        if start >= t1:
            break
    duration_s = t1 - t0
    before = float(np.cumsum([d for _, d in out[:-1]])[-1]) if len(out) > 1 else 0.0
    plan = Plan(out)
    for last in (round(duration_s - before, 3), duration_s - before):
        out[-1] = (out[-1][0], last)
        plan = Plan(out)
        if plan.duration_s == duration_s:
            break
    return plan
