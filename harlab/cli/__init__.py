"""The ``harlab`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed arguments and returning an exit code. Modules are discovered,
so adding a command is adding one module. ``harlab`` with no arguments, or with
a file path, opens the GUI.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from harlab import __version__
from harlab.cli.shared_options import CANCELLED_EXIT, give_every_command_quiet, quiet_stderr
from harlab.cli.workbench_launch import open_workbench
from harlab.core.errors import HarlabError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harlab",
        description=(
            "Human activity recognition from wearable sensors: record, import, label, "
            "train and review. Without a command, opens the workbench."
        ),
    )
    parser.add_argument("--version", action="version", version=f"harlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    give_every_command_quiet(parser)
    return parser


#: Commands a module registers beside the one it is named after (``agreement_cmd``: ``consensus``).
OTHER_COMMANDS = frozenset({"consensus"})


def command_names() -> set[str]:
    """The commands' names without importing their modules: module ``NAME_cmd`` registers the
    command ``NAME``, and the few others are :data:`OTHER_COMMANDS` (a test holds the two sets
    to the parser's).

    ``harlab FILE`` needs only to know that FILE names no command; building the parser imports
    every command's module (pandas among them): 1.4 s of CPU under a profiler on a busy machine,
    before the window could start."""
    named = {m.name.removesuffix("_cmd") for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")}
    return named | OTHER_COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return open_workbench([])
    if not argv[0].startswith("-") and argv[0] not in command_names():
        if not Path(argv[0]).exists():
            build_parser().error(
                f"{argv[0]!r} is neither a command nor an existing file; see 'harlab --help'"
            )
        return open_workbench(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with quiet_stderr(bool(getattr(args, "quiet_stderr", False) and args.quiet)):
            return int(args.func(args) or 0)
    except HarlabError as exc:
        print(f"harlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl+C is the person's choice, not an error
        print("harlab: cancelled", file=sys.stderr)
        return CANCELLED_EXIT


if __name__ == "__main__":
    sys.exit(main())
