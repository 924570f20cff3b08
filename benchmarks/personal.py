"""Personal models measured: does a few seconds of each activity make the general model a person's?

For each dataset (WISDM 2019: 41 subjects, 18 activities; UCI HAPT: 30 subjects, 6
activities), participants are split into grouped folds. For each fold the general model is
trained on the other participants (the default preset unless told otherwise), and for each
test participant and each N in ``--seconds`` (15, 30, 60):

* calibration data: the windows that lie within the first N seconds of each of the
  participant's activities (per recording), cut as ``harlab calibrate`` cuts a participant's
  sessions: one every ``CalibrationConfig.stride_s`` (1 s; ``--cal-stride 0``: the model's stride);
* test data: the windows that start N seconds or more into the activity (the rest of that
  participant's data; no window shared with the calibration data);
* three models scored on the test data (macro-F1): the **general** model, the **calibrated**
  model (:func:`harlab.ml.calibration.calibrate` on the calibration windows), and a model
  trained on the calibration data **alone** (``--own-preset``, default LightGBM on features:
  a network on a minute per activity is what calibration is for).

Reported per dataset and N: mean and worst participant's macro-F1 for each model, and the
calibration time (mean and most). The recording context of a window (harlab.ml.context) comes
from all windows of its recording for every model alike. Windows as benchmarks/models.py cuts
them (WISDM: watch accel + gyro, 10 s windows every 5 s at 20 Hz; UCI: 2.56 s every 1.28 s at
50 Hz). Prints progress on stderr; the last line is one JSON object; results go to
benchmarks/results/personal-DATE.json (``--out``).

    python benchmarks/personal.py                                   # everything (hours on 2 cores)
    python benchmarks/personal.py --datasets wisdm --max-groups 12 --folds 4 --max-folds 1 \\
        --max-test-subjects 3 --epochs 3 --no-refit                 # a quick run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import load_uci, load_wisdm, log  # noqa: E402  (benchmarks/models.py: the same windows)

import harlab  # noqa: E402
from harlab.ml.calibration import (  # noqa: E402
    CHOICE_FIELDS,
    CalibrationConfig,
    CalibrationRefused,
    calibrate_variants,
    calibration_stride,
)
from harlab.ml.dataset import Dataset, time_blocks  # noqa: E402
from harlab.ml.evaluate import timeline_classes  # noqa: E402
from harlab.ml.metrics import classification_report, grouped_kfold  # noqa: E402
from harlab.ml.model_archive import MODEL_SUFFIX  # noqa: E402
from harlab.ml.model_presets import DEFAULT_GBM_NEIGHBOURS  # noqa: E402
from harlab.ml.modelfile import ActivityModel  # noqa: E402
from harlab.ml.training import TrainConfig, train  # noqa: E402

LOADERS = {"wisdm": load_wisdm, "uci": load_uci}
#: ways of calibrating measured side by side (``--variants``): CalibrationConfig fields changed
#: from the defaults; "calibrated" is the default calibration
#: one held-out split judged by a fixed gain of 0.15: the default before cross-fitting with the
#: bootstrap bar (cv5-boot05, now the default: "calibrated")
SPLIT = {"folds": 1, "evidence": "fixed", "min_gain": 0.0}
VARIANTS: dict[str, dict] = {
    "calibrated": {},
    "split": SPLIT,  # the previous default
    # keep whatever blend the held-out windows chose, however small the gain
    "uncapped": {**SPLIT, "weak_share": 1.0, "weak_trees": True},
    # half or a quarter of the heads on weak evidence (the default keeps the general model)
    "weak50": {**SPLIT, "weak_share": 0.5},
    "weak25": {**SPLIT, "weak_share": 0.25},
    "weak0": {**SPLIT, "weak_share": 0.0},
    "no-class-mean": {"class_mean_head": False},  # blend general and fine-tuned heads only
    "fixed-tuned": {"blend_grid": (1.0,), "network_weights": (1.0,), "class_mean_head": False},
    "class-mean-only": {"tuned_head": False},  # blend general and class-mean heads only
    "augment6": {"augment_copies": 6},
    "no-gap": {"gap": False},
    # the gain judged by a bootstrap of the held-out windows instead of a fixed 0.15
    "boot": {**SPLIT, "evidence": "bootstrap"},
    # cross-fitted: 5 folds of time blocks, every calibration window held out once
    "cv5": {**SPLIT, "folds": 5},
    "cv5-boot": {"folds": 5, "evidence": "bootstrap", "min_gain": 0.0},
    "cv5-boot05": {"folds": 5, "evidence": "bootstrap", "min_gain": 0.05},
    "cv5-uncapped": {**SPLIT, "folds": 5, "weak_share": 1.0, "weak_trees": True},
    "cv3-boot": {"folds": 3, "evidence": "bootstrap", "min_gain": 0.0},
    "cv3-boot05": {"folds": 3, "evidence": "bootstrap", "min_gain": 0.05},
}
RESULTS = Path(__file__).resolve().parent / "results"
#: suffix of a row's timeline score (the windows smoothed as prediction smooths them)
TIMELINE = "@timeline"


def first_seconds(data: Dataset, idx: np.ndarray, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, test) window indices among ``idx``: per recording and activity, the windows
    inside its first ``seconds`` and those starting at or after it."""
    ws = data.windows
    cal, rest = [], []
    keys = np.stack([ws.session_index[idx], data.y[idx]], axis=1)
    for key in np.unique(keys, axis=0):
        sel = idx[(keys == key).all(axis=1)]
        t0 = ws.start_s[sel].min()
        cal.append(sel[ws.start_s[sel] + ws.window_s <= t0 + seconds + 1e-9])
        rest.append(sel[ws.start_s[sel] >= t0 + seconds - 1e-9])
    return np.concatenate(cal), np.concatenate(rest)


