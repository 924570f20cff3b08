"""What every command shares: the meaning of ``-q/--quiet`` and the rules for an output path.

``-q/--quiet`` means one thing everywhere: no progress bars, status lines or notes
on stderr; results (stdout), warnings in a report and errors are still printed.
:func:`add_quiet` is its one definition; commands that print progress themselves
read ``args.quiet``, and for the others the driver silences their stderr notes.

:func:`check_output` is the one rule for where a command may write: never over one
of its own inputs (a model written over the session it was trained on, an export
over the file it reads), not over a folder, and over an existing file of another
kind only with ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from harlab.core.errors import HarlabError
from harlab.core.files import same_file

#: the exit code of a command stopped by Ctrl+C (128 + SIGINT, as a shell reports it): the
#: person's choice, not an error
CANCELLED_EXIT = 130

QUIET_HELP = "no progress, status lines or notes on stderr (results, warnings and errors are still shown)"


def add_quiet(p: argparse.ArgumentParser) -> None:
    """The shared ``-q/--quiet`` option."""
    p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)


def has_option(p: argparse.ArgumentParser, option: str) -> bool:
    return any(option in a.option_strings for a in p._actions)


#: A line a command writes to stderr that ``-q`` keeps: a warning ("warning: ...",
#: "harlab: warning: ..."), never a note or progress.
_WARNING_LINE = re.compile(r"^(harlab: )?warning\b", re.IGNORECASE)


class _WarningsOnly(io.TextIOBase):
    """A stderr that passes whole lines that are warnings to ``out`` and drops the rest."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._line = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._line += s
        *lines, rest = self._line.split("\n")
        # progress redrawn with \r and no newline: only what follows the last \r can be a line to keep
        self._line = rest.rpartition("\r")[2][: 1 << 16]
        for line in lines:
            line = line.rpartition("\r")[2]  # what a terminal shows after progress redrawn with \r
            if _WARNING_LINE.match(line):
                self._out.write(line + "\n")
        return len(s)

    def flush(self) -> None:
        self._out.flush()

    def finish(self) -> None:
        """Pass on a last warning written without its newline."""
        last = self._line.rpartition("\r")[2]
        if _WARNING_LINE.match(last):
            self._out.write(last + "\n")
        self._line = ""


@contextlib.contextmanager
def quiet_stderr(enabled: bool) -> Iterator[None]:
    """While ``enabled``, drop what a command writes to stderr (its notes and progress) but
    its warnings, which ``-q`` still shows (:data:`QUIET_HELP`)."""
    if not enabled:
        yield
        return
    kept = _WarningsOnly(sys.stderr)
    try:
        with contextlib.redirect_stderr(kept):
            yield
    finally:
        kept.finish()


def refuse_inputs(output: str | Path, inputs: Iterable[str | Path], option: str = "-o") -> None:
    """A clear error when ``output`` is one of ``inputs`` (``--force`` does not change this)."""
    out = Path(output)
    for inp in inputs:
        if str(inp).startswith("models:/"):
            continue
        if same_file(out, Path(inp)):
            raise HarlabError(
                f"{option} {out} is also an input of this command ({inp}); "
                "writing it would destroy what is being read: choose another output"
            )


def check_output(
    output: str | Path,
    inputs: Iterable[str | Path],
    *,
    force: bool,
    own_kind: Callable[[Path], bool],
    kind: str,
    option: str = "-o",
) -> Path:
    """``output`` when this command may write the file there; a clear error otherwise.

    ``kind`` names what the command writes, with its article ("a model file").
    ``own_kind`` says whether an existing file is of the kind the command writes
    (replacing an older model with a new one is the normal case); anything else is
    only overwritten with ``--force``.
    """
    out = Path(output)
    refuse_inputs(out, inputs, option)
    if out.is_dir():
        raise HarlabError(f"{option} {out} is a folder; name the file to write ({kind})")
    if out.exists() and not out.is_file():
        raise HarlabError(f"{option} {out} exists and is not a regular file; choose another output")
    if out.is_file() and not force and not own_kind(out):
        raise HarlabError(f"{option} {out} exists and is not {kind}; pass --force to overwrite it")
    return out


FORCE_HELP = "overwrite an existing output file of another kind (never one of the command's inputs)"


def add_force(p: argparse.ArgumentParser) -> None:
    """The shared ``--force`` that :func:`check_output` reads."""
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def has_suffix(*suffixes: str) -> Callable[[Path], bool]:
    """``own_kind`` for formats without a signature: the file name ends with one of ``suffixes``."""
    return lambda path: path.suffix.lower() in suffixes


def has_magic(*magics: bytes) -> Callable[[Path], bool]:
    """``own_kind`` for :func:`check_output`: the file starts with one of ``magics``."""

    def check(path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(max(len(m) for m in magics))
        except OSError:
            return False
        return any(head.startswith(m) for m in magics)

    return check


#: content signatures of the files harlab writes
ZIP_MAGIC = b"PK\x03\x04"  #: model files are .npz archives
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def subcommand_groups(
    p: argparse.ArgumentParser,
) -> list[argparse._SubParsersAction[argparse.ArgumentParser]]:
    """The subcommand groups of ``p`` (their ``choices`` map each name to its parser)."""
    return [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]


def leaf_parsers(p: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``p`` or, when it has subcommands, each of theirs (``models export-onnx``)."""
    subs = subcommand_groups(p)
    if not subs:
        yield p
        return
    for sub in subs:
        for child in dict.fromkeys(sub.choices.values()):
            yield from leaf_parsers(child)


def give_every_command_quiet(parser: argparse.ArgumentParser) -> None:
    """Add :func:`add_quiet` to every command that does not handle ``--quiet`` itself, marking it
    so that the driver silences its stderr (notes, progress) while it runs with ``-q``."""
    for sub in subcommand_groups(parser):
        for p in dict.fromkeys(sub.choices.values()):
            for leaf in leaf_parsers(p):
                if not has_option(leaf, "--quiet"):
                    add_quiet(leaf)
                    leaf.set_defaults(quiet_stderr=True)
