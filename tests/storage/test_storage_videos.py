"""Video links in the session file: saved in /videos, read back exactly, hostile entries refused on open."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from harlab.core.errors import SessionFileError
from harlab.core.videos import MAX_VIDEOS, VideoLink, VideoSync
from harlab.simulate import synthetic_session
from harlab.storage import open_session, read_session, save_session
from harlab.storage.validate import validate_file
from tests.video.test_video_links import reference


def with_videos():
    s = synthetic_session(30.0, classes=["walk", "sit"])
    s.add_video(VideoLink("front camera", reference("front.mp4"), VideoSync(2.5, -40.0), roi=(5, 6, 70, 80)))
    s.add_video(VideoLink("side", reference("side.mov", 12.5)))
    return s


@pytest.fixture
def saved(tmp_path):
    return save_session(with_videos(), tmp_path / "v.h5")


def test_videos_round_trip_in_display_order(saved):
    want = with_videos().videos
    back = read_session(saved)
    assert list(back.videos) == ["front camera", "side"] and back.videos == want
    assert validate_file(saved) == []
    with open_session(saved, writable=True) as sf:  # a save keeps them
        sf.session.remove_video("front camera")
        sf.save()
    assert list(read_session(saved).videos) == ["side"]


def test_a_session_without_videos_writes_no_videos_group(tmp_path):
    path = save_session(synthetic_session(10.0), tmp_path / "plain.h5")
    with h5py.File(path) as f:
        assert "videos" not in f
    assert read_session(path).videos == {} and validate_file(path) == []


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def _set(key, value, entry="0"):
    def fn(f):
        f[f"videos/{entry}"].attrs[key] = value

    return fn


def _too_many(f):
    for i in range(2, MAX_VIDEOS + 2):
        f["videos"].create_group(str(i))


HOSTILE = {
    "videos is a dataset": lambda f: (f.__delitem__("videos"), f.create_dataset("videos", data=[1, 2])),
    "entry named oddly": lambda f: f["videos"].move("1", "seven"),
    "entry is a dataset": lambda f: (f["videos"].__delitem__("1"), f["videos"].create_dataset("1", data=[0])),
    "entry has members": lambda f: f["videos/0"].create_dataset("frames", data=np.zeros(3)),
    "unknown attribute": _set("payload", "x"),
    "name is a number": _set("name", 5),
    "name is a list": _set("name", np.array(["a", "b"], dtype=object)),
    "huge reference": _set("reference", "x" * (100 << 10)),
    "reference not json": _set("reference", "{not json"),
    "reference not an object": _set("reference", "[1, 2]"),
    "reference bad hash": _set("reference", reference().to_json().replace("abab", "ABAB")),
    "reference negative size": _set("reference", reference().to_json().replace("123456", "-5")),
    "offset is text": _set("offset_s", "soon"),
    "offset is nan": _set("offset_s", np.nan),
    "drift is huge": _set("drift_ppm", 1e12),
    "roi has three values": _set("roi", np.array([1, 2, 3])),
    "roi is float": _set("roi", np.array([1.0, 2.0, 3.0, 4.0])),
    "roi is negative": _set("roi", np.array([-1, 2, 3, 4])),
    "name is empty": _set("name", ""),
    "duplicate names": _set("name", "side", entry="0"),
    "missing sync": lambda f: f["videos/0"].attrs.__delitem__("offset_s"),
    "too many entries": _too_many,
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_video_entries_are_refused_on_open_and_by_validate(saved, case):
    path = _edit(saved, HOSTILE[case])
    with pytest.raises(SessionFileError) as info:
        read_session(path)
    assert "videos" in str(info.value)
    problems = validate_file(path)
    assert problems and any("videos" in p for p in problems)


def test_info_shows_the_videos(saved, capsys):
    from harlab.cli import main

    assert main(["info", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "videos (2):" in out and "front camera" in out and "offset +2.500 s  drift -40.0 ppm" in out


def test_format_doc_states_the_video_limits_the_code_enforces():
    from pathlib import Path

    from harlab.core import videos
    from harlab.storage import layout

    text = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
    section = text[text.index("## What opening and `validate` refuse") : text.index("## Versions")]
    assert f"at most {videos.MAX_VIDEOS} entries" in section
    assert f"{layout.MAX_VIDEO_ATTR_BYTES >> 10} KiB" in section
    assert (
        f"at most {videos.MAX_FRAME_RATE:.0f}" in section
        and f"within {videos.MAX_DRIFT_PPM:.0f} ppm" in section
    )
    for field in (
        "path",
        "name",
        "size",
        "sha256_head",
        "duration_s",
        "frame_rate",
        "frame_count",
        "start_s",
    ):
        assert f"`{field}`" in text
