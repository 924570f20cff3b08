"""One factory of synthetic sessions for tests and benchmarks, built on the simulator.

Tests need sessions of many shapes (ten minutes of a wrist for the GUI, separable bouts for
training, labels without signals for the editor); all of them ask :func:`synthetic_session`,
so every synthetic session has the simulator's physics (gravity, cadence, heart rate that
follows effort) and one place decides how a test session is assembled. A test that computes
expected samples by hand asks for ``signal="ramp"``: the same streams, with values it can write
down (:data:`RAMPS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np

from harlab.core.labels import LabelClass, LabelSchema, Segment
from harlab.core.predictions import PredictionTrack
from harlab.core.session import Session
from harlab.core.streams import ArrayStreamData, Stream
from harlab.simulate.activity_table import ACTIVITIES, SimulationError, canonical_name, label_schema
from harlab.simulate.batch_session import simulate_session
from harlab.simulate.engine import count_before
from harlab.simulate.participant import Participant
from harlab.simulate.plan import Plan, Step, random_plan

#: The simulator's streams, in the order it writes them.
SIMULATED_STREAMS: tuple[str, ...] = ("accel", "gyro", "heart_rate")
#: Standard gravity: the factor between m/s² and g.
_G = 9.80665
#: What the signal shows where no label says otherwise (quiet, so labelled activity stands out).
_FILLER = "standing"
#: Beyond this many segments the signal follows a random plan instead: each plan step costs the
#: simulator a fixed overhead, and a test with 20,000 segments wants many labels, not their motion.
MAX_FOLLOWED_SEGMENTS = 1000

SegmentSpec = Segment | tuple[float, float, str]

#: ``signal="ramp"``: each stream's values at sample ``k`` (time ``t = k / rate_hz``), one column
#: per channel, so a test can compute any exported or resampled value by hand.
RAMPS: dict[str, Callable[[np.ndarray, np.ndarray], list[np.ndarray]]] = {
    "accel": lambda t, k: [t, k, -k],
    "gyro": lambda t, k: [k / 100.0, np.zeros(len(k)), np.ones(len(k))],
    "heart_rate": lambda t, k: [60.0 + t],
}


def _ramp(stream: Stream, rate_hz: float, n: int) -> Stream:
    """``stream`` (name, channels, units, kind, device) with :data:`RAMPS`' values at ``rate_hz``."""
    k = np.arange(n, dtype=np.float64)
    t = k / rate_hz
    values = np.stack(RAMPS[stream.name](t, k), axis=1)
    return dataclasses.replace(stream, data=ArrayStreamData(t, values), rate_hz=rate_hz)


def _activity_for(label: str, classes: Sequence[str]) -> str:
    """The simulated activity behind ``label``: the simulator's own when it knows the name
    (aliases and case accepted), otherwise one chosen by the class's position, so distinct
    classes move differently."""
    try:
        return canonical_name(label)
    except SimulationError:
        i = classes.index(label) if label in classes else len(classes)
        return ACTIVITIES[i % len(ACTIVITIES)]


def _plan_from_segments(segments: Sequence[Segment], duration_s: float, classes: Sequence[str]) -> Plan:
    """A plan whose activities follow the labelled segments, ``_FILLER`` in between.

    Overlapping segments are cut at the next one's start: a plan is one activity at a time.
    """
    steps: list[Step] = []
    t = 0.0
    for seg in sorted(segments, key=lambda s: s.start):
        start, end = max(seg.start, t), min(seg.end, duration_s)
        if start > t:
            steps.append(Step(_FILLER, start - t))
        if end > start:
            steps.append(Step(_activity_for(seg.label, classes), end - start))
            t = end
    if duration_s > t:
        steps.append(Step(_FILLER, duration_s - t))
    return Plan(steps)


def _schema(classes: LabelSchema | Sequence[str | LabelClass] | None, labels: Iterable[str]) -> LabelSchema:
    """The schema asked for; a bare name gets a palette colour as a user's new class would."""
    if isinstance(classes, LabelSchema):
        return classes
    if classes is None:
        known = label_schema()
        classes = [known.get(name) or name for name in dict.fromkeys(labels)]
    schema = LabelSchema()
    for c in classes:
        schema.add(c)
    return schema


