"""``harlab train SESSIONS... --track activity -o MODEL``: train an activity model.

Windows are cut from the labelled time of the sessions, participants (or, with one
participant, recordings) are held out for early stopping, and the model file keeps
everything needed to apply it later (see ``docs/ML.md``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harlab.cli.ml_options import (
    add_class_rule_args,
    add_train_args,
    add_window_args,
    class_mapping_from_args,
    note,
    run_pipeline,
    session_paths,
    split_list,
    train_config,
    validation_summary,
)
from harlab.cli.shared_options import CANCELLED_EXIT, ZIP_MAGIC, add_force, check_output, has_magic
from harlab.cli.tracking_options import add_tracking_args, options_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an activity model from labelled session files",
        description="Train an activity model on labelled windows of session files; see docs/ML.md.",
    )
    p.add_argument(
        "sessions", nargs="+", metavar="SESSION", help="session files (.h5) or folders holding them"
    )
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="required: model file to write")
    p.add_argument("--name", default=None, help="model name shown with its predictions (default: file stem)")
    add_force(p)
    add_window_args(p)
    add_class_rule_args(p)
    add_train_args(p)
    add_tracking_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.mlops.training_pipeline import TrainRequest, run_training

    check_output(
        args.output, args.sessions, force=args.force, own_kind=has_magic(ZIP_MAGIC), kind="a model file"
    )
    output = Path(args.output)
    req = TrainRequest(
        sources=session_paths(args.sessions),
        track=args.track,
        window_s=args.window,
        stride_s=args.stride,
        rate_hz=args.rate,
        channels=split_list(args.channels),
        policy=args.policy,
        config=train_config(args),
        mapping=class_mapping_from_args(args),
        classes=split_list(args.classes),
        model_name=args.name or output.stem,
    )
    result = run_pipeline(run_training, req, output=output, tracking=options_from_args(args), what="training")
    if result is None:
        return CANCELLED_EXIT
    model = result.model
    note(f"wrote {result.model_path} ({result.seconds:.1f} s)")
    for line in validation_summary(model.info.metrics):
        note(line)
    val = model.info.metrics.get("validation")
    # the scores as the notes above give them, not 0.28888888888888886 (the model file keeps them whole)
    shown = (
        {k: round(v, 4) if isinstance(v, float) else v for k, v in val.items()}
        if isinstance(val, dict)
        else val
    )
    print(json.dumps({"model": str(result.model_path), "classes": model.classes, "validation": shown}))
    return 0
