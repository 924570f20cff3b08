"""Overlapping windows through a 'valid' 1-D CNN once (harlab.ml.shared_trunk): the same
probabilities as every window alone, whatever the runs, gaps, batches and strides."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from harlab.core.errors import HarlabError
from harlab.ml.context import CONTEXT_NAMES
from harlab.ml.modelfile import ActivityModel, ModelFileError, ModelInfo, TorchMember
from harlab.ml.models import (
    CNN1D,
    CNN1DConfig,
    arch_from_dict,
    build_network,
    inference_network,
    pool_product,
    trunk_length,
)
from harlab.ml.shared_trunk import embed_windows, find_hop, overlap_runs

T, C = 64, 6
CHANNELS = ["acc.x", "acc.y", "acc.z", "gyro.x", "gyro.y", "gyro.z"]
UNITS = ["m/s^2"] * 3 + ["rad/s"] * 3
#: small networks of each kind of trunk: pools after every block (product 4), after every
#: second (product 2), never (1); with and without batch norm
CONFIGS = {
    "pool_every_block": CNN1DConfig(depth=3, width=8, max_width=16, kernel=5, padding="valid"),
    "pool_every_second": CNN1DConfig(depth=4, width=8, max_width=8, kernel=3, pool_every=2, padding="valid"),
    "no_pool_no_bn": CNN1DConfig(depth=2, width=8, kernel=7, pool_every=0, batch_norm=False, padding="valid"),
}


def random_net(cfg: CNN1DConfig, seed: int = 0, n_time: int = T) -> CNN1D:
    """A network with random weights and random batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    net = build_network(cfg, C, 4, n_time)
    assert isinstance(net, CNN1D)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_()
                m.bias.normal_()
    return net.eval()


def windows(signal: np.ndarray, hop: int) -> np.ndarray:
    """Every window of ``T`` samples of ``signal`` (time, channels) ``hop`` samples apart."""
    starts = range(0, len(signal) - T + 1, hop)
    return np.stack([signal[s : s + T] for s in starts]).astype(np.float32)


