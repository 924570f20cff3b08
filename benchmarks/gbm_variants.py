"""Variants of the LightGBM member on WISDM, on the folds of benchmarks/models.py (measurement, not CI).

Training the whole ensemble on WISDM's grouped 5-fold takes hours on two cores, so candidate
changes to the feature member are compared here on its feature rows alone: the windows are cut,
mapped into one wearing orientation and turned into the member's columns (window features, the
recording context and each window against its recording's median window) once, then every
variant trains LightGBM on the same folds (``grouped_kfold``, seed 0, as ``benchmarks/models.py``)
with the member's settings, for a fixed number of rounds on all training windows (what the refit
does) and scores the held-out participants.

Differences from ``harlab.ml.training.train``: the wearing orientation's upright is taken from
all recordings rather than from each fold's training recordings (on WISDM the same six subjects
are mapped either way), and there is no early stopping (the refit's 800 rounds at the default
learning rate; ``--lr 0.15 --rounds 270`` is the quicker stand-in used to screen variants).

Variants (``--variants``):

* ``base``     the member's columns as trained today (1,215 for accelerometer + gyroscope)
* ``extra``    plus candidate columns (:func:`candidate_features`): the tilt over time (1 s
  low-passed gravity direction, each axis' elevation: spread, range, percentiles, mean change,
  the share of its power below 0.7 Hz), the path the tilt travels, accelerometer-gyroscope
  correlations, how bursty the motion is across 2 s pieces; each also against its recording's median
* ``scaled``   the relative columns divided by the recording's interquartile range of each feature
* ``neighbours`` plus the mean of the window features of the windows up to ``--radius`` strides
  before and after (same recording, one stride apart; held-out windows too, as prediction would
  see them): temporal context, which the member does not have

The last line is one JSON object: per variant and fold the macro-F1, and per variant the per-class
F1, top confusions and worst participants over the folds run.

    python benchmarks/gbm_variants.py --folds 0,1 --lr 0.15 --rounds 270
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import error_summary, load_wisdm, log  # noqa: E402

from harlab.ml.features import find_triads  # noqa: E402
from harlab.ml.metrics import classification_report, grouped_kfold  # noqa: E402
from harlab.ml.modelfile import BoostedFeaturesMember  # noqa: E402
from harlab.ml.orientation import canonicalise, fit_upright  # noqa: E402
from harlab.ml.training import TrainConfig, class_weights, gbm_params  # noqa: E402


def _corr(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p = p - p.mean(1, keepdims=True)
    q = q - q.mean(1, keepdims=True)
    return (p * q).sum(1) / np.sqrt((p * p).sum(1) * (q * q).sum(1) + 1e-12)


def candidate_features(X: np.ndarray, rate_hz: float) -> np.ndarray:
    """(N, 43) candidate columns of windows X (N, T, 6): accelerometer xyz then gyroscope xyz."""
    X = X.astype(np.float64)
    n, t, _ = X.shape
    a, g = X[:, :, 0:3], X[:, :, 3:6]
    k = max(1, int(rate_hz))
    c = np.cumsum(np.pad(a, ((0, 0), (k, 0), (0, 0))), axis=1)
    lp = (c[:, k:] - c[:, :-k]) / k
    u = lp / (np.linalg.norm(lp, axis=2, keepdims=True) + 1e-9)
    ang = np.degrees(np.arcsin(np.clip(u, -1, 1)))
    spec = np.abs(np.fft.rfft(ang - ang.mean(1, keepdims=True), axis=1)) ** 2
    fr = np.fft.rfftfreq(ang.shape[1], 1 / rate_hz)
    p10, p50, p90 = np.percentile(ang, [10, 50, 90], axis=1)
    cols = [
        ang.std(1),
        ang.min(1),
        ang.max(1),
        np.ptp(ang, axis=1),
        p10,
        p50,
        p90,
        np.abs(np.diff(ang, axis=1)).mean(1),
        spec[:, (fr > 0.05) & (fr < 0.7)].sum(1) / (spec.sum(1) + 1e-12),
    ]
    step = np.degrees(np.arccos(np.clip((u[:, 1:] * u[:, :-1]).sum(2), -1, 1)))
    cols.append(step.sum(1, keepdims=True))
    cols.append(np.degrees(np.arccos(np.clip((u[:, :1] * u[:, -1:]).sum(2), -1, 1))))
    am, gm = np.linalg.norm(a, axis=2), np.linalg.norm(g, axis=2)
    coupling = [_corr(a[:, :, i], g[:, :, j]) for i in range(3) for j in range(3)] + [_corr(am, gm)]
    cols.append(np.stack(coupling, 1))
    piece = max(2, int(2 * rate_hz))
    for m in (am, gm):
        sub = m[:, : (t // piece) * piece].reshape(n, -1, piece).std(2)
        cols.append(np.stack([sub.std(1) / (sub.mean(1) + 1e-9), sub.max(1) / (sub.min(1) + 1e-9)], 1))
    return np.concatenate(cols, 1).astype(np.float32)


def per_recording(E: np.ndarray, recording: np.ndarray, scale: bool) -> np.ndarray:
    """Each row of E minus its recording's median (divided by the recording's IQR with ``scale``)."""
    out = np.empty_like(E)
    for r in np.unique(recording):
        s = recording == r
        q25, q50, q75 = np.nanpercentile(E[s], [25, 50, 75], axis=0)
        iqr = np.where(q75 - q25 > 1e-6, q75 - q25, 1.0) if scale else 1.0
        out[s] = (E[s] - q50) / iqr
    return out


def neighbour_mean(
    W: np.ndarray, recording: np.ndarray, start: np.ndarray, stride: float, radius: int
) -> np.ndarray:
    """Per window, the mean of the rows of ``W`` of the windows ``1..radius`` strides before and
    after it in the same recording (NaN where it has none; a window's NaN feature counts as 0)."""
    order = np.lexsort((start, recording))
    pos = np.empty(len(W), np.int64)
    pos[order] = np.arange(len(W))
    total = np.zeros(W.shape, np.float64)
    count = np.zeros(len(W))
    for d in [*range(-radius, 0), *range(1, radius + 1)]:
        other = order[np.clip(pos + d, 0, len(W) - 1)]
        ok = (recording[other] == recording) & (np.abs(start[other] - start - d * stride) < 0.25 * stride)
        total[ok] += np.nan_to_num(W[other[ok]])
        count += ok
    out = (total / np.maximum(count, 1)[:, None]).astype(np.float32)
    out[count == 0] = np.nan
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="base,extra,scaled")
    ap.add_argument("--folds", default="0,1,2,3,4", help="folds of the 5-fold split to run (from 0)")
    ap.add_argument("--lr", type=float, default=TrainConfig.gbm_lr)
    ap.add_argument("--rounds", type=int, default=TrainConfig.gbm_min_rounds)
    ap.add_argument("--max-groups", type=int, default=None)
    ap.add_argument("--radius", type=int, default=2, help="strides each side for the neighbours variant")
    args = ap.parse_args(argv)
    import lightgbm as lgb

    t0 = time.perf_counter()
    data = load_wisdm(args.max_groups)
    ctx = data.context
    upright = fit_upright(ctx)
    X, ctx, _ = canonicalise(data.X, ctx, upright, data.info.channels, data.info.units)
    info = data.info
    member = BoostedFeaturesMember(
        None,
        info.rate_hz,
        find_triads(info.channels, info.units),
        len(info.classes),
        list(info.units),
        channels=list(info.channels),
        uses_context=True,
        relative=True,
    )
    F = member.features(X, ctx)
    recording = np.asarray(ctx.index)
    n_window = (F.shape[1] - 3) // 2  # window features, 3 context columns, the same against the median
    log(f"features {F.shape} in {time.perf_counter() - t0:.0f} s")
    columns = {"base": lambda: F}
    if "extra" in args.variants:
        E = candidate_features(X, info.rate_hz)
        columns["extra"] = lambda: np.concatenate([F, E, per_recording(E, recording, False)], 1)
    if "scaled" in args.variants:
        S = per_recording(F[:, :n_window], recording, True)
        columns["scaled"] = lambda: np.concatenate([F[:, : n_window + 3], S], 1)
    if "neighbours" in args.variants:
        ws = data.windows
        N = neighbour_mean(F[:, :n_window], ws.session_index, ws.start_s, info.stride_s, args.radius)
        columns["neighbours"] = lambda: np.concatenate([F, N], 1)
    folds = list(grouped_kfold(data.groups, 5, 0))
    run = [int(f) for f in args.folds.split(",")]
    out: dict = {"lr": args.lr, "rounds": args.rounds, "folds_run": run, "variants": {}}
    k = len(data.classes)
    for name in args.variants.split(","):
        cols = columns[name]()
        pred = np.full(len(data), -1)
        res: dict = {"n_columns": int(cols.shape[1]), "fold_macro_f1": [], "train_s": []}
        for f in run:
            tr, te = folds[f]
            params = gbm_params(replace(TrainConfig(), gbm_lr=args.lr, seed=f), k, len(tr), 1)
            w = class_weights(data.y[tr], k)[data.y[tr]]
            t1 = time.perf_counter()
            booster = lgb.train(
                params, lgb.Dataset(cols[tr], data.y[tr], weight=w), num_boost_round=args.rounds
            )
            res["train_s"].append(round(time.perf_counter() - t1, 1))
            pred[te] = np.asarray(booster.predict(cols[te])).argmax(1)
            rep = classification_report(data.y[te], pred[te], data.classes)
            res["fold_macro_f1"].append(round(rep["macro_f1"], 4))
            log(f"{name} fold {f}: macro-F1 {rep['macro_f1']:.4f} ({res['train_s'][-1]:.0f} s train)")
        done = pred >= 0
        rep = classification_report(data.y[done], pred[done], data.classes, data.groups[done])
        res.update(
            macro_f1=round(rep["macro_f1"], 4), accuracy=round(rep["accuracy"], 4), **error_summary(rep)
        )
        out["variants"][name] = res
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
