"""The importer registry: formats as adaptors that sniff content.

Each format is one module in :mod:`harlab.importers` that defines a subclass of
:class:`Importer` and decorates it with :func:`register`. The registry asks every
importer how well it recognises a file (:meth:`Importer.sniff` looks at the
content, not only the name) and picks the most confident. Reading validates the
whole input before anything is written: an importer returns complete
:class:`~harlab.core.session.Session` objects or raises
:class:`~harlab.core.errors.ImportFormatError` naming the file, the line or byte
and what was expected.
"""

from __future__ import annotations

import functools
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, Protocol

from harlab.core.errors import HarlabError, ImportFormatError, SessionError
from harlab.core.events import ProgressCallback
from harlab.core.labels import LabelSchema
from harlab.core.metadata import Metadata, check_timezone
from harlab.core.plugins import PluginRegistry
from harlab.core.session import Session

if TYPE_CHECKING:
    from harlab.storage.session_writer import SessionWriter


class BeginSession(Protocol):
    """What :meth:`Importer.read_into` calls once it knows the session's metadata and schema."""

    def __call__(self, metadata: Metadata, schema: LabelSchema) -> SessionWriter: ...


@dataclass
class ImportOptions:
    """Options every importer understands; formats read what applies to them."""

    participant: str | None = None
    timezone: str | None = None  #: IANA zone for files whose times are local
    rate_hz: float | None = None  #: for formats with no time column
    extra: dict[str, object] = field(default_factory=dict)  #: format-specific (e.g. CSV mapping)