def calibration_subset(data: Dataset, idx: np.ndarray) -> Dataset:
    """The windows ``idx`` as a dataset of their own, with time blocks of their own (early
    stopping holds out the last block of each activity of what calibration is given)."""
    sub = data.subset(idx)
    ws = data.windows
    sub.blocks = time_blocks(ws.session_index[idx], ws.start_s[idx], data.y[idx])
    # the windows' times and recordings too, as calibration_dataset gives them (calibration
    # leaves out of its fit the windows that overlap a held-out one)
    sub.windows = replace(
        ws,
        X=ws.X[idx],
        y=ws.y[idx],
        participant=ws.participant[idx],
        session=ws.session[idx],
        session_index=ws.session_index[idx],
        start_s=ws.start_s[idx],
        video_start_s=None if ws.video_start_s is None else ws.video_start_s[idx],
        video_end_s=None if ws.video_end_s is None else ws.video_end_s[idx],
    )
    return sub


def macro_f1(model: ActivityModel, data: Dataset, idx: np.ndarray) -> tuple[float, float]:
    """Macro-F1 of ``model`` on windows ``idx``: each window on its own, and the timeline's (each
    recording's windows smoothed as ``harlab predict`` smooths them: :func:`timeline_classes`)."""
    ctx = data.context[idx] if data.context is not None and model.needs_references else None
    probs = model.predict_proba(data.X[idx], ctx)
    timeline = timeline_classes(probs, data, idx)
    assert timeline is not None  # the dataset's own windows: their times are known
    return tuple(  # type: ignore[return-value]
        float(classification_report(data.y[idx], pred, data.classes)["macro_f1"])
        for pred in (probs.argmax(1), timeline)
    )


def summarise(rows: list[dict], seconds: list[float]) -> dict:
    out = {}
    for n in seconds:
        r = [x for x in rows if x["seconds"] == n]
        if not r:
            continue
        entry: dict = {"subjects": len(r)}
        variants = [k for k in r[0] if k.startswith("cal:") and not k.endswith(("_s", "_blend", TIMELINE))]
        models = ["general", "calibrated", *variants, "own"]
        for m in models:
            vals = [x[m] for x in r if x.get(m) is not None]
            if vals:
                entry[m] = {"mean": round(float(np.mean(vals)), 4), "worst": round(float(np.min(vals)), 4)}
            tl = [x[m + TIMELINE] for x in r if x.get(m + TIMELINE) is not None]
            if tl and m in entry:
                entry[m]["timeline"] = {
                    "mean": round(float(np.mean(tl)), 4),
                    "worst": round(float(np.min(tl)), 4),
                }
        times = [x["calibrate_s"] for x in r if x.get("calibrate_s") is not None]
        for m in models:
            t = [x[f"{m}_s"] for x in r if x.get(f"{m}_s") is not None]
            if t and m in entry:
                entry[m]["seconds"] = {"mean": round(float(np.mean(t)), 2), "max": round(float(np.max(t)), 2)}
        if times:
            entry["calibrate_s"] = {
                "mean": round(float(np.mean(times)), 2),
                "max": round(float(np.max(times)), 2),
            }
        entry["refused"] = sum(1 for x in r if x.get("refused"))
        out[str(int(n) if float(n).is_integer() else n)] = entry
    return out


