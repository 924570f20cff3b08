"""SegmentTableDock driven by real mouse and key events."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from harlab.core import Segment
from harlab.gui.labeling import SegmentTableDock
from harlab.labeling.commands import LabelRange

pytestmark = pytest.mark.gui


@pytest.fixture
def dock(qtbot, lab_session, history):
    d = SegmentTableDock(lab_session, history)
    qtbot.addWidget(d)
    d.resize(760, 520)
    d.show()
    qtbot.waitExposed(d)
    return d


def cell_pos(dock, row, col) -> QPoint:
    return dock.view.visualRect(dock.model.index(row, col)).center()


def test_click_row_jumps_to_segment_start(qtbot, dock):
    with qtbot.waitSignal(dock.jump_requested) as sig:
        qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(dock, 3, 2))
    assert sig.args == [30.0]
    with qtbot.waitSignal(dock.segment_selected) as sel:
        qtbot.keyClick(dock.view, Qt.Key.Key_Down)
    assert sel.args == ["activity", dock.model.segment(4).id]
    with qtbot.waitSignal(dock.jump_requested) as again:  # clicking the current row again jumps again
        qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(dock, 4, 1))
        qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(dock, 4, 1))
    assert again.args == [40.0]


def test_edit_note_cell_is_an_undoable_command(qtbot, dock, lab_session, history):
    seg = dock.model.segment(2)
    dock.view.setCurrentIndex(dock.model.index(2, 4))
    qtbot.keyClick(dock.view, Qt.Key.Key_F2)
    editor = dock.view.findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "too fast")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on a queued call
    tr = lab_session.label_tracks["activity"]
    qtbot.waitUntil(lambda: tr[seg.id].note == "too fast")
    assert history.undo_text.startswith("Edit")
    history.undo()
    assert tr[seg.id] == seg
    qtbot.waitUntil(lambda: dock.model.index(2, 4).data() == "")


def test_edit_class_with_combo_and_times(qtbot, dock, lab_session, history):
    tr = lab_session.label_tracks["activity"]
    seg = dock.model.segment(0)
    dock.view.setCurrentIndex(dock.model.index(0, 0))
    qtbot.keyClick(dock.view, Qt.Key.Key_F2)
    combo = dock.view.findChild(QComboBox)
    assert combo is not None and combo.count() == len(lab_session.schema)
    combo.setCurrentText("Running")
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tr[seg.id].label == "Running")
    # an end that would overlap the next segment is refused with a message, nothing changes
    with qtbot.waitSignal(dock.edit_failed):
        assert not dock.model.setData(dock.model.index(0, 2), "15", Qt.ItemDataRole.EditRole)
    assert tr[seg.id].end == 8.0 and "overlap" in dock.status.text()
    assert dock.model.setData(dock.model.index(0, 2), "9.5", Qt.ItemDataRole.EditRole)
    assert tr[seg.id].end == 9.5
    history.undo()
    history.undo()
    assert tr[seg.id] == seg


def test_follows_track_events_and_keeps_selection(qtbot, dock, lab_session, history):
    dock.select_segment(dock.model.segment(5).id)
    sel = dock.model.segment(5).id
    history.push(LabelRange("activity", 400, 405, "Sitting"))
    qtbot.waitUntil(lambda: dock.model.rowCount() == 41)
    assert dock.selected_ids() == [sel]
    assert "41 segments" in dock.status.text()
    history.undo()
    qtbot.waitUntil(lambda: dock.model.rowCount() == 40)


def test_sort_filter_and_delete(qtbot, dock, lab_session, history):
    header = dock.view.horizontalHeader()
    qtbot.mouseClick(
        header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(header.sectionViewportPosition(0) + 10, 5)
    )
    labels = [dock.model.index(r, 0).data() for r in range(dock.model.rowCount())]
    assert labels == sorted(labels, key=str.lower) or labels == sorted(labels, key=str.lower, reverse=True)
    qtbot.keyClicks(dock.filter_edit, "video")
    assert dock.model.rowCount() == len(
        [s for s in lab_session.label_tracks["activity"] if "video" in s.note]
    )
    assert "of 40" in dock.status.text()
    dock.filter_edit.clear()
    dock.class_box.setCurrentText("Walking")
    assert {dock.model.index(r, 0).data() for r in range(dock.model.rowCount())} == {"Walking"}
    dock.class_box.setCurrentIndex(0)
    dock.view.selectRow(0)
    ids = dock.selected_ids()
    dock.view.setFocus()
    qtbot.keyClick(dock.view, Qt.Key.Key_Delete)
    assert ids[0] not in lab_session.label_tracks["activity"]
    history.undo()
    assert ids[0] in lab_session.label_tracks["activity"]


def test_track_switch_and_new_tracks(qtbot, dock, lab_session, history):
    dock.set_track("posture")
    assert dock.model.rowCount() == 0
    history.push(LabelRange("context", 0, 5, "outdoors", policy="overlapping"))
    qtbot.waitUntil(lambda: dock.track_box.findText("context") >= 0)
    history.undo()
    qtbot.waitUntil(lambda: dock.track_box.findText("context") < 0)


def test_50k_rows_stay_fast(qtbot, lab_session, history):
    tr = lab_session.label_tracks["activity"]
    tr.add_many([Segment(1000 + i * 2.0, 1001 + i * 2.0, "Walking") for i in range(50_000)])
    t0 = time.perf_counter()
    d = SegmentTableDock(lab_session, history)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    history.push(LabelRange("activity", 1000.5, 1003.5, "Running"))
    qtbot.waitUntil(lambda: d.model.rowCount() == tr.__len__())
    edit = time.perf_counter() - t0
    t0 = time.perf_counter()
    d.model.sort(0, Qt.SortOrder.DescendingOrder)
    sort = time.perf_counter() - t0
    print(
        f"50k table: open {build * 1000:.0f} ms, edit+refresh {edit * 1000:.0f} ms, sort by class {sort * 1000:.0f} ms"
    )
    assert build < 2.0 and edit < 1.0 and sort < 2.0
