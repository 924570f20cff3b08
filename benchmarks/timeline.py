"""Benchmark: is the timeline fluid on a 24 h (or 7-day) x 100 Hz x 6-channel session?

Builds the session once and reuses it from benchmarks/out/ (ignored by git): synthetic
samples appended hour by hour through the storage layer's append path
(``storage.pyramid.StreamAppender``, which keeps the min/max pyramid current), so
building a week never holds more than an hour of samples in memory. It opens the file
offscreen in the real main window (lazy HDF5 streams, envelopes from the pyramid) and
measures the open time (until the first frame is drawn) and the RSS after it, then runs
a scripted sequence of zooms and pans at each level from the whole recording to one
second. Each frame is timed from ``set_range`` until every envelope has arrived and the
view has been repainted; the p95 is reported per zoom level. The same sequence then runs
on a naive pyqtgraph view of the same arrays, fully in memory (PlotDataItems with
clipToView and autoDownsample "peak"); ``--naive-hours`` caps the naive view's share of
the file for a week, whose arrays (6 GB as float64 in pyqtgraph) would not fit. The open
time is measured for a file harlab wrote (as after an import, a recording or a save) and
for the first open of a file from elsewhere, which first passes the hostile-file checks (a
metadata probe in a child process and a scan of every byte for corrupt global heaps): in a
workbench open for a moment (the probe's child, started with the window, waits ready) and
without a child started ahead (``first_open_untrusted_no_spare_s``). ``launch`` is ``harlab FILE``
itself, from a new interpreter to the file's first frame, through the command line's own
``main`` (``--launches`` times; ``--launch-baseline TREE`` alternates with another tree's harlab),
with the CPU seconds that process spent (the wall time an idle machine approaches). Frame CPU
time (all threads) is reported beside wall time, per zoom level, and for the slowest frame of
each level what took the wall time that is not this process's CPU: garbage collections, the
GUI thread's voluntary switches (waits on a lock, a thread, a disk) and involuntary ones
(other processes or the host took the CPU), the machine's iowait and steal ticks, and whether
the full-file check an open starts in a child still ran (``--without-full-check`` starts none).
The last line printed is one JSON object; ``timeline_compare.py`` runs this script on two trees
in turns.

    python benchmarks/timeline.py            # 24 h (first run builds a ~1 GB file)
    python benchmarks/timeline.py --days 7   # a week (first run builds a ~4 GB file)
    python benchmarks/timeline.py --quick    # 1 h
    python benchmarks/timeline.py --days 7 --launch-baseline /tmp/harlab-main   # `harlab FILE`, two trees
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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CLASSES = ["sleep", "sitting", "standing", "walking", "running", "cycling"]
COLOURS = ["#6a3d9a", "#1f77b4", "#9467bd", "#2ca02c", "#d62728", "#e377c2"]
START_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  #: Mon 30 Nov, 09:00 in Berlin
TIMEZONE = "Europe/Berlin"
G = 9.80665
CHUNK_S = 3600.0  #: samples are generated and appended an hour at a time


def chunk_signal(i0: int, i1: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples ``i0 .. i1-1`` of a wrist worn for days: still at night (23:00-07:00 local),
    bouts of movement by day that differ from day to day, an hour off the wrist each
    afternoon, quantised as a 12-bit device would (which is also what makes them compress
    like real data). Depends only on the sample indices, so any chunking gives the same file."""
    n = i1 - i0
    t = np.arange(i0, i1, dtype=np.float64) / RATE
    local_h = ((t + START_UTC.hour * 3600 + 3600) / 3600.0) % 24  # Berlin is UTC+1 in winter
    day = ((t + START_UTC.hour * 3600 + 3600) // 86400).astype(np.int64)
    block = (t // 300).astype(np.int64)  # five-minute blocks of one activity level
    level = (np.sin(block * 12.9898 + seed) * 43758.5453) % 1.0  # a cheap hash of the block
    daily = 0.6 + 0.4 * np.sin(day * 2.1 + 1.0)  # days differ
    amp = np.where((local_h >= 23) | (local_h < 7), 0.05, (0.2 + 3.0 * level**2) * daily)
    amp = np.where((local_h >= 15) & (local_h < 16), 0.0, amp)  # off the wrist
    rng = np.random.default_rng([seed, i0])
    tilt = 0.6 * np.sin(block * 0.37)
    gravity = np.stack([np.sin(tilt), 0.3 * np.cos(block * 0.11), np.cos(tilt)], axis=1) * G
    phase = 2 * np.pi * 1.8 * t
    move = np.stack([np.sin(phase), np.sin(phase + 2.1), 0.5 * np.sin(2 * phase)], axis=1)
    accel = gravity + amp[:, None] * (move * G * 0.6 + rng.normal(0, 0.4, (n, 3)))
    accel = np.round(accel / (G / 256)) * (G / 256)
    gyro = amp[:, None] * (np.roll(move, 1, axis=1) * 1.5 + rng.normal(0, 0.15, (n, 3)))  # rad/s
    gyro = np.round(gyro * 1000) / 1000
    return t, accel.astype(np.float32), gyro.astype(np.float32)


def build_file(path: Path, hours: float, n_segments: int, seed: int = 0) -> None:
    """Write ``hours`` of a simulated wrist (accelerometer and gyroscope at :data:`RATE`)
    and ``n_segments`` random, non-overlapping labels of six classes into ``path``.

    The metadata, schema and labels come from ``synthetic_session`` (with empty streams);
    the samples are appended an hour at a time through ``StreamAppender`` inside one
    atomic save, so the week never exists in memory."""
    import dataclasses

    from harlab.core import LabelClass, Segment
    from harlab.core.streams import ArrayStreamData
    from harlab.simulate import synthetic_session
    from harlab.storage.codec import save_h5, write_session
    from harlab.storage.pyramid import StreamAppender

    rng = np.random.default_rng(seed)
    dur = hours * 3600
    edges = np.sort(rng.uniform(0, dur, 2 * n_segments))
    session = synthetic_session(
        10.0,
        rate_hz=RATE,
        streams=("accel", "gyro"),
        classes=[LabelClass(nm, c) for nm, c in zip(CLASSES, COLOURS, strict=True)],
        segments=[],
        participant="bench",
        seed=seed,
        start_utc=START_UTC,
        timezone=TIMEZONE,
        metadata={
            "notes": f"benchmarks/timeline.py: {hours:g} h of synthetic samples, appended an hour at a time"
        },
    )
    for name, stream in list(session.streams.items()):
        session.remove_stream(name)
        empty = ArrayStreamData(np.zeros(0), np.zeros((0, len(stream.channels)), np.float32))
        session.add_stream(dataclasses.replace(stream, data=empty))
    session.add_segments(
        "activity",
        [
            Segment(float(edges[2 * i]), float(edges[2 * i + 1]), CLASSES[i % len(CLASSES)])
            for i in range(n_segments)
        ],
    )
    n = int(round(dur * RATE))
    step = int(CHUNK_S * RATE)

    def fill(f) -> None:
        write_session(f, session)
        accel = StreamAppender(f["streams"]["accel"])
        gyro = StreamAppender(f["streams"]["gyro"])
        for i0 in range(0, n, step):
            t, a, g = chunk_signal(i0, min(n, i0 + step), seed)
            accel.append(t, a)
            gyro.append(t, g)

    save_h5(path, fill)


LEVELS = [
    ("whole", None),
    ("day", 86400.0),
    ("6 h", 6 * 3600.0),
    ("hour", 3600.0),
    ("10 min", 600.0),
    ("minute", 60.0),
    ("10 s", 10.0),
    ("1 s", 1.0),
]


def sequence(duration: float, seed: int = 1, pans: int = 6) -> list[tuple[str, float, float]]:
    """(level, t0, t1) to show: each zoom level from the whole recording to 1 s, with ``pans`` pans
    at each."""
    rng = np.random.default_rng(seed)
    out = []
    for name, w in LEVELS:
        if w is None:
            w = duration
        elif w >= duration:
            continue
        centre = float(rng.uniform(w / 2, duration - w / 2)) if w < duration else duration / 2
        out.append((name, centre - w / 2, centre + w / 2))
        for _ in range(pans):  # pans by 10..60 % of the view (some inside the fetched margin, some not)
            centre = min(max(centre + float(rng.uniform(-0.6, 0.6)) * w, w / 2), duration - w / 2)
            out.append((name, centre - w / 2, centre + w / 2))
    return out


def open_window(path: Path, size, before_open=None):
    """A main window with ``path`` open and drawn, the seconds from ``open_path`` to the
    first frame and the CPU seconds this process spent on them (``before_open`` runs first,
    untimed)."""
    from PySide6.QtWidgets import QApplication

    from harlab.gui.main_window import MainWindow

    app = QApplication.instance()
    w = MainWindow()
    w.resize(*size)
    w.show()
    app.processEvents()
    if before_open is not None:
        before_open()
    t, c = time.perf_counter(), time.process_time()
    assert w.open_path(path)
    while not w.timeline.is_idle():
        app.processEvents()
    w.timeline.glw.viewport().repaint()
    return w, time.perf_counter() - t, time.process_time() - c  # CPU: this process's, not a child's


def close_window(w) -> None:
    from PySide6.QtWidgets import QApplication

    w.history.clear()
    w.close()
    w.deleteLater()
    QApplication.instance().processEvents()


def measure_first_open(path: Path, size, spare: bool) -> float | None:
    """Seconds to open a file this process did not write, to its first frame: the hostile-file
    defences (the metadata probe in a child process and the scan of the file's bytes for
    corrupt global heaps) come first. With ``spare``, as in a workbench that has been open for
    a moment (the probe's child, started with the window, has done its imports); without, as
    ``harlab FILE`` from the command line (the child starts when the file is opened)."""
    from harlab.storage import probe

    if spare and not hasattr(probe, "prestart"):
        return None  # an older harlab (timeline_compare.py's baseline): no child started ahead

    def prepare() -> None:
        probe.forget_all()
        if spare:
            probe.prestart()
            if not probe.wait_for_spare(60.0):
                print("the probe's child did not get ready within 60 s", file=sys.stderr)
        elif hasattr(probe, "discard_spare"):
            probe.discard_spare()

    w, seconds, _ = open_window(path, size, prepare)
    close_window(w)
    return seconds


#: The child of :func:`measure_launch`: ``harlab FILE`` through the command line's own ``main``,
#: with one addition made once ``harlab.gui.main_window`` is imported (so nothing here imports Qt
#: earlier than the launch path does): when ``open_path`` returns, wait for the first frame, print
#: the monotonic clock (system-wide on Linux, so the parent can subtract its own) and quit.
LAUNCH_CHILD = r"""
import importlib.abc, importlib.machinery, json, resource, sys, time

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # the probe's child, ended by now
    return r.ru_utime + r.ru_stime

def patch(module):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    opened = module.MainWindow.open_path

    def open_path(self, path):
        called = time.monotonic()
        ok = opened(self, path)
        app = QApplication.instance()
        while not self.timeline.is_idle():
            app.processEvents()
        self.timeline.glw.viewport().repaint()
        print(json.dumps({"open_called": called, "drawn": time.monotonic(), "ok": bool(ok),
                          "cpu": time.process_time(), "child_cpu": children_cpu(),
                          "modules": sorted(m for m in ("pandas", "statsmodels", "torch", "sklearn", "av")
                                            if m in sys.modules)}), flush=True)
        QTimer.singleShot(0, app.quit)
        return ok

    module.MainWindow.open_path = open_path

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "harlab.gui.main_window":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
from harlab.cli import main
sys.exit(main([sys.argv[1]]))
"""


def measure_launch(path: Path, tree: Path, settings_dir: Path) -> dict:
    """``harlab FILE`` in a new process, as from a shell: seconds from starting the interpreter
    to the first frame of the file (``drawn_s``) and to the call that opens it (``open_called_s``,
    after Python, the command line, Qt and the window have started), and the CPU seconds the
    process (not its probe child) spent until that frame (``cpu_s``: on a loaded machine, the
    figure the wall time would approach when idle), for the harlab package of ``tree``. The file is one the new process did not write, so it passes the hostile-file probe.
    Settings go to ``settings_dir`` (XDG_CONFIG_HOME), not the user's."""
    import subprocess

    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(settings_dir),
    }
    t0 = time.monotonic()
    proc = subprocess.run(
        # -P: the working directory's harlab (a checkout) must not shadow ``tree``'s
        [sys.executable, "-P", "-c", LAUNCH_CHILD, str(path.resolve())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            got = json.loads(line)
            return {
                "drawn_s": round(got["drawn"] - t0, 3),
                "open_called_s": round(got["open_called"] - t0, 3),
                "cpu_s": round(got["cpu"], 3),
                "probe_child_cpu_s": round(got["child_cpu"], 3),
                "ok": got["ok"],
                "heavy_modules": got["modules"],
            }
    raise RuntimeError(f"`harlab FILE` printed no timing (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def measure_launches(path: Path, settings_dir: Path, n: int, baseline: Path | None) -> dict[str, dict]:
    """``n`` launches of ``harlab FILE`` with this tree's harlab (and, alternating, ``baseline``'s):
    per tree the median seconds to the first frame and to the open call, and every run's."""
    if n <= 0:
        return {}
    trees = {"this": Path(__file__).resolve().parents[1]}
    if baseline is not None:
        trees = {"baseline": baseline.resolve(), **trees}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(max(1, n)):
        for name, tree in trees.items():
            runs[name].append(measure_launch(path, tree, settings_dir))
    return {
        name: {
            "drawn_s": round(statistics.median(r["drawn_s"] for r in rs), 3),
            "open_called_s": round(statistics.median(r["open_called_s"] for r in rs), 3),
            "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
            "probe_child_cpu_s": round(statistics.median(r["probe_child_cpu_s"] for r in rs), 3),
            "runs_drawn_s": [r["drawn_s"] for r in rs],
            "heavy_modules": rs[-1]["heavy_modules"],
            "tree": str(trees[name]),
        }
        for name, rs in runs.items()
    }


class GcWatch:
    """Garbage collections of this process, as (generation, seconds) per frame: a full collection
    walks every object of the open session (a 20 000-segment day holds ~10^5) and stops the GUI
    thread for tens of milliseconds, whenever the allocation counters happen to cross the
    threshold."""

    def __init__(self) -> None:
        self.events: list[tuple[int, float]] = []
        self._t = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.events.append((int(info["generation"]), time.perf_counter() - self._t))


def cpu_ticks() -> dict[str, int]:
    """The machine's iowait and steal ticks (/proc/stat): time this VM's CPUs waited for a disk or
    were taken by the host, which no figure of this process shows."""
    try:
        f = Path("/proc/stat").read_text().splitlines()[0].split()
        return {"iowait": int(f[5]), "steal": int(f[8])}
    except (OSError, IndexError, ValueError):
        return {"iowait": 0, "steal": 0}


def thread_switches() -> tuple[int, int]:
    """This thread's (voluntary, involuntary) context switches so far: a frame that waited on a
    lock, a disk or another thread switches voluntarily; one that other processes (or the host)
    took the CPU from, involuntarily."""
    import resource

    try:
        r = resource.getrusage(resource.RUSAGE_THREAD)
    except (AttributeError, ValueError):
        return (0, 0)
    return (r.ru_nvcsw, r.ru_nivcsw)


def full_check_running(w) -> bool:
    """Whether the check of every byte that opening a large file starts (``harlab validate`` in a
    niced child, so that a save need not wait for it) still runs: it reads the whole file on the
    other core while the first frames after an open are drawn."""
    sf = w.document.session_file if w.document is not None else None
    check = getattr(sf, "_sound_check", None)
    return bool(check is not None and check[0].is_alive())


def measure_harlab(path: Path, ranges, size, screenshot: Path | None) -> dict:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    rss0 = rss_mb()
    w, open_s, open_cpu_s = open_window(path, size)
    rss_open = rss_mb()
    if screenshot is not None:
        app.processEvents()
        w.grab().save(str(screenshot))
    frames: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}  #: CPU seconds of the process (all threads) per frame
    summarised = []
    collections: dict[str, list[float]] = {}  #: milliseconds of garbage collection in each frame
    switches: dict[str, list[tuple[int, int]]] = {}  #: the GUI thread's (voluntary, involuntary) switches
    checking: dict[str, int] = {}  #: frames drawn while the open's full-file check (a child) still ran
    ticks0 = cpu_ticks()
    with GcWatch() as watch:
        for level, a, b in ranges:
            n0 = len(watch.events)
            r0 = thread_switches()
            t, c = time.perf_counter(), time.process_time()
            w.timeline.set_range(a, b)
            app.processEvents()
            while not w.timeline.is_idle():
                app.processEvents()
            w.timeline.glw.viewport().repaint()
            w.timeline.axis_view.viewport().repaint()
            w.timeline.overview.viewport().repaint()
            frames.setdefault(level, []).append(time.perf_counter() - t)
            cpu.setdefault(level, []).append(time.process_time() - c)
            collections.setdefault(level, []).append(sum(d for _, d in watch.events[n0:]) * 1000)
            r1 = thread_switches()
            switches.setdefault(level, []).append((r1[0] - r0[0], r1[1] - r0[1]))
            checking[level] = checking.get(level, 0) + full_check_running(w)
            summarised.append(w.timeline.summarised_factor())
    ticks = {k: v - ticks0[k] for k, v in cpu_ticks().items()}
    out = figures(open_s, frames, cpu, rss_open, rss0)
    drawn = max(row.band.last_drawn for row in w.timeline.bands)
    close_window(w)
    return {
        **out,
        "open_cpu_s": open_cpu_s,
        "summarised": summarised,
        "max_label_rects": drawn,
        "gc": {
            "full_collections_in_frames": sum(1 for g, _ in watch.events if g == 2),
            "max_ms_in_a_frame_by_level": {k: round(max(v), 1) for k, v in collections.items()},
        },
        "machine_ticks_during_frames": ticks,
        "switches": switches,
        "frames_beside_the_full_file_check": checking,
    }


def figures(
    open_s: float,
    frames: dict[str, list[float]],
    cpu: dict[str, list[float]],
    rss_open: float,
    rss0: float,
) -> dict:
    """What both views report; the RSS now, after the frames. The CPU time per frame is less
    sensitive than the wall time to other processes on a busy machine."""
    rss = rss_mb()
    return {
        "open_s": open_s,
        "frames": frames,
        "cpu": cpu,
        "rss_open_mb": rss_open,
        "rss_mb": rss,
        "rss_delta_mb": rss - rss0,
    }


def measure_naive(path: Path, ranges, size, hours: float) -> dict:
    """Full arrays of the first ``hours`` in PlotDataItems (clipToView + autoDownsample), as a
    pyqtgraph user would."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from harlab.storage import open_session

    app = QApplication.instance()
    rss0 = rss_mb()
    t = time.perf_counter()
    glw = pg.GraphicsLayoutWidget()
    glw.resize(*size)
    plots = []
    with open_session(path) as sf:
        for i, stream in enumerate(sf.session.streams.values()):
            p = glw.addPlot(row=i, col=0)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            times, values = stream.read(None, hours * 3600)
            for c in range(values.shape[1]):
                p.plot(times, values[:, c], pen=pg.intColor(c))
            del times, values
            if plots:
                p.setXLink(plots[0])
            plots.append(p)
    glw.show()
    app.processEvents()
    glw.viewport().repaint()
    open_s = time.perf_counter() - t
    rss_open = rss_mb()
    frames: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for level, a, b in ranges:
        t, c = time.perf_counter(), time.process_time()
        plots[0].setXRange(a, b, padding=0)
        app.processEvents()
        glw.viewport().repaint()
        frames.setdefault(level, []).append(time.perf_counter() - t)
        cpu.setdefault(level, []).append(time.process_time() - c)
    out = figures(open_s, frames, cpu, rss_open, rss0)
    glw.close()
    glw.deleteLater()
    app.processEvents()
    return out


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))


def summary(m: dict) -> dict:
    """Rounded figures of one view: open, RSS, frame p95 overall and per zoom level (ms)."""
    every = [x for xs in m["frames"].values() for x in xs]
    every_cpu = [x for xs in m["cpu"].values() for x in xs]
    return {
        "open_s": round(m["open_s"], 3),
        "rss_open_mb": round(m["rss_open_mb"], 1),
        "rss_mb": round(m["rss_mb"], 1),
        "rss_delta_mb": round(m["rss_delta_mb"], 1),
        "median_frame_ms": round(statistics.median(every) * 1000, 2),
        "p95_frame_ms": round(p95(every) * 1000, 2),
        "max_frame_ms": round(max(every) * 1000, 2),
        "p95_ms_by_level": {k: round(p95(v) * 1000, 2) for k, v in m["frames"].items()},
        "p95_frame_cpu_ms": round(p95(every_cpu) * 1000, 2),
        "median_frame_cpu_ms": round(statistics.median(every_cpu) * 1000, 2),
        "p95_cpu_ms_by_level": {k: round(p95(v) * 1000, 2) for k, v in m["cpu"].items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 1 h session instead of 24 h")
    ap.add_argument("--days", type=float, default=None, help="days of recording (default 1)")
    ap.add_argument("--segments", type=int, default=20_000)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the session file even if it exists")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive pyqtgraph comparison")
    ap.add_argument(
        "--naive-hours",
        type=float,
        default=24.0,
        help="the naive view loads at most this many hours (all of a week does not fit in memory)",
    )
    ap.add_argument(
        "--pans",
        type=int,
        default=6,
        help="pans at each zoom level after the zoom (6: a level's p95 of 7 frames is nearly its slowest frame)",
    )
    ap.add_argument(
        "--without-full-check",
        action="store_true",
        help="diagnosis: opening starts no full-file check in a child (a save would then make it); run "
        "beside a run without this flag to see what that child costs the first frames after an open",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="where the session file is cached")
    ap.add_argument("--screenshot", type=Path, default=None, help="save the window after opening")
    ap.add_argument(
        "--launches", type=int, default=3, help="`harlab FILE` launches from a new process (median reported)"
    )
    ap.add_argument(
        "--launch-baseline",
        type=Path,
        default=None,
        help="a tree holding another harlab package: its `harlab FILE` launches alternate with this tree's",
    )
    args = ap.parse_args(argv)
    hours = 1.0 if args.quick else 24.0 * (args.days or 1.0)

    from PySide6.QtWidgets import QApplication

    from harlab.gui import settings
    from harlab.storage.probe import trust

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if args.without_full_check:
        from harlab.storage.session_file import SessionFile

        SessionFile.check_sound_in_background = lambda self, in_child=None: None  # type: ignore[method-assign]
    args.out.mkdir(parents=True, exist_ok=True)
    settings.use_settings_dir(args.out / "qsettings", organization="harlab-benchmark")
    path = args.out / f"timeline_{hours:g}h_{args.segments}.h5"
    build_s = 0.0
    build_rss = 0.0
    if args.rebuild or not path.exists():
        t = time.perf_counter()
        build_file(path, hours, args.segments)
        build_s = time.perf_counter() - t
        build_rss = peak_rss_mb()
        gc.collect()
        print(
            f"built {path.name} in {build_s:.1f} s ({path.stat().st_size / 1e6:.0f} MB, "
            f"peak RSS {build_rss:.0f} MB)"
        )
    duration = hours * 3600
    ranges = sequence(duration, pans=args.pans)
    size = (1400, 860)
    first_open_cold = measure_first_open(path, size, spare=False)
    gc.collect()
    # the file was written by build_file (in this run or an earlier one): opened as harlab opens
    # a file it imported, recorded or saved, without the hostile-file defences
    trust(path)
    h = measure_harlab(path, ranges, size, args.screenshot)
    hs = summary(h)
    first_open = measure_first_open(path, size, spare=True)  # after: its window would weigh on the RSS above
    gc.collect()
    launch = measure_launches(path, args.out / "xdg", args.launches, args.launch_baseline)
    if launch:
        print(
            "`harlab FILE` from a new process to the first frame: "
            + ", ".join(
                f"{tree} {r['drawn_s']:.2f} s (window ready {r['open_called_s']:.2f} s)"
                for tree, r in launch.items()
            ),
            file=sys.stderr,
        )
    print(
        f"harlab : open {hs['open_s']:.2f} s ({h['open_cpu_s']:.2f} s CPU; first open of a file from elsewhere "
        f"{first_open or float('nan'):.2f} s, {first_open_cold:.2f} s as `harlab FILE`), "
        f"RSS after open {hs['rss_open_mb']:.0f} MB, "
        f"frame median {hs['median_frame_ms']:.1f} ms, p95 {hs['p95_frame_ms']:.1f} ms, "
        f"max {hs['max_frame_ms']:.1f} ms, CPU p95 {hs['p95_frame_cpu_ms']:.1f} ms, RSS {hs['rss_mb']:.0f} MB (+{hs['rss_delta_mb']:.0f}), "
        f"label rects drawn <= {h['max_label_rects']}"
    )
    print("         p95 per zoom: " + ", ".join(f"{k} {v:.1f} ms" for k, v in hs["p95_ms_by_level"].items()))
    print(
        "     CPU p95 per zoom: " + ", ".join(f"{k} {v:.1f} ms" for k, v in hs["p95_cpu_ms_by_level"].items())
    )
    result: dict = {
        "hours": hours,
        "days": round(hours / 24, 3),
        "rate_hz": RATE,
        "channels": 6,
        "samples_per_channel": int(round(duration * RATE)),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "segments": args.segments,
        "frames": len(ranges),
        "pans_per_level": args.pans,
        "without_full_check": args.without_full_check,
        "build_s": round(build_s, 2),
        "build_peak_rss_mb": round(build_rss, 1),
        "harlab": {
            **hs,
            "open_cpu_s": round(h["open_cpu_s"], 3),
            "first_open_untrusted_s": None if first_open is None else round(first_open, 3),
            "first_open_untrusted_no_spare_s": round(first_open_cold, 3),
            "summarised_levels": sorted(set(h["summarised"])),
            "off_cpu_ms_by_level": {
                k: round(max(w - c for w, c in zip(h["frames"][k], h["cpu"][k], strict=True)) * 1000, 1)
                for k in h["frames"]
            },
            "gc": h["gc"],
            "switches_in_slowest_frame_by_level": {
                k: dict(
                    zip(
                        ("voluntary", "involuntary"),
                        h["switches"][k][max(range(len(v)), key=v.__getitem__)],
                        strict=True,
                    )
                )
                for k, v in h["frames"].items()
            },
            "machine_ticks_during_frames": h["machine_ticks_during_frames"],
            "frames_beside_the_full_file_check": h["frames_beside_the_full_file_check"],
        },
        "launch": launch,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.no_naive:
        naive_hours = min(hours, args.naive_hours)
        naive_ranges = sequence(naive_hours * 3600, pans=args.pans)
        n = measure_naive(path, naive_ranges, size, naive_hours)
        ns = summary(n)
        print(
            f"naive  : {naive_hours:g} h in memory, open {ns['open_s']:.2f} s, frame median "
            f"{ns['median_frame_ms']:.1f} ms, p95 {ns['p95_frame_ms']:.1f} ms, max {ns['max_frame_ms']:.1f} ms, "
            f"CPU p95 {ns['p95_frame_cpu_ms']:.1f} ms, "
            f"RSS {ns['rss_mb']:.0f} MB (+{ns['rss_delta_mb']:.0f})"
        )
        print(
            "         p95 per zoom: " + ", ".join(f"{k} {v:.1f} ms" for k, v in ns["p95_ms_by_level"].items())
        )
        print(
            "     CPU p95 per zoom: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in ns["p95_cpu_ms_by_level"].items())
        )
        result["naive"] = {"hours": naive_hours, **ns}
        ratios = {
            k: round(ns[k] / max(hs[k], 1e-9), 2)
            for k in ("open_s", "median_frame_ms", "p95_frame_ms", "p95_frame_cpu_ms", "rss_delta_mb")
        }
        ratios["p95_by_level"] = {
            k: round(v / max(hs["p95_ms_by_level"].get(k, 0), 1e-9), 2)
            for k, v in ns["p95_ms_by_level"].items()
            if k in hs["p95_ms_by_level"] and k != "whole"
        }
        ratios["p95_cpu_by_level"] = {
            k: round(v / max(hs["p95_cpu_ms_by_level"].get(k, 0), 1e-9), 2)
            for k, v in ns["p95_cpu_ms_by_level"].items()
            if k in hs["p95_cpu_ms_by_level"] and k != "whole"
        }
        result["ratios_naive_over_harlab"] = ratios
        print(
            "naive / harlab: "
            + ", ".join(f"{k} x{v}" for k, v in ratios.items() if not isinstance(v, dict))
            + (" (the naive view holds only the first day)" if naive_hours < hours else "")
        )
    print(json.dumps(result))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
