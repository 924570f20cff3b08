"""``harlab demo --video``: the demo opens with a video beside it, attached with the truth the auto-sync finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harlab.cli import main
from harlab.simulate.demo_video import DEMO_CLAP_S, DEMO_VIDEO_SYNC, demo_video_path
from harlab.storage import read_session
from harlab.storage.validate import validate_file
from harlab.video.auto_sync import estimate_sync
from harlab.video.video_reference import VideoStatus, resolve_video

FRAME_S = 1 / 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo.h5"
    assert (
        main(["demo", "-o", str(out), "--duration", "2", "--no-open", "--no-predictions", "--video", "-q"])
        == 0
    )
    return out


def test_demo_writes_the_video_beside_the_session_and_attaches_it(demo: Path) -> None:
    video = demo_video_path(demo)
    assert video == demo.with_suffix(".mp4") and video.is_file()
    s = read_session(demo)
    link = s.videos["camera"]
    assert link.reference.path == "demo.mp4" and link.sync == DEMO_VIDEO_SYNC and link.roi is not None
    assert resolve_video(link.reference, demo).status is VideoStatus.FOUND
    assert link.session_span[0] == DEMO_VIDEO_SYNC.offset_s
    assert link.session_span[1] == pytest.approx(s.time_bounds()[1], abs=2 * FRAME_S)
    assert validate_file(demo) == []
    assert not list(demo.parent.glob(".*"))  # no temporary files left behind


def test_the_demo_video_syncs_to_the_truth(demo: Path) -> None:
    s = read_session(demo)
    link = s.videos["camera"]
    found = estimate_sync(demo_video_path(demo), s, roi=link.roi)
    best = found[0]
    assert best.confident, best.message
    assert abs(best.sync.offset_s - DEMO_VIDEO_SYNC.offset_s) < FRAME_S, best.message
    assert abs(best.sync.drift_ppm - DEMO_VIDEO_SYNC.drift_ppm) < 20.0, best.message
    audio = [e for e in found if e.source == "audio"]
    assert (
        audio and abs(audio[0].sync.to_session(DEMO_VIDEO_SYNC.to_video(DEMO_CLAP_S)) - DEMO_CLAP_S) < FRAME_S
    )


def test_an_existing_video_is_not_overwritten_without_force(demo: Path, capsys) -> None:
    other = demo.with_name("again.h5")
    demo_video_path(other).write_bytes(b"someone's video")
    assert (
        main(["demo", "-o", str(other), "--duration", "0.2", "--no-open", "--no-predictions", "--video"]) == 2
    )
    assert "again.mp4 already exists" in capsys.readouterr().err
    assert demo_video_path(other).read_bytes() == b"someone's video" and not other.exists()


def test_the_demo_has_no_video_unless_asked(tmp_path: Path) -> None:
    out = tmp_path / "plain.h5"
    assert main(["demo", "-o", str(out), "--duration", "0.2", "--no-open", "--no-predictions"]) == 0
    assert read_session(out).videos == {} and not demo_video_path(out).exists()
