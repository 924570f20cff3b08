"""``harlab calibrate MODEL SESSION... -o PERSONAL_MODEL``: adapt a general model to one participant.

The sessions hold the participant's labelled activities (30-60 s of each is enough); their
windows are cut as the model's training windows were, the network's last layers are
fine-tuned with its trunk frozen and the LightGBM member grows a few trees on them, with early
stopping on the last time block of each activity. Classes the participant did not label keep
the general model's behaviour. The personal model records its parent and the calibration
sessions, and the run is tracked (linked to the parent's run) and registered under a name of
its own. Progress goes to stderr; the held-out block's scores before and after are printed,
and the last line is JSON. See docs/ML.md, "Personal models".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harlab.cli.ml_options import note, run_pipeline, session_paths
from harlab.cli.shared_options import CANCELLED_EXIT, ZIP_MAGIC, add_force, check_output, has_magic
from harlab.cli.tracking_options import add_tracking_args, options_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="adapt a general model to one participant from their labelled sessions",
        description=(
            "Adapt a general activity model to one participant with a few labelled minutes of "
            "each activity (a personal model); see docs/ML.md, 'Personal models'."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="the general model: a model file or models:/NAME/VERSION")
    p.add_argument(
        "sessions",
        nargs="+",
        metavar="SESSION",
        help="the participant's labelled session files (.h5) or folders holding them",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PERSONAL_MODEL",
        help="required: personal model file to write",
    )
    p.add_argument("--name", default=None, help="the personal model's name (default: file stem)")
    p.add_argument(
        "--track",
        default=None,
        metavar="NAME",
        help="label track of the sessions (default: the model's track)",
    )
    add_force(p)
    g = p.add_argument_group("calibration")
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        metavar="N",
        help="most epochs for the network's last layers (40; the trunk stays frozen)",
    )
    g.add_argument(
        "--rounds", type=int, default=None, metavar="N", help="most new LightGBM boosting rounds (120)"
    )
    g.add_argument(
        "--min-windows",
        type=int,
        default=None,
        metavar="N",
        help="windows an activity needs to be calibrated; fewer keep the general model's behaviour (8)",
    )
    g.add_argument("--seed", type=int, default=0, help="random seed (%(default)s)")
    g.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="torch/LightGBM threads (default: cores, at most 4)",
    )
    add_tracking_args(p)
    p.set_defaults(func=run)


def _score(rep: dict[str, Any] | None) -> str:
    return (
        "not measured" if rep is None else f"accuracy {rep['accuracy']:.3f}, macro-F1 {rep['macro_f1']:.3f}"
    )


def run(args: argparse.Namespace) -> int:
    from harlab.ml.calibration import CalibrationConfig
    from harlab.mlops.calibration_pipeline import CalibrationRequest, run_calibration

    inputs = [args.model, *args.sessions]
    check_output(args.output, inputs, force=args.force, own_kind=has_magic(ZIP_MAGIC), kind="a model file")
    output = Path(args.output)
    overrides = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("gbm_rounds", args.rounds),
            ("min_windows_per_class", args.min_windows),
        )
        if v is not None
    }
    config = CalibrationConfig(seed=args.seed, threads=args.threads, **overrides)
    req = CalibrationRequest(
        model=args.model if args.model.startswith("models:/") else Path(args.model),
        sources=session_paths(args.sessions),
        config=config,
        track=args.track,
        model_name=args.name or output.stem,
    )
    run_ = run_pipeline(
        run_calibration, req, output=output, tracking=options_from_args(args), what="calibration"
    )
    if run_ is None:
        return CANCELLED_EXIT
    result = run_.result
    note(f"wrote {run_.model_path} ({run_.seconds:.1f} s; calibration {result.seconds:.1f} s)")
    note(f"calibrated: {', '.join(result.calibrated_classes)}")
    if result.fallback_classes:
        note(f"general model's behaviour kept for: {', '.join(result.fallback_classes)}")
    note(f"held out: {result.held_out} ({result.n_held_out} windows)")
    print(f"before (general model):  {_score(result.before)}")
    print(f"after (personal model):  {_score(result.after)}")

    def brief(rep: dict[str, Any] | None) -> dict[str, float] | None:
        return None if rep is None else {k: round(rep[k], 4) for k in ("accuracy", "macro_f1")}

    print(
        json.dumps(
            {
                "model": str(run_.model_path),
                "parent": run_.parent.get("path") or run_.parent.get("model_uri") or run_.parent.get("name"),
                "calibrated_classes": result.calibrated_classes,
                "fallback_classes": result.fallback_classes,
                "before": brief(result.before),
                "after": brief(result.after),
                "seconds": round(result.seconds, 2),
                "run_id": run_.run_id,
                "registered": run_.registered.get("registered_version") if run_.registered else None,
            }
        )
    )
    return 0
