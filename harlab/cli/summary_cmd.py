"""``harlab summary SESSION... [--png FILE|DIR] [--csv FILE|DIR]``: each participant's week.

Per session and local day: minutes of each activity (from a prediction track, or the labels
when there is none), non-wear taken out (the stored track, else detected now), and totals;
printed, and written as the week view's picture (PNG) and as CSV (:mod:`harlab.summary`).
The per-session work is :func:`harlab.summary.summarise_file`, a pure function of the path,
so several sessions (or ``--workers``/``--scheduler``) run it on the cohort engine
(:mod:`harlab.mlops.cohort`, Dask distributed); the client only prints and writes the outputs, in
the order the sessions were given.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harlab.cli.cohort_options import add_cohort_args, run_command_cohort, wants_cluster
from harlab.cli.ml_options import note
from harlab.cli.shared_options import (
    PNG_MAGIC,
    add_force,
    add_quiet,
    check_output,
    has_magic,
    has_suffix,
    quiet_stderr,
)
from harlab.core.errors import HarlabError
from harlab.core.files import input_file, safe_name

if TYPE_CHECKING:
    from harlab.summary import WeekSummary


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "summary",
        help="minutes of each activity per day, non-wear taken out (text, PNG, CSV)",
        description="Summarise each session's days in its timezone: minutes per activity (predicted, or "
        "labelled when the session has no prediction), time not worn and totals. Files are read, never changed.",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5)")
    p.add_argument(
        "--prediction", default=None, metavar="NAME", help="prediction track to count (default: the first)"
    )
    p.add_argument(
        "--labels", default=None, metavar="TRACK", help="count this label track instead of a prediction"
    )
    p.add_argument(
        "--png",
        default=None,
        metavar="FILE|DIR",
        help="write the week view as PNG: a file (one session) or a folder (SESSION.week.png each)",
    )
    p.add_argument(
        "--csv",
        default=None,
        metavar="FILE|DIR",
        help="write the table as CSV: one file for all sessions, or a folder (SESSION.week.csv each)",
    )
    add_force(p)
    add_cohort_args(p, resume=False)
    add_quiet(p)  # handled here: errors of a cohort's sessions stay on stderr with -q
    p.set_defaults(func=run)


def _is_dir(arg: str | None) -> bool:
    return arg is not None and (Path(arg).is_dir() or arg.endswith(("/", os.sep)))


def _target(arg: str, session: str, suffix: str) -> Path:
    return Path(arg) / f"{safe_name(Path(session).stem)}{suffix}"


def quietly(fn: Callable[..., None], quiet: bool, *args: Any) -> None:
    """``fn(*args)`` with its stderr notes swallowed under ``-q``."""
    with quiet_stderr(quiet):
        fn(*args)


def summarise_item(path: str, shared: tuple[str | None, str | None]) -> WeekSummary:
    """One session's week on a cohort worker (``shared`` is the command's track choice)."""
    from harlab.summary import summarise_file

    prediction, labels = shared
    return summarise_file(path, prediction, labels)


def run(args: argparse.Namespace) -> int:
    from harlab.summary import summarise_file, write_summary_csv

    paths = [input_file(s, "a session file") for s in args.sessions]
    png_dir, csv_dir = _is_dir(args.png), _is_dir(args.csv)
    if args.png and not png_dir and len(paths) > 1:
        raise HarlabError(
            f"--png {args.png}: {len(paths)} sessions make {len(paths)} pictures; give a folder"
        )
    for arg, is_dir in ((args.png, png_dir), (args.csv, csv_dir)):
        if arg and is_dir:
            Path(arg).mkdir(parents=True, exist_ok=True)
    png_ok, csv_ok = has_magic(PNG_MAGIC), has_suffix(".csv")
    if args.csv and not csv_dir:
        check_output(args.csv, paths, force=args.force, own_kind=csv_ok, kind="a CSV file", option="--csv")
    if args.png and not png_dir:  # refused before any work, like the CSV
        check_output(args.png, paths, force=args.force, own_kind=png_ok, kind="a PNG picture", option="--png")
    done: list[WeekSummary] = []

    def show(path: str, week: WeekSummary) -> None:
        done.append(week)
        print(f"{path}: {week.source}, timezone {week.timezone or 'UTC'}")
        for d in week.days:
            acts = ", ".join(f"{c} {m:.0f}" for c, m in d.minutes.items() if m >= 0.5)
            print(
                f"  {d.title}: recorded {d.recorded_min:.0f} min, not worn {d.nonwear_min:.0f}, "
                f"unclassified {d.unclassified_min:.0f}; {acts or 'no activity'}"
            )
        print(
            "  total: "
            + (", ".join(f"{c} {m:.0f}" for c, m in week.totals.items()) or "no activity")
            + " (min)",
            flush=True,
        )
        if args.png:
            from harlab.gui.week_view import render_summary_png

            out = _target(args.png, path, ".week.png") if png_dir else Path(args.png)
            check_output(out, paths, force=args.force, own_kind=png_ok, kind="a PNG picture", option="--png")
            render_summary_png(week, out)
            note(f"  wrote {out}")
        if args.csv and csv_dir:
            out = _target(args.csv, path, ".week.csv")
            check_output(out, paths, force=args.force, own_kind=csv_ok, kind="a CSV file", option="--csv")
            write_summary_csv(out, [week])
            note(f"  wrote {out}")

    if len(paths) > 1 or wants_cluster(args):
        # -q keeps the cohort's failure lines; show()'s notes go through quiet_stderr
        code = run_command_cohort(
            args,
            summarise_item,
            [str(p) for p in paths],
            lambda result: quietly(show, args.quiet, result.item, result.value),
            shared=(args.prediction, args.labels),
            done="summarised",
        )
    else:
        code = 0
        for path in paths:
            with quiet_stderr(args.quiet):
                note(f"summarising {path}")
            try:
                week = summarise_file(path, args.prediction, args.labels)
            except HarlabError as exc:
                print(f"{path}: error: {exc}")
                code = 1
                continue
            quietly(show, args.quiet, str(path), week)
    if args.csv and not csv_dir and done:
        write_summary_csv(args.csv, done)
        with quiet_stderr(args.quiet):
            note(f"wrote {args.csv}")
    return code
