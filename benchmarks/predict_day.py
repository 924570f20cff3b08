"""How long applying a model to a whole day takes: a 24-hour session -> a prediction track.

A simulated 24-hour wrist session (50 Hz accelerometer + gyroscope, a random day plan) is
predicted with each preset (2.56 s windows every 1.28 s: about 67,500 windows), stage by
stage: cutting windows, each member's probabilities, smoothing into segments. The models
are trained for a moment on a short simulated session: inference time depends on the
architecture and the window count, not on how well the weights were trained.

Each member is also timed alone on one thread over the whole session; with the cutting
that is what one thread takes, the baseline for ``predict_session`` on its worker threads
(``one_thread_over_workers``). Beside it, in the same run, the same windows through version 1 of the window features
(the previous feature set) as the baseline for the features stage. Prints progress on
stderr and, as its last line, one JSON object.

    python benchmarks/predict_day.py               # 24 h
    python benchmarks/predict_day.py --hours 2     # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.features import find_triads, window_features
from harlab.ml.predict import SmoothingConfig, predict_session, prediction_workers
from harlab.ml.training import TrainConfig, set_threads, train
from harlab.simulate import random_plan, simulate_session


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--presets", default="features,cnn1d,ensemble")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="prediction worker threads (0: harlab's default, every core up to 8)",
    )
    args = ap.parse_args(argv)
    t = time.perf_counter()
    day = simulate_session(random_plan(args.hours * 3600.0, 7), rate_hz=50.0, seed=7, participant="day")
    log(f"simulated {args.hours:g} h in {time.perf_counter() - t:.1f} s")
    train_sessions = [
        simulate_session(random_plan(600.0, s), rate_hz=50.0, seed=s, participant=f"P{s}") for s in (1, 2)
    ]
    data = build_dataset(train_sessions, "activity", 2.56, 1.28, 50.0, ["accel", "gyro"])
    threads = set_threads(1)  # the member stages: one thread, the baseline for the workers
    workers = args.workers or prediction_workers()
    out: dict = {"hours": args.hours, "member_stage_threads": threads, "workers": workers, "presets": {}}
    for preset in args.presets.split(","):
        model = train(
            data.X, data.y, data.groups, data.info, TrainConfig(preset=preset, epochs=1, threads=threads)
        )  # LightGBM at its default rounds
        t0 = time.perf_counter()
        sw = session_windows(day, model.info)
        t1 = time.perf_counter()
        members = {}
        for m in model.members:
            a = time.perf_counter()
            m.predict_proba(sw.X)
            members[m.kind] = round(time.perf_counter() - a, 2)
        t2 = time.perf_counter()
        predict_session(model, day, smoothing=SmoothingConfig(), add=False, workers=workers)
        t3 = time.perf_counter()
        one_thread = (t1 - t0) + sum(members.values())
        res = {
            "windows": len(sw.X),
            "cut_s": round(t1 - t0, 2),
            "members_s": members,
            "predict_session_s": round(t3 - t2, 2),
            "one_thread_over_workers": round(one_thread / (t3 - t2), 2),
            "real_time_factor": round(args.hours * 3600.0 / (t3 - t2)),
            "windows_per_s": round(len(sw.X) / (t3 - t2)),
        }
        out["presets"][preset] = res
        log(f"{preset}: {res}")
    # baseline for the feature stage: the previous feature set on the same windows
    tri = find_triads(data.info.channels, data.info.units)
    a = time.perf_counter()
    window_features(sw.X, 50.0, tri, data.info.units, version=1)
    v1 = time.perf_counter() - a
    a = time.perf_counter()
    window_features(sw.X, 50.0, tri, data.info.units)
    v2 = time.perf_counter() - a
    out["features_s"] = {"v1_baseline": round(v1, 2), "v2": round(v2, 2), "v2_over_v1": round(v2 / v1, 2)}
    log(
        f"features: version 1 {v1:.2f} s, version 2 {v2:.2f} s (ratio {v2 / v1:.2f}), torch threads "
        f"{torch.get_num_threads()}"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
