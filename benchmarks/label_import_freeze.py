"""Benchmark: the longest freeze of the GUI thread while File > Import labels opens a large
Audacity file, this tree against ``--baseline``'s, in one run, alternating.

A 10 ms timer ticks on the GUI thread from before the import until the dialog has the plan; its
largest gap less 10 ms is the longest freeze (what the user feels), ``import_labels_call_s`` the
time the menu action itself held the thread. ``warm``: the dialog's module (and pandas) was
imported before, so only the read and the plan count; ``cold``: the first import of a session,
that module's import included. The machine may be shared: compare the trees within one run.

    python benchmarks/label_import_freeze.py --baseline /tmp/harlab-main --segments 100000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
TREE = HERE.parents[1]
TICK_S = 0.010


def measure(n: int, warm: bool) -> dict:
    """One import of ``n`` Audacity lines in a fresh window of the harlab first on the path."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp())
    os.environ["HOME"] = str(tmp)  # the window's settings: not the user's
    app = QApplication([])
    from harlab.gui.main_window import MainWindow
    from harlab.simulate import synthetic_session
    from harlab.storage import save_session

    session = synthetic_session(2.0 * n + 10, rate_hz=1.0, streams=("accel",))
    path = save_session(session, tmp / "s.h5")
    labels = tmp / "big.txt"
    labels.write_text(
        "".join(f"{2.0 * i}\t{2.0 * i + 1.0}\t{'sitting' if i % 3 else 'jogging'}\n" for i in range(n)),
        encoding="utf-8",
    )
    if warm:
        import harlab.gui.labeling.label_import_dialog  # noqa: F401
    w = MainWindow()
    w.resize(1200, 760)
    w.show()
    assert w.open_path(path)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    state: dict = {"last": None, "gaps": [], "dialog": None, "t0": 0.0, "call": 0.0, "total": 0.0}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"] is not None and state["t0"]:
            state["gaps"].append(now - state["last"])
        state["last"] = now
        d = state["dialog"]
        if d is not None and not d.planning:
            state["total"] = now - state["t0"]
            app.quit()

    def go() -> None:
        state["t0"] = time.perf_counter()
        state["dialog"] = w.import_labels(labels)
        state["call"] = time.perf_counter() - state["t0"]

    timer = QTimer()
    timer.setInterval(int(TICK_S * 1000))
    timer.timeout.connect(tick)
    timer.start()
    QTimer.singleShot(100, go)
    app.exec()
    d = state["dialog"]
    return {
        "longest_freeze_s": round(max(state["gaps"]) - TICK_S, 3),
        "import_labels_call_s": round(state["call"], 3),
        "until_planned_s": round(state["total"], 3),
        "planned": d.plan is not None and d.plan.ready,
    }


def run(tree: Path, n: int, warm: bool) -> dict:
    """:func:`measure` in a fresh process with ``tree``'s harlab first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "QT_QPA_PLATFORM": "offscreen"}
    args = [sys.executable, str(HERE), "--one", str(n), *(["--warm"] if warm else [])]
    out = subprocess.run(args, env=env, cwd=str(tree), capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=False, help="another tree (its harlab package)")
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.one is not None:
        result = measure(a.one, a.warm)
        print(json.dumps(result), flush=True)
        os._exit(0)  # the window's teardown is not measured
    trees = {"this": TREE, **({"baseline": a.baseline.resolve()} if a.baseline else {})}
    runs: dict[str, dict[str, list[dict]]] = {k: {"warm": [], "cold": []} for k in trees}
    for r in range(a.rounds):
        for name in reversed(trees):  # baseline first, then this tree
            for mode in ("warm", "cold"):
                one = run(trees[name], a.segments, mode == "warm")
                print(f"round {r + 1}: {name} {mode}: {one}", file=sys.stderr, flush=True)
                runs[name][mode].append(one)
    summary = {
        name: {
            mode: {
                key: statistics.median(x[key] for x in rs)
                for key in ("longest_freeze_s", "import_labels_call_s", "until_planned_s")
            }
            | {"planned": all(x["planned"] for x in rs)}
            for mode, rs in modes.items()
        }
        for name, modes in runs.items()
    }
    print(json.dumps({"segments": a.segments, "rounds": a.rounds, "median": summary, "runs": runs}))


if __name__ == "__main__":
    main()
