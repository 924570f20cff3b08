"""How long applying a model to a whole day (or week) takes: a session -> a prediction track.

A simulated wrist session (50 Hz accelerometer + gyroscope, a random day plan; 24 h by
default: about 67,500 windows of 2.56 s every 1.28 s) is predicted with each preset. The
models are trained for a moment on a short simulated session (LightGBM at its default
800 rounds): inference time depends on the architecture and the window count, not on how
well the weights were trained.

Stage by stage on the same windows, wall seconds (``stages_s``) and CPU seconds of every
thread (``stages_cpu_s``, what a loaded machine distorts least): cutting them (``cut``; against
the previous revision's ``session_windows`` in ``members.cut``), the window features on the
prediction workers (``features``), the recording's reference from them (``reference``),
building the compiled trees (``compile``: the engine :mod:`harlab.ml.compiled_trees` picks,
the native kernel where a C compiler is found; ``compile_onnxruntime``: the previous engine),
the trees over every window on one thread with each engine and through LightGBM (``trees``,
``trees_onnxruntime``, ``trees_lightgbm``), the network on one thread (``torch``), and the
smoothing into segments (``smoothing``). Then ``predict_session`` end to end (a fresh
model load, so the compile is counted), beside the previous path measured in the same run:
the reference computing its own features, every batch its features again, LightGBM's
predict (``old_path_s``; ``--no-baseline`` skips it). Peak RSS of the process at the end.

Each stage besides the network against the revision ``--previous-rev`` in the same run, CPU
seconds and whether the numbers are equal (``members``): ``cut`` (its ``session_windows``),
``features`` (against ``--baseline-rev``, one thread, ``--features-windows``), ``reference``
(its ``references_by_recording`` on the same features), ``context_columns`` (its context and
relative columns), ``trees`` (its compiled trees on the same rows), and their sums
(``non_network``).

The in-run baseline of today's work (``rss.previous``): ``predict_session`` of the revision
``--previous-rev`` (its ``harlab`` unpacked from git) in a fresh process on the same session
and model, beside the current code's (``rss.blocks``): wall and CPU seconds, their ratios, and
how far the probabilities are apart; with ``--repeat N``, N runs of each in turns with their
medians (``rss.turns``: this machine's speed drifts by a fifth within minutes).

Memory (``rss``): ``predict_session`` alone in a fresh process on the same simulated session,
in blocks of :data:`harlab.ml.predict.BLOCK_S` (``blocks``) beside one block the length of the
session (``one_piece``, the previous path's memory; ``--no-one-piece`` skips it): the RSS with
the session loaded (``session_mb``), the peak (``peak_mb``) and what prediction added
(``added_mb``). The stage measurements above hold every window at once, so the process's own
peak is theirs; ``--rss-only`` measures memory alone (a week).
Prints progress on stderr and, as its last line, one JSON object.

    python benchmarks/predict_day.py                 # 24 h, the ensemble
    python benchmarks/predict_day.py --days 7        # a week
    python benchmarks/predict_day.py --hours 2 --presets features,cnn1d,ensemble
    python benchmarks/predict_day.py --days 7 --rss-only --no-one-piece
    python benchmarks/predict_day.py --rss-only --no-one-piece --previous-rev 60333b1 --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from harlab.ml.compiled_trees import compile_booster
from harlab.ml.context import window_features_parallel
from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.features import find_triads, window_features
from harlab.ml.modelfile import ActivityModel, BoostedFeaturesMember, TorchMember
from harlab.ml.orientation import canonicalise
from harlab.ml.predict import BLOCK_S, SmoothingConfig, predict_session, prediction_workers
from harlab.ml.smoothing import segments_from_windows, smooth
from harlab.ml.training import TrainConfig, set_threads, train
from harlab.simulate import random_plan, simulate_session


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def old_path(model: ActivityModel, X: np.ndarray, workers: int, batch: int = 2048) -> np.ndarray:
    """The previous ``predict_windows``: the reference computes the window features for its
    medians, every batch computes them again, and LightGBM predicts; then, as the previous
    ``predict_session`` did for the track's orientation, the whole reference once more."""
    for m in model.members:
        if isinstance(m, BoostedFeaturesMember):
            m.compile_trees = False
    set_threads(1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        context = model.recording_references(X, executor=pool)

        def one(i: int) -> np.ndarray:
            return model.predict_proba(X[i : i + batch], None if context is None else context[i : i + batch])

        out = list(pool.map(one, range(0, len(X), batch)))
    model.recording_references(X)
    for m in model.members:
        if isinstance(m, BoostedFeaturesMember):
            m.compile_trees = True
    return np.concatenate(out)


def previous_features(
    rev: str, X: np.ndarray, info, feats: np.ndarray, limit: int = 16384
) -> tuple[dict, np.ndarray]:
    """The window features of ``harlab/ml/features.py`` at git revision ``rev`` (its code, in
    its own batches) against the current ones on the first ``limit`` windows (0: all), both on
    one thread, in CPU seconds (what a loaded machine distorts least), with the largest
    difference relative to each column's scale and whether they are equal bit for bit."""
    old = previous_module(rev, "harlab/ml/features.py")
    tri = find_triads(info.channels, info.units)
    n = min(len(X), limit) if limit else len(X)
    # the two in turns, 2048 windows at a time, each first every other time: on a loaded machine
    # the load (and what the other processes leave in the caches) changes within seconds, and
    # timing one after the other made the ratio swing between 1.2 and 1.9
    before = after = 0.0
    refs, nows = [], []
    for k, i in enumerate(range(0, n, 2048)):
        part = X[i : min(i + 2048, n)]
        for which in ("old", "now") if k % 2 == 0 else ("now", "old"):
            c = time.process_time()
            if which == "old":
                refs.append(old.window_features(part, info.rate_hz, tri, info.units))
                before += time.process_time() - c
            else:
                nows.append(window_features(part, info.rate_hz, tri, info.units))
                after += time.process_time() - c
    ref = np.concatenate(refs) if refs else feats[:0]
    now = np.concatenate(nows) if nows else feats[:0]
    scale = np.maximum(np.abs(ref), np.nanmax(np.abs(ref), axis=0) * 1e-2) + 1e-6
    rel = np.nan_to_num(np.abs(now - ref) / scale)
    res = {
        "windows": n,
        "previous_cpu_s": round(before, 2),
        "cpu_s": round(after, 2),
        "previous_over_now": round(before / max(after, 1e-9), 2),
        "max_rel_diff": float(rel.max()),
        "bit_equal": bool(np.array_equal(now, ref, equal_nan=True)),
        "same_as_session_pass": bool(np.array_equal(now, feats[:n])),
    }
    log(f"features against {rev}: {res}")
    return res, ref


def previous_module(rev: str, path: str) -> types.ModuleType:
    """The module at ``path`` as it was at git revision ``rev`` (its code, today's imports)."""
    src = subprocess.run(
        ["git", "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent,
    ).stdout
    name = "previous_" + Path(path).stem
    mod = types.ModuleType(name)
    sys.modules[name] = mod  # dataclasses look their module up
    exec(compile(src, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod


def previous_network(m: TorchMember, X: np.ndarray, ctx, p_now: np.ndarray) -> dict:
    """The network in the previous batches of 512 windows against the current 128, one thread,
    CPU seconds, and the largest difference of their probabilities."""
    n = min(len(X), 16384)
    c = time.process_time()
    p_old = m.predict_proba(X[:n], batch=512, context=None if ctx is None else ctx[:n])
    before = time.process_time() - c
    c = time.process_time()
    m.predict_proba(X[:n], context=None if ctx is None else ctx[:n])
    after = time.process_time() - c
    res = {
        "windows": n,
        "batch_512_cpu_s": round(before, 2),
        "batch_128_cpu_s": round(after, 2),
        "512_over_128": round(before / max(after, 1e-9), 2),
        "max_abs_diff": float(np.abs(p_old - p_now[:n]).max()) if n else 0.0,
    }
    log(f"network batches: {res}")
    return res


def shared_network(m: TorchMember, X: np.ndarray, ctx, batch: int = 2048) -> dict:
    """``members.cnn_shared``: the network without padding (``padding: "valid"``; a 'same' member
    is measured through its twin with the same weights) on the same windows, in the session's
    batches of 2048, each window alone against overlapping windows sharing their convolutions
    (:mod:`harlab.ml.shared_trunk`); one thread, CPU seconds, and the largest difference of
    their probabilities. Also the member as trained with the 1-D trunk it had before
    :class:`~harlab.ml.models.ChannelsLastTrunk`, and the shared path with denormals flushed
    to zero (measured, not kept: no gain)."""
    from dataclasses import replace

    from harlab.ml.models import build_network, inference_network

    twin = m
    if getattr(m.arch, "padding", "same") == "same":  # "valid" and "margins" share as they are
        arch = replace(m.arch, padding="valid")
        net = build_network(arch, X.shape[2], m.net_classes(), X.shape[1])
        net.load_state_dict(m.net.state_dict())
        twin = TorchMember(arch, net, m.mean, m.std, m.channels, m.units)
    n = min(len(X), 16384)

    def run(member: TorchMember, share: bool, trunk_1d: bool = False) -> tuple[float, np.ndarray]:
        c = time.process_time()
        p = []
        with member.held_for_inference():
            if trunk_1d:  # the fused network as it was before the channels-last trunk
                member._held = inference_network(member.net, channels_last=False)
            for i in range(0, n, batch):
                j = min(i + batch, n)
                p.append(member.predict_proba(X[i:j], context=None if ctx is None else ctx[i:j], share=share))
        return time.process_time() - c, np.concatenate(p) if p else np.zeros((0, 1), np.float32)

    as_trained_1d, _ = run(m, share=False, trunk_1d=True)
    as_trained, _ = run(m, share=False)
    alone, p_alone = run(twin, share=False)
    shared, p_shared = run(twin, share=True)
    flush = torch.set_flush_denormal(True)
    flushed, p_flushed = run(twin, share=True)
    torch.set_flush_denormal(False)
    res = {
        "windows": n,
        "padding_as_trained": getattr(m.arch, "padding", "same"),
        "as_trained_1d_trunk_cpu_s": round(as_trained_1d, 2),
        "as_trained_cpu_s": round(as_trained, 2),
        "valid_alone_cpu_s": round(alone, 2),
        "valid_shared_cpu_s": round(shared, 2),
        "alone_over_shared": round(alone / max(shared, 1e-9), 2),
        "as_trained_over_shared": round(as_trained / max(shared, 1e-9), 2),
        "max_abs_diff": float(np.abs(p_shared - p_alone).max()) if n else 0.0,
        "flush_denormal_supported": bool(flush),
        "shared_flush_denormal_cpu_s": round(flushed, 2),
        "flush_max_abs_diff": float(np.abs(p_flushed - p_shared).max()) if n else 0.0,
    }
    log(f"network shared: {res}")
    return res


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def simulated(hours: float):
    return simulate_session(random_plan(hours * 3600.0, 7), rate_hz=50.0, seed=7, participant="day")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024.0, 1)
    return peak_rss_mb()


def rss_child(model_path: str, hours: float, block_s: float, workers: int, save: str = "") -> dict:
    """In this process (a child of the benchmark): simulate the session, then predict it alone.
    The simulation's own peak is forgotten first (Linux: ``clear_refs`` 5 resets VmHWM), so the
    peak is the session held plus what prediction adds."""
    day = simulated(hours)
    model = ActivityModel.load(Path(model_path))
    gc.collect()
    session_mb = _status_mb("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    a, c = time.perf_counter(), time.process_time()
    track = predict_session(model, day, add=False, workers=workers, block_s=block_s)
    seconds, cpu = time.perf_counter() - a, time.process_time() - c
    peak = _status_mb("VmHWM")
    if save:
        np.save(save, track.probabilities)
    return {
        "block_s": block_s,
        "windows": len(track.window_start),
        "session_mb": session_mb,
        "peak_mb": peak,
        "added_mb": round(peak - session_mb, 1),
        "predict_session_s": round(seconds, 2),
        # CPU seconds of every thread: on a loaded machine, the wall time on idle cores is about
        # this over the cores used
        "predict_session_cpu_s": round(cpu, 2),
    }


def measure_rss(
    model_path: Path,
    hours: float,
    block_s: float,
    workers: int,
    code: Path | None = None,
    save: Path | None = None,
) -> dict:
    """``predict_session`` in a fresh process; ``code``: a checkout whose ``harlab`` it imports
    (the previous revision's, :func:`previous_checkout`); ``save``: where it saves the probabilities."""
    cmd = [sys.executable, __file__, "--rss-child", str(model_path), "--hours", str(hours)]
    cmd += ["--block-s", str(block_s), "--workers", str(workers)]
    if save is not None:
        cmd += ["--save-probabilities", str(save)]
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"rss block {block_s:g} s{' (' + str(code) + ')' if code else ''}: {res}")
    return res


def in_turns(path: Path, hours: float, workers: int, code: Path, repeat: int, first: dict) -> dict:
    """``predict_session`` of this code and of the previous revision (``code``) ``repeat`` times
    each, in turns (which goes first alternating; the first pair is the one measured already):
    on a machine whose speed drifts by a fifth within minutes, one pair says little, the medians
    of interleaved runs more. Every run's wall and CPU seconds, their medians and ratios."""
    now = [first["blocks"]]
    before = [first["previous"]]
    for r in range(1, repeat):
        for which in ("previous", "now") if r % 2 else ("now", "previous"):
            res = measure_rss(path, hours, BLOCK_S, workers, code if which == "previous" else None)
            (before if which == "previous" else now).append(res)
    out: dict = {"repeat": repeat}
    for name, runs in (("now", now), ("previous", before)):
        out[f"{name}_s"] = [r["predict_session_s"] for r in runs]
        out[f"{name}_cpu_s"] = [r["predict_session_cpu_s"] for r in runs]
        out[f"{name}_median_s"] = float(np.median(out[f"{name}_s"]))
        out[f"{name}_median_cpu_s"] = float(np.median(out[f"{name}_cpu_s"]))
    out["previous_over_now_median_wall"] = round(out["previous_median_s"] / max(out["now_median_s"], 1e-9), 2)
    out["previous_over_now_median_cpu"] = round(
        out["previous_median_cpu_s"] / max(out["now_median_cpu_s"], 1e-9), 2
    )
    log(f"in turns: {out}")
    return out


def previous_checkout(rev: str, into: Path) -> Path:
    """The ``harlab`` package of git revision ``rev`` unpacked under ``into`` (for a baseline run
    of the previous code in the same run, in a process of its own)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "archive", rev, "harlab"], capture_output=True, check=True, cwd=root)
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--days", type=float, default=0.0, help="overrides --hours (7: a week)")
    ap.add_argument("--presets", default="ensemble")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="prediction worker threads (0: harlab's default, every core up to 8)",
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the previous path (slow on a week)")
    ap.add_argument(
        "--baseline-rev",
        default="23bbcff",
        help="git revision whose harlab/ml/features.py is the feature baseline ('' skips it)",
    )
    ap.add_argument(
        "--features-windows",
        type=int,
        default=16384,
        help="windows the features are compared on against --baseline-rev (0: all)",
    )
    ap.add_argument(
        "--arch",
        default="{}",
        help="network overrides as JSON for every preset with a network, e.g. "
        '\'{"width": 32, "max_width": 64, "padding": "margins"}\' (docs/ML.md, the network\'s padding and size)',
    )
    ap.add_argument("--rss-only", action="store_true", help="only the memory of predict_session")
    ap.add_argument(
        "--no-one-piece", action="store_true", help="skip the one-block memory run (10 GB a week)"
    )
    ap.add_argument(
        "--previous-rev",
        default="1abb56a",
        help="git revision whose predict_session is the in-run baseline, in a fresh process ('' skips it)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="predict_session of this code and of --previous-rev this many times each, in turns "
        "(the medians and every run: a noisy machine's spread)",
    )
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    ap.add_argument("--save-probabilities", default="", help=argparse.SUPPRESS)
    ap.add_argument("--block-s", type=float, default=BLOCK_S, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    hours = args.days * 24.0 if args.days else args.hours
    if args.rss_child:
        print(
            json.dumps(rss_child(args.rss_child, hours, args.block_s, args.workers, args.save_probabilities))
        )
        return 0
    t = time.perf_counter()
    day = simulated(hours)
    log(f"simulated {hours:g} h in {time.perf_counter() - t:.1f} s")
    train_sessions = [
        simulate_session(random_plan(600.0, s), rate_hz=50.0, seed=s, participant=f"P{s}") for s in (1, 2)
    ]
    data = build_dataset(train_sessions, "activity", 2.56, 1.28, 50.0, ["accel", "gyro"])
    workers = args.workers or prediction_workers()
    out: dict = {
        "hours": hours,
        "workers": workers,
        "torch_threads_per_worker": 1,
        "block_s": BLOCK_S,
        "arch": json.loads(args.arch),
        "presets": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="harlab-predict-day-"))
    clock = [time.process_time()]  # the CPU time of the process at the last stage's end
    for preset in args.presets.split(","):
        set_threads(1)
        trained = train(
            data.X,
            data.y,
            data.groups,
            data.info,
            TrainConfig(preset=preset, epochs=1, threads=1, arch=json.loads(args.arch)),
        )
        path = trained.save(tmp / f"{preset}.harmodel")
        rss = {"blocks": measure_rss(path, hours, BLOCK_S, workers, save=tmp / "now.npy")}
        if args.previous_rev:
            code = previous_checkout(args.previous_rev, tmp / "previous")
            rss["previous"] = measure_rss(path, hours, BLOCK_S, workers, code, tmp / "previous.npy")
            rss["previous"]["rev"] = args.previous_rev
            now_p, before_p = np.load(tmp / "now.npy"), np.load(tmp / "previous.npy")
            rss["previous_over_now_cpu"] = round(
                rss["previous"]["predict_session_cpu_s"] / max(rss["blocks"]["predict_session_cpu_s"], 1e-9),
                2,
            )
            rss["previous_over_now_wall"] = round(
                rss["previous"]["predict_session_s"] / max(rss["blocks"]["predict_session_s"], 1e-9), 2
            )
            rss["max_abs_diff_previous_now"] = float(np.abs(now_p - before_p).max()) if len(now_p) else 0.0
            rss["same_class_previous_now"] = float((now_p.argmax(1) == before_p.argmax(1)).mean())
            log(f"previous predict_session: {rss['previous']}")
            if args.repeat > 1:
                rss["turns"] = in_turns(path, hours, workers, code, args.repeat, rss)
        if not args.no_one_piece:
            rss["one_piece"] = measure_rss(path, hours, 1e9, workers)
            rss["one_piece_over_blocks_added"] = round(
                rss["one_piece"]["added_mb"] / max(rss["blocks"]["added_mb"], 1e-9), 2
            )
        if args.rss_only:
            out["presets"][preset] = {"rss": rss}
            continue
        model = ActivityModel.load(path)
        info = model.info
        st: dict[str, float] = {}
        cpu: dict[str, float] = {}
        members: dict = {}

        def stage(
            name: str, t0: float, st: dict[str, float] = st, cpu: dict[str, float] = cpu, preset: str = preset
        ) -> float:
            now, c = time.perf_counter(), time.process_time()
            st[name] = round(now - t0, 2)
            cpu[name] = round(c - clock[0], 2)
            clock[0] = c
            log(f"{preset} {name}: {now - t0:.2f} s (CPU {cpu[name]:.2f} s)")
            return now

        def restart() -> float:
            clock[0] = time.process_time()
            return time.perf_counter()

        set_threads(1)
        a = restart()
        sw = session_windows(day, info)
        a = stage("cut", a)
        if args.previous_rev:  # the previous session_windows on the same session, one thread
            old_cut = previous_module(args.previous_rev, "harlab/ml/dataset.py").session_windows
            c = time.process_time()
            sw_before = old_cut(day, info)
            members["cut"] = {
                "previous_cpu_s": round(time.process_time() - c, 2),
                "cpu_s": cpu["cut"],
                "same_windows": bool(
                    np.array_equal(sw_before.X, sw.X) and np.array_equal(sw_before.start, sw.start)
                ),
            }
            log(f"cut against {args.previous_rev}: {members['cut']}")
            del sw_before
            a = restart()
        X = sw.X
        feats = feats_before = None
        with ThreadPoolExecutor(max_workers=workers) as pool:
            if model.takes_window_features():
                feats = window_features_parallel(X, info.channels, info.units, info.rate_hz, pool)
                a = stage("features", a)
                if args.baseline_rev:
                    members["features"], feats_before = previous_features(
                        args.baseline_rev, X, info, feats, args.features_windows
                    )
                a = restart()
            context = model.recording_references(X, executor=pool, window_feats=feats)
            a = stage("reference", a)
            if args.previous_rev and context is not None:  # the previous context module, same pool
                prev_ctx = previous_module(args.previous_rev, "harlab/ml/context.py")
                relative = any(getattr(m, "relative", False) for m in model.members)
                c = time.process_time()
                before = prev_ctx.references_by_recording(
                    np.asarray(X, np.float32),
                    np.zeros(len(X)),
                    info.channels,
                    info.units,
                    info.rate_hz if relative else None,
                    pool,
                    feats,
                )
                members["reference"] = {
                    "previous_cpu_s": round(time.process_time() - c, 2),
                    "cpu_s": cpu["reference"],
                    "bit_equal": bool(np.array_equal(before.table, context.table, equal_nan=True)),
                }
                log(f"reference against {args.previous_rev}: {members['reference']}")
                del before
                a = restart()
        Xc, ctx, _ = canonicalise(X, context, info.orientation_upright, info.channels, info.units)
        probs = []
        for m in model.members:
            if isinstance(m, BoostedFeaturesMember):
                a = restart()
                trees = m.compiled()
                a = stage("compile", a)
                ort = compile_booster(m.booster, "onnxruntime")  # the previous engine
                a = stage("compile_onnxruntime", a)
                F = m.features(Xc, ctx, feats)  # the window features plus the context columns
                a = stage("context_columns", a)
                if args.previous_rev and m.uses_context and ctx is not None:  # the previous way
                    prev_ctx = previous_module(args.previous_rev, "harlab/ml/context.py")
                    c = time.process_time()
                    parts = [feats, prev_ctx.context_features(Xc, ctx, m.channels, m.units)]
                    if m.relative:
                        parts.append(prev_ctx.relative_features(feats, ctx))
                    F_before = np.concatenate(parts, axis=1)
                    members["context_columns"] = {
                        "previous_cpu_s": round(time.process_time() - c, 2),
                        "cpu_s": cpu["context_columns"],
                        "bit_equal": bool(np.array_equal(F_before, F, equal_nan=True)),
                    }
                    log(f"context columns against {args.previous_rev}: {members['context_columns']}")
                    del F_before, parts
                    a = restart()
                p = m.predict_features(F)
                a = stage("trees", a)
                if args.previous_rev:  # the previous compiled trees (their engine) on the same rows
                    prev_trees = previous_module(args.previous_rev, "harlab/ml/compiled_trees.py")
                    c = time.process_time()
                    old_trees = prev_trees.compile_booster(m.booster)
                    compile_before = time.process_time() - c
                    c = time.process_time()
                    p_before = old_trees.predict(F) if old_trees is not None else p
                    trees_before = time.process_time() - c
                    members["trees"] = {
                        "previous_engine": old_trees.engine if old_trees is not None else "lightgbm",
                        "engine": trees.engine if trees is not None else "lightgbm",
                        "layout": getattr(trees, "layout", ""),
                        "previous_cpu_s": round(trees_before, 2),
                        "cpu_s": cpu["trees"],
                        "previous_over_now_cpu": round(
                            (time.process_time() - c) / max(cpu["trees"], 1e-9), 2
                        ),
                        "previous_compile_cpu_s": round(compile_before, 2),
                        "compile_cpu_s": cpu["compile"],
                        "max_abs_diff": float(np.abs(p_before - p).max()) if len(p) else 0.0,
                        "bit_equal": bool(np.array_equal(p_before, p)),
                    }
                    log(f"trees against {args.previous_rev}: {members['trees']}")
                    del old_trees, p_before
                    a = restart()
                p_ort = ort.predict(F) if ort is not None else p
                a = stage("trees_onnxruntime", a)
                p_lgb = m.predict_features(F, compiled=False)
                a = stage("trees_lightgbm", a)
                members["lightgbm"] = {
                    "compiled": trees is not None,
                    "engine": trees.engine if trees is not None else "lightgbm",
                    "max_abs_diff": float(np.abs(p - p_lgb).max()) if len(p) else 0.0,
                    "max_abs_diff_onnxruntime": float(np.abs(p_ort - p_lgb).max()) if len(p) else 0.0,
                    "lightgbm_over_compiled": round(st["trees_lightgbm"] / max(st["trees"], 1e-9), 2),
                    "lightgbm_over_compiled_cpu": round(cpu["trees_lightgbm"] / max(cpu["trees"], 1e-9), 2),
                    "onnxruntime_over_compiled_cpu": round(
                        cpu["trees_onnxruntime"] / max(cpu["trees"], 1e-9), 2
                    ),
                }
                del ort, p_ort
                if feats_before is not None:  # the trees on the previous code's features
                    n = len(feats_before)
                    p_before = m.predict_features(
                        m.features(Xc[:n], None if ctx is None else ctx[:n], feats_before)
                    )
                    members["features"]["trees_max_abs_diff"] = float(np.abs(p_before - p[:n]).max())
                    members["features"]["trees_same_class"] = float(
                        (p_before.argmax(1) == p[:n].argmax(1)).mean()
                    )
                    a = restart()
                probs.append(p)
            elif isinstance(m, TorchMember):
                a = restart()
                p_net = m.predict_proba(Xc, context=ctx)
                a = stage("torch", a)
                probs.append(p_net)
                members["cnn"] = previous_network(m, Xc, ctx, p_net)
                members["cnn_shared"] = shared_network(m, Xc, ctx)
        if args.previous_rev and all(k in members for k in ("cut", "features", "reference", "trees")):
            # the stages besides the network, each against the previous revision in this run; the
            # features on one thread over every window (--features-windows 0), the rest as staged
            stages = ("cut", "features", "reference", "context_columns", "trees")
            now_s = sum(members[k]["cpu_s"] for k in stages if k in members)
            before_s = sum(members[k]["previous_cpu_s"] for k in stages if k in members)
            members["non_network"] = {
                "stages": [k for k in stages if k in members],
                "features_windows": members["features"]["windows"],
                "previous_cpu_s": round(before_s, 2),
                "cpu_s": round(now_s, 2),
                "previous_over_now": round(before_s / max(now_s, 1e-9), 2),
            }
            log(f"non-network stages: {members['non_network']}")
        mean = np.mean(probs, axis=0)
        a = restart()
        labels = smooth(mean, sw.start, info.stride_s, 0.02, 0.0)
        segments_from_windows(labels, mean, sw.start, sw.end, info.stride_s, info.classes)
        stage("smoothing", a)
        del X, Xc, feats, mean, probs, sw, ctx, context  # F exists only with a boosted member
        fresh = ActivityModel.load(path)  # the compile counts, as in a real first prediction
        a = time.perf_counter()
        track = predict_session(fresh, day, smoothing=SmoothingConfig(), add=False, workers=workers)
        total = time.perf_counter() - a
        log(f"{preset} predict_session: {total:.2f} s")
        res: dict = {
            "windows": len(track.window_start),
            "stages_s": st,
            "stages_cpu_s": cpu,
            "members": members,
            "predict_session_s": round(total, 2),
            "real_time_factor": round(hours * 3600.0 / total),
            "windows_per_s": round(len(track.window_start) / total),
            "rss": rss,
        }
        if not args.no_baseline:
            sw = session_windows(day, info)
            a = time.perf_counter()
            p_old = old_path(ActivityModel.load(path), sw.X, workers)
            old = time.perf_counter() - a + st["cut"]
            res["old_path_s"] = round(old, 2)
            res["old_over_new"] = round(old / total, 2)
            res["max_abs_diff_old_new"] = float(np.abs(p_old - track.probabilities).max())
            log(f"{preset} old path: {old:.2f} s (new {total:.2f} s, ratio {old / total:.2f})")
            del sw, p_old
        out["presets"][preset] = res
        log(f"{preset}: {res}")
    out["peak_rss_mb"] = peak_rss_mb()
    out["torch_threads"] = torch.get_num_threads()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
