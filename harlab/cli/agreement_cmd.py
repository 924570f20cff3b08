"""``harlab agreement`` and ``harlab consensus``: several annotators' tracks measured and merged.

The work lives in :mod:`harlab.agreement`; these commands pick the tracks, print, and write the
reports (CSV, HTML) or the consensus track (into the session, atomically, under its write lock).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from harlab.cli.ml_options import note, session_file, session_paths
from harlab.cli.shared_options import add_force, check_output, has_suffix
from harlab.core.errors import HarlabError
from harlab.core.files import input_file


def _track_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if len(names) < 2:
        raise argparse.ArgumentTypeError(f"name at least two tracks, comma-separated (got {text!r})")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a track is named twice in {text!r}")
    return names


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be a finite number, zero or more")
    return v


def _positive_seconds(text: str) -> float:
    v = _seconds(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0 seconds")
    return v


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from harlab.agreement.compare import DEFAULT_STEP_S, DEFAULT_TOLERANCE_S

    p = subparsers.add_parser(
        "agreement",
        help="agreement between annotators' label tracks (kappa, alpha, events), one or many sessions",
        description="Compare label tracks made by different annotators, in one session or pooled over many "
        "(files or folders): per-sample (or per-window) agreement, Cohen's kappa (two tracks), Fleiss' kappa, "
        "Krippendorff's alpha (missing labels allowed), per-class agreement, the confusion between "
        "annotators, and event-level agreement (segments whose boundaries lie within --tolerance).",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5) or folders of them")
    p.add_argument(
        "--tracks", required=True, type=_track_list, metavar="A,B[,C]", help="label tracks to compare"
    )
    p.add_argument(
        "--tolerance",
        type=_seconds,
        default=DEFAULT_TOLERANCE_S,
        metavar="S",
        help=f"event matching: both boundaries within S seconds (default {DEFAULT_TOLERANCE_S:g})",
    )
    p.add_argument(
        "--step",
        type=_positive_seconds,
        default=DEFAULT_STEP_S,
        metavar="S",
        help=f"per-sample agreement on a grid every S seconds (default {DEFAULT_STEP_S:g})",
    )
    p.add_argument(
        "--window",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="per-window agreement instead: each track's label is the class covering most of each S-second window",
    )
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument(
        "--report", type=Path, metavar="HTML", help="write an HTML report (confusion PNGs beside it)"
    )
    p.add_argument("--csv", type=Path, metavar="FILE", help="write every number as a tidy CSV")
    add_force(p)
    p.set_defaults(func=run_agreement)

    c = subparsers.add_parser(
        "consensus",
        help="merge annotators' tracks into one consensus track, listing what is left to decide",
        description="Build a consensus label track from several annotators' tracks by a rule, write it into "
        "the session and print the disagreements left for an adjudicator (the workbench walks them).",
    )
    c.add_argument("session", metavar="SESSION", help="session file (.h5), changed in place")
    c.add_argument(
        "--tracks", required=True, type=_track_list, metavar="A,B[,C]", help="label tracks to merge"
    )
    c.add_argument(
        "--rule",
        default="majority",
        metavar="RULE",
        help="majority (default), unanimous, or annotator:NAME (that track or annotator wins where it has a label)",
    )
    c.add_argument("--track", required=True, metavar="OUT", help="name of the consensus track to write")
    c.add_argument(
        "--boundary",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="settle boundary jitter: a disagreement at most S seconds long between two agreed labels, "
        "where everyone says one of the two, ends at its middle (default 0: off)",
    )
    c.add_argument("--csv", type=Path, metavar="FILE", help="write the disagreements left to decide as CSV")
    c.add_argument("--annotator", default="consensus", metavar="WHO", help="annotator of the new track")
    c.add_argument("--dry-run", action="store_true", help="print what would be written; change no file")
    c.add_argument(
        "--force",
        action="store_true",
        help="replace an existing track OUT; overwrite a --csv file of another kind",
    )
    c.set_defaults(func=run_consensus)


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _print_summary(m: Any) -> None:
    from harlab.agreement.compare import SessionAgreement

    def one(s: SessionAgreement, title: str) -> None:
        r = s.reliability
        unit = f"samples every {r.step:g} s" if r.unit == "sample" else f"{r.step:g}-s windows"
        print(
            f"{title}: {r.units} {unit}; labelled " + ", ".join(f"{t} {v:.1%}" for t, v in r.coverage.items())
        )
        kappa = (
            f"Cohen's kappa {_fmt(r.cohen_kappa)}"
            if len(s.tracks) == 2
            else f"Light's kappa {_fmt(r.light_kappa)}"
        )
        alpha_on = (
            f" (on {r.alpha_units} of the {r.pairable_units} units, evenly spaced)"
            if r.alpha_units < r.pairable_units
            else ""
        )
        fleiss_on = f" (on the {r.fleiss_units} units all labelled)" if r.fleiss_units < r.units else ""
        print(
            f"  agreement {_fmt(r.agreement)}   {kappa}   Fleiss' kappa {_fmt(r.fleiss_kappa)}{fleiss_on}   "
            f"Krippendorff's alpha {_fmt(r.krippendorff_alpha)}{alpha_on}"
        )
        for e in s.events:
            st = e.offset_stats()
            print(
                f"  events {e.first}/{e.second} (±{e.tolerance:g} s): {e.matched} of {e.n_first}/{e.n_second} "
                f"matched, precision {_fmt(e.precision)} recall {_fmt(e.recall)} F1 {_fmt(e.f1)}; "
                f"|offset| mean {_fmt(st['mean'], 2)} s, median {_fmt(st['median'], 2)} s, "
                f"95th pct {_fmt(st['p95'], 2)} s"
            )

    for s in m.sessions:
        one(s, s.name)
    if len(m.sessions) > 1:
        one(m.pooled, f"pooled over {len(m.sessions)} sessions")
    r = m.pooled.reliability
    if r.per_class:
        width = max(len(c.name) for c in r.per_class)
        print(f"  {'class':<{width}}  ratings  specific agreement  kappa vs rest")
        for c in r.per_class:
            print(
                f"  {c.name:<{width}}  {c.units:7d}  {_fmt(c.specific_agreement):>18}  {_fmt(c.kappa_vs_rest):>13}"
            )
    for path, why in m.skipped:
        print(f"skipped {path}: {why}")


def run_agreement(args: argparse.Namespace) -> int:
    from harlab.agreement.agreement_report import agreement_dict, write_agreement_csv, write_html_report
    from harlab.agreement.compare import compare_files

    paths = session_paths(args.sessions)
    if args.csv is not None:
        check_output(
            args.csv, paths, force=args.force, own_kind=has_suffix(".csv"), kind="a CSV file", option="--csv"
        )
    if args.report is not None:
        check_output(
            args.report,
            paths,
            force=args.force,
            own_kind=has_suffix(".html", ".htm"),
            kind="an HTML report",
            option="--report",
        )
    m = compare_files(paths, args.tracks, step=args.step, window=args.window, tolerance=args.tolerance)
    if args.json:
        print(json.dumps(agreement_dict(m), indent=2))
    else:
        _print_summary(m)
    if args.csv is not None:
        note(f"wrote {write_agreement_csv(m, args.csv)}")
    if args.report is not None:
        note(f"wrote {write_html_report(m, args.report)}")
    return 0


def run_consensus(args: argparse.Namespace) -> int:
    from harlab.agreement.agreement_report import write_todo_csv
    from harlab.agreement.compare import pick_tracks
    from harlab.agreement.consensus import consensus
    from harlab.storage import open_session

    path = session_file(input_file(args.session, "a session file"))
    if args.track in args.tracks:
        raise HarlabError(f"--track {args.track!r} is one of the tracks being merged; name a new track")
    if args.csv is not None:
        check_output(
            args.csv, [path], force=args.force, own_kind=has_suffix(".csv"), kind="a CSV file", option="--csv"
        )
    with open_session(path, writable=not args.dry_run) as sf:
        session = sf.session
        tracks = pick_tracks(session, args.tracks, str(path))
        if args.track in session.label_tracks and not args.force:
            raise HarlabError(f"{path} already has a label track {args.track!r}; --force replaces it")
        result = consensus(
            tracks, args.rule, name=args.track, annotator=args.annotator, boundary_s=args.boundary
        )
        if not args.dry_run:
            sf.require_sound()
            if args.track in session.label_tracks:
                session.remove_label_track(args.track)
            session.add_label_track(result.track)
            sf.save()
    verb = "would write" if args.dry_run else "wrote"
    print(
        f"{path}: {verb} track {args.track!r} ({result.rule}): {len(result.track)} segments, "
        f"{result.decided_s:.1f} s decided; {len(result.todo)} disagreements left "
        f"({result.open_s:.1f} s)"
    )
    for d in result.todo[:20]:
        labels = ", ".join(f"{t}={lab or '-'}" for t, lab in d.labels)
        print(f"  {d.start:10.2f} - {d.end:10.2f} s  {labels}")
    if len(result.todo) > 20:
        print(
            f"  ... and {len(result.todo) - 20} more" + ("" if args.csv else " (--csv FILE lists them all)")
        )
    if args.csv is not None:
        note(f"wrote {write_todo_csv(result, args.csv)}")
    return 0
