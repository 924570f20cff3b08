"""A small general model trained once on simulated participants, and an unusual participant
(slow, weak gait; the watch turned round the forearm) it serves badly."""

from __future__ import annotations

import pytest

from harlab.core import Session
from harlab.ml.dataset import build_dataset
from harlab.ml.modelfile import ActivityModel
from harlab.ml.training import TrainConfig, train
from harlab.simulate import Participant, synthetic_session

ACTIVITIES = ("sitting", "walking", "running", "stairs_up", "cycling")
RATE = 20.0
#: a gait far from the general participants' (cadence and vigour) and a watch turned 75 degrees
UNUSUAL = Participant(id="unusual", cadence_scale=0.75, amplitude_scale=0.5, watch_twist=1.3)


def activity_session(
    participant: str | Participant,
    seed: int,
    seconds: float = 20.0,
    bouts: int = 5,
    shift: int = 0,
    activities: tuple[str, ...] = ACTIVITIES,
) -> Session:
    """Bouts of ``activities`` in turn (starting at ``seed + shift``), each ``seconds`` long and labelled."""
    order = [activities[(i + seed + shift) % len(activities)] for i in range(bouts)]
    segments = [(b * seconds, (b + 1) * seconds, act) for b, act in enumerate(order)]
    return synthetic_session(
        rate_hz=RATE,
        streams={"accel": "acc", "gyro": "gyro"},
        plan=[(act, seconds) for act in order],
        segments=segments,
        participant=participant,
        seed=seed,
        classes=list(ACTIVITIES),
    )


@pytest.fixture(scope="session")
def general_model(tmp_path_factory) -> tuple[ActivityModel, object]:
    """(model, its file): the default ensemble, shrunk to train in seconds, on four participants."""
    sessions = [activity_session(f"P{i}", i) for i in range(4)]
    data = build_dataset(sessions, window_s=2.0, rate_hz=RATE)
    cfg = TrainConfig(
        epochs=4,
        arch={"depth": 2, "width": 8},
        gbm_rounds=60,
        gbm_min_rounds=60,
        cnn_refit=False,
        threads=1,
    )
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context, blocks=data.blocks)
    path = model.save(tmp_path_factory.mktemp("general") / "general.harmodel")
    return model, path
