"""One key scheme: the Record panel's classes, keys and colours are the workbench's."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from harlab.core.colors import MIN_CLASS_DISTANCE, closest_pair
from harlab.gui.record.labels_bar import EVERYDAY, everyday_schema, schema_choices
from harlab.labeling.shortcuts import SHORTCUTS, key_conflicts
from harlab.simulate.activity_table import label_schema

pytestmark = pytest.mark.gui


def test_every_record_schema_is_free_of_table_keys_and_distinct() -> None:
    for key, (title, factory) in schema_choices().items():
        schema = factory()
        assert key_conflicts(SHORTCUTS, schema) == [], title
        assert closest_pair(c.color for c in schema)[0] >= MIN_CLASS_DISTANCE, title
        assert all(c.hotkey for c in schema), f"{key}: every class has a key"
    demo = label_schema()
    # the default classes key and look as in the workbench on the demo (W walking, I sitting, ...)
    assert [(c.name, c.hotkey, c.color) for c in everyday_schema()] == [
        (n, demo[n].hotkey, demo[n].color) for n in EVERYDAY
    ]


def test_letter_keys_label_live_and_buttons_show_them(make_record_window, qtbot, screenshot) -> None:
    w = make_record_window(speed=8)
    p = w.panel
    bar = p.labels
    assert bar.buttons["walking"].text() == "W  walking" and bar.buttons["sitting"].text() == "I  sitting"
    assert "key W" in bar.buttons["walking"].toolTip()
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    rec = p.recorder
    for key, name in (("w", "walking"), ("i", "sitting"), ("a", "standing"), ("n", "cycling")):
        qtbot.keyClick(p, key)
        qtbot.waitUntil(
            lambda name=name: rec.open_label == name and bar.buttons[name].isChecked(), timeout=5000
        )
    shot = screenshot(bar, "record_label_buttons.png")
    assert shot.exists()
    qtbot.keyClick(p, "n")  # the same key again ends it
    qtbot.waitUntil(lambda: rec.open_label is None, timeout=5000)
    # S is a workbench key (split), not a class key anywhere: it does nothing here
    qtbot.keyClick(p, "s")
    assert rec.open_label is None


def test_a_protocols_activities_become_keyed_classes(make_record_window, qtbot, tmp_path) -> None:
    import json

    proto = tmp_path / "p.json"
    proto.write_text(
        json.dumps(
            {
                "name": "p",
                "countdown_s": 1,
                "steps": [
                    {"activity": "squat", "duration_s": 2},
                    {"activity": "stretching", "duration_s": 2},
                ],
            }
        )
    )
    w = make_record_window(speed=8)
    p = w.panel
    p.setup.protocol_path.setText(str(proto))
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.state == "recording", timeout=10_000)
    schema = p.recorder.schema
    assert schema["squat"].hotkey == label_schema()["squat"].hotkey == "q"
    assert p.labels.buttons["squat"].text() == "Q  squat"
    assert schema["stretching"].hotkey and key_conflicts(SHORTCUTS, schema) == []
    assert closest_pair(c.color for c in schema)[0] >= MIN_CLASS_DISTANCE
