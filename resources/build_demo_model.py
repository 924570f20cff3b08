"""Build the demo model shipped with harlab (``harlab/resources/demo-model.harmodel``).

``harlab demo`` and the workbench's demo session show this model's predictions beside
the simulator's labels. It is the ``features`` preset (LightGBM on hand-crafted window
features: small, fast, no torch weights) trained on simulated sessions of participants
P01-P06, never on the demo's own participant ("demo"), so what the demo shows is an
honest subject-independent prediction, mistakes included.

Run from the repository root (a minute or two on two cores)::

    python resources/build_demo_model.py [--out harlab/resources/demo-model.harmodel] [--compare OLD]

The build is deterministic: the same harlab version gives the same trees (only the creation
time in the header differs). At the end it prints the file size, the validation metrics and
the accuracy on demo sessions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from harlab.core.session import Session
from harlab.ml.dataset import build_dataset
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import predict_session
from harlab.ml.training import TrainConfig, train
from harlab.simulate import make_demo_session, random_plan, simulate_session

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "harlab" / "resources" / "demo-model.harmodel"
PARTICIPANTS = [f"P{i:02d}" for i in range(1, 7)]
SESSIONS_PER_PARTICIPANT = 2
MINUTES = 10.0
RATE_HZ = 50.0
WINDOW_S, STRIDE_S = 2.56, 1.28
CHANNELS = ["accel", "gyro"]


def training_sessions() -> list[Session]:
    """Random protocols (every activity, 15-90 s bouts) of six simulated participants."""
    out = []
    for p, who in enumerate(PARTICIPANTS):
        for k in range(SESSIONS_PER_PARTICIPANT):
            seed = 1000 + 10 * p + k
            plan = random_plan(MINUTES * 60.0, seed)
            out.append(simulate_session(plan, rate_hz=RATE_HZ, seed=seed, participant=who))
    return out


def window_accuracy(session: Session, track: str, labels: str = "activity") -> tuple[float, float, int]:
    """(raw, smoothed) accuracy of prediction track ``track`` against the labels at each window centre."""
    pred = session.prediction_tracks[track]
    lab = session.label_tracks[labels]
    centre = (pred.window_start + pred.window_end) / 2
    truth = [(lab.at(float(c)) or [None])[0] for c in centre]
    known = np.array([t is not None for t in truth])
    true = np.array([t.label if t is not None else "" for t in truth])
    raw = np.array(pred.top_class)
    smoothed = np.array([next((s.label for s in pred.segments if s.start <= c <= s.end), "") for c in centre])
    n = int(known.sum())
    return float((raw[known] == true[known]).mean()), float((smoothed[known] == true[known]).mean()), n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--rounds", type=int, default=150, help="LightGBM rounds at most (early stopping)")
    ap.add_argument("--compare", type=Path, default=None, help="also score this (e.g. the previous) model file")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sessions = training_sessions()
    names = [f"{s.metadata.participant_id}-{i % SESSIONS_PER_PARTICIPANT}" for i, s in enumerate(sessions)]
    data = build_dataset(sessions, "activity", WINDOW_S, STRIDE_S, RATE_HZ, CHANNELS, "majority", names=names)
    print(f"{len(data)} windows of {len(data.classes)} classes from {len(sessions)} sessions "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    cfg = TrainConfig(preset="features", seed=0, gbm_rounds=args.rounds, gbm_leaves=15, threads=1)
    info = data.info
    info.name = "demo model"
    model = train(data.X, data.y, data.groups, info, cfg, context=data.context)
    path = model.save(args.out)
    loaded = ActivityModel.load(path)  # never executes code from the file
    size = path.stat().st_size
    val = model.info.metrics.get("validation", {})
    print(f"wrote {path} ({size / 1024:.0f} KiB) in {time.perf_counter() - t0:.1f} s; "
          f"validation (held out {', '.join(model.info.metrics['validation_groups'])}): "
          f"accuracy {val.get('accuracy', float('nan')):.3f}, macro-F1 {val.get('macro_f1', float('nan')):.3f}")
    others = [("previous", ActivityModel.load(args.compare))] if args.compare and args.compare.exists() else []
    for minutes, seed in ((10.0, 0), (20.0, 1), (10.0, 3)):
        demo = make_demo_session(minutes, seed)
        for label, m in [("new", loaded), *others]:
            predict_session(m, demo, name=label)
            raw, smooth, n = window_accuracy(demo, label)
            print(f"demo session {minutes:g} min seed {seed}, {label} model: {n} windows, accuracy raw {raw:.3f}, "
                  f"smoothed {smooth:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
