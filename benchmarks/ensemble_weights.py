"""Ways of combining the ensemble's members, compared on cached fold probabilities (measurement, not CI).

``benchmarks/models.py --cache DIR`` keeps, per model and fold, the probabilities for the tested
participants and, for the fold's validation participants, the member's probabilities before any refit
(what training chooses the weights on). This script reads two members' files for one dataset and
scores, on the same tested windows, without training anything:

* ``equal``          the mean of the two members (the default so far)
* ``share=a``        fixed weights a : 1 - a (the first member's share), to see the curve; chosen on the
  tested windows themselves, so not a result, only where the optimum lies
* ``fitted log loss`` / ``fitted macro-F1``  the first member's share chosen per fold on the validation
  participants (``harlab.ml.ensemble.fit_member_weights``), as ``TrainConfig(ensemble_weights="fitted")`` does
* ``geometric``      the normalised geometric mean
* ``temperature``    each member's probabilities sharpened or flattened by a temperature fitted on the
  validation participants (lowest log loss), then averaged

Files: ``DIR/<dataset>-<member>-*.npz`` holding ``probs``, ``y`` and per fold ``test_idx_<f>`` (or one
fold's ``test_idx``), ``val_idx_<f>`` and ``val_proba_<f>``.

    python benchmarks/ensemble_weights.py --cache /work/cache_wisdm --dataset wisdm --members cnn1d,features_ctx
"""

from __future__ import annotations

import argparse
import glob
import json
import sys

import numpy as np
from scipy.optimize import minimize_scalar

from harlab.ml.ensemble import fit_member_weights, log_loss, macro_f1, weighted_mean

_EPS = 1e-7
Fold = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # test idx, test proba, val idx, val proba


def load_member(cache: str, dataset: str, member: str) -> tuple[dict[int, Fold], np.ndarray]:
    """fold -> (tested windows, their probabilities, validation windows, their probabilities), and labels."""
    folds: dict[int, Fold] = {}
    y = np.zeros(0, np.int64)
    for path in sorted(glob.glob(f"{cache}/{dataset}-{member}-*.npz")):
        with np.load(path, allow_pickle=False) as z:
            y = z["y"]
            keys = [k for k in z.files if k.startswith("val_idx_")]
            for key in keys:
                f = int(key.rsplit("_", 1)[1])
                te = z[f"test_idx_{f}"] if f"test_idx_{f}" in z.files else z["test_idx"]
                if len(keys) > 1 and f"test_idx_{f}" not in z.files:
                    raise SystemExit(f"{path}: several folds but no test_idx_{f}")
                folds[f] = (te, z["probs"][te], z[f"val_idx_{f}"], z[f"val_proba_{f}"])
    if not folds:
        raise SystemExit(f"no fold files {cache}/{dataset}-{member}-*.npz with validation probabilities")
    return folds, y


def temper(p: np.ndarray, t: float) -> np.ndarray:
    """Probabilities raised to 1/t and normalised (t > 1 flattens, t < 1 sharpens)."""
    lp = np.log(np.clip(p, _EPS, 1.0)) / t
    lp -= lp.max(1, keepdims=True)
    e = np.exp(lp)
    return e / e.sum(1, keepdims=True)


def fit_temperature(y: np.ndarray, p: np.ndarray) -> float:
    r = minimize_scalar(
        lambda lt: log_loss(y, temper(p, float(np.exp(lt)))), bounds=(-2, 2), method="bounded"
    )
    return float(np.exp(r.x))


def geometric(ps: list[np.ndarray]) -> np.ndarray:
    lp = sum(np.log(np.clip(p, _EPS, 1.0)) for p in ps) / len(ps)
    lp = lp - lp.max(1, keepdims=True)
    e = np.exp(lp)
    return e / e.sum(1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--members", default="cnn1d,features_ctx")
    args = ap.parse_args(argv)
    names = args.members.split(",")
    loaded = [load_member(args.cache, args.dataset, m) for m in names]
    y = loaded[0][1]
    folds = sorted(set.intersection(*[set(f) for f, _ in loaded]))
    out: dict[str, dict[int, np.ndarray]] = {}
    chosen: dict[str, list] = {"fitted log loss": [], "fitted macro-F1": [], "temperature": []}
    for f in folds:
        parts = [fl[f] for fl, _ in loaded]
        te, vi = parts[0][0], parts[0][2]
        if not all(np.array_equal(p[0], te) and np.array_equal(p[2], vi) for p in parts):
            raise SystemExit(f"fold {f}: the members were not tested or validated on the same windows")
        tps, vps = [p[1] for p in parts], [p[3] for p in parts]
        yv = y[vi]
        for name, p in zip(names, tps, strict=True):
            out.setdefault(name, {})[f] = p
        out.setdefault("equal", {})[f] = weighted_mean(tps, [1, 1])
        for a in np.round(np.arange(0.2, 0.81, 0.1), 1):
            out.setdefault(f"share={a:.1f}", {})[f] = weighted_mean(tps, [a, 1 - a])
        for label, crit in (("fitted log loss", "log_loss"), ("fitted macro-F1", "macro_f1")):
            w = fit_member_weights(vps, yv, crit)
            chosen[label].append(w)
            out.setdefault(label, {})[f] = weighted_mean(tps, w)
        out.setdefault("geometric", {})[f] = geometric(tps)
        temps = [fit_temperature(yv, p) for p in vps]
        chosen["temperature"].append([round(t, 3) for t in temps])
        out.setdefault("temperature", {})[f] = weighted_mean(
            [temper(p, t) for p, t in zip(tps, temps, strict=True)], [1, 1]
        )
        print(f"fold {f}: {len(te)} tested, {len(vi)} validation windows", file=sys.stderr)
    results = {}
    for label, per in out.items():
        te_all = np.concatenate([loaded[0][0][f][0] for f in folds])
        p_all = np.concatenate([per[f] for f in folds])
        results[label] = {
            "macro_f1": round(macro_f1(y[te_all], p_all), 4),
            "fold_macro_f1": [round(macro_f1(y[loaded[0][0][f][0]], per[f]), 4) for f in folds],
            "log_loss": round(log_loss(y[te_all], p_all), 4),
            **({"chosen": chosen[label]} if label in chosen else {}),
        }
        print(f"{label:18s} {results[label]}", file=sys.stderr)
    print(
        json.dumps({"dataset": args.dataset, "members": names, "folds_run": folds, "combinations": results})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
