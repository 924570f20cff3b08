"""Recording benchmark: a 200 Hz 6-channel wrist IMU plus heart rate through the recorder.

    python benchmarks/recording.py            # 10 min of simulated time per case (about 1 min of wall time)
    python benchmarks/recording.py --quick    # 1 min of simulated time per case
    python benchmarks/recording.py --minutes 30 --speed 40

Cases, each recorded into a temporary session file with :class:`harlab.recording.Recorder`:

``simulated``
    :class:`SimulatedSource` (the activity simulator at 200 Hz: accel + gyro + heart
    rate) on an accelerated :class:`SimClock` shared with the recorder.
``ble-sim``
    The BLE code path on an accelerated clock (``--ble-speed``, 10x by default): a byte-exact harlab-IMU-profile
    wrist board at 200 Hz plus a Heart Rate Service chest strap, each a
    :class:`BleSource` (its own thread and event loop, notification callback ->
    decoder -> clock alignment) over :class:`SimLink`, two devices into one session.
``sim-hip-bleak``
    ``make_source("sim-hip")``: the same board reached through bleak's front end and
    harlab's simulated bleak backend. That backend runs in real time only, so this
    case is short (20 s; 5 s with --quick).

Figures per case: samples dropped (samples the sources delivered minus samples in the
file; 0 when nothing is lost; the recorder keeps one sample per timestamp, so samples
delivered with a repeated timestamp, e.g. Heart Rate Service beats that arrived in one
burst and share its arrival time, show up here and are counted separately), latency from notification (BLE) or batch creation
(simulator) until the samples are visible through ``Recorder.live()`` (what the
Record panel plots; measured inside the recorder and by a 30 Hz poller like a
redraw timer), CPU seconds and RSS growth. Baselines measured in the same run: the
same sources drained by a bare loop that keeps the batches and writes nothing, and
those very batches appended to plain resizable h5py datasets. The last line is one
JSON object with every figure.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harlab.devices.ble_profiles import HeartRateProfile, HipProfile
from harlab.devices.ble_source import BleSource
from harlab.devices.factory import make_source
from harlab.devices.peripherals import HeartRatePeripheral, HipPeripheral, Knobs
from harlab.devices.simlink import SimClock, SimLink
from harlab.devices.simulated import SimulatedSource, simulator_signals
from harlab.devices.source import SampleBatch, Source
from harlab.recording import Recorder
from harlab.simulate.engine import Simulator
from harlab.storage import read_session

RATE = 200.0


# -- measuring -----------------------------------------------------------------------------
def rss_mb() -> float:
    """Resident set size of this process (VmRSS from /proc/self/status), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def instrument(src: Source) -> Source:
    """Stamp each batch with the moment its data reached harlab.

    For a BLE source that is the notification callback (``perf_counter`` taken when
    the bytes are queued, handed to the batch that the decoder makes of them); for the
    simulator it is the moment the batch is created and queued. Also counts samples
    delivered per stream, the reference for "dropped".
    """
    raw_times: collections.deque[float] = collections.deque()
    current = {"t": None}
    delivered: collections.Counter[str] = collections.Counter()
    repeated: collections.Counter[str] = collections.Counter()
    last: dict[str, float] = {}
    src.delivered = delivered  # type: ignore[attr-defined]
    src.repeated = repeated  # type: ignore[attr-defined]
    if isinstance(src, BleSource):
        on_raw, decode = src._on_raw, src.profile.decode

        def stamped_raw(uuid: str, data: bytes, arrival_ns: int) -> None:
            raw_times.append(time.perf_counter())
            on_raw(uuid, data, arrival_ns)

        def stamped_decode(uuid: str, data: bytes, arrival_ns: int) -> list[SampleBatch]:
            current["t"] = raw_times.popleft() if raw_times else time.perf_counter()
            return decode(uuid, data, arrival_ns)

        src._on_raw = stamped_raw  # type: ignore[method-assign]
        src.profile.decode = stamped_decode  # type: ignore[method-assign]
    emit = src.emit_batch

    def stamped_emit(batch: SampleBatch) -> None:
        batch.note_perf = current["t"] if current["t"] is not None else time.perf_counter()  # type: ignore[attr-defined]
        delivered[batch.stream] += len(batch)
        if len(batch):
            t = np.asarray(batch.time, float)
            prev = np.concatenate([[last.get(batch.stream, -np.inf)], t[:-1]])
            repeated[batch.stream] += int((t <= prev).sum())
            last[batch.stream] = max(float(t[-1]), last.get(batch.stream, -np.inf))
        emit(batch)

    src.emit_batch = stamped_emit  # type: ignore[method-assign]
    return src


