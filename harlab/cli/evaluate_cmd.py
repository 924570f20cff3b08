"""``harlab evaluate MODEL SESSIONS...`` or ``harlab evaluate --cv K SESSIONS...``.

The first form applies a trained model to labelled sessions it has not seen; the
second cross-validates a preset with whole participants (or recordings) per fold.
Both print accuracy, macro-F1, per-class scores and the spread over participants,
or the full JSON report with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harlab.cli.cohort_options import add_cohort_args, cohort_options, progress_bar, wants_cluster
from harlab.cli.ml_options import (
    add_train_args,
    add_window_args,
    dataset_from_args,
    note,
    print_progress,
    session_paths,
    train_config,
)
from harlab.cli.shared_options import PNG_MAGIC, add_force, check_output, has_magic, has_suffix
from harlab.cli.tracking_options import add_tracking_args, options_from_args
from harlab.core import files
from harlab.core.classnames import describe_unmatched, find_class
from harlab.core.errors import HarlabError
from harlab.core.metadata import sha256_of
from harlab.core.wording import counted

if TYPE_CHECKING:
    from harlab.mlops.tracking import RunTracker


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on labelled sessions, or cross-validate a preset (--cv K)",
        description="harlab evaluate MODEL SESSION...  |  harlab evaluate --cv K SESSION... [training options]",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="MODEL_OR_SESSION",
        help="model file then session files or folders; with --cv only sessions",
    )
    p.add_argument(
        "--cv",
        type=int,
        default=None,
        metavar="K",
        help="grouped K-fold cross-validation of a preset over the sessions' participants",
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON on stdout")
    p.add_argument("--report", default=None, metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument("--confusion", default=None, metavar="PNG", help="draw the confusion matrix to PNG")
    add_window_args(p)
    add_train_args(p)
    add_tracking_args(p, can_register=False)
    add_cohort_args(p, resume=False, what="folds of --cv")
    add_force(p)
    p.set_defaults(func=run)


def trained_on(training: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> list[str]:
    """Names of the ``sessions`` (dataset source entries) that were among a model's training
    sessions: the same session id, or the very same windows under another id (a re-import)."""
    ids = {t.get("session_id") for t in training} - {None, ""}
    digests = {t.get("windows_sha256") for t in training} - {None, ""}
    return [
        s.get("name") or s.get("path", "?")
        for s in sessions
        if s.get("session_id") in ids or s.get("windows_sha256") in digests
    ]


def run(args: argparse.Namespace) -> int:
    from harlab.mlops.tracking import RunTracker

    for opt, path, kind, own in (
        ("--report", args.report, "a JSON report", has_suffix(".json")),
        ("--confusion", args.confusion, "a PNG image", has_magic(PNG_MAGIC)),
    ):
        if path:
            check_output(path, args.paths, force=args.force, own_kind=own, kind=kind, option=opt)
    # usage mistakes are refused before a tracking run is opened (no empty failed runs in the store)
    if args.cv is not None and args.cv < 2:
        raise HarlabError("--cv needs K >= 2")
    if args.cv is None and wants_cluster(args):
        raise HarlabError("--workers and --scheduler run the folds of --cv K; evaluating a model runs here")
    if args.cv is None and len(args.paths) < 2:
        raise HarlabError("give a model file and at least one session file (or --cv K with sessions)")
    session_paths(args.paths if args.cv is not None else args.paths[1:])  # a CSV: 'import it first'
    record = Path(args.report).with_suffix(".run.json") if args.report else None
    with RunTracker(options_from_args(args), "cv" if args.cv is not None else "evaluate", record) as tracker:
        return _run(args, tracker)


def _run(args: argparse.Namespace, tracker: RunTracker) -> int:
    from harlab.ml.evaluate import cross_validate, evaluate_model, format_report, plot_confusion
    from harlab.mlops.registry import load_model_spec
    from harlab.mlops.tracking import log_evaluation

    model_ref = None
    if args.cv is not None:
        if args.cv < 2:
            raise HarlabError("--cv needs K >= 2")
        data = dataset_from_args(args, args.paths)
        cfg = train_config(args)

        folds_done = [0]

        def fold_done(i: int, f: dict[str, Any]) -> None:
            folds_done[0] = i + 1
            note(
                f"fold {i + 1}/{args.cv}: accuracy {f['accuracy']:.4f} macro-F1 {f['macro_f1']:.4f} "
                f"(test {', '.join(f['test_groups'])})"
            )
            if f.get("warning"):
                note(f"warning: fold {i + 1}: {f['warning']}")

        if data.group_kind != "participant":
            note(
                "one participant (or none recorded): each fold tests one time block of every recording, "
                "other minutes of the same people, not new people"
            )
        tracker.log_params({"train": asdict(cfg)})
        run_folds = None
        if wants_cluster(args):  # each fold trains on a worker; the per-epoch progress stays there
            from harlab.mlops.cohort import cohort_fold_runner

            run_folds = cohort_fold_runner(cohort_options(args), progress_bar(quiet=False))
        rep = cross_validate(
            data,
            cfg,
            args.cv,
            seed=args.seed,
            progress=tracker.progress(print_progress, lambda: f"fold{folds_done[0]}/"),
            fold_done=fold_done,
            run_folds=run_folds,
        )
    else:
        if len(args.paths) < 2:
            raise HarlabError("give a model file and at least one session file (or --cv K with sessions)")
        model, ref = load_model_spec(args.paths[0], args.tracking_uri)
        info = model.info
        args.window, args.rate, args.channels = info.window_s, info.rate_hz, ",".join(info.channels)
        if args.track == "activity":
            args.track = info.track
        if args.stride is None:
            args.stride = info.stride_s
        data = dataset_from_args(args, args.paths[1:], classes=None)
        # the same class however each source spells it (harlab.core.classnames)
        matched = {c: find_class(c, model.classes) for c in data.classes}
        unknown = [c for c, m in matched.items() if m is None]
        if unknown:
            keep = [m for m in matched.values() if m is not None]
            if not keep:
                raise HarlabError(
                    f"none of the sessions' classes is a class of the model: "
                    f"{describe_unmatched(unknown, model.classes)}; the model knows "
                    f"{', '.join(model.classes)}"
                )
            note(
                f"warning: leaving out windows of classes the model does not know: "
                f"{describe_unmatched(unknown, model.classes)}"
            )
            data = dataset_from_args(args, args.paths[1:], classes=keep)
        seen = trained_on(model.info.training_sessions, data.sources)
        if seen:
            note(
                f"warning: the model was trained on {len(seen)} of these {counted(len(data.sources), 'session')} "
                f"({', '.join(seen[:5])}{', ...' if len(seen) > 5 else ''}): their scores show what it memorised, "
                "not how it does on new recordings"
            )
        rep = evaluate_model(model, data)
        rep["model"] = {"path": args.paths[0], "name": info.name, "preset": info.preset}
        model_ref = {
            "spec": args.paths[0],
            "name": info.name,
            "preset": info.preset,
            "created_utc": info.created_utc,
            "model_uri": ref.uri if ref else "",
            "sha256": "" if ref else sha256_of(args.paths[0]),
        }
    log_evaluation(tracker, rep, data, model_ref)
    if args.report:
        with files.atomic_open(args.report, "w", encoding="utf-8", durable=False) as f:
            json.dump(rep, f, indent=1)
    if args.confusion:
        plot_confusion(rep, args.confusion)
        note(f"wrote {args.confusion}")
    if args.json:
        json.dump(rep, sys.stdout, indent=1)
        print()
    else:
        print(format_report(rep))
    return 0
