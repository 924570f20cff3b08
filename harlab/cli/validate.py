"""``harlab validate FILE``: deep check of a session file; exit 0 when sound, 1 otherwise."""

from __future__ import annotations

import argparse

from harlab.core.files import input_file
from harlab.storage import validate_file


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check a session file thoroughly (exit 0 when sound, 1 when not)",
        description="Read every part of a session file: format, metadata, tables, every sample, "
        "monotonic timestamps and the min/max pyramid. Never modifies the file.",
    )
    p.add_argument("file", help="session file (.h5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    problems = validate_file(input_file(args.file, "a session file"))
    if not problems:
        print(f"{args.file}: OK (a sound harlab session file)")
        return 0
    print(f"{args.file}: {len(problems)} problem(s)")
    for p in problems:
        print(f"  - {p}")
    return 1
