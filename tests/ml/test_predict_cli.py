"""Predicting whole sessions into their files, PCA, and the commands end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harlab.cli import main
from harlab.core import Metadata, Session, Stream
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.explore import pca_windows, plot_pca
from harlab.ml.modelfile import ActivityModel
from harlab.ml.predict import SmoothingConfig, predict_session, predict_windows
from harlab.ml.training import TrainConfig, train
from harlab.storage import open_session, read_session, save_session

from .conftest import make_session

TINY = {"depth": 2, "width": 16, "max_width": 16}


@pytest.fixture(scope="module")
def model():
    data = build_dataset([make_session(f"P{i}", seed=i) for i in range(4)], "activity", 2.0, 1.0)
    return train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="ensemble", epochs=10, batch_size=16, arch=TINY, gbm_rounds=60),
    )


def test_predict_session_writes_a_valid_track(tmp_path, model):
    path = save_session(make_session("new", seed=7), tmp_path / "s.h5")
    with open_session(path, writable=True) as sf:
        track = predict_session(model, sf.session, smoothing=SmoothingConfig(0.02, 4.0))
        sf.save()
    back = read_session(path).prediction_tracks["activity-predicted"]
    assert len(back) == len(track) > 100
    np.testing.assert_allclose(back.probabilities.sum(1), 1, atol=1e-5)
    assert back.classes == model.classes and back.model_name == model.info.name
    assert np.all(np.diff(back.window_start) > 0)
    # the truth: bouts of 20 s; smoothed segments agree with the labels most of the time
    truth = read_session(path).label_tracks["activity"]
    agree = sum(
        min(s.end, t.end) - max(s.start, t.start)
        for s in back.segments
        for t in truth
        if s.label == t.label and s.overlaps(t.start, t.end)
    )
    assert agree / 120.0 > 0.9
    assert all(s.duration >= 4.0 for s in back.segments)
    assert len(back.segments) <= 8


def test_worker_threads_give_the_same_probabilities_in_order_and_progress_can_cancel(model):
    sw = session_windows(make_session("new", seed=8), model.info)
    assert len(sw.X) > 100
    one = predict_windows(model, sw.X, batch=16, threads=1)
    seen: list[tuple[int, int]] = []
    many = predict_windows(model, sw.X, batch=16, threads=3, progress=lambda d, t: seen.append((d, t)))
    np.testing.assert_array_equal(many, one)
    # the session is one recording for the context, not each batch
    np.testing.assert_allclose(one, model.predict_proba(sw.X, model.recording_references(sw.X)), atol=1e-5)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (len(sw.X), len(sw.X))
    assert len(seen) == -(-len(sw.X) // 16)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        predict_windows(model, sw.X, batch=16, threads=3, progress=stop)


def test_session_windows_skip_gaps_and_convert_units(model):
    s = make_session("g", seed=3, acc_unit="g")
    t, v = s.streams["acc"].read()
    keep = (t < 30) | (t > 35)  # a 5 s hole in the accelerometer only
    s.remove_stream("acc")
    s.add_stream(
        Stream.from_arrays("acc", t[keep], v[keep], ["x", "y", "z"], "g", rate_hz=25.0, kind="accelerometer")
    )
    sw = session_windows(s, model.info)
    assert not np.any((sw.start < 35) & (sw.end > 30))
    assert abs(float(np.median(np.linalg.norm(sw.X[:, :, :3], axis=2))) - 9.81) < 0.3  # g became m/s^2


def test_missing_channel_is_a_clear_error(model):
    from harlab.core.errors import HarlabError

    s = Session(Metadata(participant_id="x"))
    s.add_stream(Stream.from_arrays("hr", np.arange(10.0), np.ones(10), ["bpm"], "bpm", rate_hz=1.0))
    with pytest.raises(HarlabError, match="no channel acc.x"):
        predict_session(model, s)


def test_pca_coordinates_and_png(tmp_path):
    data = build_dataset([make_session("a", 1), make_session("b", 2)], "activity", 2.0, 1.0)
    proj = pca_windows(data.X, data.info.rate_hz, data.info.channels, data.info.units, 3)
    assert proj.coords.shape == (len(data), 3)
    assert np.all(np.diff(proj.explained) <= 1e-12)
    # classes separate along the first component
    means = [proj.coords[data.y == c, 0].mean() for c in range(3)]
    spread = [proj.coords[data.y == c, 0].std() for c in range(3)]
    assert max(means) - min(means) > 2 * max(spread)
    for dims in (2, 3):
        out = plot_pca(proj, data.windows.labels, tmp_path / f"p{dims}.png", dims)
        assert out.read_bytes()[:4] == b"\x89PNG"


def test_cli_train_evaluate_predict_explore(tmp_path, capsys):
    paths = [str(save_session(make_session(f"P{i}", seed=i), tmp_path / f"p{i}.h5")) for i in range(4)]
    new = str(save_session(make_session("Q", seed=11), tmp_path / "q.h5"))
    model_path = tmp_path / "m.harmodel"
    rc = main(
        [
            "train",
            *paths,
            "--track",
            "activity",
            "-o",
            str(model_path),
            "--window",
            "2",
            "--stride",
            "1",
            "--preset",
            "ensemble",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--depth",
            "2",
            "--width",
            "16",
            "--gbm-neighbours",
            "1",
        ]
    )
    assert rc == 0 and model_path.is_file()
    out, err = capsys.readouterr()
    assert "epoch 1/3" in err and "lightgbm" in err and json.loads(out.strip().splitlines()[-1])["classes"]
    assert "cnn1d refit epoch 3/3" in err  # trained again on everyone after early stopping
    model = ActivityModel.load(model_path)
    assert [getattr(m, "neighbours", None) for m in model.members] == [None, 1]  # LightGBM's temporal context
    assert model.info.training_sessions[0]["sha256"] and model.info.training_sessions[0]["path"].endswith(
        "p0.h5"
    )

    rc = main(["evaluate", str(model_path), new, "--json", "--confusion", str(tmp_path / "cm.png")])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["accuracy"] > 0.85 and len(rep["confusion"]) == 3
    assert (tmp_path / "cm.png").is_file()

    rc = main(["evaluate", "--cv", "2", *paths, "--window", "2", "--preset", "features", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(rep["folds"]) == 2 and rep["macro_f1"] > 0.85
    assert model.uses_context and all(m.uses_context for m in model.members)  # the default: both members

    plain_path = tmp_path / "plain.harmodel"
    rc = main(
        [
            "train",
            *paths[:2],
            "-o",
            str(plain_path),
            "--window",
            "2",
            "--preset",
            "cnn1d",
            "--epochs",
            "1",
            "--depth",
            "2",
            "--width",
            "8",
            "--max-width",
            "8",
            "--padding",
            "margins",
            "--no-context",
            "--no-refit",
            "--no-orientation",
            "--augment",
            "warp",
        ]
    )
    assert "refit" not in capsys.readouterr().err
    plain = ActivityModel.load(plain_path)
    assert rc == 0 and not plain.uses_context and plain.info.orientation_upright is None
    assert not plain.info.train_config["cnn_refit"] and not plain.info.train_config["gbm_refit"]
    assert plain.info.train_config["augment"] == "warp"
    arch = plain.members[0].arch  # type: ignore[union-attr]
    assert (arch.padding, arch.max_width, plain.members[0].margins) == ("margins", 8, (6, 6))  # type: ignore[union-attr]

    rc = main(["predict", str(model_path), new, "--min-duration", "3"])
    assert rc == 0
    assert "activity-predicted" in read_session(new).prediction_tracks

    rc = main(
        [
            "explore",
            *paths[:2],
            "-o",
            str(tmp_path / "pca.png"),
            "--window",
            "2",
            "--dims",
            "3",
            "--coords",
            str(tmp_path / "pca.csv"),
        ]
    )
    assert rc == 0 and (tmp_path / "pca.png").is_file()
    assert (tmp_path / "pca.csv").read_text().startswith("session,participant")


def test_cli_errors_are_harlab_errors(tmp_path, capsys):
    bad = tmp_path / "bad.harmodel"
    bad.write_bytes(b"not a model")
    s = str(save_session(make_session("x", 1), tmp_path / "x.h5"))
    assert main(["predict", str(bad), s]) == 2
    assert "not a harlab model" in capsys.readouterr().err
    assert main(["train", s, "--track", "nope", "-o", str(tmp_path / "m")]) == 2
    assert "nope" in capsys.readouterr().err
