"""The fast prediction path against the reference implementations it replaces.

Compiled trees (:mod:`harlab.ml.compiled_trees`) against LightGBM's own predict, the
window features computed once per session against the features of each window alone,
the session prediction against the previous path (every batch its own features, LightGBM
predicting), and the per-recording context of a dataset against one row per window.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from harlab.core.errors import HarlabError
from harlab.ml import compiled_trees
from harlab.ml.compiled_trees import compile_booster
from harlab.ml.context import (
    RecordingReferences,
    recording_reference,
    submit_window_features,
    window_features_parallel,
)
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.features import find_triads, window_features
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, ModelFileError, TorchMember
from harlab.ml.predict import predict_session
from harlab.ml.training import TrainConfig, train
from harlab.simulate.batch_session import demo_model_path

from .conftest import make_session

DATA = Path(
    os.environ.get("HARLAB_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory) -> tuple[ActivityModel, Path]:
    sessions = [make_session(f"P{i}", seed=i) for i in range(3)]
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    cfg = TrainConfig(preset="ensemble", epochs=2, gbm_rounds=60, gbm_min_rounds=60)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context)
    path = model.save(tmp_path_factory.mktemp("m") / "ensemble.harmodel")
    return ActivityModel.load(path), path


def _booster_member(model: ActivityModel) -> BoostedFeaturesMember:
    return next(m for m in model.members if isinstance(m, BoostedFeaturesMember))


def _needs_engine(engine: str) -> None:
    if engine == "native" and compiled_trees._compiler() is None:
        pytest.skip("no C compiler to build the native kernel")


@pytest.mark.parametrize("engine", ["native", "onnxruntime"])
def test_compiled_trees_equal_lightgbm_on_random_features_with_missing_values(ensemble, engine) -> None:
    _needs_engine(engine)
    member = _booster_member(ensemble[0])
    trees = compile_booster(member.booster, engine)
    assert trees is not None and trees.engine == engine
    rng = np.random.default_rng(0)
    n_cols = member.n_feature_columns()
    # values around the split thresholds (the features' own scale) and wild ones, NaN and ±inf
    F = (rng.standard_normal((3000, n_cols)) * rng.choice([0.1, 1.0, 10.0, 1e4], n_cols)).astype(np.float32)
    F[rng.random(F.shape) < 0.05] = np.nan
    F[rng.random(F.shape) < 0.01] = np.inf
    F[rng.random(F.shape) < 0.01] = -np.inf
    F[rng.random(F.shape) < 0.02] = 0.0
    want = member.booster.predict(F)
    np.testing.assert_allclose(trees.predict(F), want, atol=2e-6)
    if engine == "native":  # double comparisons and sums in LightGBM's order: its very scores
        np.testing.assert_array_equal(trees.raw_scores(F), member.booster.predict(F, raw_score=True))
        np.testing.assert_array_equal(trees.predict(F), want.astype(np.float32))
    np.testing.assert_allclose(
        member.predict_features(F), member.predict_features(F, compiled=False), atol=2e-6
    )


@pytest.mark.parametrize("engine", ["native", "onnxruntime"])
def test_thresholds_are_exact_for_float32_features_at_every_split(ensemble, engine) -> None:
    """Rows sitting exactly on (and one float32 step either side of) every threshold take
    LightGBM's branch: the float32 rounding of a double threshold must not move them."""
    _needs_engine(engine)
    member = _booster_member(ensemble[0])
    dump = member.booster.dump_model()
    cuts: dict[int, list[float]] = {}
    stack = [t["tree_structure"] for t in dump["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            cuts.setdefault(int(node["split_feature"]), []).append(float(node["threshold"]))
            stack += [node["left_child"], node["right_child"]]
    n_cols = member.n_feature_columns()
    rows = []
    rng = np.random.default_rng(1)
    for feature, values in cuts.items():
        for v in values[:20]:
            f = np.float32(v)
            for x in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
                row = rng.standard_normal(n_cols).astype(np.float32)
                row[feature] = x
                rows.append(row)
    F = np.stack(rows)
    np.testing.assert_allclose(
        compile_booster(member.booster, engine).predict(F), member.booster.predict(F), atol=2e-6
    )


def test_a_cached_native_kernel_that_does_not_match_its_hash_is_built_again(
    tmp_path, monkeypatch, ensemble
) -> None:
    """The library is loaded only when its SHA-256 is the one recorded at build time: one
    changed on disk is replaced by a fresh build, and the trees still equal LightGBM's."""
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    native = compiled_trees._cpu_identity() is not None  # the build the loader takes first
    lib = compiled_trees.kernel_path(native)
    assert lib.is_relative_to(tmp_path)
    compiled_trees._build_kernel(compiled_trees._compiler(), lib, native)
    built = lib.read_bytes()
    lib.write_bytes(built[:-64] + b"\0" * 64)  # as if changed by something else (never loaded)
    monkeypatch.setattr(compiled_trees, "_kernel", [])
    assert compiled_trees.native_kernel() is not None
    assert lib.read_bytes() == built
    member = _booster_member(ensemble[0])
    F = np.random.default_rng(7).standard_normal((100, member.n_feature_columns())).astype(np.float32)
    trees = compile_booster(member.booster, "native")
    assert trees is not None
    np.testing.assert_array_equal(trees.raw_scores(F), member.booster.predict(F, raw_score=True))
    monkeypatch.setenv("HARLAB_NATIVE_TREES", "0")  # switched off: onnxruntime serves
    monkeypatch.setattr(compiled_trees, "_kernel", [])
    fallback = compile_booster(member.booster)
    assert fallback is not None and fallback.engine == "onnxruntime"


def test_without_a_cpu_identity_the_portable_kernel_serves_and_is_exact(
    tmp_path, monkeypatch, ensemble
) -> None:
    """A CPU that cannot be told from others gets no build tuned to it (a shared cache directory
    must never hand it another CPU's instructions): the portable build, with the same scores."""
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled_trees, "_cpu_identity", lambda: None)
    monkeypatch.setattr(compiled_trees, "_kernel", [])
    assert compiled_trees.native_kernel() is not None
    built = sorted(p.name for p in (tmp_path / "compiled-trees").glob("*.so"))
    assert built == [compiled_trees.kernel_path(False).name] and "native" not in built[0]
    member = _booster_member(ensemble[0])
    F = np.random.default_rng(8).standard_normal((300, member.n_feature_columns())).astype(np.float32)
    trees = compile_booster(member.booster, "native")
    assert trees is not None
    np.testing.assert_array_equal(trees.raw_scores(F), member.booster.predict(F, raw_score=True))


def _wild_rows(rng: np.random.Generator, n: int, n_cols: int) -> np.ndarray:
    F = (rng.standard_normal((n, n_cols)) * rng.choice([0.1, 1.0, 10.0], n_cols)).astype(np.float32)
    F[rng.random(F.shape) < 0.05] = np.nan
    F[rng.random(F.shape) < 0.01] = np.inf
    F[rng.random(F.shape) < 0.01] = -np.inf
    return F


def test_both_layouts_of_the_native_kernel_give_lightgbms_very_scores(monkeypatch) -> None:
    """Trees of up to 64 leaves go through leaf sets, bigger ones level by level: both equal
    LightGBM's raw scores exactly, on a booster with trees of 2 to 100 leaves, NaN-learnt splits
    and rows of every length (not a multiple of the kernel's block of 64)."""
    import lightgbm as lgb

    _needs_engine("native")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3000, 12))
    X[rng.random(X.shape) < 0.1] = np.nan  # splits that learn where missing values go
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(int) + (np.nan_to_num(X[:, 2]) > 1)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 3}
    small = lgb.train({**params, "num_leaves": 64}, lgb.Dataset(X, y), num_boost_round=8)
    big = lgb.train({**params, "num_leaves": 100}, lgb.Dataset(X, y), num_boost_round=3)
    assert max(t["num_leaves"] for t in small.dump_model()["tree_info"]) == 64
    assert max(t["num_leaves"] for t in big.dump_model()["tree_info"]) > 64
    for booster, layout in ((small, "masks"), (big, "levels")):
        trees = compile_booster(booster, "native")
        assert trees is not None and trees.layout == layout
        for n in (1, 63, 64, 65, 1000):
            F = _wild_rows(rng, n, 12)
            np.testing.assert_array_equal(trees.raw_scores(F), booster.predict(F, raw_score=True))
    # the walk level by level serves any booster the leaf sets also take, with the same numbers
    monkeypatch.setattr(compiled_trees, "_mask_arrays", _raise_too_many_leaves)
    walked = compile_booster(small, "native")
    assert walked is not None and walked.layout == "levels"
    F = _wild_rows(rng, 500, 12)
    np.testing.assert_array_equal(walked.raw_scores(F), small.predict(F, raw_score=True))


