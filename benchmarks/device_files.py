"""Reading long research-accelerometer files: harlab's chunked readers against scikit-digital-health.

Builds long files from the real samples in ``../shared/data`` (never committed):

* ``.cwa``: the 490 blocks of ``axivity/ax3_sample.cwa`` (200 Hz) repeated for ``--hours``,
  with sequence numbers, timestamps and checksums rewritten so the file is one valid recording;
* ``.gt3x``: a 100 Hz GT9X-style ``log.bin`` for ``--hours``, one ACTIVITY2 record per second
  with the real samples of ``actigraph/small.gt3x`` and idle sleep mode (enter/exit events, no
  records) for a tenth of the time.

Each measurement runs in its own process (peak RSS is per process): harlab's chunk walk
(decode every sample, keep none), harlab's streamed import (``harlab import``: the chunks
appended to the session file as they are decoded, ``Importer.read_into``), the in-memory
import (``Importer.read`` into a session, then saved: the same decoder, the whole recording
held), and, for ``.cwa``, skdh's ``ReadCwa`` (the baseline: a maintained MIT reader; it has no
``.gt3x`` reader in 0.17). Printed: seconds, peak RSS and samples per second, ratios of the
streamed import against the in-memory one and against skdh; the last line is one JSON object.
On a shared machine the absolute numbers are noisy; ratios less so.

Run: ``python benchmarks/device_files.py [--hours H] [--data PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

DEFAULT = Path(
    os.environ.get("HARLAB_SHARED_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)


def make_cwa(src: Path, dst: Path, hours: float) -> int:
    """A valid ``hours``-long .cwa from the sample's blocks; returns the sample count."""
    data = src.read_bytes()
    header, blocks = data[:1024], np.frombuffer(data[1024:], np.uint8).reshape(-1, 512)
    n = int(hours * 3600 * 200 / 120)
    out = np.resize(blocks, (n, 512)).copy()
    k = np.arange(n, dtype=np.int64)
    first_sample = k * 120
    whole = -(-first_sample // 200)  # the whole second each block's timestamp names
    offset = whole * 200 - first_sample
    t0 = np.datetime64("2024-03-01T08:00:00")
    stamp = t0 + whole.astype("timedelta64[s]")
    days = stamp.astype("datetime64[D]")
    ymd = [str(d).split("-") for d in np.unique(days)]
    day_index = np.searchsorted(np.unique(days), days)
    y = np.array([int(a) for a, _, _ in ymd])[day_index]
    mo = np.array([int(b) for _, b, _ in ymd])[day_index]
    d = np.array([int(c) for _, _, c in ymd])[day_index]
    sec = (stamp - days).astype(np.int64)
    packed = (
        ((y - 2000) << 26)
        | (mo << 22)
        | (d << 17)
        | ((sec // 3600) << 12)
        | (((sec // 60) % 60) << 6)
        | (sec % 60)
    )
    out[:, 10:14] = k.astype("<u4").view(np.uint8).reshape(-1, 4)
    out[:, 14:18] = packed.astype("<u4").view(np.uint8).reshape(-1, 4)
    out[:, 26:28] = offset.astype("<i2").view(np.uint8).reshape(-1, 2)
    out[:, 4:6] = 0  # no fractional time
    words = out[:, :510].copy().view("<u2").sum(axis=1, dtype=np.uint16)
    out[:, 510:512] = ((-words.astype(np.int64)) & 0xFFFF).astype("<u2").view(np.uint8).reshape(-1, 2)
    with open(dst, "wb") as f:
        f.write(header)
        f.write(out.tobytes())
    return n * 120


def _record(typ: int, ts: int, payload: bytes) -> bytes:
    head = struct.pack("<BBIH", 0x1E, typ, ts, len(payload)) + payload
    x = np.bitwise_xor.reduce(np.frombuffer(head, np.uint8)) if head else 0
    return head + bytes([(~int(x)) & 0xFF])


def make_gt3x(src: Path, dst: Path, hours: float) -> int:
    """An ``hours``-long 100 Hz .gt3x with idle sleep mode a tenth of the time; returns the sample count."""
    with zipfile.ZipFile(src) as zf:
        log = zf.read("log.bin")
    # real int16 samples from the source's ACTIVITY2 records
    samples, pos = [], 0
    while pos < len(log) and log[pos] == 0x1E and len(samples) < 200_000:
        typ, _, size = struct.unpack_from("<BIH", log, pos + 1)
        if typ == 0x1A and size % 6 == 0:
            samples.append(np.frombuffer(log[pos + 8 : pos + 8 + size], "<i2").reshape(-1, 3))
        pos += 9 + size
    pool = np.concatenate(samples)
    start = 1_709_280_000  # 2024-03-01 08:00 local
    rng = np.random.default_rng(0)
    seconds = int(hours * 3600)
    asleep = np.zeros(seconds, bool)
    for s in rng.integers(0, seconds, max(1, seconds // 3000)):
        asleep[s : s + 300] = True  # 300 s stretches, about a tenth of the time
    out = bytearray()
    n, p = 0, 0
    was = False
    for s in range(seconds):
        if asleep[s] != was:
            out += _record(0x03, start + s, bytes([0x08 if asleep[s] else 0x09]))
            was = bool(asleep[s])
        if asleep[s]:
            continue
        block = pool[np.arange(p, p + 100) % len(pool)]
        p += 100
        out += _record(0x1A, start + s, block.astype("<i2").tobytes())
        n += 100
    ticks = 621_355_968_000_000_000 + start * 10**7
    info = (
        f"Serial Number: TAS1F00000000\nDevice Type: Link\nFirmware: 1.7.2\nSample Rate: 100\n"
        f"Start Date: {ticks}\nStop Date: {ticks + seconds * 10**7}\nTimeZone: 01:00:00\n"
        "Acceleration Scale: 256.0\nAcceleration Min: -8.0\nAcceleration Max: 8.0\n"
    )
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("info.txt", info)
        zf.writestr("log.bin", bytes(out))
    return n


def worker(kind: str, path: Path) -> dict[str, float]:
    """One measurement in this process: seconds and peak RSS (MB)."""
    t = time.perf_counter()
    if kind == "skdh":
        import skdh.io  # imported here: its import weight is part of what it costs

        n = len(skdh.io.ReadCwa().predict(file=str(path))["time"])
    elif kind == "memory":  # the whole recording as a session in memory, then saved
        from harlab.importers import ImportOptions, detect
        from harlab.storage import save_session

        (session,) = detect(path).read(path, ImportOptions(timezone="UTC"))
        n = session.streams["accelerometer"].data.n_samples
        with tempfile.TemporaryDirectory() as out:
            save_session(session, Path(out) / "memory.h5")
    elif kind == "stream":  # harlab import: decoded chunks appended to the file as they come
        from harlab.importers import ImportOptions
        from harlab.importers.run import import_one

        with tempfile.TemporaryDirectory() as out:
            report = import_one(path, Path(out), ImportOptions(timezone="UTC"))
            assert report.ok, report.reason
            n = report.stream_samples["accelerometer"]
    else:  # the chunk walk: decode everything, keep nothing
        n = sum(len(c.time) for c in chunks(path))
    return {
        "seconds": time.perf_counter() - t,
        "rss_mb": peak_rss_mb(),
        "n": n,
    }


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (reset by exec; ru_maxrss is not on Linux, so a child would
    report its parent's peak when that is higher), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(path: Path):  # type: ignore[no-untyped-def]
    """The reader's chunks of ``path``, as a streaming writer would consume them."""
    from harlab.importers import actigraph_gt3x as g
    from harlab.importers import axivity_cwa as a
    from harlab.importers.import_support import ReadBudget, open_zip

    if path.suffix == ".cwa":
        with open(path, "rb") as f:
            header = a.parse_header(path, f.read(a.HEADER_BYTES))
            yield from a.iter_blocks(path, f, header, a.BlockState(), ReadBudget(), [])
        return
    with open_zip(path) as zf:
        info = g.parse_info(path, zf.read("info.txt").decode())
        member = zf.getinfo("log.bin")
        from harlab.importers.sample_chunks import iter_member

        yield from g.iter_log(path, iter_member(zf, member, path, ReadBudget()), info, g.LogState())


def measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]))))
        return 0
    if not (args.data / "axivity" / "ax3_sample.cwa").is_file():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    result: dict[str, object] = {"hours": args.hours}
    with tempfile.TemporaryDirectory() as tmp:
        cwa = Path(tmp) / "long.cwa"
        gt3x = Path(tmp) / "long.gt3x"
        n_cwa = make_cwa(args.data / "axivity" / "ax3_sample.cwa", cwa, args.hours)
        n_gt3x = make_gt3x(args.data / "actigraph" / "small.gt3x", gt3x, args.hours)
        try:
            import skdh  # noqa: F401  (the baseline; harlab itself does not need it)

            cwa_kinds: tuple[str, ...] = ("skdh", "chunks", "stream", "memory")
        except ImportError:
            print("scikit-digital-health not installed: no baseline", file=sys.stderr)
            cwa_kinds = ("chunks", "stream", "memory")
        for fmt, path, n, kinds in (
            ("cwa", cwa, n_cwa, cwa_kinds),
            ("gt3x", gt3x, n_gt3x, ("chunks", "stream", "memory")),
        ):
            rows = {k: measure(k, path) for k in kinds}
            for k, r in rows.items():
                assert r["n"] == n, (fmt, k, r["n"], n)
                print(
                    f"{fmt:5} {k:7} {n:>11,} samples  {r['seconds']:7.2f} s  {r['rss_mb']:8.0f} MB peak RSS  "
                    f"{n / r['seconds'] / 1e6:6.2f} M samples/s",
                    flush=True,
                )
            entry: dict[str, object] = {"samples": n, "file_mb": round(path.stat().st_size / 1e6, 1), **rows}
            mem, streamed = rows["memory"], rows["stream"]
            entry["rss_ratio_stream_vs_memory"] = round(streamed["rss_mb"] / mem["rss_mb"], 3)
            entry["time_ratio_stream_vs_memory"] = round(streamed["seconds"] / mem["seconds"], 3)
            print(
                f"{fmt}: streamed import {entry['rss_ratio_stream_vs_memory']}x the in-memory import's "
                f"peak RSS, {entry['time_ratio_stream_vs_memory']}x its time"
            )
            if "skdh" in rows:
                base = rows["skdh"]
                entry["rss_ratio_chunks_vs_skdh"] = round(rows["chunks"]["rss_mb"] / base["rss_mb"], 3)
                entry["rss_ratio_stream_vs_skdh"] = round(streamed["rss_mb"] / base["rss_mb"], 3)
                entry["rss_ratio_memory_vs_skdh"] = round(mem["rss_mb"] / base["rss_mb"], 3)
                entry["time_ratio_stream_vs_skdh"] = round(streamed["seconds"] / base["seconds"], 3)
                print(
                    f"cwa: harlab streamed import {entry['time_ratio_stream_vs_skdh']}x skdh's time, "
                    f"{entry['rss_ratio_stream_vs_skdh']}x its RSS (in memory: "
                    f"{entry['rss_ratio_memory_vs_skdh']}x); chunk walk {entry['rss_ratio_chunks_vs_skdh']}x its RSS"
                )
            result[fmt] = entry
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
