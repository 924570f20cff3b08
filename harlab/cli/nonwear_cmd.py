"""``harlab nonwear SESSION...``: detect non-wear and store it in each session file.

The method is :mod:`harlab.signal.nonwear` (van Hees 2013, as in GGIR); the result is the
session's quality track ``nonwear`` (``/quality/nonwear``, ``docs/FORMAT.md``), replacing an
earlier one. The timeline greys it, summaries leave it out and training skips its windows.
"""

from __future__ import annotations

import argparse

from harlab.cli.ml_options import note, session_file
from harlab.core.files import input_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "nonwear",
        help="detect when the device was not worn and store it in each session file",
        description="Find spans where the accelerometer lay still (std < 13 mg and range < 50 mg on 2 of 3 "
        "axes over 60-min windows, van Hees 2013 / GGIR) and save them as the session's non-wear track.",
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5), changed in place")
    p.add_argument("--stream", default=None, metavar="NAME", help="accelerometer stream (default: the first)")
    p.add_argument("--dry-run", action="store_true", help="print what is found; change no file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.signal.nonwear import detect_nonwear
    from harlab.storage import open_session

    paths = [session_file(input_file(s, "a session file")) for s in args.sessions]
    for path in paths:
        note(f"detecting non-wear in {path}")
        with open_session(path, writable=not args.dry_run) as sf:
            if not args.dry_run:
                sf.require_sound()
            track = detect_nonwear(sf.session, args.stream)
            if not args.dry_run:
                sf.session.set_quality_track(track)
                sf.save()
        spans = ", ".join(f"{a / 3600:.2f}-{b / 3600:.2f} h" for a, b in track.spans()[:5])
        more = f" and {len(track) - 5} more" if len(track) > 5 else ""
        print(
            f"{path}: {len(track)} non-wear spans, {track.total_s / 3600:.2f} h"
            + (f" ({spans}{more})" if len(track) else "")
        )
    return 0
