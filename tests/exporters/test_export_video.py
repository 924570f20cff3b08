"""Exports with videos: ELAN's media descriptors in sync, video times of segments and windows."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harlab.cli import main
from harlab.core.videos import VideoLink, VideoReference, VideoSync
from harlab.exporters import ExportError, ExportOptions, get_exporter
from harlab.exporters.windows import load_windows
from harlab.simulate import synthetic_session
from harlab.storage import read_session, save_session
from harlab.video.video_reference import head_sha256, stored_path

PLAN = [("walking", 20.0), ("sitting", 20.0), ("running", 20.0)]


def fake_video(path: Path, n_bytes: int = 5000) -> Path:
    """Bytes standing in for a video: references are found by size and fingerprint, never decoded here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(n_bytes).integers(0, 256, n_bytes, dtype=np.uint8).tobytes())
    return path


def link_to(video: Path, session_path: Path, name: str, sync: VideoSync) -> VideoLink:
    ref = VideoReference(
        path=stored_path(video, session_path),
        name=video.name,
        size=video.stat().st_size,
        sha256_head=head_sha256(video),
        duration_s=70.0,
        frame_rate=30.0,
        frame_count=2100,
        start_s=0.0,
    )
    return VideoLink(name, ref, sync)


@pytest.fixture
def studio(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A session file with a camera beside it (started 3.25 s before the sensors, drifting) and a
    phone video elsewhere that started 1.5 s after them; the exports go to a third folder."""
    folder = tmp_path / "study"
    session_path = folder / "p01.h5"
    cam = fake_video(folder / "media" / "cam.mp4")
    phone = fake_video(tmp_path / "phone" / "clip.MOV", 7000)
    s = synthetic_session(plan=PLAN, seed=2)
    s.add_video(link_to(cam, session_path, "cam", VideoSync(-3.25, 80.0)))
    s.add_video(link_to(phone, session_path, "phone", VideoSync(1.5, 0.0)))
    folder.mkdir(exist_ok=True)
    save_session(s, session_path)
    out = tmp_path / "exports"
    out.mkdir()
    return session_path, cam, phone


def media_of(eaf: Path) -> list[dict[str, str]]:
    header = ET.parse(eaf).getroot().find("HEADER")
    assert header is not None
    kinds = [child.tag for child in header]
    assert kinds == sorted(kinds, key=lambda k: k != "MEDIA_DESCRIPTOR")  # descriptors first (EAF schema)
    return [dict(m.attrib) for m in header.findall("MEDIA_DESCRIPTOR")]


def test_elan_links_every_video_in_sync(studio, capsys):
    session_path, cam, phone = studio
    eaf = session_path.parent.parent / "exports" / "p01.eaf"
    assert main(["export", str(session_path), "--to", "eaf", "-o", str(eaf)]) == 0
    cam_m, phone_m = media_of(eaf)
    assert cam_m["MEDIA_URL"] == cam.resolve().as_uri() and cam_m["MIME_TYPE"] == "video/mp4"
    assert phone_m["MEDIA_URL"] == phone.resolve().as_uri() and phone_m["MIME_TYPE"] == "video/quicktime"
    for m, video in ((cam_m, cam), (phone_m, phone)):
        assert (eaf.parent / m["RELATIVE_MEDIA_URL"]).resolve() == video.resolve()
    # ELAN plays media time = annotation time + TIME_ORIGIN; annotation time = session time
    assert int(phone_m["TIME_ORIGIN"]) == -1500  # the phone started 1.5 s after the session
    sync = VideoSync(-3.25, 80.0)
    origin = int(cam_m["TIME_ORIGIN"])
    for t in np.linspace(0.0, 60.0, 13):
        error_ms = (t * 1000 + origin) - sync.to_video(t) * 1000
        assert abs(error_ms) <= 0.5 + 80e-6 * 30.0 * 1000  # rounding + drift over half the session
    text = eaf.read_text()
    assert "drift +80.0 ppm" in text


def test_elan_finds_a_moved_video_and_keeps_a_missing_ones_place(studio, tmp_path):
    session_path, cam, phone = studio
    moved = Path(shutil.move(cam, session_path.parent / cam.name))
    phone.unlink()
    (eaf,) = get_exporter("eaf").export(
        [read_session(session_path)],
        tmp_path / "exports" / "x.eaf",
        ExportOptions(session_paths=[session_path]),
    )
    cam_m, phone_m = media_of(eaf)
    assert cam_m["MEDIA_URL"] == moved.resolve().as_uri()
    assert phone_m["MEDIA_URL"] == phone.resolve().as_uri()  # ELAN asks for it where it was


def test_elan_without_videos_has_no_media(tmp_path):
    (eaf,) = get_exporter("eaf").export([synthetic_session(plan=PLAN)], tmp_path / "plain.eaf")
    assert media_of(eaf) == []


def test_segment_table_carries_video_times(studio, capsys):
    session_path, _, _ = studio
    out = session_path.parent.parent / "exports" / "seg.csv"
    assert (
        main(["export", str(session_path), "--to", "segments", "-o", str(out), "--video-times", "cam"]) == 0
    )
    df = pd.read_csv(out)
    assert list(df.columns[-2:]) == ["video_start_s", "video_end_s"]
    sync = VideoSync(-3.25, 80.0)
    np.testing.assert_allclose(df["video_start_s"], sync.to_video(df["start_s"].to_numpy()), atol=1e-12)
    np.testing.assert_allclose(df["video_end_s"], sync.to_video(df["end_s"].to_numpy()), atol=1e-12)
    assert main(["export", str(session_path), "--to", "segments", "-o", str(out), "--force"]) == 0
    assert "video_start_s" not in pd.read_csv(out).columns


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_windows_carry_video_times(studio, suffix):
    session_path, _, _ = studio
    s = read_session(session_path)
    out = session_path.parent.parent / "exports" / f"w{suffix}"
    (f, _) = get_exporter("windows").export(
        [s], out, ExportOptions(video_times="phone", window_s=2.0, streams=["accel"])
    )
    arrays, manifest = load_windows(f)
    assert manifest["video"] == "phone" and "video_start_s" in manifest["arrays"]
    np.testing.assert_allclose(arrays["video_start_s"], arrays["start_s"] - 1.5, atol=1e-12)
    np.testing.assert_allclose(arrays["video_end_s"], arrays["start_s"] + 2.0 - 1.5, atol=1e-9)
    plain, _ = get_exporter("windows").export(
        [s], out.with_stem("plain"), ExportOptions(window_s=2.0, streams=["accel"])
    )
    arrays, manifest = load_windows(plain)
    assert "video_start_s" not in arrays and "video" not in manifest


def test_video_times_of_an_unknown_video_or_format_are_refused(studio, tmp_path):
    session_path, _, _ = studio
    s = read_session(session_path)
    with pytest.raises(ExportError, match=r"no video 'door'.*cam, phone"):
        get_exporter("segments").export([s], tmp_path / "s.csv", ExportOptions(video_times="door"))
    with pytest.raises(ExportError, match="--video-times"):
        get_exporter("eaf").export([s], tmp_path / "s.eaf", ExportOptions(video_times="cam"))
    assert not os.path.exists(tmp_path / "s.csv")
