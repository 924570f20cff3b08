"""Every schema harlab ships or generates: keys free of the shortcut table, colours far apart.

The demo, the presets and what each importer builds all pass ``key_conflicts`` and the
class-colour distance bar; automatic key assignment skips the table's keys; a schema that
arrives with conflicting keys is repaired to a working one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harlab.core import LabelClass, LabelSchema
from harlab.core.colors import (
    CLASS_COLORS,
    MIN_CLASS_DISTANCE,
    closest_pair,
    color_distance,
    delta_e2000,
    distinct_color,
    hex_rgb,
)
from harlab.importers import ImportOptions, get_importer
from harlab.importers.fitbit_bin import seed_schema
from harlab.labeling.class_keys import assign_hotkeys, class_keys, describe_repairs, repair_hotkeys
from harlab.labeling.schema_presets import PRESETS, preset
from harlab.labeling.shortcuts import SHORTCUTS, class_hotkey_problem, key_conflicts, reserved_keys
from harlab.simulate import make_demo_session
from harlab.simulate.activity_table import label_schema
from tests.real_data import SHARED_DATA

SHARED = SHARED_DATA


def assert_usable(schema: LabelSchema, what: str) -> None:
    """No key bound twice, every key bindable, no two classes of one colour family, readable colours."""
    assert key_conflicts(SHORTCUTS, schema) == [], what
    assert all(not class_hotkey_problem(c.hotkey) for c in schema if c.hotkey), what
    pair = closest_pair(c.color for c in schema)
    assert pair is None or pair[0] >= MIN_CLASS_DISTANCE, (
        f"{what}: {pair[1]} and {pair[2]} look alike ({pair[0]:.1f})"
    )
    for c in schema:  # readable on light and dark backgrounds
        assert 40 < sum(hex_rgb(c.color)) / 3 < 225, (what, c)


# -- the colour measure --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu and Dalal (2005), table 1: pairs 1, 7, 17 and 25
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert delta_e2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_class_distance_catches_shades_of_one_colour():
    # the demo's old pairs: blue/light blue (sitting/situp) and grey/light grey (squat/transition)
    assert color_distance("#7f7f7f", "#c7c7c7") < MIN_CLASS_DISTANCE
    assert color_distance("#aec7e8", "#c7c7c7") < MIN_CLASS_DISTANCE
    # lightness counts half: the light/dark blues are closer than plain CIEDE2000 says
    assert color_distance("#1f77b4", "#aec7e8") < delta_e2000(*map(_lab, ("#1f77b4", "#aec7e8")))
    assert closest_pair(CLASS_COLORS)[0] >= MIN_CLASS_DISTANCE
    assert len(set(CLASS_COLORS)) == len(CLASS_COLORS) == 18


def _lab(c: str):
    from harlab.core.colors import to_lab

    return to_lab(c)


def test_new_classes_get_a_colour_unlike_the_others():
    s = LabelSchema([LabelClass("a", "#1f77b4"), LabelClass("b", "#aec7e8")])
    c = s.add("new")
    assert min(color_distance(c.color, x) for x in ("#1f77b4", "#aec7e8")) >= MIN_CLASS_DISTANCE
    # classes created one after another (an import's labels, a protocol's activities) stay distinct
    s2 = LabelSchema()
    for i in range(12):
        s2.ensure(f"class {i}")
    assert_usable(s2, "ensure() x 12")
    assert distinct_color([]) == CLASS_COLORS[0]
    assert distinct_color(["#1f77b4", "not a colour"]) != "#1f77b4"


# -- shipped schemas ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_usable(name):
    assert_usable(preset(name), name)


def test_the_demo_schema_is_usable_and_keeps_its_mnemonics():
    s = label_schema()
    assert_usable(s, "demo")
    assert key_conflicts(SHORTCUTS, make_demo_session(duration_min=1, seed=1).schema) == []
    keys = {c.name: c.hotkey for c in s}
    assert keys["walking"] == "w" and keys["running"] == "r" and keys["lying"] == "l"
    assert keys["sitting"] == "i" and keys["standing"] == "a" and keys["cycling"] == "n"
    # the families the old demo mixed up are now apart
    for a, b in (("sitting", "situp"), ("squat", "transition")):
        assert color_distance(s[a].color, s[b].color) >= MIN_CLASS_DISTANCE


def test_fitbit_seed_keys_are_its_codes_and_the_importer_uses_the_preset():
    assert [c.hotkey for c in preset("fitbit-seed")] == list("0123456789")
    assert seed_schema().to_list() == preset("fitbit-seed").to_list()


# -- schemas the importers build ----------------------------------------------------------------
def _only(sessions):
    assert len(sessions) == 1
    return sessions[0]


def test_wisdm_import_schema(tmp_path):
    p = tmp_path / "data_7_accel_watch.txt"
    p.write_text("".join(f"7,A,{1_000_000_000 + i * 50_000_000},0.5,-1.5E-4,9.81;\n" for i in range(40)))
    s = _only(get_importer("wisdm").read(p, ImportOptions()))
    assert_usable(s.schema, "wisdm import")
    assert [c.hotkey for c in s.schema] == [c.hotkey for c in preset("wisdm")]
    assert [c.color for c in s.schema] == [c.color for c in preset("wisdm")]


def test_uci_import_schema_with_an_extra_class(tmp_path):
    folder = tmp_path / "RawData"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savetxt(folder / "acc_exp01_user01.txt", rng.normal(0, 0.1, (100, 3)) + [0, 0, 1], fmt="%.10f")
    np.savetxt(folder / "gyro_exp01_user01.txt", rng.normal(0, 0.1, (100, 3)), fmt="%.10f")
    (folder / "labels.txt").write_text("1 1 1 11 40\n")
    names = [c.name for c in preset("uci-har")] + ["CYCLING"]
    (tmp_path / "activity_labels.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(names, 1)))
    s = _only(get_importer("uci_hapt").read(folder / "acc_exp01_user01.txt", ImportOptions()))
    assert_usable(s.schema, "uci import")
    assert s.schema.names[:12] == preset("uci-har").names
    # a 13th class (beyond the preset) gets a free key and a distinct colour
    assert s.schema["CYCLING"].hotkey not in {c.hotkey for c in preset("uci-har")} | {None}


def test_fitbit_bin_import_schema(tmp_path):
    values = np.zeros((10, 6), np.float16)
    values[:, 2] = 9.8
    batch = values.T.reshape(-1).tobytes() + bytes([4] * 10)
    p = tmp_path / "Standing_20200421102535.bin"
    p.write_bytes(batch)
    s = _only(get_importer("fitbit_bin").read(p, ImportOptions(timezone="UTC")))
    assert_usable(s.schema, "fitbit import")
    assert s.schema["Standing"].hotkey == "4"


def test_generic_csv_labels_get_distinct_colours(tmp_path):
    from harlab.importers._csvspec import CsvSpec, StreamSpec

    spec = CsvSpec(
        time_column="time_s",
        time_unit="s",
        streams=[StreamSpec("acc", ["ax", "ay", "az"], ["x", "y", "z"], "g", "accelerometer")],
        labels={"activity": "label"},
    )
    labels = ["walk", "sit", "stand", "run", "bike", "lie", "jump", "squat"]
    p = tmp_path / "labelled.csv"
    p.write_text(
        "time_s,ax,ay,az,label\n" + "".join(f"{0.02 * i:.2f},0,0,1,{labels[i // 3]}\n" for i in range(24))
    )
    (s,) = get_importer("csv").read(p, ImportOptions(extra={"spec": spec.save(tmp_path / "spec.toml")}))
    assert set(s.schema.names) >= set(labels)
    assert_usable(s.schema, "generic csv import")


@pytest.mark.parametrize("folder", ["wisdm2019", "uci-hapt", "fitbit-seed"])
def test_real_dataset_imports_give_usable_schemas(folder):
    from harlab.importers import detect

    root = SHARED / folder
    files = {
        "wisdm2019": root / "wisdm-dataset" / "raw" / "watch" / "accel" / "data_1600_accel_watch.txt",
        "uci-hapt": root / "RawData" / "acc_exp01_user01.txt",
        "fitbit-seed": next(iter(sorted(root.rglob("*.bin"))), root / "none.bin") if root.is_dir() else root,
    }
    path = files[folder]
    if not path.is_file():
        pytest.skip(f"../shared/data/{folder} not present")
    s = detect(path).read(path, ImportOptions(timezone="UTC"))[0]
    assert_usable(s.schema, folder)


# -- automatic assignment and repair ----------------------------------------------------------
def test_automatic_keys_skip_the_shortcut_table():
    keys = class_keys()
    assert keys[:10] == tuple("1234567890")
    assert not {k.upper() for k in keys} & reserved_keys()
    assert len(set(keys)) == len(keys) >= 28
    assert assign_hotkeys(3, taken=["1", "2"]) == ["3", "4", "5"]
    many = assign_hotkeys(40)
    assert many[: len(keys)] == list(keys) and many[len(keys) :] == [None] * (40 - len(keys))


def test_repair_moves_clashing_keys_to_free_letters_of_the_name():
    s = label_schema()
    before = {"sitting": "s", "standing": "t", "cycling": "c"}  # the demo's keys before they were fixed
    old = LabelSchema(replace(c, hotkey=before.get(c.name, c.hotkey)) for c in s)
    assert len(key_conflicts(SHORTCUTS, old)) == 3
    repairs = repair_hotkeys(old)
    assert [(r.name, r.old, r.new) for r in repairs] == [
        ("sitting", "s", "i"),
        ("standing", "t", "a"),
        ("cycling", "c", "n"),
    ]
    assert key_conflicts(SHORTCUTS, old) == []
    assert old.to_list() == s.to_list()  # an old demo file repairs to today's demo keys
    text = describe_repairs(repairs)
    assert "sitting S→I" in text and "cycling C→N" in text
    assert repair_hotkeys(old) == []  # nothing left to do


def test_repair_clears_when_no_key_is_left_and_fixes_unusable_keys():
    full = LabelSchema(LabelClass(f"k{i}", "#1f77b4", k) for i, k in enumerate(class_keys()))
    full.add(LabelClass("zoom", "#ff7f0e", "z"))
    full.add(LabelClass("weird", "#2ca02c", "F5"))
    repairs = repair_hotkeys(full)
    assert {(r.name, r.new) for r in repairs} == {("zoom", None), ("weird", None)}
    assert full["zoom"].hotkey is None and key_conflicts(SHORTCUTS, full) == []
    assert "zoom Z cleared" in describe_repairs(repairs)


def test_a_protocols_extra_activities_get_keys_and_distinct_colours():
    from harlab.labeling.class_keys import add_classes

    demo = label_schema()
    schema = preset("fitbit-seed")  # keys 0-9 and the first ten palette colours
    added = add_classes(schema, ["Walking", "squat", "juggling", "squat"], like=demo)
    assert [c.name for c in added] == ["squat", "juggling"]
    assert schema["squat"].hotkey == "q" and schema["squat"].description == demo["squat"].description
    assert schema["juggling"].hotkey and schema["juggling"].hotkey != "q"
    assert_usable(schema, "fitbit-seed + protocol")
    # a known class whose key is taken gets a free one instead
    s = LabelSchema([LabelClass("mine", "#1f77b4", "w")])
    add_classes(s, ["walking"], like=demo)
    assert s["walking"].hotkey not in (None, "w") and not class_hotkey_problem(s["walking"].hotkey)
