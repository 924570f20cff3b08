"""Model files: round trip with identical predictions; tampered or foreign files fail cleanly."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from harlab.ml.dataset import build_dataset
from harlab.ml.modelfile import ActivityModel, ModelFileError
from harlab.ml.training import TrainConfig, train

TINY = {"depth": 2, "width": 8, "max_width": 8}


@pytest.fixture(scope="module")
def data():
    from .conftest import make_session

    return build_dataset([make_session(f"P{i}", seed=i) for i in range(3)], "activity", 2.0, 1.0)


@pytest.fixture(scope="module")
def ensemble(data):
    return train(
        data.X,
        data.y,
        data.groups,
        data.info,
        TrainConfig(preset="ensemble", epochs=2, arch=TINY, gbm_rounds=30),
    )


@pytest.mark.parametrize("preset", ["ensemble", "seed2d"])
def test_round_trip_identical_predictions(tmp_path, data, ensemble, preset):
    model = (
        ensemble
        if preset == "ensemble"
        else train(data.X, data.y, data.groups, data.info, TrainConfig(preset=preset, epochs=1))
    )
    path = model.save(tmp_path / "m.harmodel")
    loaded = ActivityModel.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(data.X), model.predict_proba(data.X))
    assert loaded.info.classes == model.info.classes
    assert loaded.info.channels == model.info.channels and loaded.info.units == model.info.units
    assert loaded.info.rate_hz == 25 and loaded.info.window_s == 2 and loaded.info.stride_s == 1
    assert loaded.info.training_sessions[0]["windows_sha256"]
    assert loaded.info.metrics["validation"] == model.info.metrics["validation"]
    assert loaded.info.harlab_version and loaded.info.train_config["preset"] == preset
    assert not list(tmp_path.glob(".*.tmp"))


def _rewrite(src, dst, change):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


def test_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = tmp_path / "evil.harmodel"
    p.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError, match="not a harlab model"):
        ActivityModel.load(p)
    # a torch.save-style zip holding a pickle
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(Evil()))
    p.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError):
        ActivityModel.load(p)
    # an npz with an object array (which only pickle can read)
    with open(p, "wb") as f:
        np.savez(f, __header__=np.array([Evil()], dtype=object))
    with pytest.raises(ModelFileError, match="refusing|pickle"):
        ActivityModel.load(p)
    assert not marker.exists()


def test_tampered_files_fail_cleanly(tmp_path, ensemble):
    good = ensemble.save(tmp_path / "good.harmodel")
    bad = tmp_path / "bad.harmodel"

    def header_of(arrays):
        return json.loads(arrays["__header__"].tobytes())

    def set_header(arrays, h):
        arrays["__header__"] = np.frombuffer(json.dumps(h).encode(), np.uint8)

    def newer(a):
        h = header_of(a)
        h["format_version"] = 99
        set_header(a, h)

    def wrong_shape(a):
        key = next(k for k in a if k.startswith("m0/state/") and a[k].ndim == 3)
        a[key] = a[key][:, :-1]

    def unknown_kind(a):
        h = header_of(a)
        h["members"][0]["kind"] = "python-code"
        set_header(a, h)

    def bad_json(a):
        a["__header__"] = np.frombuffer(b"{not json", np.uint8)

    def missing_norm(a):
        del a["m0/norm/std"]

    for change, msg in [
        (newer, "version 99"),
        (wrong_shape, "shape"),
        (unknown_kind, "unknown kind"),
        (bad_json, "JSON"),
        (missing_norm, "normalisation"),
    ]:
        _rewrite(good, bad, change)
        with pytest.raises(ModelFileError, match=msg):
            ActivityModel.load(bad)
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ModelFileError):
        ActivityModel.load(bad)
    with pytest.raises(ModelFileError, match="no such"):
        ActivityModel.load(tmp_path / "missing.harmodel")
