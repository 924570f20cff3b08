"""Whole simulated sessions: the simulator's output packed into a :class:`~harlab.core.Session`.

The batch path drives the same :class:`~harlab.simulate.engine.Simulator` as live
streaming, in large chunks written straight into preallocated arrays, so a
24-hour, 100 Hz session takes seconds and its numbers equal a streamed run's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import numpy as np

from harlab import __version__
from harlab.core.labels import LabelTrack, Segment
from harlab.core.metadata import DeviceInfo, Metadata, Provenance
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.core.wording import counted
from harlab.simulate.activity_table import SimulationError, label_schema
from harlab.simulate.engine import SensorConfig, Simulator, count_before
from harlab.simulate.participant import Participant
from harlab.simulate.plan import Plan, Step, random_plan

DEVICE_NAME = "harlab simulator"
#: A fixed default start, so the same call writes the same file (a Monday morning).
DEFAULT_START = datetime(2024, 4, 22, 7, 0, tzinfo=UTC)
_CHUNK = 1 << 16


def simulate_session(
    plan: Plan | Iterable[Step | tuple[str, float]],
    *,
    rate_hz: float = 100.0,
    seed: int = 0,
    participant: str | Participant = "P01",
    start_utc: datetime | None = None,
    timezone: str = "UTC",
    transition_s: float = 1.5,
    sensor: SensorConfig | None = None,
    session_id: str | None = None,
) -> Session:
    """Simulate ``plan`` and return a session with its streams, labels and metadata.

    Streams: ``accel`` (x, y, z in m/s², gravity included), ``gyro`` (x, y, z in
    rad/s), both at ``rate_hz``, and ``heart_rate`` (bpm, 1 Hz). The label track
    ``activity`` has one segment per plan step, exactly at the plan's times
    (source "manual", annotator "simulator"); the schema is the activity table's.
    ``start_utc`` defaults to :data:`DEFAULT_START` and the session id to one
    derived from the inputs, so equal calls give equal sessions.
    """
    plan = Plan.of(plan)
    if start_utc is not None and start_utc.tzinfo is None:
        raise SimulationError("start_utc must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    sim = Simulator(
        plan, rate_hz=rate_hz, seed=seed, participant=participant, transition_s=transition_s, sensor=sensor
    )
    n = count_before(plan.duration_s, sim.rate_hz)
    time = np.empty(n)
    accel = np.empty((n, 3), np.float32)
    gyro = np.empty((n, 3), np.float32)
    aflags = np.empty(n, np.uint8)
    gflags = np.empty(n, np.uint8)
    hr_t: list[np.ndarray] = []
    hr_v: list[np.ndarray] = []
    while sim.sample_index < n:
        i = sim.sample_index
        chunk = sim.next_samples(min(_CHUNK, n - i))
        s = slice(i, i + chunk.n)
        time[s], accel[s], gyro[s], aflags[s], gflags[s] = (
            chunk.time,
            chunk.accel,
            chunk.gyro,
            chunk.accel_flags,
            chunk.gyro_flags,
        )
        hr_t.append(chunk.hr_time)
        hr_v.append(chunk.hr)
    hr_time = np.concatenate(hr_t) if hr_t else np.zeros(0)
    hr = np.concatenate(hr_v) if hr_v else np.zeros(0, np.float32)
    keep = hr_time < plan.duration_s
    hr_time, hr = hr_time[keep], hr[keep]

    who = sim.participant
    sid = (
        session_id
        or uuid.uuid5(uuid.NAMESPACE_URL, f"harlab-sim:{seed}:{sim.rate_hz}:{who.id}:{plan.to_json()}").hex
    )
    meta = Metadata(
        session_id=sid,
        participant_id=who.id,
        devices=[
            DeviceInfo(
                name=DEVICE_NAME,
                model="simulated wrist IMU + optical heart rate",
                firmware=__version__,
                placement="left wrist",
            )
        ],
        timezone=timezone,
        start_utc=start_utc or DEFAULT_START,
        notes=f"Simulated by harlab {__version__} (seed {seed}, {counted(len(plan), 'step')}, {plan.duration_s:g} s).",
        provenance=Provenance(
            importer="harlab.simulate", harlab_version=__version__, notes="generated, not recorded"
        ),
        extra={
            "simulator_seed": str(seed),
            "simulator_rate_hz": f"{sim.rate_hz:g}",
            "simulator_transition_s": f"{sim.transition_s:g}",
            "simulator_plan": plan.to_json(),
            "participant_traits": (
                f"age={who.age:g} rest_hr={who.rest_hr:g} max_hr={who.max_hr:g} "
                f"vo2max_met={who.vo2max_met:g} cadence_scale={who.cadence_scale:.3f} "
                f"amplitude_scale={who.amplitude_scale:.3f} watch_twist={who.watch_twist:.3f}"
            ),
        },
    )
    session = Session(meta, label_schema())
    cfg = sim.sensor
    session.add_stream(
        Stream.from_arrays(
            "accel",
            time,
            accel,
            ["x", "y", "z"],
            "m/s^2",
            sim.rate_hz,
            flags=aflags,
            kind="accelerometer",
            device=DEVICE_NAME,
            attrs={"range_g": f"{cfg.accel_range_g:g}"},
        )
    )
    session.add_stream(
        Stream.from_arrays(
            "gyro",
            time,
            gyro,
            ["x", "y", "z"],
            "rad/s",
            sim.rate_hz,
            flags=gflags,
            kind="gyroscope",
            device=DEVICE_NAME,
            attrs={"range_dps": f"{cfg.gyro_range_dps:g}"},
        )
    )
    session.add_stream(
        Stream.from_arrays(
            "heart_rate",
            hr_time,
            hr,
            ["heart_rate"],
            "bpm",
            1.0,
            kind="heart_rate",
            device=DEVICE_NAME,
        )
    )
    created = meta.provenance.created_utc
    track = LabelTrack("activity", "exclusive", "activities performed, from the simulator's plan")
    track.add_many(
        Segment(start, end, act, annotator="simulator", source="manual", created=created, modified=created)
        for start, end, act in plan.spans()
    )
    session.add_label_track(track)
    return session


def make_demo_session(duration_min: float = 10.0, seed: int = 0, *, rate_hz: float = 100.0) -> Session:
    """The demo session: a varied protocol (every activity when time allows) by participant "demo".

    Used by ``harlab demo``, the GUI's start screen and the benchmarks.
    """
    if not duration_min > 0:
        raise SimulationError(f"demo duration must be positive, got {duration_min!r} min")
    plan = random_plan(duration_min * 60.0, seed)
    return simulate_session(
        plan,
        rate_hz=rate_hz,
        seed=seed,
        participant="demo",
        timezone="Europe/Berlin",
    )


def demo_model_path() -> Path:
    """The model shipped as package data (built by ``resources/build_demo_model.py``: LightGBM on
    window features, trained on simulated participants P01-P06, never on "demo")."""
    return Path(str(files("harlab") / "resources" / "demo-model.harmodel"))
