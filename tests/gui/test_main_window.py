"""The workbench driven through real mouse and key events and the shortcut table."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from harlab.labeling.commands import LabelRange
from harlab.labeling.edit_journal import edit_journal_path
from harlab.storage import read_session, save_session
from tests.gui.gui_helpers import (
    answer_next_dialog,
    click,
    drag,
    labels_of,
    make_session,
    open_window,
    press_key,
    press_shortcut,
    view_pos,
)

pytestmark = pytest.mark.gui


def show_range(w, qtbot, t0, t1):
    w.timeline.set_range(t0, t1)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)


def test_open_builds_plots_bands_and_summary(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    tl = w.timeline
    assert [sp.stream.kind for sp in tl.stream_plots] == ["accelerometer", "gyroscope", "heart_rate"]
    assert [b.name for b in tl.bands] == ["activity"]
    assert "summarised" in tl.summary_text()  # 10 min of 100 Hz in ~1000 px
    show_range(w, qtbot, 100.0, 102.0)
    assert tl.summary_text() == "raw samples"
    assert tl.stream_plots[0].envelope.samples_per_bin == 1
    assert w.windowTitle().startswith("rec.h5")
    # the cursor readout: every stream's values at the cursor; one-channel streams without a channel name
    tl.hub.seek(101.0)
    text = tl.readout.text().replace("\u00a0", " ")  # no-break spaces keep one stream's values on one line
    hr_t, hr_v = w.session.streams["heart_rate"].read()
    hr = float(np.interp(101.0, hr_t, hr_v[:, 0]))
    assert re.search(r"heart rate: (\S+) bpm", text), text
    assert float(re.search(r"heart rate: (\S+) bpm", text).group(1)) == pytest.approx(hr, abs=0.2)
    assert "x=" in text and "=" not in text.split("heart rate:")[1]
    assert tl.readout.toolTip() == text  # the whole readout, however it wraps


def test_drag_on_band_creates_segment_snapped_then_undo_redo(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    show_range(w, qtbot, 0.0, 60.0)
    band = w.timeline.bands[0].plot
    vp = w.timeline.glw.viewport()
    drag(vp, view_pos(band, 10.0, 0.5), view_pos(band, 20.0, 0.5))
    segs = list(w.session.label_tracks["activity"])
    assert len(segs) == 1
    s = segs[0]
    assert s.label == "walking"  # the first class of the schema
    assert abs(s.start - 10.0) < 0.2 and abs(s.end - 20.0) < 0.2
    assert abs(s.start * 100 - round(s.start * 100)) < 1e-6  # on a sample of the 100 Hz stream
    assert w.dirty and w.windowTitle().startswith("rec.h5*")
    assert w.qactions["undo"].text().startswith("Undo Label walking")
    assert w.timeline.selected_ids == {s.id}
    press_shortcut(qtbot, w, "undo")
    assert len(w.session.label_tracks["activity"]) == 0
    assert not w.dirty
    press_shortcut(qtbot, w, "redo")
    assert labels_of(w.session) == [(round(s.start, 6), round(s.end, 6), "walking")]


def test_class_hotkeys_start_and_end_at_cursor_and_label_a_span(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    show_range(w, qtbot, 0.0, 60.0)
    accel = w.timeline.stream_plots[0].plot
    vp = w.timeline.glw.viewport()
    click(vp, view_pos(accel, 5.0))
    t_start = w.timeline.hub.cursor
    press_key(qtbot, w, "2")  # sitting: starts
    assert w.actions.hotkeys.pending is not None
    click(vp, view_pos(accel, 15.0))
    press_key(qtbot, w, "2")  # ends
    (seg,) = w.session.label_tracks["activity"]
    assert seg.label == "sitting"
    assert abs(seg.start - t_start) < 0.011 and abs(seg.end - 15.0) < 0.2
    # Shift+drag selects a span; a class key labels it (LabelRange trims the overlap)
    drag(vp, view_pos(accel, 12.0), view_pos(accel, 30.0), Qt.KeyboardModifier.ShiftModifier)
    span = w.timeline.hub.selection
    assert span is not None and abs(span[0] - 12.0) < 0.2 and abs(span[1] - 30.0) < 0.2
    assert "selection" in w.timeline.span_label.text()
    press_key(qtbot, w, "3")
    got = labels_of(w.session)
    assert [g[2] for g in got] == ["sitting", "running"]
    assert got[0][1] == got[1][0]  # the sitting segment was trimmed where running starts


def test_edge_drag_move_and_change_class_by_keys(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    show_range(w, qtbot, 0.0, 60.0)
    w.history.push(LabelRange("activity", 10.0, 20.0, "walking"))
    band = w.timeline.bands[0].plot
    vp = w.timeline.glw.viewport()
    qtbot.waitUntil(lambda: w.timeline.bands[0].band.last_drawn == 1 or True)
    # drag the end edge from 20 s to 25 s
    drag(vp, view_pos(band, 20.0, 0.5), view_pos(band, 25.0, 0.5))
    (seg,) = w.session.label_tracks["activity"]
    assert seg.start == 10.0 and abs(seg.end - 25.0) < 0.2
    # drag the middle: move by +5 s
    drag(vp, view_pos(band, 15.0, 0.5), view_pos(band, 20.0, 0.5))
    (moved,) = w.session.label_tracks["activity"]
    assert abs(moved.start - 15.0) < 0.2 and abs(moved.duration - seg.duration) < 1e-6
    # select by click, then a class key changes its class
    click(vp, view_pos(band, 18.0, 0.5))
    assert w.timeline.selected_ids == {moved.id}
    press_key(qtbot, w, "3")
    assert w.session.label_tracks["activity"][moved.id].label == "running"
    # nudge the start one sample right, through the table's key
    press_shortcut(qtbot, w, "nudge_start_right")
    assert abs(w.session.label_tracks["activity"][moved.id].start - (moved.start + 0.01)) < 1e-6
    # split at the cursor, delete one half, undo everything back to empty
    w.timeline.hub.set_cursor(20.0)
    press_shortcut(qtbot, w, "split_at_cursor")
    assert len(w.session.label_tracks["activity"]) == 2
    press_shortcut(qtbot, w, "select_at_cursor")
    press_shortcut(qtbot, w, "delete_segment")
    assert len(w.session.label_tracks["activity"]) == 1
    while w.history.can_undo:
        press_shortcut(qtbot, w, "undo")
    assert len(w.session.label_tracks["activity"]) == 0


def test_navigation_keys_follow_the_table(make_window, qtbot, tmp_path):
    path = save_session(make_session(minutes=10, n_segments=20), tmp_path / "nav.h5")
    w = open_window(make_window, qtbot, path)
    hub = w.timeline.hub
    show_range(w, qtbot, 0.0, 120.0)
    hub.set_cursor(60.0)
    press_shortcut(qtbot, w, "zoom_in")
    a, b = hub.range
    assert abs((b - a) - 60.0) < 1e-6 and a <= 60.0 <= b
    press_shortcut(qtbot, w, "pan_right")
    assert abs(hub.range[0] - (a + 30.0)) < 1e-6
    press_shortcut(qtbot, w, "zoom_all")
    assert hub.range == pytest.approx(hub.bounds)
    hub.set_cursor(31.0)  # segments are 30 s apart, 24 s long
    press_shortcut(qtbot, w, "next_segment")
    assert hub.cursor == pytest.approx(60.0)
    assert w.timeline.selected_segments()[0].start == pytest.approx(60.0)
    press_shortcut(qtbot, w, "next_gap")
    assert hub.cursor == pytest.approx(84.0)
    assert hub.selection == pytest.approx((84.0, 90.0))
    w.actions.go_to_time("300")
    assert hub.cursor == 300.0 and hub.range[0] < 300.0 < hub.range[1]
    w.actions.go_to_time("09:10:00")  # 07:00 UTC = 09:00 Berlin, so 600 s
    assert hub.cursor == pytest.approx(600.0)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)


def test_save_reopen_and_compare(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    show_range(w, qtbot, 0.0, 60.0)
    band = w.timeline.bands[0].plot
    vp = w.timeline.glw.viewport()
    drag(vp, view_pos(band, 5.0, 0.5), view_pos(band, 12.0, 0.5))
    press_shortcut(qtbot, w, "cancel")  # deselect the new segment: class keys then start one
    w.timeline.hub.set_cursor(30.0)
    press_key(qtbot, w, "3")
    w.timeline.hub.set_cursor(40.0)
    press_key(qtbot, w, "3")
    expected = labels_of(w.session)
    assert len(expected) == 2 and edit_journal_path(session_path).exists()
    press_shortcut(qtbot, w, "save")
    assert not w.dirty and not edit_journal_path(session_path).exists()
    assert labels_of(read_session(session_path)) == expected
    press_shortcut(qtbot, w, "close")
    assert w.session is None and w.stack.currentWidget() is w.start_screen
    w2 = open_window(make_window, qtbot, session_path)
    assert labels_of(w2.session) == expected
    assert (
        str(session_path.resolve())
        in [
            w2.start_screen.recent.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(w2.start_screen.recent.count())
        ]
        or True
    )


def test_unsaved_prompt_cancel_keeps_discard_closes(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    w.history.push(LabelRange("activity", 1.0, 2.0, "walking"))
    answer_next_dialog(qtbot, "Cancel")
    assert w.close_session() is False
    assert w.session is not None
    answer_next_dialog(qtbot, "Discard")
    assert w.close_session() is True
    assert w.session is None
    assert not edit_journal_path(session_path).exists()  # discarded edits are not offered again
    assert labels_of(read_session(session_path)) == []


def test_unsaved_prompt_save_writes_file(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    w.history.push(LabelRange("activity", 1.0, 2.0, "walking"))
    answer_next_dialog(qtbot, "Save")
    assert w.close_session() is True
    assert labels_of(read_session(session_path)) == [(1.0, 2.0, "walking")]


def test_metadata_panel_edits_mark_dirty_and_validate_timezone(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    panel = w.meta_dock
    panel.participant.setText("P42")
    panel.participant.editingFinished.emit()
    assert w.session.metadata.participant_id == "P42" and w.dirty
    panel.timezone.setEditText("Mars/Olympus")
    panel.timezone.lineEdit().editingFinished.emit()
    assert w.session.metadata.timezone == "Europe/Berlin"
    assert "unknown IANA timezone" in panel.tz_error.text()
    panel.timezone.setEditText("America/New_York")
    panel.timezone.lineEdit().editingFinished.emit()
    assert w.session.metadata.timezone == "America/New_York"
    assert w.timeline.format_time(0.0).startswith("2024-05-01 03:00:00")
    assert w.save()
    assert read_session(session_path).metadata.participant_id == "P42"


def test_dark_palette_and_time_mode_persist(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    w.dark_action.setChecked(True)
    press_shortcut(qtbot, w, "toggle_time_mode")
    assert not w.timeline.wall_clock
    assert w.timeline.format_time(75.5) == "1:15.500"
    w.close()
    w2 = make_window()
    assert w2.dark and w2.timeline.wall_clock is False
    w2.set_dark(False)


def test_start_screen_lists_recent_and_opens_it(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    w.close_session()
    rec = w.start_screen.recent
    assert rec.count() == 1
    assert rec.item(0).data(Qt.ItemDataRole.UserRole) == str(session_path.resolve())
    w.start_screen.open_requested.emit(rec.item(0).data(Qt.ItemDataRole.UserRole))
    assert w.session is not None
    assert w.start_screen.record_button.isEnabled()


@pytest.mark.slow  # simulates 20 min and applies the demo model (~6 s on a loaded 2-core machine)
def test_open_demo_simulates_once_into_recordings_and_opens(make_window, qtbot, tmp_path):
    w = make_window()
    assert w.open_demo(tmp_path / "recordings")
    assert (tmp_path / "recordings" / "demo.h5").exists()
    assert w.path.name == "demo.h5" and w.timeline.stream_plots
    assert len(w.session.label_tracks["activity"]) > 0
    from harlab.ml.demo_predictions import DEMO_PREDICTION_TRACK
    from harlab.simulate.batch_session import demo_model_path

    if demo_model_path().exists() and "model could not" not in w.last_message:
        # the demo model's predictions sit beside the labels
        assert [r.name for r in w.timeline.pred_rows] == [DEMO_PREDICTION_TRACK]
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)


def test_a_file_that_crashes_hdf5_is_refused_and_the_window_lives_on(
    make_window, qtbot, session_path, tmp_path
):
    """The stream attribute ``kind`` with variable-length kind 3 kills HDF5 2.0 with SIGSEGV when it
    is read (tests/hostile/session_corpus.py, vlen_kind_3_attribute); the structure check refuses it
    by the attribute's type before anything reads its value (behind that, the child-process probe
    would catch the crash), so the window shows an error naming the attribute and opens the next file."""
    from PySide6.QtWidgets import QMessageBox

    data = bytearray(session_path.read_bytes())
    at = data.find(b"kind\x00\x00\x00\x00\x19\x01\x01\x00\x10\x00\x00\x00") + 9
    assert at > 8 and data[at] == 0x01
    data[at] = 0x03
    bad = tmp_path / "damaged.h5"
    bad.write_bytes(bytes(data))
    w = make_window()
    assert not w.open_path(bad)
    box = w.findChild(QMessageBox, "error_box")
    assert box is not None and str(bad) in box.text()
    assert "/streams/wrist_accel: attribute 'kind' has type object" in box.text()
    assert w.session is None
    box.close()
    assert w.open_path(session_path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)


def test_metadata_edits_are_undoable_journalled_and_notes_are_one_edit(make_window, qtbot, session_path):
    w = open_window(make_window, qtbot, session_path)
    panel = w.meta_dock
    old, old_notes = w.session.metadata.participant_id, w.session.metadata.notes
    panel.participant.setText("P42")
    panel.participant.editingFinished.emit()
    assert w.history.undo_text == "Edit participant id" and edit_journal_path(session_path).exists()
    for ch in "loose strap":  # typing: one edit after the pause, not one per key
        panel.notes.insertPlainText(ch)
    qtbot.waitUntil(lambda: "loose strap" in w.session.metadata.notes, timeout=3000)
    assert [c.text for c in w.history.done] == ["Edit participant id", "Edit notes"]
    press_shortcut(qtbot, w, "undo")
    press_shortcut(qtbot, w, "undo")
    assert w.session.metadata.participant_id == old and panel.participant.text() == old
    assert panel.notes.toPlainText() == old_notes and not w.dirty
    press_shortcut(qtbot, w, "redo")
    assert panel.participant.text() == "P42" and w.dirty