def cache_path(args: argparse.Namespace, name: str, fold: int, train_groups: np.ndarray) -> Path | None:
    """Where the general model of this dataset, fold and training settings is kept between runs
    (``--cache-dir``), named by a hash of everything that makes it: training it takes minutes."""
    if not args.cache_dir:
        return None
    key = {
        "dataset": name,
        "fold": fold,
        "train_subjects": sorted(str(g) for g in np.unique(train_groups)),
        "preset": args.preset,
        "epochs": args.epochs,
        "refit": not args.no_refit,
        "seed": args.seed,
        **({"gbm_neighbours": args.gbm_neighbours} if args.gbm_neighbours != DEFAULT_GBM_NEIGHBOURS else {}),
        "harlab_version": harlab.__version__,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return Path(args.cache_dir) / f"general-{name}-fold{fold}-{digest}{MODEL_SUFFIX}"


def run_dataset(name: str, args: argparse.Namespace) -> dict:
    data = LOADERS[name](args.max_groups)
    seconds = [float(s) for s in args.seconds.split(",")]
    subjects = np.unique(data.groups)
    log(f"{name}: {len(data)} windows, {len(subjects)} {data.group_kind}s, {len(data.classes)} classes")
    if args.max_groups:  # a loader may read every file (WISDM's come in sensor folders)
        subjects = subjects[: args.max_groups]
    pool = np.flatnonzero(np.isin(data.groups, subjects))
    k = min(args.folds, len(subjects))
    folds = [(pool[a], pool[b]) for a, b in grouped_kfold(data.groups[pool], k, args.seed)]
    numbered = list(enumerate(folds))[: args.max_folds or k]
    if args.only_folds:  # the same split, some of its folds (numbered from 0)
        numbered = [numbered[int(x)] for x in args.only_folds.split(",")]
    folds = [fold for _, fold in numbered]
    general_cfg = TrainConfig(
        preset=args.preset,
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        cnn_refit=not args.no_refit,
        gbm_refit=not args.no_refit,
        gbm_neighbours=args.gbm_neighbours,
    )
    own_cfg = replace(general_cfg, preset=args.own_preset, epochs=min(args.epochs, 20))
    cal_cfg = CalibrationConfig(threads=args.threads, seed=args.seed)
    if args.cal_stride is not None:  # 0: the model's stride, as calibration cut before
        cal_cfg = replace(cal_cfg, stride_s=args.cal_stride or data.info.stride_s)
    cal_stride = calibration_stride(data.info.stride_s, cal_cfg.stride_s)
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    rows: list[dict] = []
    train_s = []
    for f, (tr, te) in numbered:
        if args.max_train_subjects:
            tr = tr[np.isin(data.groups[tr], np.unique(data.groups[tr])[: args.max_train_subjects])]
        t0 = time.perf_counter()
        cached = cache_path(args, name, f, data.groups[tr])
        if cached is not None and cached.exists():
            general = ActivityModel.load(cached)
            log(f"{name} fold {f + 1}/{len(folds)}: general model read from {cached}")
        else:
            general = train(
                data.X[tr], data.y[tr], data.groups[tr], data.info, general_cfg, context=data.context[tr]
            )
            train_s.append(time.perf_counter() - t0)
            log(
                f"{name} fold {f + 1}/{len(folds)}: general model trained on {len(tr)} windows "
                f"in {train_s[-1]:.0f} s"
            )
            if cached is not None:
                general.save(cached)
        if args.train_only:
            continue
        test_subjects = np.unique(data.groups[te])[: args.max_test_subjects or None]
        if args.part:  # "K/M": every M-th test participant from the K-th (runs in parallel, --merge)
            k_part, m_part = (int(x) for x in args.part.split("/"))
            test_subjects = test_subjects[k_part - 1 :: m_part]
        # calibration's windows as harlab calibrate cuts them: one every cal_stride seconds
        dense = data
        if abs(cal_stride - data.info.stride_s) > 1e-9 and len(test_subjects):
            dense = LOADERS[name](
                args.max_groups,
                stride_s=cal_stride,
                participants={str(x) for x in test_subjects},
                classes=list(data.classes),
            )
            log(f"{name} fold {f + 1}: {len(dense)} calibration windows cut every {cal_stride:g} s")
        for subj in test_subjects:
            idx = te[data.groups[te] == subj]
            # (the participants of a dataset of one participant are not its groups: time blocks are)
            didx = (
                idx if dense is data else np.flatnonzero(dense.windows.participant.astype(str) == str(subj))
            )
            for n in seconds:
                _, rest = first_seconds(data, idx, n)
                cal, _ = first_seconds(dense, didx, n)
                row: dict = {
                    "fold": f,
                    "subject": str(subj),
                    "seconds": n,
                    "n_cal": len(cal),
                    "n_test": len(rest),
                }
                if len(rest) == 0:
                    continue
                row["general"], row["general" + TIMELINE] = macro_f1(general, data, rest)
                sub = calibration_subset(dense, cal)
                cfgs = [replace(cal_cfg, **VARIANTS[v]) for v in variants]
                try:  # the variants that differ only in how they choose share one fit
                    results = calibrate_variants(general, sub, cfgs)
                except CalibrationRefused as exc:
                    row["refused"] = str(exc)
                    results = []
                scored: dict[str, tuple[float, float]] = {}  # the same fit and blend predict alike
                for variant, c, res in zip(variants, cfgs, results, strict=False):
                    blend = res.model.info.calibration["blend"]
                    row[f"cal:{variant}_s"] = res.seconds
                    row[f"cal:{variant}_blend"] = blend
                    fit = {k: v for k, v in vars(c).items() if k not in CHOICE_FIELDS}
                    chosen = {
                        k: blend[k] for k in ("tuned_head", "class_mean_head", "trees", "network_weight")
                    }
                    key = json.dumps([fit, chosen], sort_keys=True, default=str)
                    if (
                        blend["general_head"] == 1.0
                        and blend["trees"] == "general"
                        and blend["network_weight"] == 1
                    ):
                        scored[key] = (row["general"], row["general" + TIMELINE])  # the general model
                    if key not in scored:
                        scored[key] = macro_f1(res.model, data, rest)
                    row[f"cal:{variant}"], row[f"cal:{variant}{TIMELINE}"] = scored[key]
                row["calibrated"] = row.get(f"cal:{variants[0]}")
                row["calibrated" + TIMELINE] = row.get(f"cal:{variants[0]}{TIMELINE}")
                row["calibrate_s"] = row.get(f"cal:{variants[0]}_s")
                try:
                    if args.no_own:
                        raise RuntimeError("not measured (--no-own)")
                    own = train(
                        sub.X,
                        sub.y,
                        sub.blocks,
                        sub.info,
                        own_cfg,
                        context=sub.context,
                        blocks=sub.blocks,
                        group_kind="time block",
                    )
                    row["own"], row["own" + TIMELINE] = macro_f1(own, data, rest)
                except Exception as exc:  # too few windows of a class to train on is a result too
                    row["own_error"] = str(exc)
                rows.append(row)
                scores = "  ".join(
                    f"{v} {row.get(f'cal:{v}', float('nan')):.3f}/{row.get(f'cal:{v}{TIMELINE}', float('nan')):.3f}"
                    f" ({row.get(f'cal:{v}_s') or 0:.1f} s)"
                    for v in variants
                )
                log(
                    f"{name} {subj} N={n:g}s (windows/timeline): general {row['general']:.3f}/"
                    f"{row['general' + TIMELINE]:.3f}  {scores}  own {row.get('own', float('nan')):.3f}/"
                    f"{row.get('own' + TIMELINE, float('nan')):.3f}  [{len(cal)} cal / {len(rest)} test windows]"
                )
    return {
        "n_windows": len(data),
        "n_subjects": int(len(subjects)),
        "classes": list(data.classes),
        "folds": k,
        "folds_run": [f for f, _ in numbered],
        "general_train_s": [round(t, 1) for t in train_s],
        "by_seconds": summarise(rows, seconds),
        "rows": [{k2: (round(v, 4) if isinstance(v, float) else v) for k2, v in r.items()} for r in rows],
    }


def merge(files: list[str], out: Path) -> int:
    """Join the results of parts of one run (``--part``): their rows, summarised again; the
    settings and load averages of each part are kept under ``parts``."""
    parts = [json.loads(Path(f).read_text()) for f in files]
    result = dict(parts[0])
    result["parts"] = [
        {"file": f, "settings": p["settings"], "machine": p["machine"]}
        for f, p in zip(files, parts, strict=True)
    ]
    result["datasets"] = {}
    for p in parts:
        for name, d in p["datasets"].items():
            entry = result["datasets"].setdefault(name, dict(d, rows=[]))
            entry["rows"] = entry["rows"] + d["rows"]
    for d in result["datasets"].values():
        seconds = sorted({float(r["seconds"]) for r in d["rows"]})
        d["by_seconds"] = summarise(d["rows"], seconds)
    out.write_text(json.dumps(result, indent=1))
    summary = {n: d["by_seconds"] for n, d in result["datasets"].items()}
    print(json.dumps({"benchmark": "personal", "quick_run": result["quick_run"], "results": summary}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="wisdm,uci")
    ap.add_argument("--seconds", default="15,30,60", help="calibration seconds per activity")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-folds", type=int, default=None, help="run only the first N folds")
    ap.add_argument("--only-folds", default=None, help="run only these folds of the split, e.g. 1,2 (from 0)")
    ap.add_argument("--max-test-subjects", type=int, default=None, help="test only N subjects per fold")
    ap.add_argument("--max-groups", type=int, default=None, help="use only the first N subjects of a dataset")
    ap.add_argument(
        "--max-train-subjects", type=int, default=None, help="train each general model on N subjects only"
    )
    ap.add_argument("--preset", default="ensemble", help="the general model's preset")
    ap.add_argument("--own-preset", default="features", help="the model trained on calibration data alone")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--no-refit", action="store_true", help="general model without the refit (half the time)")
    ap.add_argument(
        "--gbm-neighbours",
        type=int,
        default=DEFAULT_GBM_NEIGHBOURS,
        help="the general model's LightGBM temporal context (windows each side; TrainConfig.gbm_neighbours)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--cache-dir", default=None, help="keep each fold's general model here and reuse it (same settings)"
    )
    ap.add_argument(
        "--variants",
        default="calibrated",
        help=f"calibrations compared in the run, the first reported as 'calibrated' ({', '.join(VARIANTS)})",
    )
    ap.add_argument(
        "--cal-stride",
        type=float,
        default=None,
        help="calibration cuts a window at least every this many seconds (default: CalibrationConfig's; "
        "0: the model's stride)",
    )
    ap.add_argument("--no-own", action="store_true", help="skip the model trained on calibration data alone")
    ap.add_argument("--train-only", action="store_true", help="train (and cache) the general models only")
    ap.add_argument("--out", default=None, help="results file (default: results/personal-DATE.json)")
    ap.add_argument("--part", default=None, help="K/M: test only every M-th participant from the K-th")
    ap.add_argument(
        "--merge", default=None, help="FILE,FILE...: join the rows of parts (--part) into --out and summarise"
    )
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge.split(","), Path(args.out))
    quick = bool(
        args.max_folds
        or args.only_folds
        or args.max_test_subjects
        or args.max_groups
        or args.epochs < 40
        or args.no_refit
    )
    result = {
        "benchmark": "personal",
        "harlab_version": harlab.__version__,
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick_run": quick,
        "settings": vars(args),
        "calibration": vars(CalibrationConfig()),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "datasets": {},
    }
    for name in args.datasets.split(","):
        result["datasets"][name] = run_dataset(name, args)
    if args.train_only:  # nothing was measured: no results file to overwrite
        log("general models trained and kept in --cache-dir")
        return 0
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = (
        Path(args.out)
        if args.out
        else RESULTS / f"personal-{datetime.now(UTC):%Y-%m-%d}{'-quick' if quick else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log(f"wrote {out}")
    summary = {n: d["by_seconds"] for n, d in result["datasets"].items()}
    print(json.dumps({"benchmark": "personal", "quick_run": quick, "results": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