def test_the_native_kernel_reads_rows_in_any_layout_to_the_same_scores() -> None:
    """A session's prediction keeps its features feature by feature: the kernel reads such rows
    (and slices of them, and of C-ordered rows) where they lie, to the very scores of the same
    rows C-contiguous, for both layouts of the trees; a layout it cannot read is copied first."""
    import lightgbm as lgb

    _needs_engine("native")
    rng = np.random.default_rng(8)
    X = rng.standard_normal((2000, 10))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 3}
    for leaves, layout in ((16, "masks"), (100, "levels")):
        booster = lgb.train({**params, "num_leaves": leaves}, lgb.Dataset(X, y), num_boost_round=4)
        trees = compile_booster(booster, "native")
        assert trees is not None and trees.layout == layout
        F = _wild_rows(rng, 301, 10)
        want = trees.raw_scores(F)
        np.testing.assert_array_equal(want, booster.predict(F, raw_score=True))
        by_feature = np.ascontiguousarray(F.T).T  # (301, 10), each feature's rows side by side
        wide = np.ascontiguousarray(np.concatenate([F, F], axis=1))
        for G in (
            by_feature,
            by_feature[37:250],
            np.ascontiguousarray(np.concatenate([F, F]).T).T[301:],  # a feature's run longer than the rows
            wide[:, :10],  # rows with a stride beyond their features
            F[::-1],  # negative steps: copied, then read
        ):
            rows = np.asarray(G)
            expect = booster.predict(np.ascontiguousarray(rows), raw_score=True)
            np.testing.assert_array_equal(trees.raw_scores(rows), expect)
            np.testing.assert_array_equal(trees.predict(rows), trees.predict(np.ascontiguousarray(rows)))
        assert compiled_trees.element_strides(by_feature) == (1, 301)
        assert compiled_trees.element_strides(F[::-1]) is None


