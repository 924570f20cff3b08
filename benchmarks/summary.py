"""Summary benchmark: non-wear detection, the week summary and its picture on a session file.

    python benchmarks/summary.py              # 24 h x 100 Hz accelerometer, 3 h on a table
    python benchmarks/summary.py --hours 6
    python benchmarks/summary.py --quick      # 2 h, for checking that it runs

Writes a session file (a wrist-like 3-axis signal with a still stretch, and a prediction track of
one-minute segments), then times, on the file opened lazily as the workbench and ``harlab summary``
do: one plain pass over the accelerometer in the same 4-hour chunks (the floor any detection
pays: reading and decompressing the samples), ``detect_nonwear``, ``summarise_session`` with the
stored track, and ``render_summary_png``. Prints each with its ratio to the plain pass; peak RSS
is the process's. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from harlab.core import Metadata, Session, Stream
from harlab.core.labels import Segment
from harlab.core.predictions import PredictionTrack
from harlab.core.streams import ArrayStreamData
from harlab.signal.nonwear import detect_nonwear
from harlab.storage import open_session, save_session
from harlab.summary import summarise_session

CLASSES = ["sitting", "walking", "standing", "lying"]


def make_file(path: Path, hours: float, rate: float) -> tuple[float, float]:
    n = int(hours * 3600 * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(0)
    phase = 2 * np.pi * 1.8 * t
    v = np.empty((n, 3), np.float32)
    v[:, 0] = 9.81 * np.cos(t / 600) + 2.0 * np.sin(phase)
    v[:, 1] = 9.81 * np.sin(t / 600) + 1.0 * np.sin(2 * phase)
    v[:, 2] = 0.5 * np.cos(phase)
    still0, still1 = hours * 3600 * 0.4, hours * 3600 * 0.4 + min(3 * 3600, hours * 3600 * 0.6)
    s = (t >= still0) & (t < still1)
    v[s] = np.array([0.0, 0.0, 9.80665], np.float32)
    v += rng.normal(0, 0.02, v.shape).astype(np.float32)
    session = Session(Metadata(start_utc=datetime(2024, 6, 10, 6, tzinfo=UTC), timezone="Europe/Berlin"))
    session.add_stream(
        Stream(
            "accel", ["x", "y", "z"], ["m/s^2"] * 3, ArrayStreamData(t, v), rate_hz=rate, kind="accelerometer"
        )
    )
    starts = np.arange(0.0, hours * 3600, 60.0)
    segs = [Segment(a, a + 60.0, CLASSES[i % len(CLASSES)]) for i, a in enumerate(starts)]
    probs = np.eye(len(CLASSES), dtype=np.float32)[np.arange(len(starts)) % len(CLASSES)]
    session.add_prediction_track(
        PredictionTrack("model", "bench", "1", CLASSES, starts, starts + 60.0, probs, segs)
    )
    save_session(session, path)
    return still0, still1


def timed(fn):  # noqa: ANN001, ANN201 - a stopwatch
    a = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=100.0)
    args = ap.parse_args()
    hours = args.hours if args.hours is not None else (2.0 if args.quick else 24.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.h5"
        (still0, still1), make_s = timed(lambda: make_file(path, hours, args.rate))
        print(f"wrote {hours:g} h at {args.rate:g} Hz in {make_s:.1f} s", file=sys.stderr)
        with open_session(path) as sf:
            session = sf.session
            acc = session.streams["accel"]

            def plain_pass() -> int:
                n = 0
                for c in np.arange(0.0, hours * 3600, 4 * 3600.0):
                    n += len(acc.read(float(c), float(c) + 4 * 3600.0)[0])
                return n

            _, read_s = timed(plain_pass)
            track, nonwear_s = timed(lambda: detect_nonwear(session))
            session.set_quality_track(track)
            week, summary_s = timed(lambda: summarise_session(session, str(path)))
        from harlab.gui.week_view import render_summary_png

        _, png_s = timed(lambda: render_summary_png(week, Path(tmp) / "week.png"))
    found = track.spans()
    out = {
        "hours": hours,
        "rate_hz": args.rate,
        "read_pass_s": round(read_s, 3),
        "nonwear_s": round(nonwear_s, 3),
        "nonwear_over_read": round(nonwear_s / read_s, 2),
        "summary_s": round(summary_s, 4),
        "png_s": round(png_s, 3),
        "still_s": [still0, still1],
        "found_s": found,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(
        f"plain pass {read_s:.2f} s, non-wear {nonwear_s:.2f} s ({out['nonwear_over_read']}x the pass), "
        f"summary {summary_s * 1000:.1f} ms, PNG {png_s:.2f} s; still {still0:.0f}-{still1:.0f} s, found {found}",
        file=sys.stderr,
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
