"""A built-in activity simulator: a participant with a wrist IMU and a heart-rate sensor.

Used by ``harlab demo``, the simulated recording devices, tests and benchmarks.

* :class:`Plan` / :func:`random_plan` / :func:`week_plan`: which activities, for how long
  (a week: sleep, work, exercise and non-wear stretches, days that differ).
* :func:`simulate_session`: a whole :class:`~harlab.core.Session` (accelerometer,
  gyroscope, heart rate, activity labels) in one call, fast enough for 24 h at 100 Hz.
* :class:`SimulatedRun`: the same session streamed block by block into a file writer
  (``harlab.storage.session_writer.SessionWriter``), so a week never sits in memory.
* :class:`Simulator`: the same signals streamed chunk by chunk, with the activity
  changeable live; for the same seed and plan it gives exactly the batch numbers.
* :data:`PROFILES`: the activity table (cadence, amplitudes, wrist orientation,
  METs, colours, hotkeys); :func:`label_schema` turns it into a label schema.
* :func:`synthetic_session`: the one factory of test sessions (streams renamed, classes,
  label segments, participant, seed), built on :func:`simulate_session`.
* :func:`simulate_annotators` / :func:`annotated_session`: annotators' tracks derived from the
  true labels with boundary jitter and confusions at known places (agreement, adjudication).
"""

from harlab.simulate.activity_table import (
    ACTIVITIES,
    ALIASES,
    NONWEAR,
    POSTURES,
    PROFILES,
    ActivityProfile,
    SimulationError,
    canonical_name,
    get_profile,
    label_schema,
)
from harlab.simulate.annotators import Confusion, SimulatedAnnotators, annotated_session, simulate_annotators
from harlab.simulate.batch_session import (
    DEVICE_NAME,
    SessionSink,
    SimulatedRun,
    demo_model_path,
    make_demo_session,
    simulate_session,
)
from harlab.simulate.engine import Chunk, G, SensorConfig, Simulator
from harlab.simulate.participant import Participant
from harlab.simulate.plan import DaySchedule, Plan, Step, day_schedule, random_plan, week_plan
from harlab.simulate.synthetic import SIMULATED_STREAMS, synthetic_session

__all__ = [
    "ACTIVITIES",
    "ALIASES",
    "DEVICE_NAME",
    "NONWEAR",
    "G",
    "POSTURES",
    "PROFILES",
    "SIMULATED_STREAMS",
    "ActivityProfile",
    "Chunk",
    "Confusion",
    "DaySchedule",
    "Participant",
    "Plan",
    "SensorConfig",
    "SessionSink",
    "SimulatedAnnotators",
    "SimulatedRun",
    "SimulationError",
    "Simulator",
    "Step",
    "annotated_session",
    "canonical_name",
    "day_schedule",
    "demo_model_path",
    "get_profile",
    "label_schema",
    "make_demo_session",
    "random_plan",
    "simulate_annotators",
    "simulate_session",
    "synthetic_session",
    "week_plan",
]
