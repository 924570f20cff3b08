"""Sessions per minute when a cohort is predicted on Dask distributed, and what 1,000 weeks would take.

A few dozen small simulated sessions (50 Hz accelerometer + gyroscope; half short, half long)
are predicted with the shipped demo model through the engine ``harlab predict`` uses for several
sessions (:func:`harlab.mlops.cohort.run_cohort` with :func:`harlab.mlops.cohort_predict.predict_file`:
open and lock on the worker, validate, predict, atomic save), on a fresh local cluster of 1 worker
process, then 2 (``--workers``), each on fresh copies of the files. The 1-worker run is the
baseline: ``speedup`` is its wall time over each run's.

Projection to 1,000 participant-weeks (7 days each): from the 1-worker run, each session's time
on its worker is fitted as ``fixed + per_hour * hours`` (least squares over the short and long
sessions: opening, validating and saving versus the work that grows with the recording), which
gives one week's worker time; 1,000 of them are shared by the workers at the parallel efficiency
measured here (speedup / workers), plus the cluster start. A straight line from minutes to a week
is the assumption to check against ``benchmarks/predict_day.py``'s 24 h figure.

Prints progress on stderr and, as its last line, one JSON object.

    python benchmarks/cohort.py                       # 24 sessions (12 of 1 min, 12 of 20 min), 1 and 2 workers
    python benchmarks/cohort.py --sessions 8 --long-min 2   # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harlab.core.metadata import sha256_of
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import SmoothingConfig
from harlab.mlops.cohort import CohortOptions, run_cohort
from harlab.mlops.cohort_predict import PredictJob, predict_file
from harlab.simulate import demo_model_path, random_plan, simulate_session
from harlab.storage import save_session

WEEK_H = 7 * 24.0
WEEKS = 1000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=24)
    ap.add_argument("--short-min", type=float, default=1.0, help="length of the short half (minutes)")
    ap.add_argument("--long-min", type=float, default=20.0, help="length of the long half (minutes)")
    ap.add_argument("--workers", default="1,2", help="worker counts to run, the first is the baseline")
    args = ap.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    model_path = demo_model_path()
    model = ActivityModel.load(model_path)
    job = PredictJob(
        model_bytes=model_path.read_bytes(),
        model_version=f"{model.info.preset} {model.info.created_utc} sha256:{sha256_of(model_path)[:12]}",
        smoothing=SmoothingConfig(),
        resume=False,
    )
    out: dict = {
        "sessions": args.sessions,
        "model": f"demo ({model.info.preset})",
        "cores": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="harlab-cohort-bench-") as tmp:
        (Path(tmp) / "originals").mkdir()
        originals = []
        minutes = []
        t = time.perf_counter()
        for i in range(args.sessions):
            length = args.short_min if i % 2 == 0 else args.long_min
            session = simulate_session(
                random_plan(length * 60.0, i), rate_hz=50.0, seed=i, participant=f"P{i:03d}"
            )
            originals.append(save_session(session, Path(tmp) / "originals" / f"s{i:03d}.h5"))
            minutes.append(length)
        log(f"simulated {args.sessions} sessions ({sum(minutes):g} min) in {time.perf_counter() - t:.1f} s")
        hours = np.asarray(minutes) / 60.0
        base = None
        for workers in counts:
            folder = Path(tmp) / f"w{workers}"
            folder.mkdir()
            paths = [str(shutil.copy(p, folder / p.name)) for p in originals]
            threads = max(1, (os.cpu_count() or 1) // workers)
            report = run_cohort(
                predict_file,
                paths,
                CohortOptions(workers=workers),
                shared=dataclasses.replace(job, threads=threads),
            )
            if not report.ok:
                raise SystemExit(f"{len(report.failed)} sessions failed: {report.failed[0].message}")
            item_s = np.asarray([r.seconds for r in report.results])
            work_s = report.seconds - report.start_s
            run = {
                "workers": workers,
                "prediction_threads_per_worker": threads,
                "wall_s": report.seconds,
                "cluster_start_s": report.start_s,
                "sessions_per_min": args.sessions / report.seconds * 60.0,
                "sessions_per_min_after_start": args.sessions / work_s * 60.0,
                "worker_s_per_session_mean": float(item_s.mean()),
            }
            if base is None:
                base = run
                fixed, per_hour = np.polyfit(hours, item_s, 1)[::-1]
                out["fit_one_worker"] = {"fixed_s": float(fixed), "per_recorded_hour_s": float(per_hour)}
            run["speedup"] = base["wall_s"] / report.seconds
            run["speedup_after_start"] = (base["wall_s"] - base["cluster_start_s"]) / work_s
            out["runs"][str(workers)] = run
            log(
                f"{workers} worker(s): {run['sessions_per_min']:.1f} sessions/min "
                f"({run['sessions_per_min_after_start']:.1f} after the cluster's {report.start_s:.1f} s start), "
                f"speedup {run['speedup']:.2f}"
            )
    fit = out["fit_one_worker"]
    week_s = fit["fixed_s"] + fit["per_recorded_hour_s"] * WEEK_H
    projection = {}
    for key, run in out["runs"].items():
        efficiency = run["speedup_after_start"] / run["workers"]
        wall_h = (run["cluster_start_s"] + WEEKS * week_s / (run["workers"] * efficiency)) / 3600.0
        projection[key] = {"parallel_efficiency": efficiency, "hours": wall_h}
    out["projection_1000_weeks"] = {
        "one_week_worker_s": week_s,
        #: on N workers of this speed at full parallel efficiency: worker_hours / N
        "worker_hours": WEEKS * week_s / 3600.0,
        "by_workers": projection,
        "method": "fixed + per_hour * 168 h per week (fit on the 1-worker run), x1000 / (workers x efficiency)",
    }
    log(
        f"one participant-week: {week_s:.0f} s of worker time ({WEEKS * week_s / 3600.0:.0f} worker-hours "
        "for 1,000); 1,000 weeks: "
        + ", ".join(f"{p['hours']:.1f} h on {k} worker(s)" for k, p in projection.items())
    )
    out["load_average_at_end"] = list(os.getloadavg())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