class BenchRecorder(Recorder):
    """The recorder, noting when each batch became visible through :meth:`live`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible_ms: list[float] = []
        self.stamps: dict[str, collections.deque[tuple[float, float]]] = collections.defaultdict(
            collections.deque
        )

    def _write(self, name: str, batch: SampleBatch) -> None:
        before = self.quality[name].samples
        super()._write(name, batch)
        created = getattr(batch, "note_perf", None)
        if created is not None and self.quality[name].samples > before:
            self.visible_ms.append((time.perf_counter() - created) * 1e3)
            last = self.quality[name].last_time
            assert last is not None
            self.stamps[name].append((last, created))


def poll_view(
    rec: BenchRecorder, stream: str, stop: threading.Event, out: list[float], hz: float = 30.0
) -> None:
    """A redraw timer: at ``hz``, read ``live(stream)`` and note how old its newest samples are."""
    seen = -np.inf
    while not stop.wait(1.0 / hz):
        t, _ = rec.live(stream)
        if not len(t) or t[-1] <= seen:
            continue
        now = time.perf_counter()
        stamps = rec.stamps[stream]
        while stamps and stamps[0][0] <= t[-1]:
            last, created = stamps.popleft()
            if last > seen:
                out.append((now - created) * 1e3)
        seen = float(t[-1])


def pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "n": len(a),
        "median_ms": round(float(np.median(a)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
    }


# -- the sources -----------------------------------------------------------------------------
def simulated_sources(clock: SimClock, speed: float) -> list[Source]:
    sim = Simulator(rate_hz=RATE, seed=3, activity="walking")
    return [instrument(SimulatedSource(sim, speed=speed, clock=clock.now, seed=3))]


def ble_sources(clock: SimClock, speed: float) -> list[Source]:
    sim = Simulator(rate_hz=RATE, seed=4, activity="walking")
    imu, heart = simulator_signals(sim)
    wrist = BleSource(
        SimLink(HipPeripheral(imu, Knobs(seed=4)), clock, address="SIM:00:00:00:00:01"), HipProfile(RATE)
    )
    strap = BleSource(
        SimLink(HeartRatePeripheral(heart, Knobs(seed=5)), clock, address="SIM:00:00:00:00:02"),
        HeartRateProfile(),
    )
    strap.name = "Sim HR strap"
    return [instrument(wrist), instrument(strap)]


def bleak_sources(clock: SimClock, speed: float) -> list[Source]:
    return [instrument(make_source("sim-hip", seed=6))]


# -- the cases ---------------------------------------------------------------------------------
def record(
    path: Path, make: Callable[[SimClock, float], list[Source]], speed: float, sim_s: float
) -> dict[str, Any]:
    clock = SimClock(speed)
    sources = make(clock, speed)
    rec = BenchRecorder(path, sources, clock=clock.now)
    view_ms: list[float] = []
    stop_view = threading.Event()
    cpu0, wall0, rss0 = time.process_time(), time.perf_counter(), rss_mb()
    rec.start()
    first = rec.names[(0, sources[0].streams[0].name)]
    viewer = threading.Thread(target=poll_view, args=(rec, first, stop_view, view_ms), daemon=True)
    viewer.start()
    rss_trace = []  # RSS at each tenth of the run: bounded growth levels off, a leak keeps climbing
    while rec.now() < sim_s:
        time.sleep(0.05)
        if rec.now() >= sim_s * (len(rss_trace) + 1) / 10:
            rss_trace.append(round(rss_mb() - rss0, 1))
    stop_view.set()
    viewer.join()
    stop0 = time.perf_counter()
    out = rec.stop()
    stop_s = time.perf_counter() - stop0
    cpu, wall, rss1 = time.process_time() - cpu0, time.perf_counter() - wall0, rss_mb()
    session = read_session(out)
    streams = {}
    for i, src in enumerate(sources):
        for spec in src.streams:
            name = rec.names[(i, spec.name)]
            delivered = src.delivered[spec.name]  # type: ignore[attr-defined]
            written = session.streams[name].data.n_samples
            streams[name] = {
                "delivered": int(delivered),
                "written": int(written),
                "dropped": int(delivered - written),
                "repeated_times": int(src.repeated[spec.name]),
            }  # type: ignore[attr-defined]
    lost_upstream = sum(getattr(s, "dropped_samples", 0) for s in sources)
    lost_upstream += sum(
        getattr(getattr(s, "link", None), "peripheral", None).dropped  # type: ignore[union-attr]
        for s in sources
        if isinstance(getattr(s, "link", None), SimLink)
    )
    n = sum(s["delivered"] for s in streams.values())
    return {
        "speed": speed,
        "sim_seconds": round(rec.now(), 1),
        "wall_s": round(wall, 2),
        "stop_s": round(stop_s, 2),
        "cpu_s": round(cpu, 2),
        "samples": int(n),
        "cpu_ms_per_1k_samples": round(1e3 * cpu / max(n, 1) * 1e3, 3),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "cpu_percent_in_real_time": round(100 * cpu / max(rec.now(), 1e-9), 2),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "rss_growth_trace_mb": rss_trace,
        "file_mb": round(out.stat().st_size / 1e6, 2),
        "streams": streams,
        "dropped": int(sum(s["dropped"] for s in streams.values())),
        "lost_by_simulated_device": int(lost_upstream),
        "latency_visible": pct(rec.visible_ms),
        "latency_view_30hz": pct(view_ms),
    }


def bare_drain(
    make: Callable[[SimClock, float], list[Source]], speed: float, sim_s: float
) -> tuple[dict[str, Any], list]:
    """Baseline: the same sources drained every 0.1 s by a loop that keeps the batches and writes nothing."""
    clock = SimClock(speed)
    sources = make(clock, speed)
    kept: list[tuple[int, SampleBatch]] = []
    cpu0, wall0, rss0 = time.process_time(), time.perf_counter(), rss_mb()
    t_start = clock.now()
    for s in sources:
        s.start()
    while clock.now() - t_start < sim_s:
        time.sleep(0.1)
        for i, s in enumerate(sources):
            kept.extend((i, b) for b in s.drain())
    for s in sources:
        s.stop()
    sim_elapsed = clock.now() - t_start
    for i, s in enumerate(sources):
        kept.extend((i, b) for b in s.drain())
    cpu, wall, rss1 = time.process_time() - cpu0, time.perf_counter() - wall0, rss_mb()
    n = sum(len(b) for _, b in kept)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "cpu_percent_in_real_time": round(100 * cpu / max(sim_elapsed, 1e-9), 2),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "samples": int(n),
        "cpu_ms_per_1k_samples": round(1e6 * cpu / max(n, 1), 3),
    }, kept


def plain_h5py(path: Path, kept: list[tuple[int, SampleBatch]]) -> dict[str, Any]:
    """Baseline: the same batches appended to resizable, chunked h5py datasets (no journal, no pyramid)."""
    cpu0, wall0, rss0 = time.process_time(), time.perf_counter(), rss_mb()
    trace = []
    with h5py.File(path, "w") as f:
        ds: dict[str, tuple[h5py.Dataset, h5py.Dataset]] = {}
        for k, (i, b) in enumerate(kept):
            if k and k % max(1, len(kept) // 10) == 0 and len(trace) < 10:
                trace.append(round(rss_mb() - rss0, 1))
            key = f"{i}_{b.stream}"
            if key not in ds:
                c = b.values.shape[1] if b.values.ndim == 2 else 1
                ds[key] = (
                    f.create_dataset(f"{key}/time", (0,), "f8", maxshape=(None,), chunks=(4096,)),
                    f.create_dataset(f"{key}/values", (0, c), "f4", maxshape=(None, c), chunks=(4096, c)),
                )
            dt, dv = ds[key]
            n0, n = dt.shape[0], len(b)
            dt.resize((n0 + n,))
            dv.resize((n0 + n, dv.shape[1]))
            dt[n0:] = b.time
            dv[n0:] = np.asarray(b.values, np.float32).reshape(n, -1)
        f.flush()
    cpu, wall, rss1 = time.process_time() - cpu0, time.perf_counter() - wall0, rss_mb()
    n = sum(len(b) for _, b in kept)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "rss_growth_trace_mb": trace,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "cpu_ms_per_1k_samples": round(1e6 * cpu / max(n, 1), 3),
    }


def show(label: str, r: dict[str, Any], base: dict[str, Any] | None, h5: dict[str, Any] | None) -> None:
    print(f"\n== {label}: {r['sim_seconds']:.0f} s simulated in {r['wall_s']:.1f} s wall ({r['speed']:g}x)")
    for name, s in r["streams"].items():
        rep = f"  ({s['repeated_times']} delivered with a repeated timestamp)" if s["repeated_times"] else ""
        print(
            f"  {name:28s} delivered {s['delivered']:8d}  written {s['written']:8d}  dropped {s['dropped']}{rep}"
        )
    print(
        f"  samples dropped by the recorder: {r['dropped']} (lost by the simulated device itself: "
        f"{r['lost_by_simulated_device']})"
    )
    lv, lw = r["latency_visible"], r["latency_view_30hz"]
    if lv.get("n"):
        print(
            f"  latency to live(): median {lv['median_ms']} ms, p95 {lv['p95_ms']} ms, max {lv['max_ms']} ms "
            f"({lv['n']} batches)"
        )
    if lw.get("n"):
        print(
            f"  latency seen by a 30 Hz view: median {lw['median_ms']} ms, p95 {lw['p95_ms']} ms, max {lw['max_ms']} ms"
        )
    print(
        f"  CPU {r['cpu_s']} s = {r['cpu_ms_per_1k_samples']} ms per 1000 samples "
        f"({r['cpu_percent_of_one_core']} % of a core at {r['speed']:g}x, {r['cpu_percent_in_real_time']} % in "
        f"real time; sources included); stop() took {r['stop_s']} s"
    )
    print(f"  RSS growth {r['rss_growth_mb']} MB (at each tenth of the run: {r['rss_growth_trace_mb']})")
    if base is not None:
        print(
            f"  baseline, bare drain loop (same sources, no writing): CPU {base['cpu_s']} s = "
            f"{base['cpu_ms_per_1k_samples']} ms per 1000 samples ({base['cpu_percent_in_real_time']} % in real time), "
            f"RSS growth {base['rss_growth_mb']} MB"
        )
    if h5 is not None:
        print(
            f"  baseline, those batches as plain h5py appends: CPU {h5['cpu_s']} s = {h5['cpu_ms_per_1k_samples']} ms "
            f"per 1000 samples, {h5['file_mb']} MB (recorder's file: {r['file_mb']} MB with journal-backed pyramid); "
            f"RSS growth while appending {h5['rss_growth_trace_mb']} MB, {h5['rss_growth_mb']} MB after closing"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 minute of simulated time instead of 10")
    ap.add_argument("--minutes", type=float, default=None, help="simulated minutes per accelerated case")
    ap.add_argument(
        "--speed", type=float, default=30.0, help="simulated seconds per wall second (20-50 works)"
    )
    ap.add_argument(
        "--ble-speed",
        type=float,
        default=10.0,
        help="clock speed of the ble-sim case; its event loop also renders the simulated motion, "
        "so on a small machine it saturates well below --speed",
    )
    ap.add_argument("--bleak-seconds", type=float, default=None, help="real-time seconds of the bleak case")
    ap.add_argument("--skip-bleak", action="store_true", help="leave out the real-time bleak case")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temporary one)")
    args = ap.parse_args()
    sim_s = 60.0 * (args.minutes if args.minutes is not None else (1.0 if args.quick else 10.0))
    bleak_s = args.bleak_seconds if args.bleak_seconds is not None else (5.0 if args.quick else 20.0)
    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    folder = Path(tmp.name)
    print(
        f"harlab recording benchmark: {RATE:.0f} Hz accel + gyro (6 channels) + heart rate, "
        f"{sim_s / 60:g} min simulated at {args.speed:g}x; python {sys.version.split()[0]}"
    )
    result: dict[str, Any] = {
        "rate_hz": RATE,
        "sim_seconds": sim_s,
        "speed": args.speed,
        "ble_speed": args.ble_speed,
    }
    cases: list[tuple[str, Callable[[SimClock, float], list[Source]], float, float]] = [
        ("simulated", simulated_sources, args.speed, sim_s),
        ("ble-sim", ble_sources, args.ble_speed, sim_s),
    ]
    if not args.skip_bleak:
        cases.append(("sim-hip-bleak", bleak_sources, 1.0, bleak_s))
    for label, make, speed, seconds in cases:
        rec = record(folder / f"{label}.h5", make, speed, seconds)
        base = h5 = None
        if label != "sim-hip-bleak":
            base, kept = bare_drain(make, speed, seconds)
            h5 = plain_h5py(folder / f"{label}-plain.h5", kept)
            del kept
            rec["baseline_bare_drain"] = base
            rec["baseline_plain_h5py"] = h5
        show(label, rec, base, h5)
        result[label] = rec
    result["dropped_total"] = sum(result[c[0]]["dropped"] for c in cases)
    tmp.cleanup()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