def _raise_too_many_leaves(*_args: object) -> None:
    raise compiled_trees._TooManyLeaves


def test_the_demo_model_compiles_and_agrees() -> None:
    model = ActivityModel.load(demo_model_path())
    member = _booster_member(model)
    rng = np.random.default_rng(2)
    F = rng.standard_normal((500, member.n_feature_columns())).astype(np.float32)
    trees = member.compiled()
    assert trees is not None
    np.testing.assert_allclose(trees.predict(F), member.predict_features(F, compiled=False), atol=2e-6)


def test_boosters_the_ensemble_cannot_reproduce_keep_lightgbm() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 4))
    X[:, 0] = rng.integers(0, 5, 400)
    y = rng.integers(0, 3, 400)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 5}
    categorical = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[0]), num_boost_round=5)
    assert compile_booster(categorical) is None
    X[rng.random(X.shape) < 0.3] = 0.0
    zero = lgb.train({**params, "zero_as_missing": True}, lgb.Dataset(X, y), num_boost_round=5)
    assert compile_booster(zero) is None
    binary = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y > 0), num_boost_round=5)
    assert compile_booster(binary) is None


def test_a_hostile_booster_is_refused_at_load_so_nothing_is_compiled(tmp_path, ensemble) -> None:
    _, path = ensemble
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.endswith("/booster"))
    text = arrays[key].tobytes()
    assert b"num_class=3\n" in text
    arrays[key] = np.frombuffer(text.replace(b"num_class=3\n", b"num_class=2\n", 1), np.uint8)
    bad = tmp_path / "edited.harmodel"
    with open(bad, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ModelFileError, match="num_class"):
        ActivityModel.load(bad)
    # the compiled trees are built only from a parsed booster object, never from text
    with pytest.raises((AttributeError, TypeError)):
        compile_booster(text)


