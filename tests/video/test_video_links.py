"""The session's video links as data (no PyAV): validation, JSON round trip, order and uniqueness."""

from __future__ import annotations

import json

import pytest

from harlab.core import Session, SessionError
from harlab.core.errors import VideoFileError
from harlab.core.videos import MAX_LINK_NAME, VideoLink, VideoReference, VideoSync, VideoSyncError


def reference(name: str = "cam.mp4", duration_s: float = 60.0) -> VideoReference:
    return VideoReference(
        path=f"videos/{name}",
        name=name,
        size=123_456,
        sha256_head="ab" * 32,
        duration_s=duration_s,
        frame_rate=30.0,
        frame_count=int(duration_s * 30),
        start_s=0.0,
    )


def test_link_round_trips_through_json_exactly():
    link = VideoLink("front", reference(), VideoSync(2.5, -37.25), roi=(10, 20, 64, 48))
    back = VideoLink.from_json(link.to_json())
    assert back == link and back.roi == (10, 20, 64, 48)
    plain = VideoLink("side", reference("b.mov"))
    assert plain.sync == VideoSync(0.0, 0.0) and VideoLink.from_dict(plain.to_dict()) == plain


def test_link_maps_session_time_to_video_time_and_spans():
    link = VideoLink("front", reference(duration_s=100.0), VideoSync(5.0, 100.0))
    assert link.video_time(5.0) == 0.0
    a, b = link.session_span
    assert a == 5.0 and b == pytest.approx(5.0 + 100.0 * (1 + 1e-4))
    assert link.video_time(link.sync.to_session(42.0)) == pytest.approx(42.0, abs=1e-12)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x" * (MAX_LINK_NAME + 1)}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"roi": [1, 2, 3]}, "roi"),
        ({"roi": [1, 2, 0, 4]}, "region"),
        ({"roi": [-1, 2, 3, 4]}, "region"),
        ({"roi": [1, 2, 3.5, 4]}, "roi"),
        ({"roi": [1, 2, True, 4]}, "roi"),
        ({"roi": [0, 0, 1 << 20, 4]}, "region"),
        ({"sync": {"offset_s": float("nan")}}, "offset_s"),
        ({"sync": {"offset_s": 1.0, "drift_ppm": 1e9}}, "drift_ppm"),
        ({"sync": [1, 2]}, "JSON object"),
        ({"reference": {"path": "x"}}, "lacks"),
        ({"extra": 1}, "unknown"),
    ],
)
def test_hostile_link_data_is_refused_naming_the_field(change, words):
    data = {**VideoLink("front", reference()).to_dict(), **change}
    with pytest.raises((VideoFileError, VideoSyncError)) as info:
        VideoLink.from_dict(json.loads(json.dumps(data)), where="file.h5:/videos/0")
    assert words in str(info.value)


def test_link_refuses_bad_values_at_construction():
    with pytest.raises(VideoSyncError):
        VideoLink("", reference())
    with pytest.raises(VideoSyncError):
        VideoLink("front", reference(), roi=(0, 0, 0, 0))
    with pytest.raises(VideoSyncError):
        VideoLink("front", "cam.mp4")  # type: ignore[arg-type]


def test_session_keeps_videos_unique_and_in_display_order():
    s = Session()
    seen: list[tuple[str, str]] = []
    s.events.connect(lambda e: seen.append((e.kind, e.data.get("name", ""))))
    a, b, c = (VideoLink(n, reference(f"{n}.mp4")) for n in ("a", "b", "c"))
    s.add_video(a)
    s.add_video(b)
    s.add_video(c, index=1)
    assert list(s.videos) == ["a", "c", "b"]
    with pytest.raises(SessionError, match="already has a video"):
        s.add_video(VideoLink("a", reference("other.mp4")))
    assert s.remove_video("c") is c and list(s.videos) == ["a", "b"]
    with pytest.raises(SessionError, match="no video"):
        s.remove_video("c")
    s.replace_video(VideoLink("a", reference("a.mp4"), VideoSync(1.0)))
    assert list(s.videos) == ["a", "b"] and s.videos["a"].sync.offset_s == 1.0
    assert seen == [
        ("video_added", "a"),
        ("video_added", "b"),
        ("video_added", "c"),
        ("video_removed", "c"),
        ("video_changed", "a"),
    ]
