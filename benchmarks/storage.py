"""Storage benchmark: record a long 6-channel 100 Hz stream with RecordingWriter, then read it back;
and the peak memory of writing a simulated week and of importing a large file, streamed.

    python benchmarks/storage.py            # 24 h x 100 Hz x 6 channels (about 52 M values)
    python benchmarks/storage.py --quick    # 1 h
    python benchmarks/storage.py --hours 6
    python benchmarks/storage.py --days 7 --sim-rate 100    # the week of the memory part
    python benchmarks/storage.py --memory-only              # only the memory part

Prints append throughput, file size per hour, the time to read a 10-minute range and the time
to get a whole-recording overview (4000 bins) from the pyramid, each beside the naive way in the
same run (full h5py read of the dataset; numpy min/max over the full array).

Memory part: each operation runs in a child process whose peak RSS (``ru_maxrss``) is read
at its end, so one operation's peak is not another's: a week-plan simulation of ``--days``
streamed into a file (``SimulatedRun`` into ``SessionWriter``) beside one day of it streamed and
one day simulated in memory and saved in one go (the way before streaming), and the import of a
24-hour Fitbit watch file (the longest that format holds) streamed (``harlab import``) beside the
in-memory read and save, and of a ``--csv-hours`` CSV at 50 Hz (a phone logger's day, 170 MB)
streamed, read into memory and saved, and only parsed whole as strings (the way before the CSV
importer streamed). Each is printed against the file size and the samples' size in memory.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from harlab.core import Metadata
from harlab.storage import RecordingWriter, open_session


def synth(i0: int, n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Wrist-like 6-channel data: gravity + gait oscillation + quantised noise (deterministic)."""
    t = np.arange(i0, i0 + n) / rate
    rng = np.random.default_rng(i0)
    phase = 2 * np.pi * 1.8 * t
    v = np.empty((n, 6), np.float32)
    v[:, 0] = 9.81 * np.cos(t / 600) + 2.0 * np.sin(phase)
    v[:, 1] = 9.81 * np.sin(t / 600) + 1.0 * np.sin(2 * phase)
    v[:, 2] = 0.5 * np.cos(phase)
    v[:, 3:] = 0.8 * np.sin(phase[:, None] + np.arange(3))
    v += rng.normal(0, 0.05, v.shape).astype(np.float32)
    return t, np.round(v * 512) / 512


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_simulate(days: float, rate: float, path: Path, how: str) -> dict[str, float]:
    """Simulate ``days`` of a week plan at ``rate``, streamed (``how == "stream"``) or in memory
    and saved in one go (``"memory"``); the peak RSS of this process at the end."""
    from harlab.simulate import SimulatedRun, week_plan
    from harlab.storage.session_writer import SessionWriter

    base = _peak_mb()
    a = time.perf_counter()
    run = SimulatedRun(week_plan(days * 86400.0, seed=1), rate_hz=rate, seed=1, participant="P01")
    if how == "stream":
        with SessionWriter(path, run.metadata, run.schema) as w:
            run.write_into(w)
    else:
        from harlab.storage import save_session

        save_session(run.session(), path)
    return {
        "seconds": time.perf_counter() - a,
        "peak_rss_mb": _peak_mb(),
        "baseline_rss_mb": base,
        "samples": run.n_samples,
        "file_mb": path.stat().st_size / 1e6,
    }


def child_import(src: Path, out: Path, how: str) -> dict[str, float]:
    """Import ``src`` streamed (``harlab import``'s path) or read in memory and saved in one go."""
    from harlab.importers.fitbit_bin import FitbitBinImporter
    from harlab.importers.importer import ImportOptions, importers
    from harlab.importers.run import import_paths
    from harlab.storage import save_session

    importers()  # every format's module loaded in both ways, so the baseline holds the same code
    base = _peak_mb()
    a = time.perf_counter()
    if how == "stream":
        (report,) = import_paths([src], out.parent)
        assert report.ok, report.reason
        path = report.outputs[0]
    else:
        (session,) = FitbitBinImporter().read(src, ImportOptions())
        path = save_session(session, out)
    return {
        "seconds": time.perf_counter() - a,
        "peak_rss_mb": _peak_mb(),
        "baseline_rss_mb": base,
        "file_mb": path.stat().st_size / 1e6,
    }


