"""Benchmark: reading a session's label tables, as opening the file does, with this tree's harlab
and (alternating, in the same run) another tree's.

Each run is a new interpreter with the tree's harlab first on the path; it reads every
``/labels/<name>`` table of FILE ``--repeats`` times into LabelTracks (the segments, then
``add_many``) and reports the fastest read. The file is only read.

    python benchmarks/label_read.py FILE --baseline /tmp/harlab-main
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import h5py
from harlab.core.labels import LabelTrack
from harlab.storage import layout

def read(ds):
    if hasattr(layout, "read_segments"):
        return layout.read_segments(ds)
    return layout.segments_from_table(layout.read_table(ds, layout.SEGMENT_DTYPE))

with h5py.File(sys.argv[1], "r") as f:
    tables = list(f["labels"].values())
    best, n = float("inf"), 0
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        for ds in tables:
            track = LabelTrack(ds.name.rsplit("/", 1)[1])
            track.add_many(read(ds), keep_ids=True)
            n = len(track)
        best = min(best, time.perf_counter() - t)
print(json.dumps({"best_s": best, "segments": n}))
"""


def run(tree: Path, path: Path, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-P", "-c", CHILD, str(path), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--baseline", type=Path, default=None, help="a tree holding another harlab package")
    ap.add_argument("--runs", type=int, default=5, help="new interpreters per tree (median reported)")
    ap.add_argument("--repeats", type=int, default=5, help="reads per interpreter (fastest reported)")
    args = ap.parse_args(argv)
    trees = {"this": Path(__file__).resolve().parents[1]}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for i in range(args.runs):
        for name, tree in trees.items():
            runs[name].append(run(tree, args.file, args.repeats))
        print(f"run {i + 1}/{args.runs}", file=sys.stderr)
    result: dict = {
        "file": str(args.file),
        "segments": runs["this"][-1]["segments"],
        "repeats": args.repeats,
        **{
            name: {
                "read_s": round(statistics.median(r["best_s"] for r in rs), 4),
                "runs_s": [round(r["best_s"], 4) for r in rs],
                "tree": str(trees[name]),
            }
            for name, rs in runs.items()
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if "baseline" in result:
        result["baseline_over_this"] = round(result["baseline"]["read_s"] / result["this"]["read_s"], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
