"""Command-line tracking options of ``harlab train`` and ``harlab evaluate``: light to import (no MLflow, no torch),
because every command module is imported to build ``harlab --help``."""

from __future__ import annotations

import argparse

from harlab.mlops.paths import DEFAULT_EXPERIMENT, TrackingOptions, tracking_disabled_by_env


def add_tracking_args(p: argparse.ArgumentParser, *, can_register: bool = True) -> None:
    """``--tracking-uri``, ``--experiment``, ``--run-name``, ``--register``, ``--no-track``."""
    g = p.add_argument_group("tracking (MLflow; needs pip install 'harlab[mlops]')")
    g.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the local store in harlab's "
        "data folder)",
    )
    g.add_argument(
        "--experiment", default=DEFAULT_EXPERIMENT, help=f"MLflow experiment ({DEFAULT_EXPERIMENT})"
    )
    g.add_argument("--run-name", default=None, help="MLflow run name")
    if can_register:
        g.add_argument(
            "--register",
            default=None,
            metavar="NAME",
            help="register the trained model under NAME (a new version)",
        )
    g.add_argument(
        "--no-track",
        action="store_true",
        help="do not log to MLflow (also HARLAB_TRACKING=off); the JSON run record is still written "
        "(train: beside the model; else in harlab's data folder, runs/)",
    )


def options_from_args(args: argparse.Namespace) -> TrackingOptions:
    return TrackingOptions(
        enabled=not getattr(args, "no_track", False) and not tracking_disabled_by_env(),
        tracking_uri=getattr(args, "tracking_uri", None),
        experiment=getattr(args, "experiment", DEFAULT_EXPERIMENT) or DEFAULT_EXPERIMENT,
        register=getattr(args, "register", None),
        run_name=getattr(args, "run_name", None),
    )
