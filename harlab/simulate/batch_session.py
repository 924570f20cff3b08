"""Whole simulated sessions: the simulator's output packed into a :class:`~harlab.core.Session`.

The batch path drives the same :class:`~harlab.simulate.engine.Simulator` as live
streaming, in large chunks written straight into preallocated arrays, so a
24-hour, 100 Hz session takes seconds and its numbers equal a streamed run's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harlab import __version__
from harlab.core.labels import LabelTrack, Policy, Segment
from harlab.core.metadata import DeviceInfo, Metadata, Provenance
from harlab.core.session import Session
from harlab.core.stream_sink import StreamSink
from harlab.core.streams import Stream
from harlab.core.wording import counted
from harlab.simulate.activity_table import NONWEAR, SimulationError, label_schema
from harlab.simulate.engine import Chunk, SensorConfig, Simulator, count_before
from harlab.simulate.participant import Participant
from harlab.simulate.plan import Plan, Step, random_plan

DEVICE_NAME = "harlab simulator"
#: A fixed default start, so the same call writes the same file (a Monday morning).
DEFAULT_START = datetime(2024, 4, 22, 7, 0, tzinfo=UTC)
_CHUNK = 1 << 16


class SessionSink(StreamSink, Protocol):
    """Where :meth:`SimulatedRun.write_into` puts a session block by block: the storage layer's
    :class:`~harlab.storage.session_writer.SessionWriter` (the simulator does not import storage)."""

    def add_segment(
        self, track: str, segment: Segment, policy: Policy = "exclusive", description: str = ""
    ) -> Segment: ...


_TRACK_DESCRIPTION = "activities performed, from the simulator's plan"


class SimulatedRun:
    """One simulation of ``plan``: its metadata, schema and streams, produced in one go
    (:meth:`session`) or block by block into a :class:`SessionSink` (:meth:`write_into`),
    the two giving the same numbers (the simulator's chunking never changes a sample).

    Streams: ``accel`` (x, y, z in m/s², gravity included), ``gyro`` (x, y, z in
    rad/s), both at ``rate_hz``, and ``heart_rate`` (bpm, 1 Hz; none while the device is
    not worn). The label track ``activity`` has one segment per plan step, exactly at the
    plan's times (source "manual", annotator "simulator"); the schema is the activity
    table's (with the non-wear class when the plan has it). ``start_utc`` defaults to
    :data:`DEFAULT_START` and the session id to one derived from the inputs, so equal
    calls give equal sessions.
    """

    def __init__(
        self,
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
    ) -> None:
        self.plan = plan = Plan.of(plan)
        if start_utc is not None and start_utc.tzinfo is None:
            raise SimulationError("start_utc must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
        self.seed = seed
        self._args = {"rate_hz": rate_hz, "seed": seed, "participant": participant}
        self._sim_args = {"transition_s": transition_s, "sensor": sensor}
        self.simulator = sim = Simulator(plan, **self._args, **self._sim_args)  # type: ignore[arg-type]
        self.n_samples = count_before(plan.duration_s, sim.rate_hz)
        who = sim.participant
        sid = (
            session_id
            or uuid.uuid5(
                uuid.NAMESPACE_URL, f"harlab-sim:{seed}:{sim.rate_hz}:{who.id}:{plan.to_json()}"
            ).hex
        )
        self.metadata = Metadata(
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
            notes=f"Simulated by harlab {__version__} (seed {seed}, {counted(len(plan), 'step')}, "
            f"{plan.duration_s:g} s).",
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
        self.schema = label_schema(nonwear=any(st.activity == NONWEAR.name for st in plan))

    def streams(self) -> list[dict[str, Any]]:
        """The streams' declarations (keyword arguments of ``add_stream``), in order."""
        sim, cfg = self.simulator, self.simulator.sensor
        imu = {"channels": ["x", "y", "z"], "rate_hz": sim.rate_hz, "device": DEVICE_NAME}
        return [
            {"name": "accel", "units": "m/s^2", "kind": "accelerometer", **imu}
            | {"attrs": {"range_g": f"{cfg.accel_range_g:g}"}},
            {"name": "gyro", "units": "rad/s", "kind": "gyroscope", **imu}
            | {"attrs": {"range_dps": f"{cfg.gyro_range_dps:g}"}},
            {
                "name": "heart_rate",
                "channels": ["heart_rate"],
                "units": "bpm",
                "rate_hz": 1.0,
                "kind": "heart_rate",
                "device": DEVICE_NAME,
            },
        ]

    def segments(self) -> list[Segment]:
        created = self.metadata.provenance.created_utc
        return [
            Segment(
                start, end, act, annotator="simulator", source="manual", created=created, modified=created
            )
            for start, end, act in self.plan.spans()
        ]

    def blocks(self, block: int = _CHUNK) -> Iterator[Chunk]:
        """The simulation in chunks of ``block`` IMU samples (heart rate inside the plan only);
        a fresh simulator each call, so a run can be written more than once."""
        sim = Simulator(self.plan, **self._args, **self._sim_args)  # type: ignore[arg-type]
        n, end = self.n_samples, self.plan.duration_s
        while sim.sample_index < n:
            chunk = sim.next_samples(min(block, n - sim.sample_index))
            keep = chunk.hr_time < end
            chunk.hr_time, chunk.hr = chunk.hr_time[keep], chunk.hr[keep]
            yield chunk

    def write_into(
        self, sink: SessionSink, progress: Callable[[float], None] | None = None, block: int = _CHUNK
    ) -> None:
        """Stream the whole run into ``sink`` (streams, samples, the activity track): memory
        stays at one block whatever the duration. ``progress`` gets the fraction done."""
        for decl in self.streams():
            sink.add_stream(**decl)
        for chunk in self.blocks(block):
            sink.append("accel", chunk.time, chunk.accel, chunk.accel_flags)
            sink.append("gyro", chunk.time, chunk.gyro, chunk.gyro_flags)
            sink.append("heart_rate", chunk.hr_time, chunk.hr)
            if progress is not None:
                progress(min(1.0, chunk.t1 / self.plan.duration_s))
        for seg in self.segments():
            sink.add_segment("activity", seg, "exclusive", _TRACK_DESCRIPTION)

    def session(self) -> Session:
        """The whole run as an in-memory session."""
        n = self.n_samples
        time = np.empty(n)
        accel = np.empty((n, 3), np.float32)
        gyro = np.empty((n, 3), np.float32)
        aflags = np.empty(n, np.uint8)
        gflags = np.empty(n, np.uint8)
        hr_t: list[np.ndarray] = []
        hr_v: list[np.ndarray] = []
        i = 0
        for chunk in self.blocks():
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
            i += chunk.n
        data = {
            "accel": (time, accel, aflags),
            "gyro": (time, gyro, gflags),
            "heart_rate": (
                np.concatenate(hr_t) if hr_t else np.zeros(0),
                np.concatenate(hr_v) if hr_v else np.zeros(0, np.float32),
                None,
            ),
        }
        session = Session(self.metadata, self.schema)
        for decl in self.streams():
            t, v, fl = data[decl["name"]]
            session.add_stream(
                Stream.from_arrays(
                    decl["name"],
                    t,
                    v,
                    decl["channels"],
                    decl["units"],
                    decl["rate_hz"],
                    flags=fl,
                    kind=decl["kind"],
                    device=decl["device"],
                    attrs=decl.get("attrs") or {},
                )
            )
        track = LabelTrack("activity", "exclusive", _TRACK_DESCRIPTION)
        track.add_many(self.segments())
        session.add_label_track(track)
        return session


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
    """Simulate ``plan`` and return a session with its streams, labels and metadata
    (see :class:`SimulatedRun`, whose :meth:`~SimulatedRun.write_into` streams the same
    session into a file instead)."""
    return SimulatedRun(
        plan,
        rate_hz=rate_hz,
        seed=seed,
        participant=participant,
        start_utc=start_utc,
        timezone=timezone,
        transition_s=transition_s,
        sensor=sensor,
        session_id=session_id,
    ).session()


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
