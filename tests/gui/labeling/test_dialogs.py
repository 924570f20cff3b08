"""Schema editor and help dialog; screenshots of all three widgets into tests/screenshots/."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from harlab.gui.labeling import HelpDialog, SchemaEditorDialog, SegmentTableDock
from harlab.labeling.shortcuts import SHORTCUTS

pytestmark = pytest.mark.gui


@pytest.fixture
def editor(qtbot, lab_session, history):
    d = SchemaEditorDialog(lab_session, history)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    return d


def ok_button(d):
    return d.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_rename_recolour_and_ok_is_one_undoable_edit(qtbot, editor, lab_session, history):
    before_labels = [s.label for s in lab_session.label_tracks["activity"]]
    editor.table.item(0, 0).setText("Walk")
    editor.table.item(1, 1).setText("#000080")
    editor.table.item(2, 2).setText("x")
    qtbot.mouseClick(ok_button(editor), Qt.MouseButton.LeftButton)
    assert "Walk" in lab_session.schema and "Walking" not in lab_session.schema
    assert (
        lab_session.schema["Upstairs"].color == "#000080" and lab_session.schema["Downstairs"].hotkey == "x"
    )
    labels = [s.label for s in lab_session.label_tracks["activity"]]
    assert labels == ["Walk" if x == "Walking" else x for x in before_labels]
    assert history.undo_text == "Edit label classes"
    history.undo()
    assert [s.label for s in lab_session.label_tracks["activity"]] == before_labels
    assert lab_session.schema["Walking"].color == "#1f77b4"


def test_invalid_rows_block_ok_with_a_message(qtbot, editor, lab_session):
    editor.table.item(0, 2).setText("s")  # the split shortcut
    assert not ok_button(editor).isEnabled() and "row 1" in editor.message.text()
    editor.table.item(0, 2).setText("2")  # another class's hotkey
    assert not ok_button(editor).isEnabled() and "already belongs" in editor.message.text()
    editor.table.item(0, 2).setText("w")
    editor.table.item(0, 1).setText("blue")
    assert not ok_button(editor).isEnabled() and "#rrggbb" in editor.message.text()
    editor.table.item(0, 1).setText("#0000ff")
    assert ok_button(editor).isEnabled()


def test_add_remove_move_cancel(qtbot, editor, lab_session, history):
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert editor.table.rowCount() == 11 and editor._names()[-1] == "class 1"
    editor.table.setCurrentCell(0, 0)
    qtbot.mouseClick(editor.down_button, Qt.MouseButton.LeftButton)
    assert editor._names()[:2] == ["Upstairs", "Walking"]
    editor.table.setCurrentCell(10, 0)
    editor.table.selectRow(10)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    assert editor.table.rowCount() == 10
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.isVisible() and not history.can_undo and lab_session.schema.names[0] == "Walking"


def test_presets_import_export(qtbot, editor, tmp_path, lab_session, history):
    editor.preset_box.setCurrentIndex(editor.preset_box.findData("wisdm"))
    editor.preset_box.activated.emit(editor.preset_box.findData("wisdm"))
    assert editor.table.rowCount() == 18 and editor.renames() == {}
    path = tmp_path / "s.json"
    assert editor.export_to(path)
    assert len(json.loads(path.read_text())["classes"]) == 18
    editor.load_preset("uci-har")
    assert editor.table.rowCount() == 12
    assert editor.import_from(path) and editor.table.rowCount() == 18
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert not editor.import_from(bad) and str(bad) in editor.message.text()
    assert editor.table.rowCount() == 18
    editor.accept()
    assert len(lab_session.schema) == 18 and history.can_undo


def test_help_dialog_renders_table_grouped(qtbot, lab_session):
    d = HelpDialog(lab_session.schema)
    qtbot.addWidget(d)
    d.show()
    groups = [d.tree.topLevelItem(i).text(0).split(":")[0] for i in range(d.tree.topLevelItemCount())]
    assert groups == ["File", "Navigation", "Labeling", "Classes", "Adjudication", "View", "Video", "Help"]
    n = sum(d.tree.topLevelItem(i).childCount() for i in range(d.tree.topLevelItemCount()))
    assert n == len(SHORTCUTS) + 10
    qtbot.keyClicks(d.search, "ctrl+g")
    assert d.filter(d.search.text()) == 1
    d.search.clear()
    assert d.filter("") == n


def test_screenshots(qtbot, lab_session, history, shots):
    dock = SegmentTableDock(lab_session, history)
    qtbot.addWidget(dock)
    dock.resize(760, 480)
    dock.show()
    qtbot.waitExposed(dock)
    dock.select_segment(dock.model.segment(3).id)
    assert dock.grab().save(str(shots / "labeling_segment_table.png"))
    ed = SchemaEditorDialog(lab_session, history)
    qtbot.addWidget(ed)
    ed.show()
    qtbot.waitExposed(ed)
    assert ed.grab().save(str(shots / "labeling_schema_editor.png"))
    ed.load_preset("wisdm")
    ed.resize(640, 620)
    assert ed.grab().save(str(shots / "labeling_schema_editor_wisdm.png"))
    help_ = HelpDialog(lab_session.schema)
    qtbot.addWidget(help_)
    help_.show()
    qtbot.waitExposed(help_)
    assert help_.grab().save(str(shots / "labeling_help.png"))
    for name in ("labeling_segment_table", "labeling_schema_editor", "labeling_help"):
        assert (shots / f"{name}.png").stat().st_size > 5000