def session_like(rng: np.random.Generator, hop: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Windows as a session gives them: three recordings (runs of 9, 1 and 14 windows) with
    gaps between, a lone window from elsewhere, and a run broken by one changed sample; with the
    runs a correct detection finds."""
    parts = [windows(rng.normal(size=(T + k * hop, C)) * 3 + 1, hop) for k in (8, 0, 13)]
    lone = rng.normal(size=(1, T, C)).astype(np.float32)
    broken = windows(rng.normal(size=(T + 6 * hop, C)), hop)
    broken[4, T - 1, 2] += 1.0  # shared with window 5 before the change: no longer
    X = np.concatenate([*parts, lone, broken])
    runs = [(0, 9), (10, 24), (25, 30), (30, 32)]
    return X, runs


def alone(net: CNN1D, X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Each window through the network as trained (unfused, one at a time in a batch)."""
    with torch.inference_mode():
        return torch.softmax(net(torch.from_numpy((X - mean) / std)), dim=1).numpy()


def member(net: CNN1D, cfg: CNN1DConfig, rng: np.random.Generator) -> TorchMember:
    mean = rng.normal(size=C).astype(np.float32)
    std = rng.uniform(0.5, 2.0, C).astype(np.float32)
    return TorchMember(cfg, net, mean, std, CHANNELS, UNITS)


@pytest.mark.parametrize("name", CONFIGS)
def test_shared_windows_give_the_probabilities_of_windows_alone(name: str) -> None:
    cfg = CONFIGS[name]
    rng = np.random.default_rng(1)
    net = random_net(cfg)
    m = member(net, cfg, rng)
    hop = 4 * pool_product(cfg)
    X, runs = session_like(rng, hop)
    assert find_hop(X, pool_product(cfg)) == hop
    assert overlap_runs(X, hop) == runs
    expected = alone(net, X, m.mean, m.std)
    fast = inference_network(net)
    with torch.inference_mode():
        emb, shared = embed_windows(fast, X, m.normalise, batch=8, segment=4)
    assert shared == len(X) - 2  # all but the two alone: a run of 9 is segments of 4 and 5
    for batch in (3, 128):
        np.testing.assert_allclose(m.predict_proba(X, batch=batch), expected, atol=2e-6)
        np.testing.assert_allclose(m.predict_proba(X, batch=batch, share=False), expected, atol=2e-6)
    with torch.inference_mode():
        np.testing.assert_allclose(
            emb.numpy(), net.embed(torch.from_numpy(m.normalise(X))).numpy(), atol=2e-5
        )


def test_batches_that_split_runs_and_segments_of_every_length() -> None:
    """A session's batches cut its runs anywhere; segments leave a lone last window; each piece
    alone or shared gives the same."""
    cfg = CONFIGS["pool_every_block"]
    rng = np.random.default_rng(2)
    net = random_net(cfg, seed=3)
    m = member(net, cfg, rng)
    X = windows(rng.normal(size=(T + 40 * 8, C)), 8)  # 41 windows, hop 8 = 2 x the pooling product
    expected = alone(net, X, m.mean, m.std)
    fast = inference_network(net)
    for cut in (1, 2, 7, 20, 40):  # the prediction's batches: [0, cut) and [cut, N)
        got = np.concatenate([m.predict_proba(X[:cut]), m.predict_proba(X[cut:])])
        np.testing.assert_allclose(got, expected, atol=2e-6)
    for segment in (2, 3, 5, 41, 100):
        with torch.inference_mode():
            emb, shared = embed_windows(fast, X, m.normalise, batch=6, segment=segment)
            ref = net.embed(torch.from_numpy(m.normalise(X)))
        assert shared == len(X)
        np.testing.assert_allclose(emb.numpy(), ref.numpy(), atol=2e-5)


@pytest.mark.parametrize("hop", [3, 6, 10])
def test_strides_that_are_not_a_multiple_of_the_pooling_product_take_the_window_alone_path(hop: int) -> None:
    cfg = CONFIGS["pool_every_block"]  # pooling product 4
    rng = np.random.default_rng(hop)
    net = random_net(cfg)
    m = member(net, cfg, rng)
    X = windows(rng.normal(size=(T + 20 * hop, C)), hop)
    assert find_hop(X, pool_product(cfg)) is None
    with torch.inference_mode():
        _, shared = embed_windows(inference_network(net), X, m.normalise)
    assert shared == 0
    np.testing.assert_allclose(m.predict_proba(X), alone(net, X, m.mean, m.std), atol=2e-6)


def test_a_flat_recording_fits_every_hop_and_still_gives_the_windows_alone() -> None:
    cfg = CONFIGS["pool_every_block"]
    net = random_net(cfg)
    m = member(net, cfg, np.random.default_rng(4))
    X = np.ones((12, T, C), np.float32)
    X[7:] = windows(np.random.default_rng(5).normal(size=(T + 4 * 8, C)), 8)  # then a real run
    np.testing.assert_allclose(m.predict_proba(X), alone(net, X, m.mean, m.std), atol=2e-6)
    assert find_hop(np.zeros((1, T, C), np.float32), 4) is None
    assert overlap_runs(np.zeros((1, T, C), np.float32), 4) == []
    assert m.predict_proba(np.zeros((0, T, C), np.float32)).shape == (0, 4)


def test_a_network_with_the_recording_context_shares_its_trunk() -> None:
    cfg = replace(CONFIGS["pool_every_block"], context_inputs=len(CONTEXT_NAMES))
    rng = np.random.default_rng(6)
    net = random_net(cfg)
    m = member(net, cfg, rng)
    X = windows(rng.normal(size=(T + 30 * 8, C)) + [0, 0, 9.81, 0, 0, 0], 8)
    ctx = m.context_inputs(X)
    assert ctx is not None
    with torch.inference_mode():
        expected = torch.softmax(net(torch.from_numpy(m.normalise(X)), torch.from_numpy(ctx)), 1).numpy()
    np.testing.assert_allclose(m.predict_proba(X, batch=7), expected, atol=2e-6)


def test_a_same_padded_network_keeps_its_path() -> None:
    """Every model file from before the option: windows alone, as before, even in runs."""
    cfg = replace(CONFIGS["pool_every_block"], padding="same")
    rng = np.random.default_rng(7)
    net = random_net(cfg)
    m = member(net, cfg, rng)
    X = windows(rng.normal(size=(T + 20 * 8, C)), 8)
    with torch.inference_mode():
        _, shared = embed_windows(inference_network(net), X, m.normalise)
    assert shared == 0
    np.testing.assert_allclose(m.predict_proba(X), alone(net, X, m.mean, m.std), atol=2e-6)
    assert trunk_length(cfg, T) == net.features(torch.zeros(1, C, T)).shape[2]


def test_the_valid_trunk_of_a_window_is_a_slice_of_the_signals() -> None:
    """The property the sharing rests on, on the default architecture's sizes."""
    cfg = CNN1DConfig(padding="valid")
    n = 128
    net = random_net(cfg, n_time=n)
    p = pool_product(cfg)
    assert p == 8
    signal = torch.randn(1, C, n + 5 * p)
    with torch.inference_mode():
        whole = net.features(signal)
        for k in range(6):
            part = net.features(signal[:, :, k * p : k * p + n])
            assert part.shape[2] == trunk_length(cfg, n)
            torch.testing.assert_close(part, whole[:, :, k : k + part.shape[2]], atol=1e-4, rtol=1e-4)


def info() -> ModelInfo:
    return ModelInfo(
        classes=["a", "b", "c", "d"],
        channels=CHANNELS,
        units=UNITS,
        rate_hz=25.0,
        window_s=T / 25.0,
        stride_s=T / 50.0,
        stream_kinds=["accelerometer"] * 3 + ["gyroscope"] * 3,
    )


def _edit_arch(path, change) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["__header__"].tobytes())
    change(header["members"][0]["arch"])
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_the_padding_goes_through_the_model_file(tmp_path, padding: str) -> None:
    cfg = replace(CONFIGS["pool_every_block"], padding=padding)
    rng = np.random.default_rng(8)
    model = ActivityModel(info(), [member(random_net(cfg), cfg, rng)])
    X = windows(rng.normal(size=(T + 30 * 16, C)), 16)
    loaded = ActivityModel.load(model.save(tmp_path / "m.harmodel"))
    arch = loaded.members[0].arch  # type: ignore[union-attr]
    assert isinstance(arch, CNN1DConfig) and arch.padding == padding
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_only_a_valid_padding_is_written_so_older_versions_read_default_files(tmp_path, padding: str) -> None:
    """Versions from before the option refuse unknown architecture keys: a default network's
    file must not carry one."""
    cfg = replace(CONFIGS["pool_every_block"], padding=padding)
    model = ActivityModel(info(), [member(random_net(cfg), cfg, np.random.default_rng(11))])
    path = model.save(tmp_path / "m.harmodel")
    seen: list[dict] = []
    _edit_arch(path, lambda a: seen.append(dict(a)))
    assert ("padding" in seen[0]) == (padding == "valid")


