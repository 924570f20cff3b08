"""The demo session comes with the shipped demo model's predictions beside its labels.

The model (harlab/resources/demo-model.harmodel, built by resources/build_demo_model.py) was
trained on simulated participants P01-P06; the demo's participant is "demo", so the accuracy
measured here is subject-independent.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from harlab.cli import main
from harlab.ml.demo_predictions import DEMO_PREDICTION_TRACK, make_demo_session_with_predictions
from harlab.ml.modelfile import ActivityModel
from harlab.simulate import demo_model_path, make_demo_session
from harlab.storage import read_session


def window_accuracy(session, track: str = DEMO_PREDICTION_TRACK) -> tuple[float, int]:
    """Top class of each prediction window against the label at the window's centre."""
    pred = session.prediction_tracks[track]
    labels = session.label_tracks["activity"]
    centre = (pred.window_start + pred.window_end) / 2
    truth = [labels.at(float(c)) for c in centre]
    known = np.array([bool(t) for t in truth])
    true = np.array([t[0].label if t else "" for t in truth])
    top = np.array(pred.top_class)
    return float((top[known] == true[known]).mean()), int(known.sum())


def test_the_shipped_model_is_small_safe_and_not_trained_on_the_demo_participant():
    path = demo_model_path()
    assert path.is_file() and path.stat().st_size < 2_000_000
    model = ActivityModel.load(path)
    assert model.info.preset == "features"
    trained_on = {t["participant"] for t in model.info.training_sessions}
    assert trained_on == {f"P0{i}" for i in range(1, 7)} and "demo" not in trained_on


def test_demo_session_has_predictions_well_above_chance():
    s = make_demo_session_with_predictions(duration_min=10, seed=0)
    pred = s.prediction_tracks[DEMO_PREDICTION_TRACK]
    labels = {seg.label for seg in s.label_tracks["activity"]}
    assert set(pred.classes) >= labels - {"transition"}
    assert pred.segments and all(seg.source == "prediction" for seg in pred.segments)
    acc, n = window_accuracy(s)
    print(
        f"\ndemo model on the 10-min demo (seed 0): accuracy {acc:.3f} over {n} windows "
        f"(chance ~{1 / len(labels):.2f})"
    )
    assert n > 400
    assert acc > 0.8  # measured 0.96 when the model was built; chance is about 0.08


def test_harlab_demo_saves_the_predictions(tmp_path, capsys):
    assert main(["demo", "--no-open", "-o", str(tmp_path), "--duration", "2", "--seed", "5"]) == 0
    path = capsys.readouterr().out.strip()
    s = read_session(path)
    assert DEMO_PREDICTION_TRACK in s.prediction_tracks
    acc, n = window_accuracy(s)
    assert n > 50 and acc > 0.6
    assert (
        main(["demo", "--no-open", "-o", str(tmp_path / "b.h5"), "--duration", "1", "--no-predictions"]) == 0
    )
    assert not read_session(tmp_path / "b.h5").prediction_tracks


def test_without_a_usable_model_the_demo_still_works_and_says_why(tmp_path, capsys):
    with pytest.warns(RuntimeWarning, match="no such model file"):
        s = make_demo_session_with_predictions(
            duration_min=1, seed=2, model_path=tmp_path / "missing.harmodel"
        )
    assert not s.prediction_tracks
    plain = make_demo_session(duration_min=1, seed=2)
    np.testing.assert_array_equal(s.streams["accel"].read()[1], plain.streams["accel"].read()[1])
    broken = tmp_path / "broken.harmodel"
    shutil.copyfile(demo_model_path(), broken)
    broken.write_bytes(broken.read_bytes()[:1000])  # truncated
    assert (
        main(["demo", "--no-open", "-o", str(tmp_path / "c.h5"), "--duration", "1", "--model", str(broken)])
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: the demo model could not be applied" in err and "broken.harmodel" in err
    assert not read_session(tmp_path / "c.h5").prediction_tracks
