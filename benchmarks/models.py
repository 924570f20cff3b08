"""Subject-independent benchmark of harlab's activity models (measurement, not CI).

For each dataset, windows are cut once, split into grouped folds by participant
(recording for the single-participant Fitbit seed), and every model is trained and
tested on the *same* folds:

* ``cnn1d``        harlab's 1-D CNN, which also takes the recording context (below)
* ``cnn1d_plain``  the same network on its window alone
* ``cnn1d_ensemble`` the ensemble preset's network: quarter-size with margins
  (``harlab.ml.model_presets.ENSEMBLE_NETWORK``), ``--arch`` over it
* ``seed2d``       the seed project's 2-D CNN (fitbit-formats.md §3.2)
* ``features``     hand-crafted window features + LightGBM, window by window (the bar to beat)
* ``features_ctx`` the same plus each window against its recording (``harlab.ml.context``:
  tilt from the recording's upright, motion against its median; from all windows of the
  recording, labelled or not, never from labels or other participants)
* ``ensemble``     mean of the cnn1d_ensemble and features_ctx probabilities: the default preset; with
  ``"ensemble_weights": "fitted"`` weighted as training weights them, on each fold's validation
  participants (``harlab.ml.ensemble``).
  Training members separately with the same seed and validation split gives exactly the
  members the ``ensemble`` preset trains, so the ensemble costs no extra training here.

Each model is also scored on its timeline (``"timeline"``): each recording's held-out windows
smoothed as ``harlab predict`` smooths a session (``harlab.ml.evaluate.timeline_classes``), what
a person reviewing the predictions sees.

``--cache DIR`` keeps each model's fold probabilities, keyed by dataset, settings and
the source of the code that trains it, so models can run as separate processes (two
cores, two jobs) and a final run with all models assembles the report.

Datasets (``../shared/data``): UCI HAPT raw, classes 1-6, 2.56 s windows with 50 %
overlap at 50 Hz; WISDM 2019 watch accel + gyro, 18 classes, 10 s windows with 5 s
stride resampled to 20 Hz (as Yuan et al.); Fitbit seed recordings, 10 classes,
1 s windows at 10 Hz (as the seed), 5 folds of contiguous time blocks per recording. Prints progress on stderr and, as its last line,
one JSON object with all numbers, with each dataset's memory: what its recording context takes
and the process's peak RSS after loading it and after training on it.

    python benchmarks/models.py                      # everything (hours on 2 cores)
    python benchmarks/models.py --datasets uci --epochs 3 --max-groups 6   # a smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import resource
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import harlab
import harlab.ml.context
import harlab.ml.dataset
import harlab.ml.features
import harlab.ml.features_v1
import harlab.ml.models
import harlab.ml.neighbours
import harlab.ml.orientation
from harlab.importers import ImportOptions, get_importer
from harlab.ml import modelfile, training
from harlab.ml.dataset import Dataset, build_dataset
from harlab.ml.ensemble import fit_member_weights, weighted_mean
from harlab.ml.evaluate import timeline_classes, timeline_scores
from harlab.ml.metrics import classification_report, grouped_kfold
from harlab.ml.model_presets import PRESETS
from harlab.ml.training import TrainConfig, train

DATA = Path(
    os.environ.get("HARLAB_SHARED_DATA") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)
UCI_CLASSES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def context_memory(data: Dataset) -> dict[str, float]:
    """What the dataset's recording context takes (one float32 row per recording, indexed per
    window) against a float64 row per window, the way it was held before."""
    ctx = data.context
    if ctx is None:
        return {}
    per_window_float64 = len(ctx) * ctx.shape[1] * 8
    return {
        "context_mb": round((ctx.table.nbytes + ctx.index.nbytes) / 1e6, 2),
        "context_mb_as_float64_per_window": round(per_window_float64 / 1e6, 1),
    }


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _import(importer_name: str, inputs: list[Path]) -> list:
    imp = get_importer(importer_name)
    sessions = []
    for p in inputs:
        sessions.extend(imp.read(p, ImportOptions()))
    return sessions


def _of(sessions: list, participants: set[str] | None) -> list:
    """The sessions of ``participants`` (all when None)."""
    if participants is None:
        return sessions
    return [s for s in sessions if str(s.metadata.participant_id) in participants]


def load_uci(
    max_groups: int | None,
    stride_s: float = 1.28,
    participants: set[str] | None = None,
    classes: list[str] | None = None,
) -> Dataset:
    """UCI HAPT's windows; ``stride_s`` and ``participants`` cut some participants' windows again
    at another stride (benchmarks/personal.py: calibration's windows)."""
    folder = DATA / "uci-hapt" / "RawData"
    imp = get_importer("uci_hapt")
    inputs = imp.expand(folder)
    sessions = _import("uci_hapt", inputs)
    if max_groups:
        keep = sorted({s.metadata.participant_id for s in sessions})[:max_groups]
        sessions = [s for s in sessions if s.metadata.participant_id in keep]
    names = classes or [c for c in sessions[0].schema.names if c.upper().replace(" ", "_") in UCI_CLASSES]
    return build_dataset(
        _of(sessions, participants),
        "activity",
        2.56,
        stride_s,
        50.0,
        ["accelerometer", "gyroscope"],
        classes=names,
    )


def load_wisdm(
    max_groups: int | None,
    stride_s: float = 5.0,
    participants: set[str] | None = None,
    classes: list[str] | None = None,
) -> Dataset:
    """WISDM's watch windows; ``stride_s`` and ``participants`` as :func:`load_uci`'s, ``classes``
    the class list (some participants lack a class)."""
    folder = DATA / "wisdm2019" / "wisdm-dataset" / "raw" / "watch"
    imp = get_importer("wisdm")
    inputs = imp.expand(folder)
    if max_groups:
        inputs = inputs[:max_groups]
    sessions = _of(_import("wisdm", inputs), participants)
    return build_dataset(
        sessions, "activity", 10.0, stride_s, 20.0, ["accelerometer", "gyroscope"], classes=classes
    )


def load_fitbit(max_groups: int | None) -> Dataset:
    folder = DATA / "fitbit-seed" / "azure" / "fitbit" / "raw_input"
    inputs = sorted(folder.rglob("*.csv"))
    if max_groups:
        inputs = inputs[:max_groups]
    sessions = _import("fitbit_csv", inputs)
    data = build_dataset(sessions, "activity", 1.0, 1.0, 10.0, None)
    # Most classes were recorded once, so holding out whole recordings would test classes
    # never trained on. Instead each recording is cut into 5 contiguous blocks in time and
    # fold j tests block j of every recording (no neighbouring seconds shared across the
    # split, except at the block edges).
    chunk = np.zeros(len(data), np.int64)
    for sid in np.unique(data.windows.session):
        idx = np.flatnonzero(data.windows.session == sid)
        idx = idx[np.argsort(data.windows.start_s[idx])]
        chunk[idx] = (np.arange(len(idx)) * 5) // max(len(idx), 1)
    data.groups = np.array([f"block {c}" for c in chunk])
    data.group_kind = "time block of each recording"
    return data


#: what each benchmarked model is: (preset, TrainConfig overrides)
SPECS: dict[str, tuple[str, dict]] = {
    "cnn1d": ("cnn1d", {}),  # with the recording context (the default)
    # the ensemble preset's network: the cnn1d preset's trained with the ensemble's network
    # defaults (harlab.ml.model_presets.ENSEMBLE_NETWORK), --arch over them
    "cnn1d_ensemble": ("cnn1d", {"arch_defaults": PRESETS["ensemble"].network_defaults}),
    "cnn1d_plain": ("cnn1d", {"context": False}),  # the network on its window alone
    "seed2d": ("seed2d", {"arch": {}}),  # --arch shapes harlab's 1-D CNN; the seed's network stays as it was
    "features": ("features", {"context": False}),  # the plain baseline: window features + LightGBM
    "features_ctx": ("features", {"context": True}),  # ... plus each window against its recording
}
#: the ensemble preset's members
ENSEMBLE = ("cnn1d_ensemble", "features_ctx")
#: the code each model's results depend on; a change to it invalidates cached fold results
_SOURCES = {
    "torch": (
        training.train_torch_member,
        training.augment_batch,
        training.random_rotations,
        modelfile.TorchMember,
        harlab.ml.models,
    ),
    "gbm": (
        training.train_gbm_member,
        training.gbm_params,
        modelfile.BoostedFeaturesMember,
        harlab.ml.features,
        harlab.ml.features_v1,
        harlab.ml.context,
        harlab.ml.neighbours,
        training.without_some_neighbours,
    ),
    "common": (
        training.validation_split,
        training.class_weights,
        training.train,
        harlab.ml.dataset,
        harlab.ml.orientation,
        training.TrainConfig,
    ),
}


def _fingerprint(model: str) -> str:
    parts = _SOURCES["common"] + _SOURCES["gbm" if model.startswith("features") else "torch"]
    return hashlib.sha256("".join(inspect.getsource(p) for p in parts).encode()).hexdigest()[:16]


LOADERS = {"uci": load_uci, "wisdm": load_wisdm, "fitbit": load_fitbit}
AUGMENT = {"uci": "jitter", "wisdm": "jitter", "fitbit": "jitter"}


#: settings that only the networks read (a features run does not depend on them)
_TORCH_ONLY = ("epochs", "batch_size", "lr", "weight_decay", "patience", "augment", "arch")


def _cache_file(
    cache: Path | None, name: str, model: str, cfg: TrainConfig, n: int, folds: list[int]
) -> Path | None:
    """Where one model's fold results on one dataset are kept: keyed by everything that changes them."""
    if cache is None:
        return None
    gbm = model.startswith("features")
    settings = {
        a: b
        for a, b in asdict(cfg).items()
        if a not in ("threads", "preset", "ensemble_weights")
        and not (a.startswith("gbm_") and not gbm)
        and not (a in _TORCH_ONLY and gbm)
    }
    key = json.dumps(
        {
            "dataset": name,
            "model": model,
            "n": n,
            "folds": folds,
            "cfg": settings,
            "harlab": harlab.__version__,
            "source": _fingerprint(model),
        },
        sort_keys=True,
    )
    return cache / f"{name}-{model}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"


def error_summary(rep: dict, worst: int = 5, confusions: int = 8) -> dict:
    """Where a model's errors are: F1 per class, the most frequent confusions (true -> predicted,
    windows) and the participants with the lowest macro-F1, from a classification report."""
    classes = rep["classes"]
    cm = np.asarray(rep["confusion"])
    off = [(int(cm[i, j]), classes[i], classes[j]) for i in range(len(cm)) for j in range(len(cm)) if i != j]
    groups = sorted(rep.get("per_group", {}).items(), key=lambda kv: kv[1]["macro_f1"])[:worst]
    return {
        "per_class_f1": {c: round(v["f1"], 4) for c, v in rep["per_class"].items()},
        "top_confusions": [[t, p, n] for n, t, p in sorted(off, reverse=True)[:confusions] if n],
        "worst_groups": {g: round(v["macro_f1"], 4) for g, v in groups},
    }


def run_dataset(
    name: str,
    data: Dataset,
    models: list[str],
    k: int,
    epochs: int,
    seed: int,
    arch: dict | None = None,
    cache: Path | None = None,
    seed2d_epochs: int | None = None,
    config: dict | None = None,
    only_folds: list[int] | None = None,
) -> dict:
    log(
        f"{name}: {len(data)} windows {data.X.shape[1:]}, {len(np.unique(data.groups))} {data.group_kind}s, "
        f"{len(data.classes)} classes"
    )
    k = min(k, len(np.unique(data.groups)))
    # the same split whichever folds run: --only-folds trains and scores fewer of them, on identical
    # test participants, for a quicker comparison (each fold keeps its own seed)
    numbered = list(enumerate(grouped_kfold(data.groups, k, seed)))
    if only_folds:
        numbered = [numbered[f] for f in only_folds]
    folds = [fold for _, fold in numbered]
    tested = np.sort(np.concatenate([te for _, te in folds]))
    base = TrainConfig(epochs=epochs, seed=seed, augment=AUGMENT[name], arch=arch or {}, **(config or {}))
    probs: dict[str, np.ndarray] = {}
    timing: dict[str, dict[str, float]] = {}
    per_fold: dict[str, list[dict]] = {}
    #: per model, its validation windows and probabilities per fold (and each fold's tested windows)
    validation_of: dict[str, dict[str, np.ndarray]] = {}
    weights_of: list[list[float]] = []
    fold_weights: dict[str, list[list[float]]] = {}
    train_models = [m for m in models if m != "ensemble"]
    if "ensemble" in models:
        train_models += [m for m in ENSEMBLE if m not in train_models]
    for m in train_models:
        preset, overrides = SPECS[m]
        overrides = dict(overrides)
        defaults = overrides.pop("arch_defaults", None)
        if defaults is not None:
            overrides["arch"] = {**defaults, **(arch or {})}
        spec = replace(base, preset=preset, **overrides)
        if m == "seed2d" and seed2d_epochs:
            spec = replace(spec, epochs=seed2d_epochs)
        cached = _cache_file(cache, name, m, spec, len(data), [f for f, _ in numbered])
        if cached is not None and cached.exists():
            z = np.load(cached, allow_pickle=False)
            probs[m] = z["probs"]
            validation_of[m] = {key: z[key] for key in z.files if key.startswith(("val_", "test_idx_"))}
            timing[m] = json.loads(str(z["timing"]))
            per_fold[m] = json.loads(str(z["per_fold"]))
            log(f"{name} {m}: fold results reused from {cached}")
            continue
        probs[m] = np.zeros((len(data), len(data.classes)), np.float32)
        timing[m] = {"train_s": 0.0, "train_windows": 0, "infer_s": 0.0, "infer_windows": 0}
        per_fold[m] = []
        validation = validation_of[m] = {}
        for f, (tr, te) in numbered:
            cfg = replace(spec, seed=seed + f)
            ctx = data.context
            t0 = time.perf_counter()
            model = train(data.X[tr], data.y[tr], data.groups[tr], data.info, cfg, context=ctx[tr])
            t1 = time.perf_counter()
            probs[m][te] = model.predict_proba(data.X[te], ctx[te] if model.needs_references else None)
            t2 = time.perf_counter()
            validation[f"test_idx_{f}"] = te
            if model.validation_proba is not None:
                # the member's probabilities for the fold's validation participants, before any refit on
                # them: what training fits the ensemble's combination on (combinations are compared
                # offline on them without training again)
                mask = training.choose_validation(
                    data.groups[tr], data.y[tr], cfg.val_fraction, cfg.seed, classes=data.classes
                ).mask
                validation[f"val_idx_{f}"] = tr[mask]
                validation[f"val_proba_{f}"] = model.validation_proba
            timing[m]["train_s"] += t1 - t0
            timing[m]["train_windows"] += len(tr)
            timing[m]["infer_s"] += t2 - t1
            timing[m]["infer_windows"] += len(te)
            rep = classification_report(data.y[te], probs[m][te].argmax(1), data.classes)
            per_fold[m].append({"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"], "train_s": t1 - t0})
            log(
                f"{name} {m} fold {f + 1}/{len(numbered)}: acc {rep['accuracy']:.4f} F1 {rep['macro_f1']:.4f} "
                f"({t1 - t0:.0f} s train)"
            )
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                cached,
                probs=probs[m],
                timing=json.dumps(timing[m]),
                per_fold=json.dumps(per_fold[m]),
                y=data.y,
                test_idx=np.concatenate([te for _, te in folds]),
                **validation,
            )
    if "ensemble" in models:
        probs["ensemble"] = (probs[ENSEMBLE[0]] + probs[ENSEMBLE[1]]) / 2
        per_fold["ensemble"] = []
        for f, te in zip([f for f, _ in numbered], [te for _, te in folds], strict=True):
            if base.ensemble_weights == "fitted" and all(
                f"val_idx_{f}" in validation_of[m] for m in ENSEMBLE
            ):
                # the weights training chooses: on the fold's validation participants, from the members
                # before their refit (the same windows for both members: same seed, same split)
                w = fit_member_weights(
                    [validation_of[m][f"val_proba_{f}"] for m in ENSEMBLE],
                    data.y[validation_of[ENSEMBLE[0]][f"val_idx_{f}"]],
                )
                probs["ensemble"][te] = weighted_mean([probs[m][te] for m in ENSEMBLE], w)
                weights_of.append(w)
            rep = classification_report(data.y[te], probs["ensemble"][te].argmax(1), data.classes)
            per_fold["ensemble"].append({"accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"]})
        timing["ensemble"] = {
            key: timing[ENSEMBLE[0]][key] + timing[ENSEMBLE[1]][key] for key in ("train_s", "infer_s")
        }
        timing["ensemble"]["train_windows"] = timing[ENSEMBLE[0]]["train_windows"]
        timing["ensemble"]["infer_windows"] = timing[ENSEMBLE[0]]["infer_windows"]
        if weights_of:
            fold_weights["ensemble"] = weights_of
    results = {}
    for m in models:
        rep = classification_report(
            data.y[tested], probs[m][tested].argmax(1), data.classes, data.groups[tested]
        )
        t = timing[m]
        results[m] = {
            "accuracy": round(rep["accuracy"], 4),
            "macro_f1": round(rep["macro_f1"], 4),
            "fold_accuracy": [round(x["accuracy"], 4) for x in per_fold[m]],
            "fold_macro_f1": [round(x["macro_f1"], 4) for x in per_fold[m]],
            "per_group_macro_f1_min": round(rep["group_spread"]["macro_f1"]["min"], 4),
            **error_summary(rep),
            "train_windows_per_s": round(t["train_windows"] / max(t["train_s"], 1e-9), 1),
            "infer_windows_per_s": round(t["infer_windows"] / max(t["infer_s"], 1e-9), 1),
        }
        if m in fold_weights:
            results[m]["fold_weights"] = fold_weights[m]
        timeline = timeline_classes(probs[m][tested], data, tested)
        if timeline is not None:  # what the timeline shows: each recording smoothed as prediction does
            tl = timeline_scores(data.y[tested], timeline, data.classes, data.groups[tested])
            results[m]["timeline"] = {
                "accuracy": round(tl["accuracy"], 4),
                "macro_f1": round(tl["macro_f1"], 4),
                "per_group_macro_f1_min": round(tl["macro_f1_min_group"], 4),
                "smoothing": tl["smoothing"],
            }
        log(
            f"{name} {m}: accuracy {rep['accuracy']:.4f} macro-F1 {rep['macro_f1']:.4f}"
            + (
                f", timeline macro-F1 {results[m]['timeline']['macro_f1']:.4f}"
                if "timeline" in results[m]
                else ""
            )
        )
    return {
        "n_windows": len(data),
        "n_groups": int(len(np.unique(data.groups))),
        "group_kind": data.group_kind,
        "classes": data.classes,
        "folds": k,
        "folds_run": [f for f, _ in numbered],
        "window_s": data.info.window_s,
        "rate_hz": data.info.rate_hz,
        "augment": AUGMENT[name],
        "epochs": epochs,
        "seed2d_epochs": seed2d_epochs or epochs,
        "arch": arch or {},
        "models": results,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="uci,wisdm,fitbit")
    ap.add_argument("--models", default="cnn1d,seed2d,features,features_ctx,ensemble")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument(
        "--seed2d-epochs", type=int, default=None, help="epochs for the seed's network (default: --epochs)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--only-folds",
        default=None,
        help="run only these folds of the same split, e.g. 0,1 (numbered from 0), for a quicker comparison",
    )
    ap.add_argument(
        "--config",
        default="{}",
        help="TrainConfig overrides as JSON for every model, e.g. '{\"gbm_leaves\": 15}'",
    )
    ap.add_argument("--max-groups", type=int, default=None, help="use only the first N participants/files")
    ap.add_argument("--arch", default="{}", help="network overrides as JSON, e.g. '{\"width\": 32}'")
    ap.add_argument(
        "--cache",
        default=None,
        help="keep each model's fold results here and reuse them when the "
        "dataset, settings and harlab version are the same (run models one at a time, then together)",
    )
    ap.add_argument(
        "--out", default=None, help="also write the JSON to this file (updated after each dataset)"
    )
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(json.dumps({"error": f"{DATA} not present"}))
        return 1
    models = args.models.split(",")
    out: dict = {
        "protocol": "grouped k-fold by participant (fitbit: by recording); same folds for all models",
        "datasets": {},
    }
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        log(f"loading {name}")
        data = LOADERS[name](args.max_groups)
        rss_loaded = peak_rss_mb()
        out["datasets"][name] = run_dataset(
            name,
            data,
            models,
            args.folds,
            args.epochs,
            args.seed,
            json.loads(args.arch),
            Path(args.cache) if args.cache else None,
            args.seed2d_epochs,
            json.loads(args.config),
            [int(f) for f in args.only_folds.split(",")] if args.only_folds else None,
        )
        out["datasets"][name]["wall_s"] = round(time.perf_counter() - t0, 1)
        # peak RSS of the process: after cutting the dataset, and after training every model on it
        # (cumulative over the datasets run before it: run one dataset for its own figure)
        out["datasets"][name]["memory"] = {
            **context_memory(data),
            "peak_rss_mb_after_loading": rss_loaded,
            "peak_rss_mb_after_training": peak_rss_mb(),
        }
        log(f"{name} memory: {out['datasets'][name]['memory']}")
        if args.out:
            Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
