"""Schema presets and schema JSON import/export."""

from __future__ import annotations

import itertools
import json

import pytest

from harlab.core import HarlabError, LabelClass, LabelSchema, SessionError
from harlab.labeling.schema_presets import PRESETS, export_schema, import_schema, preset
from harlab.labeling.shortcuts import SHORTCUTS, key_conflicts
from tests.real_data import SHARED_DATA

DATA = SHARED_DATA


def rgb(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


@pytest.mark.parametrize(("name", "n"), [("fitbit-seed", 10), ("wisdm", 18), ("uci-har", 12)])
def test_preset_sizes_colours_hotkeys(name, n):
    s = preset(name)
    assert len(s) == n
    colours = [c.color for c in s]
    assert len(set(colours)) == n
    closest = min(
        sum((a - b) ** 2 for a, b in zip(rgb(x), rgb(y), strict=True)) ** 0.5
        for x, y in itertools.combinations(colours, 2)
    )
    assert closest > 60, "two classes look alike"
    for c in s:  # readable on both light and dark backgrounds: not too close to white or black
        lum = sum(rgb(c.color)) / 3
        assert 40 < lum < 225, c
    assert key_conflicts(SHORTCUTS, s) == []
    digits = "0123456789" if name == "fitbit-seed" else "1234567890"  # the seed's keys are its codes
    assert [c.hotkey for c in s][:10] == list(digits)[: min(n, 10)]


def test_preset_names_follow_the_datasets():
    fit = preset("fitbit-seed")
    assert fit.names[0] == "Walking" and fit.names[7] == "Squat" and "Squad" in fit["Squat"].description
    assert fit.names[9] == "Situp"
    w = preset("wisdm")
    assert (
        w.names[0] == "walking"
        and "O" in w["catch"].description
        and all("code N" not in c.description for c in w)
    )
    assert preset("uci-har").names[-1] == "LIE_TO_STAND"
    assert preset("wisdm") is not preset("wisdm")  # fresh copies
    with pytest.raises(SessionError, match="wisdm"):
        preset("nope")


def test_presets_match_the_real_dataset_files():
    uci = DATA / "uci-hapt" / "activity_labels.txt"
    key = DATA / "wisdm2019" / "wisdm-dataset" / "activity_key.txt"
    if not (uci.exists() and key.exists()):
        pytest.skip("../shared/data not present")
    names = [line.split(maxsplit=1)[1].strip() for line in uci.read_text().splitlines() if line.strip()]
    assert preset("uci-har").names == names
    pairs = [
        tuple(p.strip() for p in line.split("=")) for line in key.read_text().splitlines() if "=" in line
    ]
    assert preset("wisdm").names == [n for n, _ in pairs]
    assert [c.description.split()[2][0] for c in preset("wisdm")] == [c for _, c in pairs]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_export_import_round_trip(tmp_path, name):
    s = preset(name)
    path = export_schema(s, tmp_path / "schema.json")
    assert json.loads(path.read_text())["format"] == "harlab-label-schema"
    assert import_schema(path).to_list() == s.to_list()


def test_bare_list_is_accepted(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps([{"name": "walk", "color": "#123456", "hotkey": "w"}, {"name": "sit"}]))
    s = import_schema(p)
    assert s.names == ["walk", "sit"] and s["walk"].hotkey == "w"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"classes": [{"name": "a",}]}', "line 1"),
        ('{\n  "classes": [\n    {"name": "a" "color": 1}\n  ]\n}', "line 3"),
        ('{"format": "other", "classes": []}', "format is 'other'"),
        ('{"classes": {"name": "a"}}', "no list of classes"),
        ('{"classes": [{"name": "a", "color": "red"}]}', "classes[0] ('a'): class 'a': colour 'red'"),
        ('{"classes": [{"name": "a"}, {"name": "a"}]}', "classes[1] ('a'): class 'a' is already"),
        (
            '{"classes": [{"name": "a", "hotkey": "x"}, {"name": "b", "hotkey": "X"}]}',
            "hotkey 'X' already belongs",
        ),
        ('{"classes": [42]}', "classes[0] is not a class"),
    ],
)
def test_bad_schema_json_names_file_and_problem(tmp_path, text, message):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(HarlabError) as err:
        import_schema(p)
    assert str(p) in str(err.value) and message in str(err.value)


def test_a_schema_file_with_table_keys_is_repaired_and_says_what_moved(tmp_path):
    """A schema exported before the table took its keys (the old demo: sitting S, standing T,
    cycling C) is made to work on import, not refused: each clashing or unusable key moves to a
    free letter of the name, and the repairs are returned to be told once."""
    from harlab.labeling.class_keys import describe_repairs
    from harlab.labeling.schema_presets import read_schema

    p = tmp_path / "old-demo.json"
    classes = [
        {"name": "sitting", "hotkey": "s"},
        {"name": "standing", "hotkey": "t"},
        {"name": "cycling", "hotkey": "c"},
        {"name": "walking", "hotkey": "w"},
        {"name": "odd", "hotkey": "F5" * 100},
    ]
    p.write_text(json.dumps({"classes": classes}))
    schema, repairs = read_schema(p)
    assert key_conflicts(SHORTCUTS, schema) == []
    moved = [(r.name, r.new) for r in repairs]
    assert moved == [("sitting", "i"), ("standing", "a"), ("cycling", "l"), ("odd", "o")]
    assert schema["walking"].hotkey == "w" and schema["odd"].hotkey == "o"
    text = describe_repairs(repairs, hint="")
    assert "sitting S→I" in text and "odd F5F5F5F5F5F5…→O" in text and len(text) < 200
    assert import_schema(p).to_list() == schema.to_list()


def test_missing_file(tmp_path):
    with pytest.raises(HarlabError, match="cannot read"):
        import_schema(tmp_path / "nope.json")


def test_export_keeps_custom_schema(tmp_path):
    s = LabelSchema([LabelClass("Tremor ✓", "#aabbcc", "x", "hand tremor")])
    assert import_schema(export_schema(s, tmp_path / "s.json")).to_list() == s.to_list()
