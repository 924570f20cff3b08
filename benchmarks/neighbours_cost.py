"""What LightGBM's temporal context costs when a session is predicted (``TrainConfig.gbm_neighbours``).

A simulated wrist session (50 Hz accelerometer + gyroscope, a random plan; ``--hours``, 2 by
default) is predicted by the same preset trained twice on a short simulated session, without
neighbours (the baseline, measured in the same run) and with ``--neighbours`` windows each
side: ``predict_session`` end to end, in turns (``--repeat``), median wall and CPU seconds of
the process and their ratios to the baseline. The neighbours add the mean features of the
windows beside each window (another 606 columns for the trees) and a halo of windows beside
every batch. Prints progress on stderr and, as its last line, one JSON object.

    python benchmarks/neighbours_cost.py --hours 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import log  # noqa: E402

from harlab.ml.dataset import build_dataset  # noqa: E402
from harlab.ml.predict import predict_session  # noqa: E402
from harlab.ml.training import TrainConfig, train  # noqa: E402
from harlab.simulate import random_plan, simulate_session  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--preset", default="features")
    ap.add_argument("--neighbours", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    train_sessions = [
        simulate_session(random_plan(600.0, s), rate_hz=50.0, seed=s, participant=f"P{s}") for s in (1, 2)
    ]
    data = build_dataset(train_sessions, "activity", 2.56, 1.28, 50.0, ["accel", "gyro"])
    models = {}
    for name, n in (("baseline", 0), ("neighbours", args.neighbours)):
        cfg = TrainConfig(preset=args.preset, epochs=1, gbm_neighbours=n)
        models[name] = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    session = simulate_session(random_plan(args.hours * 3600.0, 7), rate_hz=50.0, seed=7, participant="day")
    wall: dict[str, list[float]] = {k: [] for k in models}
    cpu: dict[str, list[float]] = {k: [] for k in models}
    n_windows = 0
    for r in range(args.repeat):
        for name, model in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            track = predict_session(model, session, add=False, workers=args.workers)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            n_windows = len(track)
            log(f"turn {r + 1}/{args.repeat} {name}: {wall[name][-1]:.1f} s wall, {cpu[name][-1]:.1f} s CPU")
    med = {k: {"wall_s": statistics.median(wall[k]), "cpu_s": statistics.median(cpu[k])} for k in models}
    out = {
        "benchmark": "neighbours_cost",
        "hours": args.hours,
        "preset": args.preset,
        "neighbours": args.neighbours,
        "windows": n_windows,
        "repeat": args.repeat,
        "median": med,
        "ratio_to_baseline": {
            "wall": round(med["neighbours"]["wall_s"] / med["baseline"]["wall_s"], 3),
            "cpu": round(med["neighbours"]["cpu_s"] / med["baseline"]["cpu_s"], 3),
        },
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
