"""The options and output every command that runs over a cohort shares (:mod:`harlab.mlops.cohort`).

``--workers N`` and ``--scheduler ADDRESS`` say where the work runs, ``--no-resume`` (for
commands that write results into sessions) redoes sessions that already hold them. The progress
bar goes to stderr (off with ``-q``); each session's result is printed by the command, in input
order, failures with :func:`print_failure` on stderr (also with ``-q``: errors are never quiet);
:func:`exit_code` is 1 when any session failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from harlab.cli.import_cmd import ProgressBar
from harlab.mlops.cohort import CohortOptions, CohortReport, ItemResult, ProgressFn


def add_cohort_args(p: argparse.ArgumentParser, *, resume: bool = True, what: str = "sessions") -> None:
    g = p.add_argument_group("cluster (Dask distributed; docs/COHORT.md)")
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help=f"worker processes of the local cluster that runs the {what} (default: one per core)",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://login1:8786 from dask-jobqueue on SLURM",
    )
    if resume:
        g.add_argument(
            "--no-resume",
            dest="resume",
            action="store_false",
            help="redo sessions that already hold this result (by default they are skipped)",
        )


def cohort_options(args: argparse.Namespace) -> CohortOptions:
    return CohortOptions(workers=args.workers or 0, scheduler=args.scheduler)


def wants_cluster(args: argparse.Namespace) -> bool:
    """Whether the command line asked for a cluster (``--workers`` or ``--scheduler``)."""
    return args.workers is not None or args.scheduler is not None


def progress_bar(quiet: bool) -> ProgressFn:
    """A progress callback drawing a bar on stderr (one line per session when it is no terminal)."""
    bar = ProgressBar(sys.stderr, enabled=not quiet)

    def show(done: int, total: int, result: ItemResult) -> None:
        bar(done - 1, total, 1.0, f"{result.status} {result.item}")
        if done == total:
            bar.close()

    return show


def print_failure(result: ItemResult) -> None:
    """A failed item's error on stderr (also with ``-q``: errors are never quiet)."""
    message = result.message if result.message.startswith(result.item) else f"{result.item}: {result.message}"
    print(f"harlab: error: {message}", file=sys.stderr, flush=True)


def exit_code(report: CohortReport) -> int:
    """1 when any item failed, else 0 (2 stays the code of a command refused as a whole)."""
    return 0 if report.ok else 1


def run_command_cohort(
    args: argparse.Namespace,
    fn: Callable[..., Any],
    items: Sequence[Any],
    show: Callable[[ItemResult], None],
    *,
    shared: Any = None,
    done: str = "done",
    options: CohortOptions | None = None,
) -> int:
    """A command's cohort from start to exit code: ``fn`` over ``items`` where ``args`` say
    (:func:`add_cohort_args`), the progress bar unless ``args.quiet``, each result to ``show``
    (failures to :func:`print_failure` first, so ``show`` sees only done and skipped ones), the
    summary line (``done`` names what happened to a session: "predicted") and the exit code."""
    from harlab.cli.ml_options import note
    from harlab.mlops.cohort import run_cohort

    quiet = bool(getattr(args, "quiet", False))

    def each(result: ItemResult) -> None:
        if result.status == "failed":
            print_failure(result)
        else:
            show(result)

    report = run_cohort(
        fn,
        items,
        options or cohort_options(args),
        shared=shared,
        on_result=each,
        progress=None if quiet else progress_bar(quiet),
    )
    if not quiet:
        note(report.summary(done))
    return exit_code(report)
