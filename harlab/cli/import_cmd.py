"""``harlab import PATH... -o OUT``: turn the files people have into harlab sessions.

Files and folders may be mixed; each input becomes one or more ``.h5`` sessions in
OUT. A progress bar goes to stderr, a per-file report to stdout, and the exit code
is 1 when any input failed (the others are still imported).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from harlab.cli.shared_options import add_quiet, check_output, has_magic
from harlab.core.errors import HarlabError, SessionError
from harlab.core.files import SESSION_SUFFIXES
from harlab.core.metadata import check_timezone


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "import",
        help="import recordings and exports into harlab session files",
        usage="harlab import PATH... -o OUT [options]\n       harlab import --list-formats",
        description="Import files or folders; the format of each is detected from its content "
        "unless --format is given. See --list-formats.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to import")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="required: folder for the .h5 session files, or one FILE.h5 when the import "
        "yields a single session",
    )
    p.add_argument("--format", metavar="NAME", help="read every input with this importer")
    p.add_argument(
        "--participant",
        metavar="ID",
        help="participant id for sessions whose source names no subject (a Fitbit export, a "
        "recording); sources that name their subjects (WISDM, UCI HAPT) keep their ids, "
        "and the report says so",
    )
    p.add_argument(
        "--timezone",
        metavar="TZ",
        help="IANA zone (e.g. Europe/Berlin) of local times in the inputs; default UTC",
    )
    p.add_argument("--rate", type=float, metavar="HZ", help="sample rate for formats without a time column")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing session files in OUT (all of an input's files or none of them)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --overwrite, also replace an existing OUT file that is not a harlab session",
    )
    p.add_argument("--list-formats", action="store_true", help="list the known formats and exit")
    add_quiet(p)
    p.set_defaults(func=run)


class ProgressBar:
    """A one-line bar on a terminal; one line per input otherwise (logs stay readable)."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last = -1

    def __call__(self, index: int, total: int, frac: float, message: str) -> None:
        if not self.enabled or total == 0:
            return
        done = min(1.0, (index + frac) / total)
        if self.tty:
            width = 30
            fill = int(done * width)
            text = (
                f"\r[{'#' * fill}{'.' * (width - fill)}] {min(index + 1, total)}/{total} {message[:40]:<40}"
            )
            self.stream.write(text)
            self.stream.flush()
        elif index != self._last and index < total:
            self._last = index
            self.stream.write(f"[{index + 1}/{total}] {message}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def list_formats(out: TextIO) -> None:
    from harlab.importers import importers

    for name, imp in importers().items():
        kind = "file or folder" if imp.accepts_directories else "file"
        out.write(f"{name:22} {imp.description}\n{'':22} ({kind}; names like {', '.join(imp.patterns)})\n")


def run(args: argparse.Namespace) -> int:
    from harlab.importers import ImportOptions
    from harlab.importers.run import import_paths, report_lines

    if args.list_formats:
        list_formats(sys.stdout)
        return 0
    if not args.paths:
        raise HarlabError("import: give at least one PATH (or --list-formats)")
    if not args.output:
        raise HarlabError("import: -o OUT is required")
    if args.timezone:
        try:
            check_timezone(args.timezone)
        except SessionError as exc:
            raise HarlabError(f"--timezone: {exc}") from exc
    if args.format:
        from harlab.importers import get_importer

        get_importer(args.format)  # unknown names fail before anything is read
    options = ImportOptions(participant=args.participant, timezone=args.timezone, rate_hz=args.rate)
    out = Path(args.output)
    out_file = out if out.suffix.lower() in SESSION_SUFFIXES and not out.is_dir() else None
    if out_file is not None:
        from harlab.storage.codec import HDF5_SIGNATURE

        check_output(
            out_file,
            args.paths,
            force=args.force or not out_file.exists(),
            own_kind=has_magic(HDF5_SIGNATURE),
            kind="a harlab session file",
        )
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    try:
        reports = import_paths(args.paths, out, options, args.format, args.overwrite, bar, out_file=out_file)
    finally:
        bar.close()
    if not reports:
        raise HarlabError("import: no importable files found under the given paths")
    for line in report_lines(reports, args.output):
        sys.stdout.write(line + "\n")
    return 0 if all(r.ok for r in reports) else 1
