"""The first hour of real use: default windows at any rate, validation that means something,
clear errors, and class names that match however a source spells them (issue 17)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.cli import main
from harlab.core.classnames import class_key, describe_unmatched, find_class
from harlab.core.errors import HarlabError
from harlab.labeling.commands import accept_predictions
from harlab.ml.dataset import build_dataset
from harlab.ml.predict import SmoothingConfig, predict_session
from harlab.ml.training import TrainConfig, choose_validation, train
from harlab.storage import save_session
from tests.real_data import SHARED_DATA

from .conftest import make_session

TINY = {"depth": 2, "width": 16, "max_width": 16}
SEED_BIN = SHARED_DATA / "fitbit-seed" / "watch-bin"
UPPER = {"sitting": "SITTING", "walking": "Walking", "running": "RUNNING"}


def test_class_key_ignores_case_and_separators():
    assert class_key("walking_upstairs") == class_key("Walking Upstairs") == class_key(" WALKING-upstairs ")
    assert class_key("lying") != class_key("Laying")
    assert find_class("walking upstairs", ["Sitting", "WALKING_UPSTAIRS"]) == "WALKING_UPSTAIRS"
    assert describe_unmatched(["lying"], ["Laying", "Sitting"]) == "lying (nearest: Laying)"


def test_default_windows_work_at_10_hz_and_say_they_were_rounded():
    data = build_dataset(
        [make_session("P", seed=1, rate=10.0)], "activity"
    )  # the defaults: 2.56 s, half of it
    assert data.X.shape[1] == 26
    assert data.info.window_s == pytest.approx(2.6) and data.info.stride_s == pytest.approx(1.3)
    assert len(data.notes) == 1 and "using 26 and 13 samples" in data.notes[0]
    # exact multiples are not mentioned; less than one sample is truly impossible
    assert build_dataset([make_session("P", seed=1, rate=10.0)], "activity", 2.0, 1.0).notes == []
    with pytest.raises(HarlabError, match="shorter than one sample"):
        build_dataset([make_session("P", seed=1, rate=10.0)], "activity", 2.0, 0.04)


def test_cli_train_with_defaults_on_one_10_hz_participant(tmp_path, capsys):
    """Old code: "window 2.56 s is not a whole number of samples at 10 Hz"; then sessions held
    out as validation, which held classes never trained on: a 0.000 score and "val loss nan"."""
    paths = [str(save_session(make_session("P", seed=1, rate=10.0), tmp_path / "rec.h5"))]
    out_path = tmp_path / "m.harmodel"
    rc = main(["train", *paths, "-o", str(out_path), "--epochs", "1", "--depth", "2", "--width", "8"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "using 26 and 13 samples (2.6 s every 1.3 s)" in err
    assert "validation: one participant (or none recorded), so time blocks of each recording" in err
    assert "nan" not in err and "0.000" not in err
    assert json.loads(out.strip().splitlines()[-1])["validation"]["macro_f1"] > 0.5
    # the explore command cuts windows the same way
    assert main(["explore", *paths, "-o", str(tmp_path / "pca.png")]) == 0


def test_one_participant_holds_out_time_blocks_with_every_class_trained():
    data = build_dataset([make_session("P", seed=i, rate=10.0) for i in range(2)], "activity")
    assert data.group_kind == "time block" and sorted(set(data.groups)) == [
        f"time block {i}" for i in range(1, 6)
    ]
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=40),
        context=data.context,
        blocks=data.blocks,
        group_kind=data.group_kind,
    )
    m = model.info.metrics
    assert m["validation_kind"] == "time block" and len(m["validation_groups"]) == 1
    assert m["validation"]["macro_f1"] > 0.8 and m["warnings"] == []
    held = np.isin(data.groups, m["validation_groups"])
    assert set(data.y[held]) == set(data.y[~held]) == {0, 1, 2}


def test_participants_with_classes_training_never_saw_fall_back_to_time_blocks():
    groups = np.repeat(["ann", "bob"], 10)
    y = np.array([0, 1] * 5 + [0, 2] * 5)  # ann never runs, bob never walks
    blocks = np.array([f"time block {i % 5 + 1}" for i in range(20)])
    split = choose_validation(
        groups, y, 0.2, seed=0, blocks=blocks, classes=["sitting", "walking", "running"]
    )
    assert split.kind == "time block"
    assert "every choice of held-out participants leaves classes untrained" in split.description
    assert set(y[split.mask]) <= set(y[~split.mask])
    # when some choice works, participants it is, and a class missing from validation is named
    y_ok = np.array([0, 1] * 5 + [0, 1, 0, 2, 0, 1, 0, 1, 0, 1])
    ok = choose_validation(
        np.repeat(["ann", "bob", "cy", "dee"], 5),
        y_ok,
        0.25,
        seed=0,
        classes=["sitting", "walking", "running"],
    )
    assert ok.kind == "participant" and set(y_ok[ok.mask]) <= set(y_ok[~ok.mask])
    if 2 not in set(y_ok[ok.mask]):
        assert ok.warnings == ["no validation windows of running: their scores are not measured"]


def test_one_class_is_a_clear_error():
    data = build_dataset([make_session("P", seed=1)], "activity", 2.0, 1.0, classes=["walking"])
    with pytest.raises(HarlabError, match=r"all \d+ windows are of one class \(walking\)"):
        train(data.X, data.y, data.groups, data.info, TrainConfig(preset="features", gbm_rounds=5))


def test_train_on_one_class_says_so_on_the_command_line(tmp_path, capsys):
    one = make_session("P", seed=1, rate=10.0, labels={"sitting": "walking", "running": "walking"})
    path = str(save_session(one, tmp_path / "walking.h5"))
    rc = main(["train", path, "-o", str(tmp_path / "m.harmodel"), "--preset", "features", "--no-track"])
    err = capsys.readouterr().err
    assert rc == 2 and "only windows of walking were found" in err and "at least two classes" in err
    assert "Traceback" not in err and "['" not in err and not (tmp_path / "m.harmodel").exists()


def test_a_model_trained_on_little_data_loads_again(tmp_path):
    """A rare class (two windows) leaves LightGBM nothing to split in later rounds: it writes
    one-leaf trees with an empty leaf_weight, which the model-file check refused, so harlab
    could not read the model it had just written."""
    from harlab.ml.modelfile import ActivityModel
    from harlab.simulate import synthetic_session

    s = synthetic_session(
        rate_hz=25,
        streams={"accel": "acc"},
        plan=[("sitting", 60), ("walking", 60), ("running", 3)],
        segments=[(0, 60, "sitting"), (60, 120, "walking"), (120, 123, "running")],
        participant="P1",
        seed=1,
    )
    path = str(save_session(s, tmp_path / "rare.h5"))
    out = tmp_path / "rare.harmodel"
    assert main(["train", path, "-o", str(out), "--preset", "features", "--no-track", "-q"]) == 0
    booster = np.load(out, allow_pickle=False)["m0/booster"].tobytes()
    assert b"num_leaves=1\n" in booster and b"leaf_weight=\n" in booster  # the case this test is about
    assert ActivityModel.load(out).classes == ["sitting", "walking", "running"]


def test_sessions_given_as_objects_are_named_by_their_file_not_their_id():
    from harlab.core.metadata import SourceFile
    from harlab.mlops.training_pipeline import source_names

    a, b, c = (make_session("P", seed=i) for i in range(3))
    a.metadata.provenance.sources = [SourceFile("/data/Walking_20200421155113.bin", "0" * 64)]
    names = source_names([a, b, c, tmp := "/x/rec.h5"])
    assert names == ["Walking_20200421155113", "session 2", "session 3", "rec"], tmp
    assert not any(s.metadata.session_id in n for s in (a, b, c) for n in names)


def test_cv_with_one_participant_tests_time_blocks(tmp_path, capsys):
    path = str(save_session(make_session("P", seed=1, rate=10.0), tmp_path / "one.h5"))
    rc = main(["evaluate", "--cv", "5", path, "--preset", "features", "--no-refit", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err  # old code: "cross-validation needs at least two sessions, found 1"
    rep = json.loads(out)
    assert rep["group_kind"] == "time block" and rep["k"] == 5 and rep["macro_f1"] > 0.8
    assert sorted(g for f in rep["folds"] for g in f["test_groups"]) == [
        f"time block {i}" for i in range(1, 6)
    ]
    assert not any("warning" in f for f in rep["folds"])  # every fold trains and tests every class
    assert "other minutes of the same people" in err


@pytest.fixture(scope="module")
def lower_model(tmp_path_factory):
    data = build_dataset([make_session(f"P{i}", seed=i) for i in range(3)], "activity", 2.0, 1.0)
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="features", gbm_rounds=40),
        context=data.context,
    )
    return model, model.save(tmp_path_factory.mktemp("m") / "lower.harmodel")


def test_evaluate_matches_classes_across_spellings(tmp_path, capsys, lower_model):
    """Old code: "no labelled windows ... label more time" for a source spelling WALKING."""
    _, path = lower_model
    other = str(save_session(make_session("Q", seed=9, labels=UPPER), tmp_path / "q.h5"))
    rc = main(["evaluate", str(path), other, "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["classes"] == ["sitting", "walking", "running"] and rep["n"] > 100 and rep["accuracy"] > 0.85
    # classes that truly differ are named, with the near miss
    odd = str(save_session(make_session("R", seed=9, labels={c: f"{c}x" for c in UPPER}), tmp_path / "r.h5"))
    assert main(["evaluate", str(path), odd]) == 2
    err = capsys.readouterr().err
    assert (
        "none of the sessions' classes is a class of the model" in err
        and "walkingx (nearest: walking)" in err
    )


def test_training_merges_spellings_of_one_class():
    data = build_dataset(
        [make_session("P0", seed=0), make_session("P1", seed=1, labels=UPPER)], "activity", 2.0, 1.0
    )
    assert data.classes == ["sitting", "walking", "running"]
    asked = build_dataset(
        [make_session("P1", seed=1, labels=UPPER)], "activity", 2.0, 1.0, classes=["Sitting", "walking-"]
    )
    assert asked.classes == ["Sitting", "walking-"] and set(asked.windows.labels) == {"Sitting", "walking-"}


def test_merge_and_ignore_rules_match_every_spelling():
    """``--merge``/``--ignore`` (and the dialog's rules) name a class once; sessions that spell it
    ``SITTING`` or ``Walking`` follow the rule too, and the model learns one class per rule."""
    from harlab.ml.class_rules import output_classes, relabeled_view

    mapping = {"sitting": "rest", "running": None}
    a, b = make_session("P0", seed=0), make_session("P1", seed=1, labels=UPPER)
    for s in (a, b):
        v = relabeled_view(s, "activity", mapping)
        assert {seg.label for seg in v.label_tracks["activity"]} in ({"rest", "walking"}, {"rest", "Walking"})
    names = a.schema.names + b.schema.names
    assert output_classes(mapping, names) == ["rest", "walking"]


def test_accepting_predictions_keeps_the_schema_spelling(lower_model):
    model, _ = lower_model
    session = make_session("Q", seed=9, labels=UPPER)
    before = list(session.schema.names)
    pred = predict_session(model, session, smoothing=SmoothingConfig(0.02, 4.0))
    session.add_label_track("accepted")
    accept_predictions(pred, "accepted", 0.0, 120.0, schema_names=session.schema.names).do(session)
    got = {s.label for s in session.label_tracks["accepted"]}
    assert got and got <= set(UPPER.values()) and session.schema.names == before


def test_a_class_spelt_differently_shows_in_the_schemas_colour():
    """A Fitbit model's ``Walking`` predicted on a session labelled ``WALKING`` is drawn in the
    label's colour (the timeline and segment table ask ``schema.color``), not a hashed one."""
    from harlab.core import LabelClass, LabelSchema

    schema = LabelSchema([LabelClass("WALKING_UPSTAIRS", "#123456"), LabelClass("walking", "#abcdef")])
    assert schema.color("Walking Upstairs") == "#123456" and schema.color("WALKING") == "#abcdef"
    assert schema.color("Laying") == schema.color("Laying") not in ("#123456", "#abcdef")


@pytest.mark.slow
@pytest.mark.skipif(not SEED_BIN.is_dir(), reason="../shared/data/fitbit-seed not present")
def test_real_fitbit_seed_trains_with_defaults(tmp_path, capsys):
    assert main(["import", str(SEED_BIN), "-o", str(tmp_path / "s"), "--quiet"]) == 0
    paths = sorted(str(p) for p in (tmp_path / "s").glob("*.h5"))
    rc = main(
        [
            "train",
            *paths,
            "-o",
            str(tmp_path / "m.harmodel"),
            "--preset",
            "cnn1d",
            "--epochs",
            "2",
            "--depth",
            "2",
            "--width",
            "8",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "time blocks of each recording" in err and "0.000" not in err and "nan" not in err
