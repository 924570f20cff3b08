"""A 1-D CNN with ``padding: "margins"``: each window goes through an unpadded trunk together
with samples of its recording before and after it, from the windows beside it
(harlab.ml.shared_trunk.with_margins), so its last feature map covers the whole window. What
the margins are at the ends of a run of overlapping windows, that overlapping windows still
share their convolutions exactly, and which windows a different cut of a session into calls
changes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from harlab.ml.modelfile import ActivityModel
from harlab.ml.models import CNN1DConfig, inference_network, margins, pool_product, trunk_length, trunk_span
from harlab.ml.shared_trunk import embed_windows, with_margins
from tests.ml.test_shared_trunk import C, T, info, member, random_net, session_like, windows

#: small "margins" networks of each kind of trunk (as test_shared_trunk's CONFIGS)
CONFIGS = {
    "pool_every_block": CNN1DConfig(depth=3, width=8, max_width=16, kernel=5, padding="margins"),
    "pool_every_second": CNN1DConfig(
        depth=4, width=8, max_width=8, kernel=3, pool_every=2, padding="margins"
    ),
    "no_pool_no_bn": CNN1DConfig(
        depth=2, width=8, kernel=7, pool_every=0, batch_norm=False, padding="margins"
    ),
}


def by_hand(signal: np.ndarray, start: int, before: int, after: int) -> np.ndarray:
    """The window at ``start`` of ``signal`` with its margins, the signal's ends repeated."""
    padded = np.concatenate([np.repeat(signal[:1], before, 0), signal, np.repeat(signal[-1:], after, 0)])
    return padded[start : start + before + T + after]


@pytest.mark.parametrize("hop", [4, 16, 32, 48])
def test_margins_are_the_recordings_own_samples_and_its_ends_repeated(hop: int) -> None:
    """Also when a margin is longer than the hop (it then comes from several windows back)."""
    rng = np.random.default_rng(hop)
    signal = rng.normal(size=(T + 9 * hop, C)).astype(np.float32)
    X = windows(signal, hop)
    got = with_margins(X, 11, 13)
    assert got.shape == (len(X), 11 + T + 13, C)
    for k in range(len(X)):
        np.testing.assert_array_equal(got[k], by_hand(signal, k * hop, 11, 13))
    np.testing.assert_array_equal(got[:, 11 : 11 + T], X)
    assert with_margins(X, 0, 0) is X


def test_windows_that_do_not_overlap_repeat_their_own_ends() -> None:
    """Overlap is seen on the values only: windows one after the other with no sample in
    common (a stride of a whole window) cannot be told from windows of different recordings."""
    signal = np.random.default_rng(2).normal(size=(5 * T, C)).astype(np.float32)
    X = windows(signal, T)
    np.testing.assert_array_equal(with_margins(X, 3, 4), np.pad(X, ((0, 0), (3, 4), (0, 0)), mode="edge"))


def test_a_run_ends_at_gaps_changed_samples_and_lone_windows() -> None:
    rng = np.random.default_rng(3)
    X, runs = session_like(rng, 8)
    got = with_margins(X, 6, 5)
    in_run = np.zeros(len(X), bool)
    for a, b in runs:
        in_run[a:b] = True
        signal = np.concatenate([X[a : b - 1, :8].reshape(-1, C), X[b - 1]])
        for k in range(b - a):
            np.testing.assert_array_equal(got[a + k], by_hand(signal, k * 8, 6, 5))
    for i in np.flatnonzero(~in_run):  # the one sample of a lone window, repeated
        np.testing.assert_array_equal(got[i], np.pad(X[i], ((6, 5), (0, 0)), mode="edge"))
    assert with_margins(np.zeros((0, T, C), np.float32), 6, 5).shape == (0, T + 11, C)


