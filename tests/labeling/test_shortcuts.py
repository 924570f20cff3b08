"""The shortcut table: no key bound twice, every required action present, help rows."""

from __future__ import annotations

import pytest

from harlab.core import LabelClass, LabelSchema
from harlab.labeling.shortcuts import (
    GROUPS,
    SHORTCUTS,
    by_name,
    class_hotkey_problem,
    format_help,
    key_conflicts,
    normalize_key,
    reserved_keys,
)

REQUIRED = {
    "pan_left",
    "pan_right",
    "zoom_in",
    "zoom_out",
    "zoom_all",
    "next_segment",
    "prev_segment",
    "next_gap",
    "prev_gap",
    "go_to_time",
    "go_to_day",
    "next_day",
    "prev_day",
    "select_at_cursor",
    "nudge_start_left",
    "nudge_start_right",
    "nudge_end_left",
    "nudge_end_right",
    "split_at_cursor",
    "merge_with_next",
    "delete_segment",
    "change_class",
    "undo",
    "redo",
    "save",
    "open",
    "help",
    "next_track",
    "prev_track",
}


def test_no_key_is_bound_twice():
    assert key_conflicts(SHORTCUTS) == []
    keys = [normalize_key(k) for s in SHORTCUTS for k in s.keys]
    assert len(keys) == len(set(keys))


def test_required_actions_and_conventional_keys():
    names = {s.name for s in SHORTCUTS}
    assert names >= REQUIRED
    assert by_name("go_to_time").keys == ("Ctrl+G",)
    assert by_name("help").keys == ("F1",)
    assert by_name("split_at_cursor").keys == ("S",)
    assert by_name("merge_with_next").keys == ("M",)
    assert by_name("change_class").keys == ("C",)
    assert "Del" in by_name("delete_segment").keys
    assert {s.group for s in SHORTCUTS} <= set(GROUPS)
    with pytest.raises(KeyError, match="nope"):
        by_name("nope")


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("shift+ctrl+z", "Ctrl+Shift+Z"),
        ("Ctrl++", "Ctrl++"),
        ("+", "+"),
        ("pageup", "PgUp"),
        ("a", "A"),
        ("Delete", "Del"),
        ("F1", "F1"),
    ],
)
def test_normalize_key(raw, norm):
    assert normalize_key(raw) == norm


def test_class_hotkeys_must_not_collide():
    schema = LabelSchema([LabelClass("walk", "#112233", "w"), LabelClass("split-ish", "#112233", "s")])
    problems = key_conflicts(SHORTCUTS, schema)
    assert problems == ["S is bound to both 'split_at_cursor' and 'class split-ish'"]
    assert "split" in class_hotkey_problem("s")
    assert class_hotkey_problem("w") == ""
    assert "single" in class_hotkey_problem("ww")
    assert "S" in reserved_keys() and "W" not in reserved_keys()


def test_format_help_groups_and_lists_class_hotkeys():
    schema = LabelSchema([LabelClass("Walking", "#112233", "1"), LabelClass("Other", "#445566")])
    rows = format_help(SHORTCUTS, schema)
    groups = [g for g, _, _ in rows]
    assert len(rows) == len(SHORTCUTS) + 1
    # grouped: each group is one contiguous block
    blocks = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(blocks) == len(set(blocks))
    assert ("Classes", "1") in [(g, k) for g, k, _ in rows]
    assert blocks.index("Classes") == blocks.index("Labeling") + 1
    assert ("Labeling", "Ctrl+Shift+Z, Ctrl+Y", "Redo the last undone edit") in rows
