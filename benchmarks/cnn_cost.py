"""What the 1-D CNN member costs per window for a choice of architecture (measurement, not CI).

Inference time depends on the architecture and the window count, not on how well the weights
were trained, so each architecture is trained for one epoch on a short simulated session (the
``cnn1d`` preset, recording context included) and then applied to the first windows of a
simulated 50 Hz wrist session (2.56 s windows every 1.28 s, 6 channels), as
``predict_session`` applies it: ``TorchMember.predict_proba`` on batches of 2048 windows inside
``held_for_inference``, one torch thread, the windows already mapped into the model's orientation.

CPU seconds of the process (what a loaded machine distorts least), the minimum over
``--rounds`` rounds that alternate the architectures, per ``--windows`` windows and scaled to
a 24 h session (67,499 windows), with each architecture's ratio to the first one (the
baseline, measured in the same rounds). A network without padding is measured both with its
overlapping windows sharing their convolutions (:mod:`harlab.ml.shared_trunk`) and window by
window (``alone``). A ``"margins"`` network also gives, on the same windows, how its
probabilities in the session's batches differ from one call over all of them (its margins come
from the windows of the same call: the two windows at each cut differ).

    python benchmarks/cnn_cost.py --archs '[{}, {"width": 32, "max_width": 64}]'
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from harlab.ml.dataset import build_dataset, session_windows
from harlab.ml.modelfile import TorchMember
from harlab.ml.orientation import canonicalise
from harlab.ml.training import TrainConfig, set_threads, train
from harlab.simulate import random_plan, simulate_session

#: windows of a simulated 24 h session at 2.56 s every 1.28 s (benchmarks/predict_day.py)
DAY_WINDOWS = 67499
#: windows per call of predict_proba in a session's prediction (harlab.ml.predict.BATCH)
BATCH = 2048


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def label(arch: dict) -> str:
    return json.dumps(arch, sort_keys=True) if arch else "default"


def cpu_of(member: TorchMember, X: np.ndarray, ctx, share: bool) -> tuple[float, np.ndarray]:
    """CPU seconds of the member over ``X`` in the session's batches, and its probabilities."""
    out = []
    c = time.process_time()
    with member.held_for_inference():
        for i in range(0, len(X), BATCH):
            out.append(member.predict_proba(X[i : i + BATCH], context=ctx[i : i + BATCH], share=share))
    return time.process_time() - c, np.concatenate(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--archs", default='[{}, {"width": 32, "max_width": 64}]', help="JSON list; first = baseline"
    )
    ap.add_argument("--windows", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    archs: list[dict] = json.loads(args.archs)
    set_threads(1)
    hours = args.windows * 1.28 / 3600.0 + 0.05
    day = simulate_session(random_plan(hours * 3600.0, 7), rate_hz=50.0, seed=7, participant="day")
    train_sessions = [
        simulate_session(random_plan(600.0, s), rate_hz=50.0, seed=s, participant=f"P{s}") for s in (1, 2)
    ]
    data = build_dataset(train_sessions, "activity", 2.56, 1.28, 50.0, ["accel", "gyro"])
    members: list[tuple[str, TorchMember]] = []
    X = ctx = None
    for arch in archs:
        model = train(
            data.X,
            data.y,
            data.groups,
            data.info,
            TrainConfig(preset="cnn1d", epochs=1, threads=1, arch=arch, cnn_refit=False),
            context=data.context,
        )
        if X is None:
            sw = session_windows(day, model.info)
            X = sw.X[: args.windows]
            context = model.recording_references(X)
            X, ctx, _ = canonicalise(
                X, context, model.info.orientation_upright, model.info.channels, model.info.units
            )
        members.append((label(arch), model.members[0]))
    assert X is not None
    runs = [(name, m, False) for name, m in members]
    runs += [(name, m, True) for name, m in members if getattr(m.net, "equivariant", False)]
    cpu: dict[tuple[str, bool], float] = {}
    diffs: dict[str, float] = {}
    for r in range(args.rounds):
        for name, m, share in runs:
            s, p = cpu_of(m, X, ctx, share)
            cpu[(name, share)] = min(cpu.get((name, share), np.inf), s)
            if share:
                _, p_alone = cpu_of(m, X[: 2 * BATCH], ctx[: 2 * BATCH], False) if r == 0 else (0.0, None)
                if p_alone is not None:
                    diffs[name] = float(np.abs(p[: len(p_alone)] - p_alone).max())
            log(f"round {r + 1}: {name}{' shared' if share else ''}: {s:.2f} CPU s")
    # a "margins" network takes each window's margins from the windows beside it in the same call:
    # the session's batches against the same windows in one call (only the windows at the cuts differ)
    cuts: dict[str, dict] = {}
    for name, m in members:
        if sum(getattr(m.net, "margins", (0, 0))) == 0:
            continue
        with m.held_for_inference():
            whole = m.predict_proba(X, context=ctx)
        _, batched = cpu_of(m, X, ctx, True)
        diff = np.abs(batched - whole).max(axis=1)
        changed = np.flatnonzero(diff > 1e-5)
        edges = sorted({i for k in range(BATCH, len(X), BATCH) for i in (k - 1, k)})
        cuts[name] = {
            "windows_changed": int(len(changed)),
            "only_at_the_cuts": bool(set(changed.tolist()) <= set(edges)),
            "max_abs_diff": float(diff.max()),
            "class_changed": int((batched.argmax(1) != whole.argmax(1)).sum()),
        }
        log(f"{name}: batches of {BATCH} against one call: {cuts[name]}")
    base = cpu[(members[0][0], False)]
    res: dict = {}
    for name, m, share in runs:
        key = name + (" shared" if share else "")
        s = cpu[(name, share)]
        res[key] = {
            "parameters": sum(int(p.numel()) for p in m.net.parameters()),
            "cpu_s": round(s, 3),
            "cpu_s_per_24h": round(s * DAY_WINDOWS / len(X), 2),
            "baseline_over_this": round(base / max(s, 1e-9), 2),
        }
        if share:
            res[key]["max_abs_diff_shared_alone"] = diffs.get(name, 0.0)
        if name in cuts and share:
            res[key]["batches_against_one_call"] = cuts[name]
    out = {
        "windows": len(X),
        "batch": BATCH,
        "rounds": args.rounds,
        "torch_threads": torch.get_num_threads(),
        "baseline": members[0][0],
        "archs": res,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
