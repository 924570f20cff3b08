"""``harlab labels import SESSION FILE``: label files from ELAN, Audacity, CSV tables and Label Studio
onto a session as new label tracks.

The work is :mod:`harlab.labelfiles` (the same plan and edit the workbench's Import labels
dialog makes); this module reads the options and prints the report. Label Studio JSON is written
by ``harlab export --to labelstudio`` like every other format out.

Exit codes: 0 imported; 1 nothing imported because the file has classes the schema lacks (add
them with ``--add-unknown`` or map them with ``--map``) or conflicts under ``--on-conflict
refuse`` (the report lists each); 2 an error (a file cannot be read, a name is taken or invalid).
In cases 1 and 2 the session file is unchanged.
"""

from __future__ import annotations

import argparse
import sys

from harlab.cli.shared_options import add_quiet
from harlab.core.errors import HarlabError
from harlab.importers._csvspec import CsvSpec, CsvSpecError
from harlab.labelfiles import (
    FORMATS,
    ImportRequest,
    LabelImportError,
    import_into_file,
    plan_import,
    read_label_file,
)
from harlab.labelfiles.label_import import ON_CONFLICT
from harlab.storage import open_session

#: exit code when the import was refused for unknown classes or conflicts (the user decides)
REFUSED_EXIT = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "labels",
        help="import label files (ELAN, Audacity, CSV, Label Studio) onto a session",
        description="Label tracks from other tools. Exporting them: harlab export --to eaf|audacity|segments|labelstudio.",
    )
    sub = p.add_subparsers(dest="labels_command", metavar="SUBCOMMAND", required=True)
    i = sub.add_parser(
        "import",
        help="add a label file's tracks to a session as new label tracks",
        description=(
            "Read a label file and add its tracks to SESSION as new label tracks, saved atomically. "
            "Classes match the session's schema ignoring case and separators; unknown classes are "
            "listed and must be added (--add-unknown) or mapped (--map); times outside the recording, "
            "ends before starts and overlaps on an exclusive track are reported and handled as "
            "--on-conflict says (default: refuse, nothing imported)."
        ),
    )
    i.add_argument("session", metavar="SESSION", help="session file (.h5)")
    i.add_argument(
        "file", metavar="FILE", help="label file: .eaf, Audacity .txt, .csv/.tsv, Label Studio .json"
    )
    i.add_argument(
        "--format",
        default="auto",
        choices=("auto", *FORMATS),
        help="the file's format (default: by name and content)",
    )
    i.add_argument(
        "--from",
        dest="from_tracks",
        action="append",
        metavar="TRACK",
        help="import only this track of the file (an ELAN tier, a Label Studio control; repeatable; default all)",
    )
    i.add_argument("--track", metavar="NAME", help="name of the new track (when one track is imported)")
    i.add_argument(
        "--annotator", metavar="WHO", default="", help="who made the labels (default: what the file says)"
    )
    i.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="label the file's class OLD as the schema's class NEW (repeatable)",
    )
    i.add_argument("--add-unknown", action="store_true", help="add classes the schema lacks to it")
    i.add_argument(
        "--on-conflict",
        choices=ON_CONFLICT,
        default="refuse",
        help="segments outside the recording, reversed or overlapping: clip, skip, or refuse the import (default)",
    )
    i.add_argument(
        "--overlapping",
        action="store_true",
        help="make the new track overlapping (segments may overlap) instead of exclusive",
    )
    i.add_argument(
        "--spec",
        metavar="COLUMN_SPEC",
        help="CSV column spec (.toml/.json): time_column = start, end_column, labels = {track = column}, "
        "time_unit (s, ms, iso, samples, ...), rate_hz, timezone",
    )
    i.add_argument("--dry-run", action="store_true", help="print what would be imported; save nothing")
    add_quiet(i)
    i.set_defaults(func=run_import)


def parse_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise HarlabError(f"--map {item!r}: expected OLD=NEW")
        out[old.strip()] = new.strip()
    return out


def run_import(args: argparse.Namespace) -> int:
    spec = None
    if args.spec:
        try:
            spec = CsvSpec.load(args.spec)
        except CsvSpecError as exc:
            raise HarlabError(str(exc)) from exc
    request = ImportRequest(
        tracks=args.from_tracks,
        annotator=args.annotator.strip(),
        class_map=parse_map(args.map),
        add_unknown=args.add_unknown,
        on_conflict=args.on_conflict,
        policy="overlapping" if args.overlapping else "exclusive",
        track_name=args.track,
    )
    try:
        if args.dry_run:
            with open_session(args.session) as sf:
                file = read_label_file(args.file, sf.session, args.format, spec)
                plan = plan_import(sf.session, file, request)
        else:
            plan = import_into_file(args.session, args.file, request, args.format, spec)
    except LabelImportError as exc:
        print(f"harlab: {exc}", file=sys.stderr)
        return REFUSED_EXIT if exc.plan is not None else 2
    for line in plan.report():
        print(line)
    if args.dry_run:
        print("dry run: nothing saved" if plan.ready else "dry run: the import would be refused (see above)")
        return 0 if plan.ready else REFUSED_EXIT
    if not args.quiet:
        print(f"imported {plan.n_segments} segments into {args.session}", file=sys.stderr)
    return 0