@pytest.mark.parametrize("name", CONFIGS)
def test_the_margins_make_the_last_map_cover_the_window(name: str) -> None:
    """One step of the last map per pooling product of the window; step j sees the samples
    around the window's j-th stretch of P samples symmetrically (to one sample)."""
    cfg = CONFIGS[name]
    p = pool_product(cfg)
    before, after = margins(cfg)
    assert before + after == trunk_span(cfg) - p and 0 <= after - before <= 1
    assert trunk_length(cfg, T) == T // p
    net = random_net(cfg)
    assert net.margins == (before, after)
    assert net.features(torch.zeros(1, C, before + T + after)).shape[2] == T // p
    # step j depends on input samples [j p, j p + span) of the window with margins: centred on
    # the window's samples [j p, (j + 1) p)
    span = trunk_span(cfg)
    for j in (0, T // p - 1):
        centre_seen = j * p + (span - 1) / 2 - before
        assert abs(centre_seen - (j * p + (p - 1) / 2)) <= 0.5


def test_the_default_architectures_margins() -> None:
    assert margins(CNN1DConfig()) == (0, 0)
    assert margins(CNN1DConfig(padding="valid")) == (0, 0)
    assert margins(CNN1DConfig(padding="margins")) == (30, 30)
    assert margins(CNN1DConfig(padding="margins", kernel=3)) == (15, 15)
    assert trunk_length(CNN1DConfig(padding="margins"), 128) == 16  # as "same": 128 / 8


@pytest.mark.parametrize("name", CONFIGS)
def test_shared_windows_with_margins_give_the_windows_alone(name: str) -> None:
    cfg = CONFIGS[name]
    rng = np.random.default_rng(5)
    net = random_net(cfg)
    m = member(net, cfg, rng)
    X, _ = session_like(rng, 4 * pool_product(cfg))
    Xm = with_margins(X, *margins(cfg))
    with torch.inference_mode():
        expected = torch.softmax(net(torch.from_numpy(m.normalise(Xm))), dim=1).numpy()
        _, shared = embed_windows(inference_network(net), Xm, m.normalise, batch=8, segment=4)
    assert shared == len(X) - 2  # the windows with margins overlap as the windows do
    for batch in (3, 128):
        np.testing.assert_allclose(m.predict_proba(X, batch=batch), expected, atol=2e-6)
        np.testing.assert_allclose(m.predict_proba(X, batch=batch, share=False), expected, atol=2e-6)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("extra", [0, 1])
def test_margins_cut_with_each_segment_equal_windows_with_margins_built_first(name: str, extra: int) -> None:
    """The trunk takes each run's segments with their margins straight from the windows: the
    very embeddings of the windows with margins built first (:func:`with_margins`), runs, gaps,
    a lone window and a broken run alike; with a hop that is not a multiple of the pools'
    product (``extra``) no window can share, and every one goes alone with its margins."""
    cfg = CONFIGS[name]
    rng = np.random.default_rng(11)
    net = inference_network(random_net(cfg))
    m = member(net, cfg, rng)
    X, _ = session_like(rng, 4 * pool_product(cfg) + extra)
    with torch.inference_mode():
        direct, shared = embed_windows(net, X, m.normalise, batch=8, segment=4, margins=margins(cfg))
        built, shared_built = embed_windows(
            net, with_margins(X, *margins(cfg)), m.normalise, batch=8, segment=4
        )
    assert shared == shared_built
    assert (shared == 0) == (extra and pool_product(cfg) > 1)
    assert torch.equal(direct, built)


def test_cutting_a_session_into_calls_changes_only_the_windows_at_the_cut() -> None:
    """The exact deviation: the last window before a cut loses its real margin after it, the
    first after the cut its margin before it (the end sample repeated instead); every other
    window's probabilities are those of the whole session in one call."""
    cfg = CONFIGS["pool_every_block"]
    rng = np.random.default_rng(6)
    net = random_net(cfg, seed=2)
    m = member(net, cfg, rng)
    hop = 16
    signal = rng.normal(size=(T + 40 * hop, C)).astype(np.float32)
    X = windows(signal, hop)
    before, after = margins(cfg)
    whole = m.predict_proba(X)
    for cut in (1, 2, 7, 20, 40):
        got = np.concatenate([m.predict_proba(X[:cut]), m.predict_proba(X[cut:])])
        others = np.setdiff1d(np.arange(len(X)), [cut - 1, cut])
        np.testing.assert_allclose(got[others], whole[others], atol=2e-6)
        first, second = signal[: (cut - 1) * hop + T], signal[cut * hop :]
        edges = np.stack([by_hand(first, (cut - 1) * hop, before, after), by_hand(second, 0, before, after)])
        with torch.inference_mode():
            expected = torch.softmax(net(torch.from_numpy(m.normalise(edges))), dim=1).numpy()
        np.testing.assert_allclose(got[[cut - 1, cut]], expected, atol=2e-6)
        assert np.abs(got[[cut - 1, cut]] - whole[[cut - 1, cut]]).max() > 1e-5  # a real deviation


def test_margins_go_through_the_model_file(tmp_path) -> None:
    cfg = CONFIGS["pool_every_block"]
    rng = np.random.default_rng(8)
    model = ActivityModel(info(), [member(random_net(cfg), cfg, rng)])
    X = windows(rng.normal(size=(T + 30 * 16, C)), 16)
    loaded = ActivityModel.load(model.save(tmp_path / "m.harmodel"))
    arch = loaded.members[0].arch  # type: ignore[union-attr]
    assert isinstance(arch, CNN1DConfig) and arch.padding == "margins"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_margins_network_trains_on_windows_with_margins() -> None:
    """Training feeds the network each window with its margins (a network given the bare
    windows could not even run: too short for a trunk this deep)."""
    from harlab.ml.training import TrainConfig, train

    cfg = replace(CONFIGS["pool_every_block"], kernel=15)
    rng = np.random.default_rng(9)
    hop = 16
    parts, y, groups = [], [], []
    for g in range(4):
        for cls in range(2):
            sig = rng.normal(size=(T + 7 * hop, C)).astype(np.float32) * (1 + 3 * cls)
            parts.append(windows(sig, hop))
            y += [cls] * len(parts[-1])
            groups += [f"p{g}"] * len(parts[-1])
    X = np.concatenate(parts)
    assert trunk_length(replace(cfg, padding="valid"), T) < 1  # the bare windows are too short
    model = train(
        X,
        np.array(y),
        np.array(groups),
        replace(info(), classes=["a", "b"]),
        TrainConfig(preset="cnn1d", epochs=2, arch={**cfg.__dict__}, context=False, orientation=False),
    )
    net = model.members[0].net  # type: ignore[union-attr]
    assert net.margins == margins(cfg) and sum(net.margins) > 0
    p = model.predict_proba(X)
    assert p.shape == (len(X), 2) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_a_file_whose_margins_would_be_huge_is_refused(tmp_path) -> None:
    """Margins double with every pool: a hostile file of a deep "margins" network must be
    refused from its header, before any window is given margins."""
    from harlab.ml.modelfile import ModelFileError
    from tests.ml.test_shared_trunk import _edit_arch

    cfg = CONFIGS["pool_every_block"]
    model = ActivityModel(info(), [member(random_net(cfg), cfg, np.random.default_rng(10))])
    path = model.save(tmp_path / "deep.harmodel")
    _edit_arch(path, lambda a: a.update(depth=60))
    with pytest.raises(ModelFileError, match="values per window"):
        ActivityModel.load(path)


def test_calibration_gives_a_margins_network_its_margins() -> None:
    """Calibration computes the frozen trunk itself: it must take the windows with their margins
    (with a kernel this long the bare windows are too short for the trunk)."""
    from harlab.ml.calibration import CalibrationConfig, calibrate_sessions
    from harlab.ml.dataset import build_dataset
    from harlab.ml.modelfile import TorchMember
    from harlab.ml.training import TrainConfig, train
    from tests.calibration.conftest import RATE, UNUSUAL, activity_session

    sessions = [activity_session(f"P{i}", i) for i in range(4)]
    data = build_dataset(sessions, window_s=2.0, rate_hz=RATE)
    arch = {"depth": 2, "width": 8, "kernel": 25, "padding": "margins"}
    assert trunk_length(CNN1DConfig(**{**arch, "padding": "valid"}), data.X.shape[1]) < 1
    cfg = TrainConfig(preset="cnn1d", epochs=2, arch=arch, cnn_refit=False, threads=1)
    model = train(data.X, data.y, data.groups, data.info, cfg, context=data.context, blocks=data.blocks)
    result = calibrate_sessions(
        model, [activity_session(UNUSUAL, 100, seconds=30)], CalibrationConfig(threads=1)
    )
    personal = result.model.members[0]
    assert isinstance(personal, TorchMember) and personal.arch.padding == "margins"  # type: ignore[union-attr]
    p = result.model.predict_proba(data.X, data.context)
    assert p.shape == (len(data.X), len(model.classes)) and np.all(np.isfinite(p))
