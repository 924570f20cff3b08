"""Frame accuracy against the frame numbers drawn into simulated videos; gaps; cache; latest request wins."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harlab.simulate import simulate_session
from harlab.simulate.video_render import frame_code_blocks, read_frame_code, render_video
from harlab.video.frame_decoder import DecodedFrame, FrameDecoder, FrameServer, LatestRequest
from tests.video.video_helpers import SimVideo


def expected_frame(times: np.ndarray, t: float) -> int:
    return int(np.searchsorted(times, t, side="right")) - 1


def test_frame_code_reads_back_at_any_scale() -> None:
    for n in (0, 1, 2, 255, 256, 12345, 65535):
        row = frame_code_blocks(n, 320, 240)
        image = np.full((240, 320), 90, np.uint8)
        image[: row.shape[0]] = row
        assert read_frame_code(image) == n
        assert read_frame_code(image[::2, ::2]) == n


def test_twenty_random_times_show_the_covering_frame(cfr_video: SimVideo) -> None:
    times = cfr_video.video.frame_times
    rng = np.random.default_rng(20)
    with FrameDecoder(cfr_video.path) as decoder:
        for t in rng.uniform(0.0, times[-1] + 1 / 30 - 1e-6, 20):
            frame = decoder.frame_at(float(t))
            assert frame is not None
            want = expected_frame(times, t)
            assert frame.index == want and read_frame_code(frame.image) == want, t
            assert frame.start_s <= t < frame.end_s
        # exactly on a frame's start is that frame; a hair before is the one before (never the keyframe)
        starts = decoder.index.starts
        for i in (31, 59, 60, 61, 299):
            assert read_frame_code(decoder.frame_at(starts[i]).image) == i
            assert read_frame_code(decoder.frame_at(np.nextafter(starts[i], 0)).image) == i - 1


def test_variable_frame_rate_with_a_gap(vfr_video: SimVideo) -> None:
    times = vfr_video.video.frame_times
    steps = np.diff(times)
    gap = int(np.argmax(steps))
    assert steps[gap] > 1.0
    rng = np.random.default_rng(21)
    with FrameDecoder(vfr_video.path, max_width=160) as decoder:
        assert decoder.width == 160
        inside = np.concatenate(
            [rng.uniform(times[0], times[gap] + 0.005, 10), rng.uniform(times[gap + 1], times[-1], 10)]
        )
        for t in inside:
            frame = decoder.frame_at(float(t))
            assert frame is not None, t
            assert frame.image.shape[1] == 160
            assert read_frame_code(frame.image) == expected_frame(times, t), t
        # before the first frame, inside the gap, after the end: no video, never a wrong frame
        last_end = times[-1] + 3 * float(np.median(steps))
        for t in (0.0, times[0] - 0.01, times[gap] + 0.5, times[gap + 1] - 0.01, last_end + 0.01, 1e6, -5.0):
            assert decoder.frame_at(float(t)) is None, t


def test_playback_decodes_forward_without_seeking(cfr_video: SimVideo) -> None:
    with FrameDecoder(cfr_video.path, cache_frames=8) as decoder:
        decoder.frame_at(5.0)
        seeks = decoder.stats.seeks
        for k in range(1, 91):  # three seconds of 1x playback
            frame = decoder.frame_at(5.0 + k / 30 + 1e-3)
            assert frame is not None and read_frame_code(frame.image) == 150 + k
        assert decoder.stats.seeks == seeks
        assert len(decoder._cache) == 8  # bounded
        back = decoder.frame_at(5.0 + 89 / 30 + 1e-3)  # a step back into the cache
        assert back is not None and decoder.stats.cache_hits >= 1


def test_frame_index_bounds(cfr_video: SimVideo) -> None:
    with FrameDecoder(cfr_video.path) as decoder, pytest.raises(IndexError):
        decoder.frame(600)


def test_latest_request_wins() -> None:
    box: LatestRequest[float] = LatestRequest()
    for t in (1.0, 2.0, 3.0):
        box.put(t)
    assert box.take(0.1) == (True, 3.0)
    assert box.replaced == 2
    assert box.take(0.01) == (False, None)
    box.close()
    assert box.take() == (False, None)


def test_frame_server_decodes_only_the_latest_of_a_burst(cfr_video: SimVideo) -> None:
    delivered: list[tuple[float, DecodedFrame | None]] = []
    done = threading.Event()
    last = 17.51

    def deliver(t: float, frame: DecodedFrame | None) -> None:
        delivered.append((t, frame))
        if t == last:
            done.set()

    decoder = FrameDecoder(cfr_video.path)
    server = FrameServer(decoder, deliver).start()
    try:
        burst = np.linspace(0.0, 17.0, 200)
        for t in burst:
            server.request(float(t))
        server.request(last)
        assert done.wait(20.0)
    finally:
        server.close()
        decoder.close()
    assert len(delivered) < 50 and server.replaced > 150
    t, frame = delivered[-1]
    assert t == last and frame is not None and read_frame_code(frame.image) == int(last * 30)


def test_frame_server_reports_no_video_and_survives(vfr_video: SimVideo) -> None:
    got: list[DecodedFrame | None] = []
    decoder = FrameDecoder(vfr_video.path)
    server = FrameServer(decoder, lambda t, f: got.append(f)).start()
    try:
        server.request(0.0)  # before the first frame
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        server.close()
        decoder.close()
    assert got == [None]


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        ("mkv", "libx264"),
        ("mov", "libx264"),
        ("avi", "libx264"),
        ("avi", "mjpeg"),
        ("webm", "libvpx-vp9"),
    ],
)
def test_other_containers_and_codecs_are_frame_accurate(tmp_path: Path, suffix: str, codec: str) -> None:
    """AVI stores no presentation times (its H.264 B-frames come out with made-up ones): frames are counted."""
    session = simulate_session([("walking", 5)], seed=2)
    video = render_video(
        session, tmp_path / f"clip.{suffix}", duration_s=3.0, size=(160, 120), codec=codec, gop=12
    )
    times = video.frame_times
    with FrameDecoder(video.path) as decoder:
        assert decoder.index.n_frames == 90
        for t in np.random.default_rng(5).uniform(0.0, times[-1], 8):
            frame = decoder.frame_at(float(t))
            assert frame is not None and read_frame_code(frame.image) == expected_frame(times, t), (suffix, t)
