"""``harlab video attach|detach|list|sync`` on real (simulated) videos and session files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harlab.cli import main
from harlab.core.videos import VideoSync
from harlab.labeling.commands import LabelRange
from harlab.labeling.document import LabelingDocument
from harlab.storage import read_session, save_session
from harlab.storage.validate import validate_file
from tests.video.video_helpers import TRUE_SYNC, SimVideo

FRAME_S = 1 / 30


@pytest.fixture
def pair(tmp_path: Path, cfr_video: SimVideo) -> tuple[Path, Path]:
    """A session file and a video beside it (in a subfolder, as people keep them)."""
    session = save_session(cfr_video.session, tmp_path / "rec.h5")
    (tmp_path / "media").mkdir()
    video = Path(shutil.copy(cfr_video.path, tmp_path / "media" / "cam one.mp4"))
    return session, video


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_attach_list_relink_detach(pair, capsys, tmp_path, cfr_video, vfr_video):
    session, video = pair
    code, out, _ = run(capsys, "video", "attach", session, video, "--offset", "1.5")
    assert code == 0 and "attached 'cam one'" in out and "media/cam one.mp4" in out
    s = read_session(session)
    link = s.videos["cam one"]
    assert link.reference.path == "media/cam one.mp4" and link.sync == VideoSync(1.5, 0.0)
    assert link.reference.frame_count == 600 and validate_file(session) == []
    code, out, _ = run(capsys, "video", "attach", session, video)  # same file again: a free name
    assert code == 0 and "'cam one (2)'" in out
    code, _, err = run(capsys, "video", "attach", session, video, "--name", "cam one")
    assert code == 2 and "already has a video named 'cam one'" in err

    code, out, _ = run(capsys, "video", "list", session, "--json")
    listed = json.loads(out)
    assert [v["name"] for v in listed] == ["cam one", "cam one (2)"]
    assert {v["status"] for v in listed} == {"found"} and listed[0]["offset_s"] == 1.5

    # moved beside the session: found by name; replaced by another file: detected; gone: missing
    shutil.move(video, tmp_path / video.name)
    code, out, _ = run(capsys, "video", "list", session)
    assert code == 0 and out.count("found by name") == 2
    (tmp_path / video.name).write_bytes(b"not the video" * 1000)
    code, out, _ = run(capsys, "video", "list", session)
    assert out.count("different file") == 2 and "choose the original file" in out
    (tmp_path / video.name).unlink()
    code, out, _ = run(capsys, "video", "list", session)
    assert out.count(": missing") == 2

    # found elsewhere under another name: relinked, sync kept
    elsewhere = tmp_path / "archive" / "renamed.mp4"
    elsewhere.parent.mkdir()
    shutil.copy(cfr_video.path, elsewhere)
    code, out, err = run(capsys, "video", "relink", session, "cam one", elsewhere)
    assert code == 0 and "relinked 'cam one' to archive/renamed.mp4" in out and "not the file" not in err
    link = read_session(session).videos["cam one"]
    assert link.reference.name == "renamed.mp4" and link.sync == VideoSync(1.5, 0.0)
    code, out, _ = run(capsys, "video", "list", session, "--json")
    assert [v["status"] for v in json.loads(out)] == ["found", "missing"]
    code, _, err = run(capsys, "video", "relink", session, "cam one (2)", vfr_video.path)
    assert code == 0 and "is not the file the session was synced with" in err

    code, out, _ = run(capsys, "video", "detach", session, "cam one (2)")
    assert code == 0 and list(read_session(session).videos) == ["cam one"]
    code, _, err = run(capsys, "video", "detach", session, "nope")
    assert code == 2 and "no video 'nope'" in err and "cam one" in err


def test_clear_errors_for_unreadable_videos_and_missing_sessions(pair, capsys, tmp_path):
    session, _ = pair
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 4000)
    code, _, err = run(capsys, "video", "attach", session, bad)
    assert code == 2 and "broken.mp4" in err and "Traceback" not in err
    code, _, err = run(capsys, "video", "attach", session, tmp_path / "nothing.mp4")
    assert code == 2 and "nothing.mp4: no such file" in err
    code, _, err = run(capsys, "video", "list", tmp_path / "none.h5")
    assert code == 2 and "none.h5: no such file" in err
    code, _, err = run(capsys, "video", "sync", session, "--offset", "1")
    assert code == 2 and "no video" in err
    assert read_session(session).videos == {}


def test_sync_by_offset_and_marks_moving_labels_only_when_asked(pair, capsys):
    session, video = pair
    run(capsys, "video", "attach", session, video, "--name", "cam")
    before = [(s.start, s.end) for s in read_session(session).label_tracks["activity"]]
    code, out, _ = run(capsys, "video", "sync", session, "--offset", "2.0", "--drift", "50")
    assert code == 0 and "now offset +2.000 s, drift +50.0 ppm" in out
    s = read_session(session)
    assert s.videos["cam"].sync == VideoSync(2.0, 50.0)
    assert [(x.start, x.end) for x in s.label_tracks["activity"]] == before
    # two marks: offset and drift exactly; labels keep their video times
    pairs = [(1.0, TRUE_SYNC.to_session(1.0)), (19.0, TRUE_SYNC.to_session(19.0))]
    marks = [f"--mark={v!r}={t!r}" for v, t in pairs]
    code, out, _ = run(capsys, "video", "sync", session, *marks, "--move-labels", "activity")
    assert code == 0 and "moving activity" in out
    s = read_session(session)
    got = s.videos["cam"].sync
    assert got.offset_s == pytest.approx(TRUE_SYNC.offset_s, abs=1e-9)
    assert got.drift_ppm == pytest.approx(TRUE_SYNC.drift_ppm, abs=1e-6)
    old = VideoSync(2.0, 50.0)
    after = [(x.start, x.end) for x in s.label_tracks["activity"]]
    for (a, b), (c, d) in zip(before, after, strict=True):
        assert got.to_video(c) == pytest.approx(old.to_video(a), abs=1e-9)
        assert got.to_video(d) == pytest.approx(old.to_video(b), abs=1e-9)
    code, out, _ = run(capsys, "video", "sync", session, "--offset", "9", "--dry-run")
    assert code == 0 and "now offset +9.000 s" in out and read_session(session).videos["cam"].sync == got
    code, _, err = run(capsys, "video", "sync", session, "--mark", "3")
    assert code == 2 and "VIDEO_T=SESSION_T" in err
    code, _, err = run(capsys, "video", "sync", session, "--mark", "1=2", "--mark", "1.2=2.2")
    assert code == 2 and "apart" in err


def test_sync_refuses_a_file_with_a_crashed_workbenchs_edits(pair, capsys):
    session, video = pair
    run(capsys, "video", "attach", session, video, "--name", "cam")
    doc = LabelingDocument.open(session)
    doc.push(LabelRange("activity", 1, 2, "walking"))
    doc.close()  # the journal stays: recoverable edits
    code, _, err = run(capsys, "video", "sync", session, "--offset", "1")
    assert code == 2 and "unsaved edit" in err
    assert read_session(session).videos["cam"].sync == VideoSync()


def test_auto_sync_applies_a_confident_estimate(tmp_path, capsys, sync_video: SimVideo):
    session = save_session(sync_video.session, tmp_path / "synced.h5")
    video = Path(shutil.copy(sync_video.path, tmp_path / "synced.mp4"))
    run(capsys, "video", "attach", session, video, "--name", "cam")
    roi = ",".join(map(str, sync_video.video.figure_roi))
    code, out, _ = run(capsys, "video", "sync", session, "--auto", "--roi", roi, "-q")
    assert code == 0 and "motion: offset" in out and "confident" in out and "saved the sync" in out
    got = read_session(session).videos["cam"].sync
    assert abs(got.offset_s - TRUE_SYNC.offset_s) < FRAME_S and abs(got.drift_ppm - TRUE_SYNC.drift_ppm) < 20


def test_auto_sync_never_applies_low_confidence_silently(tmp_path, capsys, unrelated_video, sync_video):
    session = save_session(sync_video.session, tmp_path / "synced.h5")
    video = Path(shutil.copy(unrelated_video.path, tmp_path / "other.mp4"))
    run(capsys, "video", "attach", session, video, "--name", "other")
    roi = ",".join(map(str, unrelated_video.video.figure_roi))
    code, out, err = run(capsys, "video", "sync", session, "--auto", "--roi", roi, "-q")
    assert code == 1 and "LOW CONFIDENCE" in out and "not applied" in err
    assert read_session(session).videos["other"].sync == VideoSync()
    code, out, _ = run(capsys, "video", "sync", session, "--auto", "--roi", roi, "--accept-low-confidence")
    assert code == 0 and "saved the sync" in out
    assert read_session(session).videos["other"].sync != VideoSync()
    code, _, err = run(capsys, "video", "sync", session, "--auto", "--roi", "1,2,3")
    assert code == 2 and "X,Y,W,H" in err
