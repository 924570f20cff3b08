"""ONNX parity with PyTorch, and the request parsing every scoring route shares (no MLflow needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harlab.cli import main
from harlab.core.errors import HarlabError
from harlab.ml.dataset import build_dataset
from harlab.ml.training import TrainConfig, train
from harlab.mlops.scoring import ScoringInputError, WindowScorer, frame_columns, parse_payload

from .conftest import need_data, seed_request_windows


@pytest.fixture(scope="module")
def seed_data():
    need_data()
    from harlab.importers import ImportOptions, get_importer

    from .conftest import WATCH_BIN

    imp = get_importer("fitbit_bin")
    sessions = [s for p in sorted(WATCH_BIN.glob("*.bin")) for s in imp.read(p, ImportOptions())]
    return build_dataset(sessions, "activity", 1.0, 1.0, 10.0)


@pytest.fixture(scope="module")
def cnn(seed_data):
    d = seed_data
    return train(
        d.X,
        d.y,
        d.groups,
        d.info,
        TrainConfig(preset="cnn1d", epochs=1, batch_size=64, arch={"depth": 2, "width": 8, "max_width": 8}),
    )


@pytest.mark.slow
def test_onnx_export_matches_pytorch(cnn, seed_data, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnx
    import onnxruntime as ort

    from harlab.mlops.onnx_export import export_onnx

    res = export_onnx(cnn, tmp_path / "m.onnx", seed_data.X[:256])
    assert res.max_abs_diff < 1e-4 and res.n_checked == 256
    # any batch size, the probabilities of the network on raw windows (normalisation inside the graph)
    # and their recording context (the default CNN takes it: a second input)
    sess = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["windows", "context"]
    X = seed_data.X[-37:]
    ctx = cnn.members[0].context_inputs(X)
    assert ctx.shape == (37, 3) and np.abs(ctx).sum() > 0
    got = sess.run(None, {"windows": X, "context": ctx})[0]
    np.testing.assert_allclose(got, cnn.predict_proba(X), atol=1e-4)
    meta = {p.key: p.value for p in onnx.load(str(res.path)).metadata_props}
    assert "network_context" in meta["harlab.context"]
    assert json.loads(meta["harlab.orientation"].rpartition("upright ")[2]) == cnn.info.orientation_upright
    assert json.loads(meta["harlab.classes"]) == cnn.classes and meta["harlab.samples_per_window"] == "10"
    # the command line, with parity checked on windows of a session file
    model_path = cnn.save(tmp_path / "m.harmodel")
    assert main(["models", "export-onnx", str(model_path), "-o", str(tmp_path / "cli.onnx")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["member"] == "cnn1d" and out["max_abs_diff"] < 1e-4


def test_features_model_has_nothing_to_export(seed_data, tmp_path):
    pytest.importorskip("onnx")
    from harlab.mlops.onnx_export import export_onnx

    d = seed_data
    m = train(d.X, d.y, d.groups, d.info, TrainConfig(preset="features", gbm_rounds=5))
    with pytest.raises(HarlabError, match="no neural network"):
        export_onnx(m, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_seed_windows_map_onto_the_model_channels(cnn):
    sc = WindowScorer(cnn)
    X4, _ = seed_request_windows(1)
    X, fmt = parse_payload(sc, {"data": X4.tolist()})
    assert fmt == "seed" and X.shape == (len(X4), 10, 6)
    np.testing.assert_array_equal(X, X4[..., 0].astype(np.float32))
    # a model of the gyroscope then the accelerometer takes the seed's columns in its own order
    info = cnn.info
    swapped = type(info)(
        **{
            **info.__dict__,
            "channels": info.channels[3:] + info.channels[:3],
            "stream_kinds": info.stream_kinds[3:] + info.stream_kinds[:3],
        }
    )
    sc2 = WindowScorer(type(cnn)(swapped, cnn.members))
    np.testing.assert_array_equal(sc2.seed_windows(X4), X4[:, :, [3, 4, 5, 0, 1, 2], 0].astype(np.float32))


def test_frames_flat_arrays_and_cells_agree(cnn):
    sc = WindowScorer(cnn)
    X = np.random.default_rng(1).normal(size=(5, 10, 6)).astype(np.float32)
    cols = frame_columns(cnn.info)
    assert cols[:7] == [
        "accelerometer_x_t000",
        "accelerometer_y_t000",
        "accelerometer_z_t000",
        "gyroscope_x_t000",
        "gyroscope_y_t000",
        "gyroscope_z_t000",
        "accelerometer_x_t001",
    ]
    flat = X.reshape(5, -1)
    shuffled = pd.DataFrame(flat, columns=cols)[cols[::-1]]
    for got in (
        sc.windows_from_frame(shuffled),
        sc.windows(flat),
        sc.windows_from_frame(pd.DataFrame({"w": list(X)})),
        sc.windows_from_frame(pd.DataFrame(flat, columns=[str(i) for i in range(60)])),
    ):
        np.testing.assert_array_equal(got, X)
    scored = sc.score(X)
    frame = scored.frame()
    assert list(frame.columns[:3]) == ["class", "class_index", "confidence"]
    np.testing.assert_allclose(frame[[f"p_{c}" for c in cnn.classes]].sum(axis=1), 1, atol=1e-5)
    assert scored.seed_response()["result"] == frame["class_index"].tolist()


def test_resampling_and_refusals(cnn):
    sc = WindowScorer(cnn)
    t = np.arange(40) / 40.0  # 1 s at 40 Hz of a slow sine
    X40 = np.stack([np.sin(2 * np.pi * t)] * 6, axis=1)[None].astype(np.float32)
    X10 = sc.windows(X40, rate_hz=40)
    assert X10.shape == (1, 10, 6)
    np.testing.assert_allclose(X10[0, 2:8, 0], np.sin(2 * np.pi * np.arange(10) / 10)[2:8], atol=0.1)
    with pytest.raises(ScoringInputError, match="do not match the model's 1 s"):
        sc.windows(X40, rate_hz=20)  # 2 s of samples
    with pytest.raises(ScoringInputError, match="40 samples"):
        sc.windows(X40)
    accel_only = type(cnn.info)(
        **{
            **cnn.info.__dict__,
            "channels": ["acc.x", "mag.y"],
            "stream_kinds": ["accelerometer", "magnetometer"],
            "units": ["m/s^2", "uT"],
        }
    )
    with pytest.raises(ScoringInputError, match="mag.y"):
        WindowScorer(type(cnn)(accel_only, cnn.members)).seed_order()
