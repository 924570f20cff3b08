"""The compiled trees on a real model: a LightGBM member trained on real recordings (UCI HAPT
by default, WISDM with ``--dataset wisdm``), its trees applied to every window's features by
each engine of :mod:`harlab.ml.compiled_trees` (the native kernel, onnxruntime) and by
LightGBM's own predict, on one thread, CPU seconds in the same run; with ``--previous-rev``
also that revision's native kernel on the same rows.

Why: ``predict_day.py`` measures the trees of a model trained for a moment on a short
simulated session (shallow trees); a model trained on real data has deeper, uneven trees,
where a kernel that walks every row down each tree may gain less.
Prints progress on stderr and, as its last line, one JSON object.

    HARLAB_SHARED_DATA=../shared/data python benchmarks/trees_real.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import load_uci, load_wisdm  # noqa: E402 (the models benchmark's loaders)

from harlab.ml.compiled_trees import compile_booster  # noqa: E402
from harlab.ml.context import window_features_parallel  # noqa: E402
from harlab.ml.modelfile import BoostedFeaturesMember  # noqa: E402
from harlab.ml.orientation import canonicalise  # noqa: E402
from harlab.ml.training import TrainConfig, set_threads, train  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu(fn):  # type: ignore[no-untyped-def]
    c = time.process_time()
    out = fn()
    return out, round(time.process_time() - c, 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("uci", "wisdm"), default="uci")
    ap.add_argument("--max-groups", type=int, default=None, help="participants read (default all)")
    ap.add_argument(
        "--previous-rev",
        default="",
        help="git revision whose compiled trees (native engine) run on the same rows too ('': none)",
    )
    args = ap.parse_args(argv)
    data = (load_uci if args.dataset == "uci" else load_wisdm)(args.max_groups)
    log(f"{args.dataset}: {len(data)} windows, {len(data.classes)} classes")
    set_threads(0)
    model, train_cpu = cpu(
        lambda: train(
            data.X, data.y, data.groups, data.info, TrainConfig(preset="features"), context=data.context
        )
    )
    log(f"trained in {train_cpu} CPU s")
    member = next(m for m in model.members if isinstance(m, BoostedFeaturesMember))
    info = model.info
    set_threads(1)
    with ThreadPoolExecutor(1) as pool:
        feats = window_features_parallel(data.X, info.channels, info.units, info.rate_hz, pool)
        context = model.recording_references(data.X, executor=pool, window_feats=feats)
    Xc, ctx, _ = canonicalise(data.X, context, info.orientation_upright, info.channels, info.units)
    F = member.features(Xc, ctx, feats)
    dump = member.booster.dump_model()
    depths = []
    for t in dump["tree_info"]:
        stack, deepest = [(t["tree_structure"], 0)], 0
        while stack:
            node, d = stack.pop()
            deepest = max(deepest, d)
            if "split_feature" in node:
                stack += [(node["left_child"], d + 1), (node["right_child"], d + 1)]
        depths.append(deepest)
    out: dict[str, object] = {
        "dataset": args.dataset,
        "windows": len(F),
        "features": int(F.shape[1]),
        "trees": len(depths),
        "depth_mean": round(float(np.mean(depths)), 2),
        "depth_max": int(max(depths)),
        "leaves_mean": round(float(np.mean([t["num_leaves"] for t in dump["tree_info"]])), 2),
    }
    p_lgb, out["lightgbm_cpu_s"] = cpu(lambda: member.predict_features(F, compiled=False))
    for engine in ("native", "onnxruntime"):
        trees, out[f"{engine}_compile_cpu_s"] = cpu(lambda e=engine: compile_booster(member.booster, e))
        if trees is None:
            out[engine] = "not available"
            continue
        p, out[f"{engine}_cpu_s"] = cpu(lambda t=trees: t.predict(F))
        out[f"{engine}_max_abs_diff"] = float(np.abs(p - p_lgb).max())
    if args.previous_rev:  # the previous revision's kernel on the same rows, same thread
        from predict_day import previous_module

        prev = previous_module(args.previous_rev, "harlab/ml/compiled_trees.py")
        trees, out["previous_compile_cpu_s"] = cpu(lambda: prev.compile_booster(member.booster, "native"))
        if trees is not None:
            p, out["previous_native_cpu_s"] = cpu(lambda t=trees: t.predict(F))
            out["previous_native_max_abs_diff"] = float(np.abs(p - p_lgb).max())
            if isinstance(out.get("native_cpu_s"), float):
                out["previous_over_native"] = round(out["previous_native_cpu_s"] / out["native_cpu_s"], 2)  # type: ignore[operator]
        out["previous_rev"] = args.previous_rev
    if isinstance(out.get("native_cpu_s"), float) and isinstance(out.get("onnxruntime_cpu_s"), float):
        out["onnxruntime_over_native"] = round(out["onnxruntime_cpu_s"] / out["native_cpu_s"], 2)  # type: ignore[operator]
        out["lightgbm_over_native"] = round(out["lightgbm_cpu_s"] / out["native_cpu_s"], 2)  # type: ignore[operator]
    log(str(out))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