def test_window_features_in_parallel_batches_equal_each_window_alone() -> None:
    rng = np.random.default_rng(4)
    ch = ["acc.x", "acc.y", "acc.z", "gyro.x", "gyro.y", "gyro.z"]
    un = ["m/s^2"] * 3 + ["rad/s"] * 3
    X = (rng.standard_normal((5000, 50, 6)) * [1, 1, 1, 0.3, 0.3, 0.3] + [0, 0, 9.8, 0, 0, 0]).astype(
        np.float32
    )
    tri = find_triads(ch, un)
    with ThreadPoolExecutor(max_workers=2) as pool:
        fast = window_features_parallel(X, ch, un, 25.0, pool)
    picks = rng.choice(len(X), 40, replace=False)
    alone = np.concatenate([window_features(X[i : i + 1], 25.0, tri, un) for i in picks])
    np.testing.assert_allclose(fast[picks], alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fast, window_features(X, 25.0, tri, un))
    # feature by feature, as a session's first pass stores them: the same numbers transposed
    with ThreadPoolExecutor(max_workers=2) as pool:
        by_feature, batches = submit_window_features(X, ch, un, 25.0, pool)
        assert len(batches) > 1
        for f in batches:
            f.result()
    assert by_feature.flags.c_contiguous and by_feature.shape == fast.T.shape
    np.testing.assert_array_equal(by_feature, fast.T)
    here, none = submit_window_features(X[:700], ch, un, 25.0)  # no executor: computed before returning
    assert none == []
    np.testing.assert_array_equal(here, fast[:700].T)
    assert submit_window_features(X[:0], ch, un, 25.0)[0].shape == (fast.shape[1], 0)


def test_window_features_on_real_data_equal_each_window_alone() -> None:
    uci = DATA / "uci-hapt" / "RawData"
    if not uci.is_dir():
        pytest.skip("shared data not present")
    from harlab.importers import ImportOptions, get_importer

    sessions = get_importer("uci_hapt").read(uci / "acc_exp01_user01.txt", ImportOptions())
    data = build_dataset(sessions, "activity", 2.56, 1.28, 50.0, ["accelerometer", "gyroscope"])
    X, info = data.X, data.info
    with ThreadPoolExecutor(max_workers=2) as pool:
        fast = window_features_parallel(X, info.channels, info.units, info.rate_hz, pool)
    tri = find_triads(info.channels, info.units)
    picks = np.random.default_rng(5).choice(len(X), 30, replace=False)
    alone = np.concatenate([window_features(X[i : i + 1], info.rate_hz, tri, info.units) for i in picks])
    np.testing.assert_allclose(fast[picks], alone, rtol=1e-5, atol=1e-5)


def test_session_prediction_equals_the_previous_path(ensemble) -> None:
    """Features once plus compiled trees against every batch computing its own features and
    LightGBM predicting, on a session of several batches."""
    model, path = ensemble
    session = make_session("new", seed=9, seconds_per_bout=400.0)
    track = predict_session(model, session, add=False, workers=2)
    old = ActivityModel.load(path)
    _booster_member(old).compile_trees = False
    sw = session_windows(session, old.info)
    assert len(sw.X) > 2048  # more than one batch
    refs = old.recording_references(sw.X)
    # a "margins" network (the ensemble's) takes the windows beside each batch, as the session does
    pad = old.halo_windows(max(1, round(old.info.stride_s * old.info.rate_hz)))

    def beside(i: int) -> tuple[np.ndarray, np.ndarray] | None:
        return (sw.X[max(0, i - pad) : i], sw.X[i + 2048 : i + 2048 + pad]) if pad else None

    want = np.concatenate(
        [
            old.predict_proba(sw.X[i : i + 2048], refs[i : i + 2048], halo=beside(i))
            for i in range(0, len(sw.X), 2048)
        ]
    )
    np.testing.assert_allclose(track.probabilities, want, atol=2e-6)