def synthetic_session(
    duration_s: float = 60.0,
    *,
    rate_hz: float = 100.0,
    streams: Mapping[str, str] | Sequence[str] = SIMULATED_STREAMS,
    classes: LabelSchema | Sequence[str | LabelClass] | None = None,
    plan: Plan | Iterable[Step | tuple[str, float]] | None = None,
    segments: Iterable[SegmentSpec] | None = None,
    track: str = "activity",
    participant: str | Participant = "P01",
    seed: int = 0,
    start_utc: datetime | None = None,
    timezone: str = "UTC",
    accel_unit: str = "m/s^2",
    signal: Literal["simulated", "ramp"] = "simulated",
    metadata: Mapping[str, Any] | None = None,
    predictions: Iterable[PredictionTrack] = (),
) -> Session:
    """A simulated session shaped as a test needs it.

    * ``duration_s``, ``rate_hz``, ``seed``, ``participant``, ``start_utc``, ``timezone``: as in
      :func:`~harlab.simulate.simulate_session` (``duration_s`` is ignored when ``plan`` is given).
    * ``streams``: which of :data:`SIMULATED_STREAMS` to keep; a mapping renames them
      (``{"accel": "wrist_accel"}``). Empty: a session of labels only.
    * ``plan``: what the simulated person does. Without it the signal follows ``segments``
      (``_FILLER`` between them; up to :data:`MAX_FOLLOWED_SEGMENTS`), otherwise a random varied plan.
    * ``segments``: the label track ``track`` exactly (``[]`` leaves it empty). ``None``: one
      segment per plan step, named after its activity.
    * ``classes``: the schema (names or full classes); by default the labels used, with the
      simulator's colours and keys where it knows the activity.
    * ``accel_unit``: ``"g"`` scales the accelerometer to g, as some devices report it.
    * ``signal``: ``"ramp"`` replaces the simulated values by :data:`RAMPS` (every stream at
      ``rate_hz``, ``duration_s`` long, no flags), for tests that pin exact samples.
    * ``metadata``: :class:`~harlab.core.metadata.Metadata` fields replacing the simulator's
      (``{"session_id": "s1", "start_utc": None, "extra": {...}}``).
    * ``predictions``: prediction tracks added as given.
    """
    if signal not in ("simulated", "ramp"):
        raise SimulationError(f"signal must be 'simulated' or 'ramp', got {signal!r}")
    if accel_unit not in ("m/s^2", "g"):
        raise SimulationError(f"accel_unit must be 'm/s^2' or 'g', got {accel_unit!r}")
    names = dict(streams) if isinstance(streams, Mapping) else {s: s for s in streams}
    unknown = set(names) - set(SIMULATED_STREAMS)
    if unknown:
        raise SimulationError(
            f"the simulator has no stream {sorted(unknown)}; it has {', '.join(SIMULATED_STREAMS)}"
        )
    segs = None if segments is None else [s if isinstance(s, Segment) else Segment(*s) for s in segments]
    class_names = (
        [c.name for c in classes]
        if isinstance(classes, LabelSchema)
        else [c.name if isinstance(c, LabelClass) else c for c in classes or ()]
    )
    if plan is not None:
        the_plan = Plan.of(plan)
    elif segs and len(segs) <= MAX_FOLLOWED_SEGMENTS:
        the_plan = _plan_from_segments(segs, duration_s, class_names or [s.label for s in segs])
    else:
        the_plan = random_plan(duration_s, seed)
    simulated = simulate_session(
        the_plan, rate_hz=rate_hz, seed=seed, participant=participant, start_utc=start_utc, timezone=timezone
    )
    if segs is None:  # the simulator's own track, as fresh segments (ids belong to a track)
        segs = [dataclasses.replace(s, id=-1) for s in simulated.label_tracks["activity"]]
    meta = dataclasses.replace(simulated.metadata, **dict(metadata or {}))
    session = Session(meta, _schema(classes, (s.label for s in segs)))
    for old, new in names.items():
        stream = simulated.streams[old]
        if signal == "ramp":
            stream = _ramp(stream, rate_hz, count_before(duration_s, rate_hz))
        stream = dataclasses.replace(stream, name=new)
        if old == "accel" and accel_unit == "g":
            time, values = stream.read()
            flags = getattr(stream.data, "flags", None)
            stream = dataclasses.replace(
                stream, data=ArrayStreamData(time, values / _G, flags), units=["g"] * len(stream.channels)
            )
        session.add_stream(stream)
    session.add_segments(track, segs)
    for prediction in predictions:
        session.add_prediction_track(prediction)
    return session
