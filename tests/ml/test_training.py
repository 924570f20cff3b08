"""Training on separable synthetic sessions: accuracy, determinism, progress, cancel, honest splits."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from harlab.core.errors import HarlabError
from harlab.ml.dataset import build_dataset
from harlab.ml.models import CNN1D, CNN1DConfig, inference_network
from harlab.ml.training import TrainConfig, TrainingCancelled, class_weights, train, validation_split

from .conftest import make_session

TINY = {"depth": 2, "width": 16, "max_width": 16}


def test_cnn_learns_separable_activities_quickly(sessions):
    data = build_dataset(sessions, "activity", window_s=2.0, stride_s=1.0)
    assert data.group_kind == "participant"
    assert data.info.channels == ["acc.x", "acc.y", "acc.z", "gyro.x", "gyro.y", "gyro.z"]
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="cnn1d", epochs=10, batch_size=16, augment="none", arch=TINY),
    )
    # held-out participant, never trained on
    assert model.info.metrics["validation"]["accuracy"] >= 0.95
    test = build_dataset([make_session("new", seed=99)], "activity", 2.0, 1.0, classes=data.classes)
    assert (model.predict(test.X) == test.y).mean() >= 0.95


@pytest.mark.parametrize("preset", ["seed2d", "features", "ensemble"])
def test_other_presets_learn(sessions, preset):
    data = build_dataset(sessions, "activity", window_s=2.0, stride_s=1.0)
    model = train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(
            preset=preset,
            epochs=10,
            batch_size=16,
            augment="none",
            arch={} if preset == "seed2d" else TINY,
            gbm_rounds=60,
        ),
    )
    assert model.info.preset == preset
    # the seed's small 2-D CNN is the weak baseline it was: well above chance (1/3), not perfect
    assert model.info.metrics["validation"]["macro_f1"] >= (0.6 if preset == "seed2d" else 0.9)


def test_boosted_member_refits_on_validation_participants_but_reports_before(sessions):
    """Early stopping picks the rounds on held-out people; the member is then trained on
    everyone, and the validation score is still that of the model that had not seen them."""
    data = build_dataset(sessions, "activity", window_s=2.0, stride_s=1.0)
    cfg = TrainConfig(preset="features", gbm_rounds=80, gbm_min_rounds=40)
    refit = train(data.X, data.y, data.groups, data.info, cfg)
    plain = train(data.X, data.y, data.groups, data.info, replace(cfg, gbm_refit=False))
    m_refit = refit.info.metrics["members"]["lightgbm"]
    m_plain = plain.info.metrics["members"]["lightgbm"]
    assert m_refit["refit_rounds"] == max(m_plain["best_iteration"], 40)
    assert "refit_rounds" not in m_plain
    assert refit.members[0].booster.current_iteration() == m_refit["refit_rounds"]
    # same validation score: it is measured before the refit
    assert refit.info.metrics["validation"] == plain.info.metrics["validation"]
    # the refit model differs from the early-stopped one: it has seen more people
    assert not np.allclose(refit.predict_proba(data.X), plain.predict_proba(data.X))


def test_cnn_refits_on_everyone_for_the_whole_schedule_and_reports_the_first_run(sessions):
    """After the validation run the CNN is trained again from its seed on all windows for
    every epoch: exactly the network that training with no validation split gives (which
    benchmarks/models.py relies on), while the metrics stay those of the validation run."""
    data = build_dataset(sessions, "activity", window_s=2.0, stride_s=1.0)
    cfg = TrainConfig(preset="cnn1d", epochs=4, patience=1, arch=TINY, seed=5)
    refit = train(data.X, data.y, data.groups, data.info, cfg)
    plain = train(data.X, data.y, data.groups, data.info, replace(cfg, cnn_refit=False))
    everyone = train(data.X, data.y, data.groups, data.info, replace(cfg, val_fraction=0.0))
    sr, sp, se = (m.members[0].net.state_dict() for m in (refit, plain, everyone))
    assert all(np.array_equal(sr[k].numpy(), se[k].numpy()) for k in sr)
    assert not all(np.array_equal(sr[k].numpy(), sp[k].numpy()) for k in sr)
    assert refit.info.metrics["validation"] == plain.info.metrics["validation"]
    assert refit.info.metrics["members"]["cnn1d"]["refit_epochs"] == 4
    assert "refit_epochs" not in plain.info.metrics["members"]["cnn1d"]
    # the seed's network stays as the seed trained it
    seed = train(data.X, data.y, data.groups, data.info, TrainConfig(preset="seed2d", epochs=1, seed=5))
    assert "refit_epochs" not in seed.info.metrics["members"]["seed2d"]


def test_same_seed_same_weights_other_seed_differs(sessions):
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    cfg = TrainConfig(preset="cnn1d", epochs=2, arch=TINY, seed=3)
    a = train(data.X, data.y, data.groups, data.info, cfg)
    b = train(data.X, data.y, data.groups, data.info, cfg)
    c = train(
        data.X, data.y, data.groups, data.info, TrainConfig(preset="cnn1d", epochs=2, arch=TINY, seed=4)
    )
    sa, sb, sc = (m.members[0].net.state_dict() for m in (a, b, c))
    assert all(np.array_equal(sa[k].numpy(), sb[k].numpy()) for k in sa)
    assert not all(np.array_equal(sa[k].numpy(), sc[k].numpy()) for k in sa)


def test_progress_reports_every_epoch_and_cancel_stops(sessions):
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    seen = []
    train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="cnn1d", epochs=3, arch=TINY, patience=10),
        progress=seen.append,
    )
    # the validation run, then the refit on everyone (no validation numbers there)
    assert [(p.stage, p.epoch) for p in seen] == [
        ("cnn1d", 1),
        ("cnn1d", 2),
        ("cnn1d", 3),
        ("cnn1d refit", 1),
        ("cnn1d refit", 2),
        ("cnn1d refit", 3),
    ]
    assert all(np.isfinite(p.loss) and 0 <= p.acc <= 1 for p in seen)
    assert all(0 <= p.val_acc <= 1 for p in seen[:3]) and all(np.isnan(p.val_acc) for p in seen[3:])

    cancel = threading.Event()

    def stop_after_first(p):
        cancel.set()

    with pytest.raises(TrainingCancelled):
        train(
            data.X,
            data.y,
            data.groups,
            data.info,
            TrainConfig(preset="cnn1d", epochs=50, arch=TINY),
            progress=stop_after_first,
            cancel=cancel,
        )


def test_validation_holds_out_whole_participants():
    groups = np.repeat(np.array(["a", "b", "c", "d", "e"]), 10)
    y = np.tile(np.arange(2), 25)
    val = validation_split(groups, y, 0.2, seed=0)
    held = set(groups[val])
    assert len(held) == 1 and held.isdisjoint(set(groups[~val]))
    # one group: the last part of each class, in time order
    val1 = validation_split(np.zeros(20), np.repeat([0, 1], 10), 0.2, seed=0)
    assert np.flatnonzero(val1).tolist() == [8, 9, 18, 19]


def test_class_weights_balance_rare_classes():
    w = class_weights(np.array([0] * 90 + [1] * 10), 3)
    assert w[1] == pytest.approx(9 * w[0]) and w[2] == 0


def test_normalisation_fitted_on_training_part_only(sessions):
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    # the network the validation score comes from never saw the held-out participants
    cfg = TrainConfig(preset="cnn1d", epochs=1, arch=TINY, cnn_refit=False)
    model = train(data.X, data.y, data.groups, data.info, cfg)
    held = set(model.info.metrics["validation_groups"])
    tr = ~np.isin(data.groups, list(held))
    mean = data.X[tr].reshape(-1, 6).mean(0)
    np.testing.assert_allclose(model.members[0].mean, mean, rtol=1e-4, atol=1e-4)
    assert not np.allclose(model.members[0].mean, data.X.reshape(-1, 6).mean(0), rtol=1e-6, atol=1e-6)
    # the refit on everyone normalises over everyone
    refit = train(data.X, data.y, data.groups, data.info, replace(cfg, cnn_refit=True))
    np.testing.assert_allclose(refit.members[0].mean, data.X.reshape(-1, 6).mean(0), rtol=1e-4, atol=1e-4)


def test_bad_input_is_a_clear_error(sessions):
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    X = data.X.copy()
    X[0, 0, 0] = np.nan
    with pytest.raises(HarlabError, match="NaN"):
        train(X, data.y, data.groups, data.info, TrainConfig(preset="cnn1d", epochs=1))
    with pytest.raises(HarlabError, match="unknown preset"):
        TrainConfig(preset="transformer")


def test_units_converted_to_si(sessions):
    g_session = make_session("G", seed=5, acc_unit="g")
    data = build_dataset([g_session], "activity", 2.0, 1.0)
    assert data.info.units[:3] == ["m/s^2"] * 3
    assert data.group_kind == "time block"  # one participant: time blocks of each recording
    assert abs(float(np.median(np.linalg.norm(data.X[:, :, :3], axis=2))) - 9.81) < 0.3  # gravity, in m/s^2


def test_inference_copy_folds_batch_norm_without_changing_outputs():
    torch.manual_seed(3)
    net = CNN1D(CNN1DConfig(depth=3, width=8, max_width=16, context_inputs=3), 6, 4)
    # non-trivial batch-norm statistics, as after training
    net.train()
    with torch.no_grad():
        for _ in range(5):
            net(torch.randn(32, 40, 6) * 3 + 1, torch.randn(32, 3))
    net.eval()
    fast = inference_network(net)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout)) for m in fast.features)
    assert any(isinstance(m, nn.BatchNorm1d) for m in net.features)  # the original is left as it was
    x, c = torch.randn(50, 40, 6) * 3 + 1, torch.randn(50, 3)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x, c), net(x, c), atol=1e-5, rtol=1e-5)


def test_the_ensembles_network_is_its_presets_own_and_options_override_it(sessions, tmp_path):
    """The ensemble preset trains the quarter-size network with margins (the preset table's
    ENSEMBLE_NETWORK), the cnn1d preset the architecture's defaults; ``arch`` overrides either,
    key by key, and the saved model keeps what was trained."""
    from harlab.ml.model_presets import PRESETS
    from harlab.ml.modelfile import ActivityModel, TorchMember

    data = build_dataset(sessions[:3], "activity", window_s=2.0, stride_s=1.0)

    def network(preset: str, arch: dict) -> CNN1DConfig:
        cfg = TrainConfig(
            preset=preset, epochs=1, arch=arch, gbm_rounds=5, gbm_min_rounds=5, cnn_refit=False, threads=1
        )
        model = ActivityModel.load(
            train(data.X, data.y, data.groups, data.info, cfg).save(tmp_path / "m.harmodel")
        )
        net = next(m for m in model.members if isinstance(m, TorchMember)).arch
        assert isinstance(net, CNN1DConfig)
        return net

    ens = PRESETS["ensemble"].network_defaults
    got = network("ensemble", {"depth": 2})
    assert (got.width, got.max_width, got.padding, got.depth) == (
        ens["width"],
        ens["max_width"],
        ens["padding"],
        2,
    )
    assert (got.width, got.max_width, got.padding) != (CNN1DConfig().width, CNN1DConfig().max_width, "same")
    got = network("ensemble", {"depth": 2, "padding": "same", "width": 16})
    assert (got.width, got.max_width, got.padding) == (16, ens["max_width"], "same")
    got = network("cnn1d", {"depth": 2})
    assert (got.width, got.max_width, got.padding) == (CNN1DConfig().width, CNN1DConfig().max_width, "same")
