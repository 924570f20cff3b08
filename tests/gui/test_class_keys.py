"""Class keys in the workbench: the demo's S splits, a file with clashing keys is repaired once."""

from __future__ import annotations

import pytest
from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtWidgets import QDialogButtonBox

from harlab.core import LabelClass, LabelSchema
from harlab.labeling.shortcuts import SHORTCUTS, key_conflicts
from harlab.simulate import make_demo_session
from harlab.storage import read_session, save_session
from tests.gui.gui_helpers import make_session, press_key, press_shortcut

pytestmark = pytest.mark.gui


@pytest.fixture
def qt_messages():
    """Every Qt warning during the test ("QAction::event: Ambiguous shortcut overload: S" when a
    key is bound twice; pytest-qt's qtlog does not see these here)."""
    got: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _ctx, msg: got.append(msg))
    yield got
    qInstallMessageHandler(previous)


def _ambiguous(messages: list[str]) -> list[str]:
    return [m for m in messages if "Ambiguous" in m]


def _open(make_window, qtbot, path):
    w = make_window()
    assert w.open_path(path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    return w


def _cursor_inside_a_segment(w, qtbot):
    seg = max(w.session.label_tracks["activity"], key=lambda s: s.duration)
    mid = (seg.start + seg.end) / 2
    w.timeline.set_range(seg.start, seg.end)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    w.timeline.hub.seek(mid)
    return seg, mid


def test_s_splits_in_the_demo_and_class_letters_label(make_window, qtbot, tmp_path, qt_messages):
    path = save_session(make_demo_session(duration_min=2, seed=1), tmp_path / "demo.h5")
    w = _open(make_window, qtbot, path)
    assert w.hotkey_notice == "" and not w.dirty  # the shipped demo needs no repair
    track = w.session.label_tracks["activity"]
    n = len(track)
    seg, mid = _cursor_inside_a_segment(w, qtbot)
    press_shortcut(qtbot, w, "split_at_cursor")  # S
    assert len(track) == n + 1, w.last_message
    assert any(abs(s.end - mid) < 0.02 for s in track) and any(abs(s.start - mid) < 0.02 for s in track)
    assert _ambiguous(qt_messages) == []
    # T still switches the time axis; the class letters (I sitting, A standing) label
    wall = w.timeline.wall_clock
    press_shortcut(qtbot, w, "toggle_time_mode")
    assert w.timeline.wall_clock != wall
    press_key(qtbot, w, "I")
    assert w.actions.hotkeys.pending is not None and w.actions.hotkeys.pending.label == "sitting"
    assert "press I again" in w.last_message  # the status bar names the key
    assert _ambiguous(qt_messages) == []
    # every class key of the schema is bound, and none is a table key
    bound = {a.shortcut().toString() for a in w.class_actions}
    assert bound == {c.hotkey.upper() for c in w.session.schema if c.hotkey}
    assert not bound & {k for s in SHORTCUTS for k in s.keys}


def test_a_session_file_with_clashing_keys_is_repaired_and_the_user_told_once(
    make_window, qtbot, tmp_path, qt_messages
):
    s = make_session(minutes=2, n_segments=4)
    old = [
        LabelClass("walking", "#2ca02c", "w"),
        LabelClass("sitting", "#1f77b4", "s"),
        LabelClass("running", "#d62728", "c"),
    ]  # as the old demo: split and change class
    s.schema = LabelSchema(old)
    path = save_session(s, tmp_path / "old.h5")
    assert len(key_conflicts(SHORTCUTS, read_session(path).schema)) == 2

    w = make_window()
    told: list[str] = []
    w.statusBar().messageChanged.connect(lambda text: told.append(text) if "hotkeys" in text else None)
    assert w.open_path(path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    schema = w.session.schema
    assert key_conflicts(SHORTCUTS, schema) == []
    assert (schema["sitting"].hotkey, schema["running"].hotkey, schema["walking"].hotkey) == ("i", "r", "w")
    assert "sitting S→I" in w.last_message and "running C→R" in w.last_message
    assert w.statusBar().currentMessage() == w.last_message
    assert w.dirty and w.windowTitle().startswith("old.h5*")  # save keeps the repair

    # the keys work: S splits, I and R label, and Qt never saw an ambiguous key
    track = w.session.label_tracks["activity"]
    n = len(track)
    _cursor_inside_a_segment(w, qtbot)
    press_shortcut(qtbot, w, "split_at_cursor")
    assert len(track) == n + 1
    press_key(qtbot, w, "R")
    assert w.actions.hotkeys.pending.label == "running"
    w.actions.hotkeys.cancel()
    assert _ambiguous(qt_messages) == []
    assert len(told) == 1  # once, not on every key press or schema event

    assert w.save()
    assert read_session(path).schema["sitting"].hotkey == "i"
    w2 = _open(make_window, qtbot, path)
    assert w2.hotkey_notice == "" and not w2.dirty


def test_schema_editor_opens_the_demo_schema_with_ok_enabled(qtbot, tmp_path):
    from harlab.gui.labeling import SchemaEditorDialog
    from harlab.labeling.history import EditHistory

    session = make_demo_session(duration_min=1, seed=1)
    d = SchemaEditorDialog(session, EditHistory(session))
    qtbot.addWidget(d)
    d.resize(700, 470)
    d.show()
    qtbot.waitExposed(d)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled() and d.message.text().startswith("12 classes"), d.message.text()
    d.grab().save(str(tmp_path / "schema_editor_demo.png"))
    # Add gives the new class a free key (not a table key) and a colour unlike the others
    r = d.add_class()
    key = d.table.item(r, 2).text()
    assert key and key.upper() not in {k for s in SHORTCUTS for k in s.keys}
    assert key not in {c.hotkey for c in session.schema}
    assert ok.isEnabled()


def test_schema_editor_imports_an_old_schema_file_repaired_and_says_so(qtbot, tmp_path):
    """A schema JSON exported before the table took S, T and C loads with those keys moved (the
    message line says which) and OK enabled; it used to be refused with 'already the shortcut'."""
    import json

    from harlab.gui.labeling import SchemaEditorDialog
    from harlab.labeling.history import EditHistory

    old = tmp_path / "old-demo-schema.json"
    keys = {"sitting": "s", "standing": "t", "cycling": "c", "walking": "w"}
    old.write_text(json.dumps({"classes": [{"name": n, "hotkey": k} for n, k in keys.items()]}))
    session = make_session(minutes=1)
    d = SchemaEditorDialog(session, EditHistory(session))
    qtbot.addWidget(d)
    assert d.import_from(old)
    text = d.message.text()
    assert "sitting S→I" in text and "standing T→A" in text and "OK keeps them" in text, text
    got = {d.table.item(r, 0).text(): d.table.item(r, 2).text() for r in range(d.table.rowCount())}
    assert got["walking"] == "w" and not {got[n].upper() for n in got} & {
        k for s in SHORTCUTS for k in s.keys
    }
    assert d.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
