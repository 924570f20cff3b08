"""Storage benchmark: record a long 6-channel 100 Hz stream with RecordingWriter, then read it back.

    python benchmarks/storage.py            # 24 h x 100 Hz x 6 channels (about 52 M values)
    python benchmarks/storage.py --quick    # 1 h
    python benchmarks/storage.py --hours 6

Prints append throughput, file size per hour, the time to read a 10-minute range and the time
to get a whole-recording overview (4000 bins) from the pyramid, each beside the naive way in the
same run (full h5py read of the dataset; numpy min/max over the full array). The last line is one
JSON object with the figures.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 hour instead of 24")
    ap.add_argument("--hours", type=float, default=None, help="recording length in hours")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--batch-s", type=float, default=1.0, help="seconds of data per append call")
    ap.add_argument("--dir", default=None, help="folder for the file (default: a temporary one)")
    args = ap.parse_args()
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
    tmp.cleanup()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
