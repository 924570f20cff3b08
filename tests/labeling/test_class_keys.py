"""Classes found in a file come without keys; an import keys them so they can be labelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harlab.core.labels import LabelClass, LabelSchema
from harlab.importers import ImportOptions
from harlab.importers.run import import_one, read_input
from harlab.labeling.class_keys import class_keys, key_keyless_classes
from harlab.labeling.shortcuts import class_hotkey_problem
from harlab.storage import read_session


def test_keyless_classes_get_their_own_letter_or_the_next_free_key() -> None:
    schema = LabelSchema([LabelClass("walking", "#112233", "1"), LabelClass("sitting", "#445566")])
    schema.add("running")
    schema.add("rowing")  # r is running's by then: the next of its letters, o
    assert key_keyless_classes(schema) == ["sitting", "running", "rowing"]
    assert [c.hotkey for c in schema] == ["1", "i", "r", "o"]  # s splits a segment: never a class key
    assert all(class_hotkey_problem(c.hotkey) == "" for c in schema if c.hotkey)


def test_keys_run_out_and_the_rest_stay_keyless() -> None:
    schema = LabelSchema()
    for i in range(len(class_keys()) + 3):
        schema.add(f"class {i}")
    keyed = key_keyless_classes(schema)
    assert len(keyed) == len(class_keys())
    assert len({c.hotkey for c in schema if c.hotkey}) == len(class_keys())
    assert [c.name for c in schema if not c.hotkey] == ["class 30", "class 31", "class 32"]


def _labelled_csv(path: Path) -> None:
    t = np.arange(1500) / 50.0
    rows = ["time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],label.activity"]
    names = ["walking", "sitting", "stand up"]
    rows += [f"{x:.2f},{np.sin(x):.4f},{np.cos(x):.4f},9.81,{names[int(x // 10)]}" for x in t]
    path.write_text("\n".join(rows) + "\n")


def test_a_csv_import_keys_the_classes_of_its_label_column(tmp_path: Path) -> None:
    csv = tmp_path / "wrist.csv"
    _labelled_csv(csv)
    _, (session,) = read_input(csv, ImportOptions())  # the workbench's path
    keys = {c.name: c.hotkey for c in session.schema}
    assert set(keys) == {"walking", "sitting", "stand up"} and all(keys.values())
    assert len(set(keys.values())) == 3
    report = import_one(csv, tmp_path, ImportOptions())  # the command line's path, saved
    assert report.ok, report.reason
    assert {c.name: c.hotkey for c in read_session(report.outputs[0]).schema} == keys
