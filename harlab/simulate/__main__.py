"""``python -m harlab.simulate``: time the simulator on a long day-like plan.

Prints one JSON object (samples, seconds, samples per second) so benchmarks
and the lead can check the fast path without writing a file.
"""

from __future__ import annotations

import argparse
import json
import time

from harlab.simulate import random_plan, simulate_session


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harlab.simulate", description=__doc__)
    p.add_argument("--hours", type=float, default=24.0, help="session length (default 24)")
    p.add_argument("--rate", type=float, default=100.0, help="IMU rate in Hz (default 100)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    plan = random_plan(args.hours * 3600.0, args.seed)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    session = simulate_session(plan, rate_hz=args.rate, seed=args.seed)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = session.streams["accel"].n_samples
    print(
        json.dumps(
            {
                "hours": args.hours,
                "rate_hz": args.rate,
                "plan_steps": len(plan),
                "imu_samples": n,
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "samples_per_s_wall": round(n / wall),
                "samples_per_s_cpu": round(n / cpu),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