def test_dataset_context_is_one_float32_row_per_recording(sessions) -> None:
    data = build_dataset(sessions, "activity", 2.0, 1.0)
    ctx = data.context
    assert isinstance(ctx, RecordingReferences)
    assert ctx.table.shape[0] == len(sessions) and ctx.table.dtype == np.float32 and len(ctx) == len(data.X)
    # each window sees its own session's reference, taken from all that session's windows
    for i, s in enumerate(sessions):
        sel = data.windows.session_index == i
        want = recording_reference(session_windows(s, data.info).X, data.info.channels, data.info.units, 25.0)
        np.testing.assert_allclose(np.asarray(ctx)[sel], np.tile(want, (sel.sum(), 1)), rtol=1e-6, atol=1e-6)
    idx = np.flatnonzero(data.windows.session_index == 2)[:5]
    sub = data.subset(idx)
    assert isinstance(sub.context, RecordingReferences) and sub.context.table is ctx.table
    np.testing.assert_array_equal(np.asarray(sub.context), np.asarray(ctx)[idx])
    np.testing.assert_array_equal(ctx[:, :5].table, ctx.table[:, :5])
    np.testing.assert_array_equal(ctx[int(idx[0])], ctx.table[2])
    with pytest.raises(HarlabError, match="outside the table"):
        RecordingReferences(ctx.table, np.array([len(sessions)]))


def test_a_model_with_compiled_trees_pickles_for_another_process(ensemble) -> None:
    """The cohort engine sends models to its workers: the compiled session and lock stay behind."""
    import pickle

    model, _ = ensemble
    member = _booster_member(model)
    assert member.compiled() is not None
    copy = pickle.loads(pickle.dumps(model))
    rng = np.random.default_rng(6)
    F = rng.standard_normal((50, member.n_feature_columns())).astype(np.float32)
    np.testing.assert_allclose(
        _booster_member(copy).predict_features(F), member.predict_features(F), atol=2e-6
    )


def test_a_network_held_for_inference_gives_the_probabilities_of_each_call_fusing_its_own(ensemble) -> None:
    """One fused copy for a whole prediction run equals fusing per call, in any batch size,
    and is released at the end of the block (a later weight change is seen)."""
    model, _ = ensemble
    net_member = next(m for m in model.members if isinstance(m, TorchMember))
    sw = session_windows(make_session("held", seed=3), model.info)
    refs = model.recording_references(sw.X)
    plain = net_member.predict_proba(sw.X, context=refs)
    with model.held_for_inference():
        held = net_member.predict_proba(sw.X, context=refs)
        held_512 = net_member.predict_proba(sw.X, batch=512, context=refs)
    np.testing.assert_allclose(held, plain, atol=1e-6)
    np.testing.assert_allclose(held_512, plain, atol=1e-5)
    with torch.no_grad():
        net_member.net.head.bias += 5.0 * torch.eye(len(model.classes))[0]  # favour the first class
    try:
        moved = net_member.predict_proba(sw.X, context=refs)
        assert moved[:, 0].mean() > plain[:, 0].mean() + 0.1
    finally:
        with torch.no_grad():
            net_member.net.head.bias -= 5.0 * torch.eye(len(model.classes))[0]


def _loaded_member(path: Path) -> BoostedFeaturesMember:
    return _booster_member(ActivityModel.load(path))


def _cached_masks_files(cache: Path) -> list[Path]:
    return sorted((cache / "compiled-trees").glob("masks-*.npz"))


