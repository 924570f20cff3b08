"""Benchmark: the timeline of this tree against another tree's, in one run, alternating.

On a machine shared with other work, wall-clock frame times of two runs made minutes apart
are not comparable; this runs ``benchmarks/timeline.py`` (this tree's script) on the harlab
package of ``--baseline`` (e.g. ``git archive <commit> | tar -x -C DIR``) and of this tree,
in turns (baseline, this, baseline, this, ...), and reports per zoom level the median over
the rounds of each run's p95, wall and CPU, beside the naive pyqtgraph view of the last run.
The last line printed is one JSON object.

    python benchmarks/timeline_compare.py --baseline /tmp/harlab-main --rounds 2
    python benchmarks/timeline_compare.py --baseline /tmp/harlab-main --days 7 --naive-hours 24
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent


def run(tree: Path, args: list[str]) -> dict:
    """One run of timeline.py with ``tree``'s harlab package first on the path; its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, str(HERE / "timeline.py"), *args],
        env=env,
        cwd=str(TREE),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON from timeline.py on {tree}:\n{out[-2000:]}")


def median_by_level(runs: list[dict], key: str) -> dict[str, float]:
    levels = runs[0]["harlab"][key]
    return {k: round(statistics.median(r["harlab"][key][k] for r in runs), 2) for k in levels}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--baseline", type=Path, required=True, help="a tree holding the harlab package to compare with"
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--naive-hours", type=float, default=24.0)
    args = ap.parse_args(argv)
    common = ["--days", str(args.days)] if args.days else []
    trees = {"baseline": args.baseline.resolve(), "this": TREE}
    runs: dict[str, list[dict]] = {"baseline": [], "this": []}
    naive = None
    for i in range(args.rounds):
        for name, tree in trees.items():
            last = i == args.rounds - 1 and name == "this"
            extra = ["--naive-hours", str(args.naive_hours)] if last else ["--no-naive"]
            r = run(tree, common + extra)
            runs[name].append(r)
            naive = r.get("naive", naive)
            h = r["harlab"]
            print(
                f"round {i + 1} {name}: p95 by zoom {h['p95_ms_by_level']}, CPU {h['p95_cpu_ms_by_level']}",
                flush=True,
            )
    table: dict = {}
    for name, rs in runs.items():
        table[name] = {
            "p95_ms_by_level": median_by_level(rs, "p95_ms_by_level"),
            "p95_cpu_ms_by_level": median_by_level(rs, "p95_cpu_ms_by_level"),
            "open_s": round(statistics.median(r["harlab"]["open_s"] for r in rs), 3),
            "first_open_untrusted_s": [r["harlab"]["first_open_untrusted_s"] for r in rs],
            "first_open_untrusted_no_spare_s": [r["harlab"]["first_open_untrusted_no_spare_s"] for r in rs],
            "rss_open_mb": round(statistics.median(r["harlab"]["rss_open_mb"] for r in rs), 1),
            "runs": [r["harlab"] for r in rs],
        }
    if naive is not None:
        table["naive"] = {k: naive[k] for k in ("hours", "p95_ms_by_level", "p95_cpu_ms_by_level", "open_s")}
    print(
        "p95 per zoom (ms, median of rounds): wall baseline / this | CPU baseline / this"
        + (" | naive wall, CPU" if naive else "")
    )
    for level, base in table["baseline"]["p95_ms_by_level"].items():
        row = (
            f"  {level:>7}: {base:7.1f} / {table['this']['p95_ms_by_level'][level]:7.1f} | "
            f"{table['baseline']['p95_cpu_ms_by_level'][level]:7.1f} / {table['this']['p95_cpu_ms_by_level'][level]:7.1f}"
        )
        if naive and level in naive["p95_ms_by_level"]:
            row += f" | {naive['p95_ms_by_level'][level]:7.1f}, {naive['p95_cpu_ms_by_level'][level]:7.1f}"
        print(row)
    first = runs["this"][0]
    result = {
        "hours": first["hours"],
        "rate_hz": first["rate_hz"],
        "channels": first["channels"],
        "frames_per_run": first["frames"],
        "rounds": args.rounds,
        "baseline_tree": str(args.baseline),
        **table,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
