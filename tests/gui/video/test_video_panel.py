"""The video dock in the workbench: the frame on screen is the cursor's, playback drives the cursor,
class keys label from video, the sync is nudged, marked and found, and nothing outlives the window.

The videos carry their frame numbers as a code row (``render_video``), read back from the
pixels the dock shows: a test sees what a user would.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QRect, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from harlab.gui.video_view import NO_VIDEO
from harlab.labeling.commands import AddLabelTrack, RemoveSegments
from harlab.video import VideoStatus, VideoSync
from tests.gui.gui_helpers import press_key, press_shortcut
from tests.gui.video.video_gui_helpers import (
    OFFSET_SYNC,
    TRUE_SYNC,
    attach_and_wait,
    code_on_screen,
    open_with_video,
    wait_frame,
)

pytestmark = [pytest.mark.gui]


def video_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("video ") and t.is_alive()]


def test_the_frame_on_screen_is_the_cursors(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel = w.video_dock
    assert panel.isVisible()
    link = w.session.videos[panel.chooser.currentData()]
    assert link.sync == VideoSync()  # attached with the identity sync: video time = session time
    assert w.video_dock.set_sync(OFFSET_SYNC)
    rng = np.random.default_rng(1)
    times = [
        2.0,
        2.5,
        7.9,
        4.0,
        3.0 + 1 / 30 + 0.001,
        *rng.uniform(2.0, 8.0, 8),
    ]  # forwards, back, random seeks
    for t in times:
        want = wait_frame(qtbot, w, float(t))
        assert want == int((t - 2.0) * 30 + 1e-9), t  # frame i is shown from i/30 s of video time
        assert code_on_screen(panel) == want, t
        assert panel.time_label.text().endswith(f"frame {want + 1}")


@pytest.mark.parametrize("t", [0.5, 1.99, 8.01, 14.0])
def test_no_video_before_and_after_it(qtbot, make_window, short_video, t):
    w = open_with_video(qtbot, make_window, short_video)
    assert w.video_dock.set_sync(OFFSET_SYNC)
    wait_frame(qtbot, w, 5.0)
    assert wait_frame(qtbot, w, t) is None
    assert w.video_dock.view.message == NO_VIDEO
    assert w.video_dock.view.image is None
    assert w.video_dock.shown_session_time() is None


def test_play_moves_the_cursor_and_stops_at_the_videos_end(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel, hub = w.video_dock, w.timeline.hub
    assert panel.set_sync(OFFSET_SYNC)
    wait_frame(qtbot, w, 3.0)
    w.timeline.set_range(2.0, 4.0)
    press_shortcut(qtbot, w, "play_pause")
    assert panel.playback.playing
    started = time.monotonic()
    qtbot.waitUntil(lambda: hub.cursor > 3.4, timeout=3000)
    elapsed = time.monotonic() - started
    assert hub.cursor - 3.0 <= elapsed + 0.2  # real time (1x), not faster
    press_shortcut(qtbot, w, "play_pause")
    assert not panel.playback.playing
    paused_at = hub.cursor
    qtbot.wait(150)
    assert hub.cursor == paused_at
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == panel.frame_index_at(paused_at))
    assert code_on_screen(panel) == panel.frame_index_at(paused_at)
    panel.speed.setCurrentIndex(panel.speed.findData(4.0))
    press_shortcut(qtbot, w, "play_pause")
    qtbot.waitUntil(lambda: not panel.playback.playing, timeout=5000)
    assert hub.cursor == pytest.approx(8.0)  # the video's end: 2 s + 6 s
    a, b = hub.range
    assert a <= 8.0 <= b  # the timeline paged along
    assert a > 2.0


def test_frame_steps(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel = w.video_dock
    assert panel.set_sync(OFFSET_SYNC)
    wait_frame(qtbot, w, 4.0)  # frame 60
    for key, want in ((".", 61), (".", 62), (",", 61), (",", 60), (",", 59)):
        press_key(qtbot, w, key)
        qtbot.waitUntil(lambda want=want: panel.shown is not None and panel.shown.index == want, timeout=3000)
        assert code_on_screen(panel) == want
        assert panel.frame_index_at(w.timeline.hub.cursor) == want
    # from outside the video a step goes to its first frame in the step's direction
    assert wait_frame(qtbot, w, 1.0) is None
    press_key(qtbot, w, ".")
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == 0, timeout=3000)
    assert wait_frame(qtbot, w, 12.0) is None
    press_key(qtbot, w, ",")
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == 179, timeout=3000)
    assert code_on_screen(panel) == 179


def test_class_keys_label_from_the_playing_video(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel, hub = w.video_dock, w.timeline.hub
    assert panel.set_sync(OFFSET_SYNC)
    track = w.session.label_tracks["activity"]
    w.history.push(RemoveSegments("activity", [s.id for s in track]))
    wait_frame(qtbot, w, 2.5)
    press_shortcut(qtbot, w, "play_pause")
    qtbot.waitUntil(lambda: hub.cursor > 3.0, timeout=3000)
    press_key(qtbot, w, "W")  # walking starts at the frame on screen
    started_frame = panel.shown
    qtbot.waitUntil(lambda: hub.cursor > 4.0, timeout=3000)
    press_key(qtbot, w, "W")  # ... and ends at the frame on screen then
    ended_frame = panel.shown
    assert panel.playback.playing  # labeling does not stop playback
    press_shortcut(qtbot, w, "play_pause")
    (seg,) = list(track)
    assert seg.label == "walking"
    sample = 0.01  # the class key snaps to the sensor's samples
    assert seg.start == pytest.approx(OFFSET_SYNC.to_session(started_frame.start_s), abs=sample / 2 + 1e-9)
    assert seg.end == pytest.approx(OFFSET_SYNC.to_session(ended_frame.start_s), abs=sample / 2 + 1e-9)
    assert seg.end - seg.start > 0.5


def test_nudge_keys_change_the_sync_and_undo_restores_it(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel = w.video_dock
    name = panel.chooser.currentData()
    assert panel.set_sync(OFFSET_SYNC)
    before = wait_frame(qtbot, w, 5.0)
    press_shortcut(qtbot, w, "sync_later")
    assert w.session.videos[name].sync.offset_s == pytest.approx(2.0 + 1 / 30)
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == before - 1, timeout=3000)
    assert code_on_screen(panel) == before - 1  # the video moved later: the cursor sees an earlier frame
    press_shortcut(qtbot, w, "sync_earlier_fine")
    assert w.session.videos[name].sync.offset_s == pytest.approx(2.0 + 1 / 30 - 0.01)
    press_shortcut(qtbot, w, "sync_earlier")
    press_shortcut(qtbot, w, "sync_later_fine")
    assert w.session.videos[name].sync.offset_s == pytest.approx(2.0)
    assert panel.view.trace is not None and len(panel.view.trace[0]) > 100  # the accelerometer overlaid
    for _ in range(4):
        press_shortcut(qtbot, w, "undo")
    assert w.session.videos[name].sync == OFFSET_SYNC
    qtbot.waitUntil(lambda: panel.shown is not None and panel.shown.index == before, timeout=3000)
    press_shortcut(qtbot, w, "undo")  # the sync set at the start
    assert w.session.videos[name].sync == VideoSync()


def test_two_marked_moments_give_offset_and_drift(qtbot, make_window, synced_video):
    w = open_with_video(qtbot, make_window, synced_video)
    panel = w.video_dock
    name = panel.chooser.currentData()
    frame_times = synced_video.video.frame_times
    pairs = []
    for k in (90, 1200):  # frames 40 s apart
        # find the frame in the video (with the identity sync, at session time = video time) ...
        want = wait_frame(qtbot, w, float(panel.link.sync.to_session(frame_times[k] + 0.001)))
        assert want == k and code_on_screen(panel) == k
        panel.mark_video_button.click()
        # ... and the same moment in the traces
        truth = float(TRUE_SYNC.to_session(frame_times[k]))
        w.timeline.hub.seek(truth)
        panel.mark_trace_button.click()
        pairs.append((frame_times[k], truth))
    sync = w.session.videos[name].sync
    assert sync.offset_s == pytest.approx(TRUE_SYNC.offset_s, abs=1e-4)
    assert sync.drift_ppm == pytest.approx(TRUE_SYNC.drift_ppm, abs=0.5)
    assert "2 pairs marked" in panel.marks_label.text()
    press_shortcut(qtbot, w, "undo")  # back to the first pair's offset
    first = w.session.videos[name].sync
    assert first.offset_s == pytest.approx(pairs[0][1] - pairs[0][0], abs=1e-4) and first.drift_ppm == 0.0
    press_shortcut(qtbot, w, "undo")
    assert w.session.videos[name].sync == VideoSync()


def drag_region(qtbot, panel, roi: tuple[int, int, int, int]) -> None:
    """Drag over ``roi`` (video pixels) on the picture, as a user marks the wrist."""
    from PySide6.QtTest import QTest

    r = panel.view.to_widget(QRect(*roi))
    a, b = r.topLeft().toPoint(), r.bottomRight().toPoint()
    QTest.mousePress(panel.view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(panel.view, (a + b) / 2)
    QTest.mouseMove(panel.view, b)
    QTest.mouseRelease(panel.view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_automatic_sync_finds_the_truth(qtbot, make_window, synced_video):
    w = open_with_video(qtbot, make_window, synced_video)
    panel = w.video_dock
    name = panel.chooser.currentData()
    wait_frame(qtbot, w, 20.0)
    roi = synced_video.video.figure_roi  # the figure, not the frame-number row nor the clapper box
    drag_region(qtbot, panel, roi)
    got = w.session.videos[name].roi
    assert got is not None and all(abs(g - r) <= 2 for g, r in zip(got, roi, strict=True)), got
    asked = []
    job = panel.auto_sync(ask=lambda e: asked.append(e) or False)
    assert job is not None
    with qtbot.waitSignal(job.ended, timeout=120000):
        pass
    sync = w.session.videos[name].sync
    assert not asked, asked[0].message if asked else ""  # confident: applied without asking
    assert sync.offset_s == pytest.approx(TRUE_SYNC.offset_s, abs=1 / 30)
    assert sync.drift_ppm == pytest.approx(TRUE_SYNC.drift_ppm, abs=20)
    assert "Automatic sync applied" in w.last_message
    press_shortcut(qtbot, w, "undo")
    assert w.session.videos[name].sync == VideoSync()
    press_shortcut(qtbot, w, "undo")
    assert w.session.videos[name].roi is None


def test_low_confidence_sync_is_asked_about_and_not_applied(
    qtbot, make_window, synced_video, unrelated_video
):
    w = open_with_video(qtbot, make_window, unrelated_video, session=synced_video.make_session())
    panel = w.video_dock
    name = panel.chooser.currentData()
    asked = []
    job = panel.auto_sync(ask=lambda e: asked.append(e) or False)
    with qtbot.waitSignal(job.ended, timeout=120000):
        pass
    assert len(asked) == 1 and not asked[0].confident
    assert w.session.videos[name].sync == VideoSync()
    assert "not applied" in w.last_message


def test_a_video_dropped_on_the_window_is_attached(qtbot, make_window, short_video):
    w = make_window()
    assert w.show_session(short_video.make_session())
    assert not w.video_dock.isVisible()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(short_video.path))])
    pos = QPointF(w.width() / 2, w.height() / 2)
    drop = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    w.dropEvent(drop)
    qtbot.waitUntil(lambda: "short" in w.session.videos, timeout=20000)
    qtbot.waitUntil(lambda: w.video_dock.feed is not None and w.video_dock.feed.ready, timeout=20000)
    assert w.video_dock.isVisible()
    assert w.history.undo_text == "Attach video short"
    wait_frame(qtbot, w, 1.0)
    assert code_on_screen(w.video_dock) == 30
    press_shortcut(qtbot, w, "undo")
    assert not w.session.videos
    qtbot.waitUntil(lambda: w.video_dock.feed is None)
    assert w.video_dock.view.image is None


def test_several_videos_are_chosen_between(qtbot, make_window, short_video, unrelated_video):
    w = open_with_video(qtbot, make_window, short_video)
    panel = w.video_dock
    second = attach_and_wait(qtbot, w, unrelated_video.path)
    assert panel.chooser.isVisible() and panel.chooser.count() == 2
    assert panel.chooser.currentData() == second
    wait_frame(qtbot, w, 10.0)
    assert code_on_screen(panel) == 300  # the unrelated video is 38 s long
    panel.choose("short")
    qtbot.waitUntil(lambda: panel.feed is not None and panel.feed.ready, timeout=20000)
    assert wait_frame(qtbot, w, 10.0) is None  # the short one ends at 6 s


def test_a_missing_video_offers_to_locate_it(qtbot, make_window, short_video, tmp_path):
    import shutil

    copy = tmp_path / "clip.mp4"
    shutil.copy(short_video.path, copy)
    w = open_with_video(qtbot, make_window, short_video)
    attach_and_wait(qtbot, w, copy)
    panel = w.video_dock
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    copy.rename(moved)
    panel.choose("short")
    panel.choose("clip")
    assert panel.location is not None and panel.location.status is VideoStatus.MISSING
    assert panel.locate_button.isVisible() and "missing" in panel.status.text()
    assert panel.view.image is None and panel.view.message
    assert panel.locate(moved)
    qtbot.waitUntil(lambda: panel.feed is not None and panel.feed.ready, timeout=20000)
    assert panel.link.reference.path == str(moved.resolve())
    assert w.history.undo_text == "Relink video clip to renamed.mp4"
    wait_frame(qtbot, w, 1.0)
    assert code_on_screen(panel) == 30
    other = tmp_path / "clip.mp4"
    shutil.copy(short_video.path, other)
    with open(other, "r+b") as f:  # same name, other content
        f.seek(200)
        f.write(b"\x00" * 8)
    assert not panel.locate(other, accept_different=False)
    assert panel.link.reference.path == str(moved.resolve())


def test_no_thread_outlives_the_window(qtbot, make_window, short_video):
    w = open_with_video(qtbot, make_window, short_video)
    wait_frame(qtbot, w, 3.0)
    press_shortcut(qtbot, w, "play_pause")
    qtbot.wait(100)
    assert video_threads()
    w.history.clear()
    w.close()
    QApplication.processEvents()
    assert not w.video_dock.playback.playing
    assert not video_threads()


def test_video_keys_do_not_clash_with_class_keys(short_video):
    from harlab.labeling.class_keys import class_keys
    from harlab.labeling.shortcuts import SHORTCUTS, key_conflicts

    session = short_video.make_session()
    assert key_conflicts(SHORTCUTS, session.schema) == []
    assert not {".", ",", " "} & set(class_keys())


def test_a_saved_session_opens_with_its_video_found_beside_it(qtbot, make_window, short_video, tmp_path):
    import shutil

    from harlab.core.videos import VideoLink
    from harlab.storage import save_session
    from harlab.video import probe_video

    folder = tmp_path / "study"
    folder.mkdir()
    video = folder / "clip.mp4"
    shutil.copy(short_video.path, video)
    session = short_video.make_session()
    session.add_video(VideoLink("clip", probe_video(video, folder / "s.h5"), OFFSET_SYNC))
    save_session(session, folder / "s.h5")
    moved = tmp_path / "moved"
    folder.rename(moved)  # the pair moves together: the relative path still finds the video
    w = make_window()
    assert w.open_path(moved / "s.h5")
    panel = w.video_dock
    assert panel.isVisible() and panel.link is not None and panel.link.sync == OFFSET_SYNC
    assert panel.location is not None and panel.location.status is VideoStatus.FOUND
    qtbot.waitUntil(lambda: panel.feed is not None and panel.feed.ready, timeout=20000)
    wait_frame(qtbot, w, 3.0)
    assert code_on_screen(panel) == 30


def test_attach_from_the_menu_and_the_dock_belongs_to_the_session(qtbot, make_window, short_video):
    w = make_window()
    assert not w.attach_video_action.isEnabled() and not w.qactions["play_pause"].isEnabled()
    assert w.show_session(short_video.make_session())
    assert w.attach_video_action.isEnabled() and not w.qactions["play_pause"].isEnabled()
    w.attach_video_dialog(short_video.path)  # the menu's action, with the file chosen
    qtbot.waitUntil(lambda: "short" in w.session.videos, timeout=20000)
    qtbot.waitUntil(lambda: w.qactions["play_pause"].isEnabled() and w.auto_sync_action.isEnabled())
    assert w.video_dock.isVisible()
    w.history.clear()
    w.close()  # the layout is saved with the dock shown ...
    w2 = make_window()
    assert not w2.video_dock.isVisible()  # ... and a window without a session does not show it


def test_screenshots_of_the_video_dock(qtbot, make_window, synced_video):
    """The workbench with the video dock at work, for docs/VIDEO.md (looked at, not only saved)."""
    from tests.gui.test_screenshots import shoot

    w = open_with_video(qtbot, make_window, synced_video)
    w.resize(1400, 860)
    panel, hub = w.video_dock, w.timeline.hub
    w.history.push(AddLabelTrack("from video"))
    w.timeline.set_active_track("from video")
    w.timeline.set_range(0.0, 20.0)
    wait_frame(qtbot, w, 9.0)
    drag_region(qtbot, panel, synced_video.video.figure_roi)
    job = panel.auto_sync()
    with qtbot.waitSignal(job.ended, timeout=120000):
        pass
    assert "Automatic sync applied" in w.last_message
    wait_frame(qtbot, w, 9.0)
    shoot(w, qtbot, "video_auto_sync")
    # label from video while it plays
    w.timeline.set_range(12.0, 22.0)
    wait_frame(qtbot, w, 13.0)
    press_shortcut(qtbot, w, "play_pause")
    qtbot.waitUntil(lambda: hub.cursor > 14.0, timeout=3000)
    press_key(qtbot, w, "W")
    qtbot.waitUntil(lambda: hub.cursor > 16.5, timeout=5000)
    press_key(qtbot, w, "W")
    press_key(qtbot, w, "R")
    qtbot.waitUntil(lambda: hub.cursor > 18.0, timeout=5000)
    press_key(qtbot, w, "R")
    press_shortcut(qtbot, w, "play_pause")
    walking, running = list(w.session.label_tracks["from video"])  # R started a new segment, did not relabel
    assert (walking.label, running.label) == ("walking", "running")
    assert walking.end <= running.start
    shoot(w, qtbot, "video_label")
    # the clap: marked in the video, then in the traces
    w.timeline.set_range(0.0, 10.0)
    clap = synced_video.video.clap_video_s
    wait_frame(qtbot, w, float(w.session.videos[panel.chooser.currentData()].sync.to_session(clap + 0.01)))
    panel.mark_video_button.click()
    shoot(w, qtbot, "video_sync_marks")
    assert wait_frame(qtbot, w, 0.5) is None
    shoot(w, qtbot, "video_no_video_here")
