"""``harlab train SESSIONS... --track activity -o MODEL``: train an activity model.

Windows are cut from the labelled time of the sessions, participants (or, with one
participant, recordings) are held out for early stopping, and the model file keeps
everything needed to apply it later (see ``docs/ML.md``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path

from harlab.cli._common import ZIP_MAGIC, add_force, check_output, has_magic
from harlab.cli.ml_options import (
    add_train_args,
    add_window_args,
    dataset_from_args,
    note,
    print_progress,
    train_config,
    validation_summary,
)
from harlab.cli.tracking_options import add_tracking_args, options_from_args
from harlab.core.wording import counted


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "train",
        help="train an activity model from labelled session files",
        description="Train an activity model on labelled windows of session files; see docs/ML.md.",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5) or folders holding them")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="required: model file to write")
    p.add_argument("--name", default=None, help="model name shown with its predictions (default: file stem)")
    add_force(p)
    add_window_args(p)
    add_train_args(p)
    add_tracking_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.ml.training import TrainingCancelled, train
    from harlab.mlops.tracking import RunTracker, log_training

    check_output(args.output, args.sessions, force=args.force, own_kind=has_magic(ZIP_MAGIC), kind="a model file")
    data = dataset_from_args(args, args.sessions)
    cfg = train_config(args)
    info = data.info
    info.name = args.name or Path(args.output).stem
    cancel = threading.Event()
    old = signal.signal(signal.SIGINT, lambda *_: cancel.set()) if threading.current_thread() is threading.main_thread() else None
    note(f"training preset {cfg.preset} on {counted(len(data), 'window')}")
    output = Path(args.output)
    with RunTracker(options_from_args(args), "train", output.with_name(output.name + ".run.json")) as tracker:
        t0 = time.perf_counter()
        try:
            model = train(data.X, data.y, data.groups, info, cfg, tracker.progress(print_progress), cancel,
                          context=data.context, blocks=data.blocks, group_kind=data.group_kind)
        except TrainingCancelled:
            # Ctrl+C is the person's choice, not an error: exit 130 as for any interrupted command
            note(f"harlab: interrupted: training cancelled, {output} not written")
            return 130
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        dt = time.perf_counter() - t0
        model.info.metrics["train_seconds"] = round(dt, 3)
        path = model.save(args.output)
        log_training(tracker, model, data, cfg, path)
    val = model.info.metrics.get("validation")
    note(f"wrote {path} ({dt:.1f} s)")
    for line in validation_summary(model.info.metrics):
        note(line)
    # the scores as the notes above give them, not 0.28888888888888886 (the model file keeps them whole)
    shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in val.items()} if isinstance(val, dict) else val
    print(json.dumps({"model": str(path), "classes": model.classes, "validation": shown}))
    return 0
