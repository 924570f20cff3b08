"""VideoReference: probing, JSON round trip, finding a moved video, telling a different file, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from harlab.video import VideoFileError, VideoReference, VideoStatus, probe_video, resolve_video
from harlab.video.video_reference import HEAD_BYTES, head_sha256
from tests.video.video_helpers import SimVideo


def test_probe_reports_what_the_file_holds(cfr_video: SimVideo) -> None:
    ref = probe_video(cfr_video.path)
    assert ref.name == "cfr.mp4"
    assert ref.size == cfr_video.path.stat().st_size
    assert ref.frame_count == cfr_video.video.n_frames == 600
    assert ref.frame_rate == pytest.approx(30.0, rel=1e-3)
    assert ref.duration_s == pytest.approx(20.0, abs=1e-3)
    assert ref.start_s == 0.0
    assert ref.sha256_head == head_sha256(cfr_video.path)
    assert Path(ref.path).is_absolute()


def test_probe_of_a_variable_frame_rate_file(vfr_video: SimVideo) -> None:
    ref = probe_video(vfr_video.path)
    assert ref.frame_count == vfr_video.video.n_frames
    assert ref.start_s == pytest.approx(0.5, abs=1e-4)


def test_json_round_trip(cfr_video: SimVideo, tmp_path: Path) -> None:
    session = tmp_path / "s.h5"
    video = tmp_path / "clips" / "cfr.mp4"
    video.parent.mkdir()
    shutil.copy(cfr_video.path, video)
    ref = probe_video(video, session_path=session)
    assert ref.path == "clips/cfr.mp4"  # relative, POSIX, when beside the session
    again = VideoReference.from_json(ref.to_json())
    assert again == ref
    assert json.loads(ref.to_json())["frame_count"] == 600


def test_moved_video_is_found_again_beside_the_session(cfr_video: SimVideo, tmp_path: Path) -> None:
    session = tmp_path / "s.h5"
    (tmp_path / "clips").mkdir()
    video = tmp_path / "clips" / "cfr.mp4"
    shutil.copy(cfr_video.path, video)
    ref = probe_video(video, session_path=session)
    assert resolve_video(ref, session).status is VideoStatus.FOUND

    # the session folder moves with its video: the relative path still works
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "clips", moved / "clips")
    found = resolve_video(ref, moved / "s.h5")
    assert found.status is VideoStatus.FOUND and found.path == moved / "clips" / "cfr.mp4"

    # the video moves next to the session file: found by name
    video.rename(tmp_path / "cfr.mp4")
    found = resolve_video(ref, session)
    assert found.status is VideoStatus.FOUND_BY_NAME and found.usable
    assert found.path == tmp_path / "cfr.mp4"

    (tmp_path / "cfr.mp4").unlink()
    missing = resolve_video(ref, session)
    assert missing.status is VideoStatus.MISSING and missing.path is None and "cfr.mp4" in missing.message


def test_a_different_file_with_the_same_name_is_detected(
    cfr_video: SimVideo, vfr_video: SimVideo, tmp_path: Path
) -> None:
    session = tmp_path / "s.h5"
    video = tmp_path / "clip.mp4"
    shutil.copy(cfr_video.path, video)
    ref = probe_video(video, session_path=session)
    shutil.copy(vfr_video.path, video)  # another recording under the same name
    found = resolve_video(ref, session)
    assert found.status is VideoStatus.DIFFERENT_FILE and not found.usable
    assert "clip.mp4" in found.message

    # same size, different first megabyte: still detected
    data = bytearray(cfr_video.path.read_bytes())
    data[min(len(data), HEAD_BYTES) // 2] ^= 0xFF
    video.write_bytes(bytes(data))
    assert resolve_video(ref, session).status is VideoStatus.DIFFERENT_FILE


def test_absolute_reference_found_in_place(cfr_video: SimVideo, tmp_path: Path) -> None:
    ref = probe_video(cfr_video.path, session_path=tmp_path / "elsewhere" / "s.h5")
    assert Path(ref.path) == cfr_video.path.resolve()
    assert resolve_video(ref, tmp_path / "elsewhere" / "s.h5").status is VideoStatus.FOUND
    assert resolve_video(ref).status is VideoStatus.FOUND


def test_a_file_ffmpeg_cannot_open_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"this is not a video at all\n" * 100)
    with pytest.raises(VideoFileError, match="notes.mp4"):
        probe_video(bad)
    with pytest.raises(VideoFileError, match="no such video file"):
        probe_video(tmp_path / "absent.mp4")
    with pytest.raises(VideoFileError, match="not a regular file"):
        probe_video(tmp_path)


def test_a_file_without_video_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with pytest.raises(VideoFileError, match=r"sound\.m4a.*no video stream"):
        probe_video(path)


GOOD = {
    "path": "a/b.mp4",
    "name": "b.mp4",
    "size": 10,
    "sha256_head": "0" * 64,
    "duration_s": 1.0,
    "frame_rate": 30.0,
    "frame_count": 30,
    "start_s": 0.0,
}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "null",
        '"x"',
        "{" * 100_000,
        "NaN",
        json.dumps({**GOOD, "size": -1}),
        json.dumps({**GOOD, "size": True}),
        json.dumps({**GOOD, "size": 1.5}),
        json.dumps({**GOOD, "size": 10**30}),
        json.dumps({**GOOD, "frame_count": -3}),
        json.dumps({**GOOD, "duration_s": float("nan")}),
        json.dumps({**GOOD, "duration_s": 1e300}),
        json.dumps({**GOOD, "frame_rate": -30}),
        json.dumps({**GOOD, "start_s": float("inf")}),
        json.dumps({**GOOD, "sha256_head": "Z" * 64}),
        json.dumps({**GOOD, "sha256_head": "0" * 63}),
        json.dumps({**GOOD, "name": "../b.mp4"}),
        json.dumps({**GOOD, "name": "c.mp4"}),
        json.dumps({**GOOD, "path": ""}),
        json.dumps({**GOOD, "path": "a/\u0000b.mp4"}),
        json.dumps({**GOOD, "name": 3}),
        json.dumps({k: v for k, v in GOOD.items() if k != "size"}),
        json.dumps({**GOOD, "evil": 1}),
        json.dumps({**GOOD, "frame_rate": 0.0}),
    ],
)
def test_hostile_json_is_refused_with_a_video_error(text: str) -> None:
    with pytest.raises(VideoFileError):
        VideoReference.from_json(text)


def test_valid_json_is_accepted() -> None:
    assert VideoReference.from_json(json.dumps(GOOD)).frame_count == 30


def test_a_truncated_file_is_an_error_or_its_readable_part(cfr_video: SimVideo, tmp_path: Path) -> None:
    data = cfr_video.path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # an MP4's index is at its end: nothing to read
    with pytest.raises(VideoFileError, match="cut.mp4"):
        probe_video(cut)