def test_a_loaded_models_leaf_sets_are_kept_and_read_back_exactly(tmp_path, monkeypatch, ensemble) -> None:
    """The first load of a model builds its leaf sets from the tree dump and keeps them in the
    cache under the hash of its validated text; the next load reads them back without the dump,
    with LightGBM's very raw scores."""
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    first = _loaded_member(ensemble[1])
    assert first.compiled() is not None
    kept = _cached_masks_files(tmp_path)
    assert len(kept) == 1
    import lightgbm as lgb

    def no_dump(*a, **k):
        raise AssertionError("the tree dump was read again")

    monkeypatch.setattr(lgb.Booster, "dump_model", no_dump)
    second = _loaded_member(ensemble[1])
    trees = second.compiled()
    assert trees is not None and trees.engine == "native" and trees.layout == "masks"
    F = _wild_rows(np.random.default_rng(11), 400, second.n_feature_columns())
    np.testing.assert_array_equal(trees.raw_scores(F), second.booster.predict(F, raw_score=True))
    np.testing.assert_array_equal(trees.predict(F), first.compiled().predict(F))
    # a model sent to another process (a cohort's worker) keeps the name of its trees
    import pickle

    sent = _booster_member(pickle.loads(pickle.dumps(ActivityModel.load(ensemble[1]))))
    np.testing.assert_array_equal(sent.compiled().raw_scores(F), second.booster.predict(F, raw_score=True))


def test_a_model_trained_in_this_process_leaves_nothing_in_the_cache(tmp_path, monkeypatch, ensemble) -> None:
    """Only trees parsed from a validated text have a name to be kept under."""
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    member = _loaded_member(ensemble[1])
    fresh = BoostedFeaturesMember(
        member.booster,
        member.rate_hz,
        member.triads,
        member.n_classes,
        member.units,
        member.features_version,
        member.channels,
        member.uses_context,
        member.relative,
    )
    assert fresh.compiled() is not None
    assert _cached_masks_files(tmp_path) == []


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "feature out of range",
        "leaves past the end",
        "an array missing",
        "splits out of order",
        "not a zip",
    ],
)
def test_a_damaged_leaf_set_file_is_never_used_and_is_built_again(
    tmp_path, monkeypatch, ensemble, damage
) -> None:
    """A kept file that is not what the builder writes (cut short, an index the kernel would read
    outside its arrays with, a missing array) is ignored: the trees are built from the dump again,
    give LightGBM's scores, and replace the file."""
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    assert _loaded_member(ensemble[1]).compiled() is not None
    (path,) = _cached_masks_files(tmp_path)
    good = path.read_bytes()
    with np.load(path) as z:
        a = {k: z[k].copy() for k in z.files}
    member = _loaded_member(ensemble[1])
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "not a zip":
        path.write_bytes(b"\x93NUMPY" + b"\0" * 200)
    else:
        if damage == "feature out of range":
            a["feat"][len(a["feat"]) // 2] = member.n_feature_columns()
        elif damage == "leaves past the end":
            a["leaf_off"][-1] = len(a["leaf"])
        elif damage == "an array missing":
            del a["mask"]
        elif damage == "splits out of order":
            a["node_off"][1], a["node_off"][2] = a["node_off"][2], a["node_off"][1]
        with open(path, "wb") as f:
            np.savez(f, **a)
    trees = member.compiled()
    assert trees is not None
    F = _wild_rows(np.random.default_rng(12), 300, member.n_feature_columns())
    np.testing.assert_array_equal(trees.raw_scores(F), member.booster.predict(F, raw_score=True))
    assert path.read_bytes() == good


def test_the_leaf_set_cache_keeps_the_most_recently_used_files(tmp_path, monkeypatch, ensemble) -> None:
    _needs_engine("native")
    monkeypatch.setenv("HARLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled_trees, "CACHED_MODELS", 2)
    member = _loaded_member(ensemble[1])
    masks = compile_booster(member.booster, "native")._masks  # (without a key: nothing kept)
    n_features, n_trees = member.n_feature_columns(), member.booster.num_trees()
    for i, key in enumerate(("a", "b")):
        compiled_trees._store_masks(key, masks)
        os.utime(compiled_trees._masks_path(key), (1000.0 + i, 1000.0 + i))
    # reading "a" makes it the most recently used: storing a third drops "b"
    assert compiled_trees._cached_masks("a", n_features, n_trees) is not None
    compiled_trees._store_masks("c", masks)
    left = {p.name for p in _cached_masks_files(tmp_path)}
    assert left == {compiled_trees._masks_path(k).name for k in ("a", "c")}
    assert compiled_trees._cached_masks("a", n_features, n_trees + 1) is None  # another booster's trees
