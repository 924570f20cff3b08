"""``harlab export FILE... --to FORMAT -o OUT``: session files out to the formats other tools read.

Session files are opened lazily (streams are read range by range), so exporting a
day-long recording needs little memory. Every format writes all of its files or none.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from harlab.cli.shared_options import add_quiet, refuse_inputs
from harlab.core.errors import HarlabError
from harlab.core.files import SESSION_SUFFIXES, input_file
from harlab.core.window_defaults import DEFAULT_WINDOW_S
from harlab.core.wording import counted
from harlab.exporters.exporter import ExportError, ExportOptions, exporters, get_exporter


def _csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    formats = exporters()
    listing = "\n".join(f"  {n:10} {e.description}" for n, e in formats.items())
    p = subparsers.add_parser(
        "export",
        usage="harlab export FILE... --to FORMAT -o OUT [options]\n       harlab export --list-formats",
        help="export session files to CSV, segment tables, Audacity/ELAN labels or training windows",
        description="Export harlab session files for analysis and training.\n\nFormats (--to):\n"
        + listing
        + "\n\nSee docs/EXPORT.md for the exact layout of each format.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="session files (.h5) or folders holding them")
    p.add_argument(
        "--to",
        dest="format",
        choices=sorted(formats),
        metavar="FORMAT",
        help="required: output format: " + ", ".join(sorted(formats)),
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="required: output file (when the format writes one file) or folder",
    )
    p.add_argument(
        "--track",
        action="append",
        metavar="NAME",
        help="label tracks to export (repeat or comma-separate; default: all, "
        "or the only one for training windows)",
    )
    p.add_argument(
        "--streams",
        type=_csv_list,
        metavar="A,B",
        help="streams or stream.channel entries to export (default: all)",
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="HZ",
        help="csv: merge all streams onto one grid at this rate; windows: window sample rate",
    )
    p.add_argument(
        "--window",
        type=float,
        metavar="S",
        help=f"windows: window length in seconds (default {DEFAULT_WINDOW_S:g}, as train; "
        "rounded to whole samples when not given)",
    )
    p.add_argument(
        "--stride", type=float, metavar="S", help="windows: step between windows (default: half a window)"
    )
    p.add_argument(
        "--label-policy",
        choices=["majority", "centre", "center", "pure"],
        help="windows: how a window gets its class (default majority)",
    )
    p.add_argument(
        "--classes",
        type=_csv_list,
        metavar="A,B",
        help="windows: fixed class list (y indexes it; windows of other classes are left out)",
    )
    p.add_argument(
        "--video-times",
        metavar="NAME",
        help="segments, windows: add each row's start and end in this attached video's own clock "
        "(video_start_s, video_end_s; see 'harlab video list')",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    add_quiet(p)
    p.add_argument("--list-formats", action="store_true", help="list the formats and exit")
    p.set_defaults(func=run)


def _session_files(items: list[str]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        p = input_file(item, "a session file or folder", folders=True)  # FIFOs and devices: refused at once
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SESSION_SUFFIXES)
            if not found:
                raise ExportError(f"{p}: folder holds no session files ({', '.join(SESSION_SUFFIXES)})")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise ExportError(f"{p}: no such file or folder")
    return out


class _Progress:
    """A one-line progress bar on stderr when it is a terminal; quiet otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(round(width * max(0.0, min(1.0, fraction))))
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {message[:40]:40}"
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    if args.list_formats:
        for name, exp in exporters().items():
            print(f"{name:10} {exp.description}")
        return 0
    if not args.files:
        raise ExportError("no session files given: harlab export FILE... --to FORMAT -o OUT")
    if not args.format:
        raise ExportError(f"choose an output format with --to ({', '.join(exporters())})")
    if not args.output:
        raise ExportError("choose where to write with -o OUT")
    exporter = get_exporter(args.format)
    tracks = None
    if args.track:
        tracks = [t.strip() for item in args.track for t in item.split(",") if t.strip()]
    options = ExportOptions(
        tracks=tracks,
        streams=args.streams,
        rate_hz=args.rate,
        window_s=args.window,
        stride_s=args.stride,
        label_policy=args.label_policy,
        classes=args.classes,
        video_times=args.video_times,
        overwrite=args.force,
    )
    exporter.check_options(options)  # before opening anything
    files = _session_files(args.files)
    refuse_inputs(args.output, files)
    options.names = [f.stem for f in files]
    options.session_paths = files

    from harlab.storage import open_session

    progress = _Progress(not args.quiet)
    with contextlib.ExitStack() as stack:
        sessions = []
        for f in files:
            try:
                sessions.append(stack.enter_context(open_session(f)).session)
            except HarlabError:
                raise
            except OSError as exc:
                raise ExportError(f"{f}: cannot open session file ({exc})") from exc
        try:
            written = exporter.export(sessions, Path(args.output), options, progress=progress)
        finally:
            progress.done()
    print(f"wrote {counted(len(written), 'file')}:")  # the result, also with -q
    for w in written:
        print(f"  {w}")
    for w in written:
        if w.name.endswith(".json") and exporter.name == "windows":  # the training windows' manifest
            manifest = json.loads(w.read_text(encoding="utf-8"))
            counts = ", ".join(f"{c} {n}" for c, n in manifest.get("class_counts", {}).items())
            print(f"{counted(manifest.get('n_windows', 0), 'window')} ({counts or 'none'})")
    return 0