def child_import_csv(src: Path, out: Path, how: str) -> dict[str, float]:
    """Import a CSV streamed (``harlab import``'s path), read into a session in memory and saved in one
    go, or (``"table"``) only parse it whole as strings, which is what the importer did before it
    streamed and the floor of that way."""
    import pandas as pd

    from harlab.importers.generic_csv import GenericCsvImporter
    from harlab.importers.importer import ImportOptions, importers
    from harlab.importers.run import import_paths
    from harlab.storage import save_session

    importers()
    base = _peak_mb()
    a = time.perf_counter()
    size = 0.0
    if how == "stream":
        (report,) = import_paths([src], out.parent)
        assert report.ok, report.reason
        size = report.outputs[0].stat().st_size / 1e6
    elif how == "memory":
        (session,) = GenericCsvImporter().read(src, ImportOptions())
        size = save_session(session, out).stat().st_size / 1e6
    else:
        pd.read_csv(src, dtype=str, keep_default_na=False, engine="c")
    return {
        "seconds": time.perf_counter() - a,
        "peak_rss_mb": _peak_mb(),
        "baseline_rss_mb": base,
        "file_mb": size,
    }


def write_csv(path: Path, hours: float, rate: float = 50.0) -> int:
    """A phone-logger-like CSV of ``hours`` at ``rate``: time, three accelerometer channels, a label column."""
    n = int(hours * 3600 * rate)
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(
            "time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity\n"
        )
        for i0 in range(0, n, 200_000):
            i = np.arange(i0, min(n, i0 + 200_000))
            v = rng.normal(0, 1, (len(i), 3))
            v[:, 2] += 9.81
            lab = np.where((i // int(600 * rate)) % 2 == 0, "walking", "sitting")
            f.writelines(
                f"{t:.2f},{x:.4f},{y:.4f},{z:.4f},{a}\n"
                for t, (x, y, z), a in zip((i / rate).tolist(), v.tolist(), lab.tolist(), strict=True)
            )
    return n


def write_seed_bin(path: Path, hours: float) -> int:
    """A labelled Fitbit watch file of ``hours`` (130-byte batches of float16 samples, 10 Hz)."""
    n_b = int(hours * 3600)
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for b0 in range(0, n_b, 3600):
            nb = min(3600, n_b - b0)
            t = np.arange(b0 * 10, (b0 + nb) * 10) / 10.0
            v = np.empty((nb * 10, 6))
            v[:, 0] = -9.6 + 0.5 * np.sin(t)
            v[:, 1] = 1.0 + 0.3 * np.cos(0.7 * t)
            v[:, 2:] = rng.normal(0, 0.3, (nb * 10, 4))
            raw = np.empty((nb, 130), np.uint8)
            raw[:, :120] = (
                v.astype("<f2").reshape(nb, 10, 6).transpose(0, 2, 1).copy().view(np.uint8).reshape(nb, 120)
            )
            raw[:, 120:] = (b0 // 600) % 10
            f.write(raw.tobytes())
    return n_b * 10


def _in_child(*args: str) -> dict[str, float]:
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_part(days: float, rate: float, folder: Path, csv_hours: float = 24.0) -> dict[str, object]:
    """Peak RSS of writing a simulated week and of importing a large file, each in a child."""
    week = _in_child("simulate", str(days), str(rate), str(folder / "week.h5"), "stream")
    day = _in_child("simulate", "1", str(rate), str(folder / "day.h5"), "stream")
    day_mem = _in_child("simulate", "1", str(rate), str(folder / "day-mem.h5"), "memory")
    in_memory_mb = week["samples"] * (2 * (3 * 4 + 8 + 1)) / 1e6  # accel + gyro: values, time, flags
    print(
        f"simulate + write {days:g} d at {rate:g} Hz streamed: {week['seconds']:.0f} s, peak RSS "
        f"{week['peak_rss_mb']:.0f} MB (of which {week['baseline_rss_mb']:.0f} MB is Python and the "
        f"imports) for a {week['file_mb']:.0f} MB file whose samples take {in_memory_mb:.0f} MB in memory"
    )
    print(
        f"  1 d streamed: peak RSS {day['peak_rss_mb']:.0f} MB; 1 d in memory and saved in one go: "
        f"{day_mem['peak_rss_mb']:.0f} MB  ->  the week streamed costs "
        f"{week['peak_rss_mb'] - day['peak_rss_mb']:+.0f} MB more than a day streamed"
    )
    src = folder / "Walking_20240422080000.bin"
    n = write_seed_bin(src, 24.0)
    imp = _in_child("import", str(src), str(folder / "imp" / "Walking_20240422080000.h5"), "stream")
    imp_mem = _in_child("import", str(src), str(folder / "imp-mem.h5"), "memory")
    print(
        f"import a 24 h Fitbit watch file ({src.stat().st_size / 1e6:.1f} MB, {n} samples) streamed: "
        f"{imp['seconds']:.1f} s, peak RSS {imp['peak_rss_mb']:.0f} MB (baseline {imp['baseline_rss_mb']:.0f} MB) "
        f"for a {imp['file_mb']:.1f} MB file; in memory: {imp_mem['seconds']:.1f} s, "
        f"{imp_mem['peak_rss_mb']:.0f} MB"
    )
    csv = folder / "phone.csv"
    n_csv = write_csv(csv, csv_hours)
    c_stream = _in_child("import-csv", str(csv), str(folder / "imp" / "phone.h5"), "stream")
    c_mem = _in_child("import-csv", str(csv), str(folder / "phone-mem.h5"), "memory")
    c_table = _in_child("import-csv", str(csv), str(folder / "unused.h5"), "table")
    print(
        f"import a {csv_hours:g} h CSV at 50 Hz ({csv.stat().st_size / 1e6:.0f} MB, {n_csv} rows) streamed: "
        f"{c_stream['seconds']:.1f} s, peak RSS {c_stream['peak_rss_mb']:.0f} MB; read into memory and saved: "
        f"{c_mem['peak_rss_mb']:.0f} MB; only parsing it whole as strings (the way before streaming): "
        f"{c_table['peak_rss_mb']:.0f} MB  ->  {c_table['peak_rss_mb'] / c_stream['peak_rss_mb']:.1f}x"
    )
    return {
        "csv_hours": csv_hours,
        "csv_file_mb": round(csv.stat().st_size / 1e6, 1),
        "csv_rows": n_csv,
        "csv_stream_seconds": round(c_stream["seconds"], 1),
        "csv_stream_peak_rss_mb": round(c_stream["peak_rss_mb"], 1),
        "csv_memory_peak_rss_mb": round(c_mem["peak_rss_mb"], 1),
        "csv_whole_table_peak_rss_mb": round(c_table["peak_rss_mb"], 1),
        "sim_days": days,
        "sim_rate_hz": rate,
        "sim_samples": int(week["samples"]),
        "sim_seconds": round(week["seconds"], 1),
        "sim_peak_rss_mb": round(week["peak_rss_mb"], 1),
        "sim_baseline_rss_mb": round(week["baseline_rss_mb"], 1),
        "sim_file_mb": round(week["file_mb"], 1),
        "sim_samples_in_memory_mb": round(in_memory_mb, 1),
        "sim_1d_stream_peak_rss_mb": round(day["peak_rss_mb"], 1),
        "sim_1d_memory_peak_rss_mb": round(day_mem["peak_rss_mb"], 1),
        "import_file_mb": round(src.stat().st_size / 1e6, 2),
        "import_samples": n,
        "import_seconds": round(imp["seconds"], 2),
        "import_peak_rss_mb": round(imp["peak_rss_mb"], 1),
        "import_baseline_rss_mb": round(imp["baseline_rss_mb"], 1),
        "import_out_file_mb": round(imp["file_mb"], 2),
        "import_memory_seconds": round(imp_mem["seconds"], 2),
        "import_memory_peak_rss_mb": round(imp_mem["peak_rss_mb"], 1),
    }


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "simulate":
            res = child_simulate(float(rest[0]), float(rest[1]), Path(rest[2]), rest[3])
        elif kind == "import-csv":
            res = child_import_csv(Path(rest[0]), Path(rest[1]), rest[2])
        else:
            res = child_import(Path(rest[0]), Path(rest[1]), rest[2])
        print(json.dumps(res))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 hour instead of 24")
    ap.add_argument("--hours", type=float, default=None, help="recording length in hours")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--batch-s", type=float, default=1.0, help="seconds of data per append call")
    ap.add_argument("--dir", default=None, help="folder for the file (default: a temporary one)")
    ap.add_argument("--days", type=float, default=7.0, help="days of the simulated week (memory part)")
    ap.add_argument("--sim-rate", type=float, default=100.0, help="sample rate of the simulated week")
    ap.add_argument("--memory-only", action="store_true", help="only the memory part")
    ap.add_argument("--csv-hours", type=float, default=24.0, help="length of the CSV imported (memory part)")
    args = ap.parse_args()
    if args.memory_only:
        with tempfile.TemporaryDirectory(dir=args.dir) as d:
            (Path(d) / "imp").mkdir()
            result = memory_part(args.days, args.sim_rate, Path(d), args.csv_hours)
        print(json.dumps(result))
        return 0
    hours = args.hours if args.hours is not None else (1.0 if args.quick else 24.0)
    rate = args.rate
    n_total = int(hours * 3600 * rate)
    batch = max(1, int(args.batch_s * rate))
    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    path = Path(tmp.name) / "bench.h5"

    # -- append --------------------------------------------------------------------------
    gen_s = 0.0
    t_start = time.perf_counter()
    w = RecordingWriter(path, Metadata(participant_id="bench"))
    w.add_stream("imu", ["ax", "ay", "az", "gx", "gy", "gz"], ["m/s^2"] * 3 + ["rad/s"] * 3, rate)
    n_calls = 0
    for i0 in range(0, n_total, batch):
        g0 = time.perf_counter()
        t, v = synth(i0, min(batch, n_total - i0), rate)
        gen_s += time.perf_counter() - g0
        w.append("imu", t, v)
        n_calls += 1
    w.close()
    append_s = time.perf_counter() - t_start - gen_s
    size = path.stat().st_size
    print(
        f"recorded {hours:g} h x {rate:g} Hz x 6 ch = {n_total * 6 / 1e6:.1f} M values in {n_calls} appends"
    )
    print(
        f"append: {append_s:.1f} s  ->  {n_total / append_s / 1e3:.0f} k samples/s, "
        f"{n_calls / append_s:.0f} appends/s ({n_total / append_s / rate:.0f}x real time)"
    )
    print(
        f"file: {size / 1e6:.1f} MB  ->  {size / hours / 1e6:.1f} MB per hour "
        f"(raw float64 time + float32 values: {n_total * 32 / hours / 1e6:.1f} MB per hour)"
    )

    # -- 10-minute range -------------------------------------------------------------------
    mid = hours * 3600 / 2
    t0, t1 = mid, mid + 600
    with open_session(path) as sf:
        data = sf.session.streams["imu"].data
        a = time.perf_counter()
        rt, rv = data.read(t0, t1)
        range_s = time.perf_counter() - a
        a = time.perf_counter()
        env = data.envelope(0, hours * 3600 + 1, 4000)
        overview_s = time.perf_counter() - a
    a = time.perf_counter()
    with h5py.File(path, "r") as f:
        ft = f["streams/imu/time"][()]
        fv = f["streams/imu/values"][()]
    full_read_s = time.perf_counter() - a
    i0, i1 = np.searchsorted(ft, [t0, t1])
    assert np.array_equal(ft[i0:i1], rt) and np.array_equal(fv[i0:i1], rv)
    naive_range_s = full_read_s + 0.0  # the naive way must read everything to slice it
    a = time.perf_counter()
    spb = -(-len(fv) // 4000)
    starts = np.arange(0, len(fv), spb)
    nlo, nhi = np.minimum.reduceat(fv, starts, axis=0), np.maximum.reduceat(fv, starts, axis=0)
    numpy_minmax_s = time.perf_counter() - a
    naive_overview_s = full_read_s + numpy_minmax_s
    print(
        f"read 10 min ({len(rt)} samples): {range_s * 1e3:.1f} ms lazy vs {naive_range_s * 1e3:.0f} ms "
        f"full h5py read  ->  {naive_range_s / range_s:.0f}x faster"
    )
    print(
        f"overview ({len(env.time)} bins of {env.samples_per_bin} samples): {overview_s * 1e3:.1f} ms from the "
        f"pyramid vs {naive_overview_s * 1e3:.0f} ms full read + numpy min/max "
        f"({numpy_minmax_s * 1e3:.0f} ms of it numpy on the array in memory)  ->  "
        f"{naive_overview_s / overview_s:.0f}x faster"
    )
    assert len(nlo) == len(nhi) > 0
    result = {
        "hours": hours,
        "rate_hz": rate,
        "channels": 6,
        "n_samples": n_total,
        "n_values": n_total * 6,
        "append_calls": n_calls,
        "append_s": round(append_s, 3),
        "append_samples_per_s": round(n_total / append_s),
        "file_mb": round(size / 1e6, 2),
        "mb_per_hour": round(size / hours / 1e6, 2),
        "range_10min_ms": round(range_s * 1e3, 2),
        "range_10min_naive_ms": round(naive_range_s * 1e3, 1),
        "range_speedup": round(naive_range_s / range_s, 1),
        "overview_bins": len(env.time),
        "overview_ms": round(overview_s * 1e3, 2),
        "overview_naive_ms": round(naive_overview_s * 1e3, 1),
        "overview_numpy_only_ms": round(numpy_minmax_s * 1e3, 1),
        "overview_speedup": round(naive_overview_s / overview_s, 1),
    }
    (Path(tmp.name) / "imp").mkdir()
    result.update(memory_part(args.days, args.sim_rate, Path(tmp.name), args.csv_hours))
    tmp.cleanup()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