class Importer:
    """Base class of one input format.

    ``name`` is what ``--format`` takes; ``patterns`` are glob patterns that hint
    at the format (matched against the name without a trailing ``.gz``).
    ``accepts_directories`` marks importers that read a folder as one input
    (an account export, a dataset folder).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    patterns: ClassVar[tuple[str, ...]] = ()
    accepts_directories: ClassVar[bool] = False
    #: True when the importer implements :meth:`read_into` (one session per input, streamed into
    #: the file in bounded memory); ``harlab import`` and the workbench's import then use it.
    streaming: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Every format's ``read`` names its input when the streams it builds break a rule of
        :mod:`harlab.core.streams` (a timestamp centuries away, a name of megabytes): such a
        :class:`SessionError` becomes an :class:`ImportFormatError` of the input, as every other
        refusal of an importer is."""
        super().__init_subclass__(**kwargs)
        read = cls.__dict__.get("read")
        if read is None:
            return

        @functools.wraps(read)
        def checked_read(
            self: Importer, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
        ) -> list[Session]:
            try:
                return read(self, path, options, progress)
            except SessionError as exc:
                raise ImportFormatError(path, str(exc)) from exc

        cls.read = checked_read  # type: ignore[method-assign]

    def sniff(self, path: Path) -> float:
        """Confidence 0..1 that this importer reads ``path``, from its content."""
        raise NotImplementedError

    def read(
        self, path: Path, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> list[Session]:
        """Parse and validate ``path`` fully; return one or more sessions."""
        raise NotImplementedError

    def read_into(
        self,
        path: Path,
        options: ImportOptions,
        begin: BeginSession,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Parse ``path`` piece by piece into one session file, never holding the recording.

        For formats whose files can be longer than memory (a week of raw samples). Set
        ``streaming = True`` and implement it beside :meth:`read` (which callers that want a
        :class:`Session` in memory still use). The contract:

        1. Read and check the header first; then call ``begin(metadata, schema)`` exactly once,
           before the first sample. It returns a
           :class:`~harlab.storage.session_writer.SessionWriter` already writing a temporary
           file beside the target, under the target's write lock.
        2. Declare the streams (``writer.add_stream``), then read the input a block at a time
           (a few MB: :data:`harlab.importers.import_support.STREAM_BLOCK_BYTES`), check each
           block as :meth:`read` checks the whole (for implausible values through
           :class:`~harlab.importers.import_support.MarkedTally`, whose :meth:`finish` applies
           the whole-input rule at the end) and ``writer.append`` it. Labels go in with
           ``writer.add_segment``; warnings with
           :func:`~harlab.importers.import_support.warn_metadata` on ``writer.metadata``,
           which stays editable until the end.
        3. Raise :class:`~harlab.core.errors.ImportFormatError` (file, line or byte, what was
           expected) at the first problem, in the last block as in the first: the caller then
           aborts the writer and nothing is written (no target, no temporary file). Return
           normally when the whole input is read and checked; do not close the writer: the
           caller completes the provenance and renames the file into place.
        """
        raise NotImplementedError(f"the {self.name} importer does not stream; use read()")

    def expand(self, path: Path) -> list[Path]:
        """For a folder given on the command line, the inputs this importer would read in it.

        The default: files directly matching ``patterns`` anywhere below ``path``.
        Importers that group several files into one input override this.
        """
        out: list[Path] = []
        for p in sorted(path.rglob("*")):
            if p.is_file() and self.matches_name(p):
                out.append(p)
        return out

    def dataset_inputs(self, folder: Path) -> tuple[list[Path], list[Path]]:
        """For importers that read folders: (inputs read one at a time, paths they claim).

        Claimed paths (and everything below them) are not offered to other importers, so
        a dataset's companion files (gyro files, labels.txt, READMEs) are never imported
        on their own; reading the inputs one by one keeps one bad subject from failing
        the rest. The default reads the claimed folder as one input.
        """
        roots = self.expand(folder)
        return roots, roots

    def main_files(self, path: Path) -> list[Path] | None:
        """When ``path`` is a companion file this format reads together with a main file: the main files.

        ``None`` when ``path`` is no companion of this format (an input of its own, or
        not this format's). ``[main]`` for a companion read with exactly one main file
        beside it (a gyroscope file with its accelerometer file), so naming both imports
        one session, and naming the companion alone imports its main file. Several or
        none (labels.txt of a whole folder, or a companion whose recordings are absent):
        it cannot be an input of its own.
        """
        return None

    def matches_name(self, path: Path) -> bool:
        name = path.name[:-3] if path.name.endswith(".gz") else path.name
        return any(Path(name).match(pat) for pat in self.patterns)


_PLUGINS: PluginRegistry[Importer] = PluginRegistry("importer", "harlab.importers")
register = _PLUGINS.register


def load_errors() -> dict[str, str]:
    """Importer modules that failed to import, with the reason (empty when all loaded)."""
    return _PLUGINS.load_errors()


def importers() -> dict[str, Importer]:
    """All registered importers by name."""
    return {name: cls() for name, cls in _PLUGINS.classes().items()}


def get_importer(name: str) -> Importer:
    all_ = importers()
    if name not in all_:
        raise HarlabError(f"unknown import format {name!r}; known: {', '.join(all_)}")
    return all_[name]


def detect(path: Path) -> Importer:
    """The importer most confident about ``path``; a clear error if none is.

    A sniffer that fails (unreadable file, bad gzip, its own bug) counts as "no";
    on equal confidence an importer whose name patterns match wins.
    """
    best: tuple[float, bool, Importer] | None = None
    for imp in importers().values():
        if path.is_dir() and not imp.accepts_directories:
            continue
        try:
            score = float(imp.sniff(path))
        except (OSError, ValueError, UnicodeDecodeError, EOFError, HarlabError, gzip.BadGzipFile):
            score = 0.0
        named = imp.matches_name(path)
        if score > 0 and (best is None or (score, named) > (best[0], best[1])):
            best = (score, named, imp)
    if best is None:
        raise ImportFormatError(
            path,
            "no importer recognises this file",
            expected="one of: " + ", ".join(importers()),
        )
    return best[2]


def companion_of(path: Path, fmt: str | None = None) -> tuple[Importer, list[Path]] | None:
    """The importer that reads ``path`` as a companion of other files, and those main files."""
    candidates = [get_importer(fmt)] if fmt else list(importers().values())
    for imp in candidates:
        mains = imp.main_files(path)
        if mains is not None:
            return imp, mains
    return None


def companion_refusal(path: Path, imp: Importer, mains: list[Path]) -> ImportFormatError:
    """Why a companion file named without one main file cannot be imported."""
    if not mains:
        return ImportFormatError(
            path,
            f"a companion file of the {imp.name} format, read together with its recordings, "
            "but none of them is beside it",
            expected=" or ".join(imp.patterns) + " in the same folder",
        )
    shown = ", ".join(p.name for p in mains[:3]) + (f" and {len(mains) - 3} more" if len(mains) > 3 else "")
    return ImportFormatError(
        path,
        f"a companion file of the {imp.name} format, read together with the {len(mains)} recordings "
        f"beside it ({shown}); import those files or their folder instead",
    )


# -- helpers shared by importers -------------------------------------------------------


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing ``.gz`` transparently."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def head_bytes(path: Path, n: int = 4096) -> bytes:
    """The first ``n`` (decompressed) bytes, for sniffing."""
    with open_binary(path) as f:
        return f.read(n)


def head_text(path: Path, n: int = 4096) -> str:
    return head_bytes(path, n).decode("utf-8", errors="replace")


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its LF or CRLF) for each line."""
    for i, line in enumerate(io.StringIO(text, newline=None), start=1):
        yield i, line.rstrip("\r\n")


# -- what importers attach to the sessions they return ---------------------------------

_WARNINGS_KEY = "import_warnings"


def warn(session: Session, message: str) -> None:
    """Attach a warning for the user to ``session`` (shown in the import report, kept in the file).

    Warnings live in ``metadata.extra["import_warnings"]`` (one per line) so they
    survive saving: whoever opens the session later still learns, e.g., that its
    start time assumed UTC.
    """
    warn_metadata(session.metadata, message)


def warn_metadata(metadata: Metadata, message: str) -> None:
    """:func:`warn` for a session being streamed (``writer.metadata``), which is no Session yet."""
    old = metadata.extra.get(_WARNINGS_KEY, "")
    lines = old.splitlines() if old else []
    if message not in lines:
        lines.append(message)
    metadata.extra[_WARNINGS_KEY] = "\n".join(lines)


def import_warnings(session: Session | Metadata) -> list[str]:
    """The warnings :func:`warn` attached to ``session`` (or to its metadata)."""
    md = session.metadata if isinstance(session, Session) else session
    text = md.extra.get(_WARNINGS_KEY, "")
    return text.splitlines() if text else []


def resolve_timezone(options: ImportOptions) -> tuple[str, str | None]:
    """The IANA zone for local times in a file, and a warning when none was given.

    Formats that store naive local time (the Fitbit watch file name, sleep logs)
    need the zone the device was set to; without one harlab assumes UTC and says so.
    """
    if options.timezone:
        try:
            return check_timezone(options.timezone), None
        except SessionError as exc:
            raise HarlabError(str(exc)) from exc
    return "UTC", (
        "no timezone given: local times in this file were taken as UTC "
        "(pass --timezone to place it correctly)"
    )
