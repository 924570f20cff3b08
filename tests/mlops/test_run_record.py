"""The JSON run record is written atomically: a failure while writing leaves neither a temporary
file nor a changed record behind."""

from __future__ import annotations

import json

import pytest

from harlab.mlops.paths import TrackingOptions
from harlab.mlops.tracking import RunTracker


def test_a_failed_record_write_leaves_no_temp_file_and_the_old_record(tmp_path):
    path = tmp_path / "m.harmodel.run.json"
    notes: list[str] = []
    with RunTracker(TrackingOptions(enabled=False), "train", path, say=notes.append) as run:
        run.log_params({"epochs": 3})
    assert json.loads(path.read_text())["params"]["epochs"] == "3"
    assert notes and str(path) in notes[0]  # where the record goes, said through the owner's callback
    before = path.read_bytes()
    run.record["unwritable"] = object()  # json cannot write it: the dump fails half-way
    with pytest.raises(TypeError):
        run.write_record()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert path.read_bytes() == before
