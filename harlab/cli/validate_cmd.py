"""``harlab validate FILE...``: deep check of session files; exit 0 when all are sound, 1 otherwise."""

from __future__ import annotations

import argparse

from harlab.core.files import input_file
from harlab.core.wording import counted
from harlab.storage import validate_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check session files thoroughly (exit 0 when all are sound, 1 when one is not)",
        description="Read every part of each session file: format, metadata, tables, every sample, "
        "monotonic timestamps and the min/max pyramid. Prints a verdict per file; never modifies a file.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="session files (.h5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # every path is checked before any is read: a missing file or a folder is a usage error
    paths = [input_file(f, "a session file") for f in args.files]
    unsound = 0
    for name, path in zip(args.files, paths, strict=True):
        problems = validate_file(path)
        if not problems:
            print(f"{name}: OK (a sound harlab session file)")
            continue
        unsound += 1
        print(f"{name}: {counted(len(problems), 'problem')}")
        for p in problems:
            print(f"  - {p}")
    if len(paths) > 1:
        print(f"{counted(len(paths), 'file')} checked: {len(paths) - unsound} sound, {unsound} with problems")
    return 1 if unsound else 0
