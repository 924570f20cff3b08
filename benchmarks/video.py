"""Benchmark: frame-accurate seeks and 1x playback in H.264 files, against a naive decoder.

Generates (once, cached in benchmarks/out/) a 1080p30 and a 720p30 H.264 file with a
moving texture (so the bitrate is like a camera's, not like a flat drawing) and the
frame number drawn as a code row, a keyframe every 2 s and B-frames. Then, in one run:

* seek latency: 100 random seeks per file through :class:`harlab.video.frame_decoder.FrameDecoder`
  (cache cleared before each), median and p95, every frame checked against its code;
* the same seeks done naively (fresh seek + decode from the keyframe, no cache, no
  continuation) as a baseline, and their ratio;
* 1x playback of the 720p file: decode throughput (frames/s against the 30 fps needed),
  and a real-time run (the cursor advances with the clock, each tick shows the frame at
  the cursor) counting dropped frames; the naive decoder's throughput as a baseline;
* the workbench (offscreen unless a display is set): the timeline's frame time (one repaint of
  its rows) while the cursor plays at 1x, first with no video, then with the 720p file in the
  video dock (decoding on its worker, frames shown on the GUI thread), median and p95 of
  both, and how many video frames the dock showed of those the clock passed.

The issue asks for 1-hour files; ``--minutes 60`` makes them (generation takes long on a
small machine: about as long as encoding an hour of 1080p). The default, 1 minute, builds
in about two minutes; seek cost depends on the keyframe interval, not the file's length.
The last line printed is one JSON object.

    python benchmarks/video.py                # 1-minute files
    python benchmarks/video.py --minutes 60   # the issue's 1-hour files
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from harlab.simulate.video_render import CODE_ROW, frame_code_blocks, read_frame_code
from harlab.video.frame_decoder import FrameDecoder, FrameIndex

OUT = Path(__file__).resolve().parent / "out"
FPS = 30
GOP = 60


def make_video(path: Path, width: int, height: int, minutes: float) -> Path:
    """A textured, moving H.264 video with the frame number in its top row (skipped when it exists)."""
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (height // 8 + 1, width // 8 + 2, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)[:height]
    code_rows = max(4, int(height * CODE_ROW))
    n = int(minutes * 60 * FPS)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.options = {
            "preset": "ultrafast",
            "crf": "26",
            "x264-params": f"bframes=2:keyint={GOP}:scenecut=0",
        }
        for i in range(n):
            shift = (i * 3) % 16
            img = np.ascontiguousarray(texture[:, shift : shift + width])
            img[:code_rows] = frame_code_blocks(i, width, height)[:, :, None]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
            if i % (FPS * 60) == 0:
                print(f"  {path.name}: {i / FPS / 60:.0f} of {minutes:g} min", file=sys.stderr)
        for packet in stream.encode():
            container.mux(packet)
    tmp.rename(path)
    return path


class NaiveDecoder:
    """The baseline: every request seeks to the keyframe before and decodes forward; no cache, no continuation."""

    def __init__(self, path: Path, index: FrameIndex, max_width: int | None) -> None:
        self.index = index
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        w, h = self.stream.codec_context.width, self.stream.codec_context.height
        self.size = (max_width, round(h * max_width / w / 2) * 2) if max_width and w > max_width else (w, h)

    def frame_at(self, t: float) -> np.ndarray | None:
        i = self.index.frame_at(t)
        if i is None:
            return None
        key = int(self.index.key_before[i])
        self.container.seek(int(self.index.pts[key]), stream=self.stream)
        for frame in self.container.decode(self.stream):
            if frame.pts == self.index.pts[i]:
                return frame.to_ndarray(format="rgb24", width=self.size[0], height=self.size[1])
        return None

    def close(self) -> None:
        self.container.close()


def seek_latency(path: Path, max_width: int | None, n: int = 100) -> dict[str, float]:
    t0 = time.perf_counter()
    index = FrameIndex.build(path)
    index_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    times = rng.uniform(index.start_s, index.end_s - 1e-3, n)
    ours, naive, wrong = [], [], 0
    with FrameDecoder(path, index=index, max_width=max_width) as decoder:
        for t in times:
            decoder.clear_cache()
            s = time.perf_counter()
            frame = decoder.frame_at(float(t))
            ours.append(time.perf_counter() - s)
            if frame is None or read_frame_code(frame.image) != index.frame_at(float(t)):
                wrong += 1
    base = NaiveDecoder(path, index, max_width)
    for t in times:
        s = time.perf_counter()
        base.frame_at(float(t))
        naive.append(time.perf_counter() - s)
    base.close()
    med, p95 = statistics.median(ours), float(np.percentile(ours, 95))
    return {
        "index_s": round(index_s, 3),
        "seek_median_ms": round(1000 * med, 1),
        "seek_p95_ms": round(1000 * p95, 1),
        "naive_median_ms": round(1000 * statistics.median(naive), 1),
        "naive_p95_ms": round(1000 * float(np.percentile(naive, 95)), 1),
        "seek_speedup_vs_naive": round(statistics.median(naive) / med, 2),
        "wrong_frames": wrong,
    }


def playback(path: Path, max_width: int | None, seconds: float) -> dict[str, float]:
    index = FrameIndex.build(path)
    start = index.start_s + 1.0
    n = int(seconds * FPS)
    with FrameDecoder(path, index=index, max_width=max_width) as decoder:
        decoder.frame_at(start)
        s = time.perf_counter()
        for k in range(n):
            decoder.frame_at(start + (k + 0.5) / FPS)
        fps = n / (time.perf_counter() - s)
    with FrameDecoder(
        path, index=index, max_width=max_width
    ) as decoder:  # real time: the clock drives the cursor
        shown: set[int] = set()
        t_real = time.perf_counter()
        while (elapsed := time.perf_counter() - t_real) < seconds:
            frame = decoder.frame_at(start + elapsed)
            if frame is not None:
                shown.add(frame.index)
            time.sleep(max(0.0, 1 / FPS - (time.perf_counter() - t_real - elapsed)) * 0.5)
        wanted = int(seconds * FPS)
    base = NaiveDecoder(path, index, max_width)
    m = max(10, n // 10)
    s = time.perf_counter()
    for k in range(m):
        base.frame_at(start + (k + 0.5) / FPS)
    naive_fps = m / (time.perf_counter() - s)
    base.close()
    return {
        "decode_fps": round(fps, 1),
        "realtime_ratio": round(fps / FPS, 2),
        "realtime_frames_shown": len(shown),
        "realtime_frames_wanted": wanted,
        "dropped_frames": max(0, wanted - len(shown)),
        "naive_decode_fps": round(naive_fps, 1),
        "playback_speedup_vs_naive": round(fps / naive_fps, 2),
    }


def timeline_with_video(path: Path, seconds: float) -> dict[str, object]:
    """The timeline's repaint time during 1x playback without and with the video dock showing ``path``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from harlab.gui.main_window import MainWindow
    from harlab.simulate import synthetic_session

    app = QApplication.instance() or QApplication([])
    index = FrameIndex.build(path)
    session = synthetic_session(
        max(60.0, index.duration_s + 5), rate_hz=100.0, streams={"accel": "wrist_accel", "gyro": "wrist_gyro"}
    )
    w = MainWindow()
    w.resize(1400, 860)
    w.show()
    w.show_session(session)
    panel, hub = w.video_dock, w.timeline.hub

    def settle() -> None:
        for _ in range(200):
            app.processEvents()
            if w.timeline.is_idle():
                return
            time.sleep(0.005)

    def run() -> dict[str, float]:
        w.timeline.set_range(0.0, 20.0)
        hub.seek(1.0)
        settle()
        shown: set[int] = set()

        def on_frame(frame: object) -> None:
            if frame is not None:
                shown.add(frame.index)  # type: ignore[attr-defined]

        panel.frame_shown.connect(on_frame)
        repaint: list[float] = []
        panel.playback.set_speed(1.0)
        panel.playback.play()
        start_t, end = hub.cursor, time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            t = time.perf_counter()
            w.timeline.glw.viewport().repaint()
            repaint.append(time.perf_counter() - t)
            time.sleep(max(0.0, 1 / 60 - (time.perf_counter() - t)))
        panel.playback.pause()
        panel.frame_shown.disconnect(on_frame)
        passed = hub.cursor - start_t
        return {
            "timeline_median_ms": round(statistics.median(repaint) * 1000, 2),
            "timeline_p95_ms": round(float(np.percentile(repaint, 95)) * 1000, 2),
            "cursor_s_per_s": round(passed / seconds, 3),
            "video_frames_shown": len(shown),
            "video_frames_passed": int(passed * index.frame_rate),
        }

    without = run()
    panel.attach(path)
    deadline = time.perf_counter() + 120
    while not (panel.feed is not None and panel.feed.ready) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    with_video = run()
    w.history.clear()
    w.close()
    w.deleteLater()
    app.processEvents()
    for r in (without,):
        r.pop("video_frames_shown")
        r.pop("video_frames_passed")
    return {
        "without_video": without,
        "with_video": with_video,
        "slowdown": round(with_video["timeline_median_ms"] / max(without["timeline_median_ms"], 1e-3), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=1.0, help="length of the generated files (issue: 60)"
    )
    parser.add_argument(
        "--max-width", type=int, default=1280, help="frames are scaled to this width for display"
    )
    parser.add_argument("--playback-seconds", type=float, default=10.0)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    tag = f"{args.minutes:g}min"
    t0 = time.perf_counter()
    f1080 = make_video(OUT / f"video_1080p_{tag}.mp4", 1920, 1080, args.minutes)
    f720 = make_video(OUT / f"video_720p_{tag}.mp4", 1280, 720, args.minutes)
    gen_s = time.perf_counter() - t0
    result: dict[str, object] = {
        "minutes": args.minutes,
        "max_width": args.max_width,
        "gop_frames": GOP,
        "generate_s": round(gen_s, 1),
    }
    for name, path in (("1080p", f1080), ("720p", f720)):
        r = seek_latency(path, args.max_width)
        print(
            f"{name}: seek median {r['seek_median_ms']} ms, p95 {r['seek_p95_ms']} ms "
            f"(naive {r['naive_median_ms']} / {r['naive_p95_ms']} ms), index {r['index_s']} s, "
            f"wrong frames {r['wrong_frames']}"
        )
        result[f"seek_{name}"] = r
    p = playback(f720, args.max_width, args.playback_seconds)
    print(
        f"720p 1x playback: {p['decode_fps']} fps decoded ({p['realtime_ratio']}x real time; naive "
        f"{p['naive_decode_fps']} fps, {p['playback_speedup_vs_naive']}x), real time: "
        f"{p['dropped_frames']} of {p['realtime_frames_wanted']} frames dropped"
    )
    result["playback_720p"] = p
    g = timeline_with_video(f720, args.playback_seconds)
    a, b = g["without_video"], g["with_video"]
    print(
        f"timeline during 1x playback: {a['timeline_median_ms']} ms median, {a['timeline_p95_ms']} ms p95 "
        f"without video; {b['timeline_median_ms']} / {b['timeline_p95_ms']} ms with the 720p video "
        f"({b['video_frames_shown']} of {b['video_frames_passed']} video frames shown)"
    )
    result["timeline_playing"] = g
    print(json.dumps(result))


if __name__ == "__main__":
    main()
