"""Benchmark: is the timeline fluid on a 24 h x 100 Hz x 6-channel session with 20,000 segments?

Builds the session (synthetic numpy, written once with ``harlab.storage.save_session`` and
reused from benchmarks/out/), opens it offscreen in the real main window (lazy HDF5 streams,
envelopes from the min/max pyramid on a worker thread) and runs a scripted sequence of
zooms and pans over every level from the whole day to one second. Each frame is timed from
``set_range`` until every envelope has arrived and the view has been repainted. The same
sequence then runs on a naive pyqtgraph view of the same arrays, fully in memory
(PlotDataItems with clipToView and autoDownsample "peak"). The last line printed is one
JSON object.

    python benchmarks/timeline.py            # 24 h (first run builds a ~1 GB file)
    python benchmarks/timeline.py --quick    # 1 h
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

RATE = 100.0
OUT = Path(__file__).resolve().parent / "out"


def rss_mb() -> float:
    """Resident memory of this process (MB) from /proc (no psutil needed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_session(hours: float, n_segments: int, seed: int = 0):
    """``hours`` of a simulated wrist (accelerometer and gyroscope at :data:`RATE`) and
    ``n_segments`` random, non-overlapping labels of six classes."""
    from harlab.core import LabelClass, Segment
    from harlab.simulate import synthetic_session

    rng = np.random.default_rng(seed)
    names = ["sleep", "sitting", "standing", "walking", "running", "cycling"]
    colours = ["#6a3d9a", "#1f77b4", "#9467bd", "#2ca02c", "#d62728", "#e377c2"]
    dur = hours * 3600
    edges = np.sort(rng.uniform(0, dur, 2 * n_segments))
    return synthetic_session(
        dur,
        rate_hz=RATE,
        streams=("accel", "gyro"),
        classes=[LabelClass(nm, c) for nm, c in zip(names, colours, strict=True)],
        segments=[
            Segment(float(edges[2 * i]), float(edges[2 * i + 1]), names[i % len(names)])
            for i in range(n_segments)
        ],
        participant="bench",
        seed=seed,
        start_utc=datetime(2024, 5, 1, 22, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
    )


def sequence(duration: float, seed: int = 1) -> list[tuple[float, float]]:
    """Ranges to show: each zoom level from the whole recording to 1 s, with pans at each."""
    rng = np.random.default_rng(seed)
    widths = [w for w in (duration, 6 * 3600, 3600, 600, 60, 10, 1) if w <= duration]
    out = []
    for w in widths:
        centre = float(rng.uniform(w / 2, duration - w / 2)) if w < duration else duration / 2
        out.append((centre - w / 2, centre + w / 2))
        for _ in range(6):  # pans by 10..60 % of the view (some inside the fetched margin, some not)
            centre = min(max(centre + float(rng.uniform(-0.6, 0.6)) * w, w / 2), duration - w / 2)
            out.append((centre - w / 2, centre + w / 2))
    return out


def measure_harlab(path: Path, ranges, size) -> dict:
    from PySide6.QtWidgets import QApplication

    from harlab.gui.main_window import MainWindow

    app = QApplication.instance()
    rss0 = rss_mb()
    w = MainWindow()
    w.resize(*size)
    w.show()
    app.processEvents()
    t = time.perf_counter()
    assert w.open_path(path)
    while not w.timeline.is_idle():
        app.processEvents()
    w.timeline.glw.viewport().repaint()
    open_s = time.perf_counter() - t
    frames = []
    summarised = []
    for a, b in ranges:
        t = time.perf_counter()
        w.timeline.set_range(a, b)
        app.processEvents()
        while not w.timeline.is_idle():
            app.processEvents()
        w.timeline.glw.viewport().repaint()
        w.timeline.overview.viewport().repaint()
        frames.append(time.perf_counter() - t)
        summarised.append(w.timeline.summarised_factor())
    rss = rss_mb()
    drawn = max(row.band.last_drawn for row in w.timeline.bands)
    w.history.clear()
    w.close()
    w.deleteLater()
    app.processEvents()
    return {
        "open_s": open_s,
        "frames": frames,
        "rss_mb": rss,
        "rss_delta_mb": rss - rss0,
        "summarised": summarised,
        "max_label_rects": drawn,
    }


def measure_naive(path: Path, ranges, size) -> dict:
    """Full arrays in PlotDataItems (clipToView + autoDownsample), as a pyqtgraph user would."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from harlab.storage import read_session

    app = QApplication.instance()
    rss0 = rss_mb()
    t = time.perf_counter()
    session = read_session(path)
    glw = pg.GraphicsLayoutWidget()
    glw.resize(*size)
    plots = []
    for i, stream in enumerate(session.streams.values()):
        p = glw.addPlot(row=i, col=0)
        p.setClipToView(True)
        p.setDownsampling(auto=True, mode="peak")
        times, values = stream.read()
        for c in range(values.shape[1]):
            p.plot(times, values[:, c], pen=pg.intColor(c))
        if plots:
            p.setXLink(plots[0])
        plots.append(p)
    glw.show()
    app.processEvents()
    glw.viewport().repaint()
    open_s = time.perf_counter() - t
    frames = []
    for a, b in ranges:
        t = time.perf_counter()
        plots[0].setXRange(a, b, padding=0)
        app.processEvents()
        glw.viewport().repaint()
        frames.append(time.perf_counter() - t)
    rss = rss_mb()
    glw.close()
    glw.deleteLater()
    app.processEvents()
    return {"open_s": open_s, "frames": frames, "rss_mb": rss, "rss_delta_mb": rss - rss0}


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 1 h session instead of 24 h")
    ap.add_argument("--segments", type=int, default=20_000)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the session file even if it exists")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive pyqtgraph comparison")
    args = ap.parse_args(argv)
    hours = 1.0 if args.quick else 24.0

    from PySide6.QtWidgets import QApplication

    from harlab.gui import settings
    from harlab.storage import save_session

    app = QApplication.instance() or QApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    settings.use_settings_dir(OUT / "qsettings", organization="harlab-benchmark")
    path = OUT / f"timeline_{hours:g}h_{args.segments}.h5"
    build_s = 0.0
    if args.rebuild or not path.exists():
        t = time.perf_counter()
        session = build_session(hours, args.segments)
        save_session(session, path)
        build_s = time.perf_counter() - t
        del session
        gc.collect()
        print(f"built {path.name} in {build_s:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    ranges = sequence(hours * 3600)
    size = (1400, 860)
    h = measure_harlab(path, ranges, size)
    print(
        f"harlab : open {h['open_s']:.2f} s, frame median {statistics.median(h['frames']) * 1000:.1f} ms, "
        f"p95 {p95(h['frames']) * 1000:.1f} ms, max {max(h['frames']) * 1000:.1f} ms, "
        f"RSS {h['rss_mb']:.0f} MB (+{h['rss_delta_mb']:.0f}), label rects drawn <= {h['max_label_rects']}"
    )
    result = {
        "hours": hours,
        "rate_hz": RATE,
        "channels": 6,
        "segments": args.segments,
        "frames": len(ranges),
        "build_s": round(build_s, 2),
        "harlab": {
            "open_s": round(h["open_s"], 3),
            "median_frame_ms": round(statistics.median(h["frames"]) * 1000, 2),
            "p95_frame_ms": round(p95(h["frames"]) * 1000, 2),
            "max_frame_ms": round(max(h["frames"]) * 1000, 2),
            "rss_mb": round(h["rss_mb"], 1),
            "rss_delta_mb": round(h["rss_delta_mb"], 1),
            "summarised_levels": sorted(set(h["summarised"])),
        },
    }
    if not args.no_naive:
        n = measure_naive(path, ranges, size)
        print(
            f"naive  : open {n['open_s']:.2f} s, frame median {statistics.median(n['frames']) * 1000:.1f} ms, "
            f"p95 {p95(n['frames']) * 1000:.1f} ms, max {max(n['frames']) * 1000:.1f} ms, "
            f"RSS {n['rss_mb']:.0f} MB (+{n['rss_delta_mb']:.0f})"
        )
        result["naive"] = {
            "open_s": round(n["open_s"], 3),
            "median_frame_ms": round(statistics.median(n["frames"]) * 1000, 2),
            "p95_frame_ms": round(p95(n["frames"]) * 1000, 2),
            "max_frame_ms": round(max(n["frames"]) * 1000, 2),
            "rss_mb": round(n["rss_mb"], 1),
            "rss_delta_mb": round(n["rss_delta_mb"], 1),
        }
        result["ratios_naive_over_harlab"] = {
            k: round(result["naive"][k] / max(result["harlab"][k], 1e-9), 2)
            for k in ("open_s", "median_frame_ms", "p95_frame_ms", "rss_delta_mb")
        }
        print(
            "naive / harlab: " + ", ".join(f"{k} x{v}" for k, v in result["ratios_naive_over_harlab"].items())
        )
    print(json.dumps(result))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