def test_a_file_from_before_the_option_loads_as_same_and_predicts_as_before(tmp_path) -> None:
    cfg = replace(CONFIGS["pool_every_block"], padding="same")
    rng = np.random.default_rng(9)
    model = ActivityModel(info(), [member(random_net(cfg), cfg, rng)])
    path = model.save(tmp_path / "old.harmodel")
    _edit_arch(path, lambda a: a.pop("padding", None))
    loaded = ActivityModel.load(path)
    assert loaded.members[0].arch.padding == "same"  # type: ignore[union-attr]
    assert arch_from_dict({k: v for k, v in asdict(cfg).items() if k != "padding"}).padding == "same"
    X = windows(rng.normal(size=(T + 10 * 32, C)), 32)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    ("value", "kernel", "problem"),
    [
        ("circular", 5, r"padding = \"circular\" is unknown; expected one of same, valid, margins"),
        (3, 5, r"padding has the wrong type"),
        (None, 5, r"padding has the wrong type"),
        ("valid", 31, r"needs longer windows than 64 samples"),  # 64 - 30 -> 17 - 30 < 1
    ],
)
def test_a_hostile_padding_is_refused_clearly(tmp_path, value, kernel: int, problem: str) -> None:
    cfg = replace(CONFIGS["pool_every_block"], padding="same")
    model = ActivityModel(info(), [member(random_net(cfg), cfg, np.random.default_rng(10))])
    path = model.save(tmp_path / "hostile.harmodel")
    _edit_arch(path, lambda a: a.update(padding=value, kernel=kernel))
    with pytest.raises(ModelFileError, match=problem):
        ActivityModel.load(path)


def test_an_unknown_padding_is_refused_when_a_network_is_built() -> None:
    with pytest.raises(HarlabError, match="padding 'causal' is unknown"):
        build_network(CNN1DConfig(padding="causal"), C, 4, T)
    with pytest.raises(HarlabError, match="padding 'causal' is unknown"):
        arch_from_dict({"kind": "cnn1d", "padding": "causal"})


def _find_hop_every_shift(X: np.ndarray, multiple: int) -> int | None:
    """find_hop's definition, every shift compared whole for every probe pair."""
    n, t = len(X), X.shape[1]
    hops = range(multiple, t, multiple)
    if n < 2 or not hops:
        return None
    probes = np.unique(np.linspace(0, n - 2, min(16, n - 1)).astype(np.int64))
    best, best_count = None, 0
    for hop in hops:
        count = sum(bool(np.array_equal(X[i, hop:], X[i + 1, : t - hop])) for i in probes)
        if count > best_count:
            best, best_count = hop, count
    return best


def test_find_hop_checks_only_the_shifts_the_next_window_can_start_at() -> None:
    """The candidates (the next window's first sample found at the shift) give the hop that
    comparing every shift whole gives: runs at many hops, flat windows (every shift fits), runs
    broken every third window, NaN samples, unrelated windows, one and two windows."""
    rng = np.random.default_rng(9)
    sig = rng.normal(size=(3000, C)).astype(np.float32)
    cases = [windows(sig, hop) for hop in (1, 16, 25, 32, 63)]
    cases.append(np.ones((30, T, C), np.float32))
    broken = windows(sig, 16).copy()
    broken[::3] += 1.0
    nan = windows(sig, 16).copy()
    nan[:, 5, 2] = np.nan
    cases += [
        broken,
        nan,
        rng.normal(size=(40, T, C)).astype(np.float32),
        windows(sig, 16)[:1],
        windows(sig, 16)[:2],
    ]
    found = set()
    for X in cases:
        for multiple in (1, 2, 4, 8, 64, 100):
            hop = find_hop(X, multiple)
            assert hop == _find_hop_every_shift(X, multiple)
            found.add(hop)
    assert {None, 1, 16, 25, 32, 63} <= found
