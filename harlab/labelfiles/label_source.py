"""What a label file holds, before it meets a session: tracks of raw segments with their place.

Every reader (:mod:`~harlab.labelfiles.eaf_reader`, :mod:`~harlab.labelfiles.audacity_labels`,
:mod:`~harlab.labelfiles.label_csv`, :mod:`~harlab.labelfiles.labelstudio_json`) returns a
:class:`LabelFile`: tracks of :class:`RawSegment` with times in seconds from the session start
as the file says them, unchecked against the recording. A raw segment may end before it starts
or lie outside the recording: that is for the import plan (:mod:`~harlab.labelfiles.label_import`)
to report and for the user to settle, so a reader never changes a time. What a reader refuses
is what cannot be a segment at all (a time that is not a finite number, an empty class, a name
longer than the core allows), and it names the file and the place.

Limits: a label file is text that a person or a tool wrote, so it is read whole, but never more
than :data:`MAX_LABEL_FILE_BYTES`; a file declares at most :data:`MAX_SEGMENTS` segments and
:data:`~harlab.storage.layout.MAX_TRACKS` tracks (the session file's own limit); names are held
to :data:`~harlab.core.streams.MAX_NAME_CHARS`, as everywhere in the core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from harlab.core.errors import ImportFormatError
from harlab.core.streams import MAX_NAME_CHARS, MAX_TIME_S
from harlab.importers.import_support import read_at_most
from harlab.storage.layout import MAX_TRACKS

#: Largest label file read: a week of one-second labels written as CSV is about 60 MB.
MAX_LABEL_FILE_BYTES = 256 * 2**20
#: Most segments one file may hold (a week of one-second labels is 604 800).
MAX_SEGMENTS = 2_000_000
FORMATS = ("eaf", "audacity", "csv", "labelstudio")


@dataclass(frozen=True)
class RawSegment:
    """One labelled span as the file has it: seconds from the session start, and where it is."""

    start: float
    end: float
    label: str
    where: str  #: "line 12", "annotation a3", "task 1, result 4": what a report names
    annotator: str = ""


@dataclass
class FoundTrack:
    """A tier, a label column, a Label Studio control: one track the file offers."""

    name: str
    segments: list[RawSegment] = field(default_factory=list)
    annotator: str = ""  #: who made it, when the file says (ELAN ANNOTATOR, Label Studio completed_by)


@dataclass
class LabelFile:
    path: Path
    format: str
    tracks: list[FoundTrack]
    notes: list[str] = field(default_factory=list)  #: what the reader decided that the user should know


@dataclass(frozen=True)
class SessionClock:
    """What a reader needs of the session to place times: its start and zone (clock times) and
    its sample rate (sample indices)."""

    start_utc: datetime | None = None
    timezone: str = "UTC"
    rate_hz: float | None = None


def read_bytes(path: Path, what: str) -> bytes:
    """The file's bytes, refused past :data:`MAX_LABEL_FILE_BYTES` before they are read."""
    return read_at_most(path, MAX_LABEL_FILE_BYTES, what)


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 text (a BOM is dropped), no NUL: a binary file is refused with its byte offset."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(path, "not UTF-8 text", offset=exc.start, expected="UTF-8 text") from exc
    if "\0" in text:
        raise ImportFormatError(
            path, "NUL character: a binary file", offset=text.index("\0"), expected="text"
        )
    return text


def check_name(path: Path, name: str, what: str, where: str) -> str:
    """``name`` stripped; refused when empty or longer than the core allows."""
    name = name.strip()
    if not name:
        raise ImportFormatError(path, f"{where}: empty {what}", expected=f"a {what}")
    if len(name) > MAX_NAME_CHARS:
        raise ImportFormatError(
            path, f"{where}: {what} of {len(name)} characters", expected=f"at most {MAX_NAME_CHARS}"
        )
    return name


def check_time(path: Path, value: float, where: str) -> float:
    if not (math.isfinite(value) and abs(value) <= MAX_TIME_S):
        raise ImportFormatError(
            path,
            f"{where}: time {value!r} is not a finite number of seconds",
            expected=f"|t| <= {MAX_TIME_S:g} s",
        )
    return value


def check_counts(path: Path, tracks: list[FoundTrack]) -> None:
    """The whole file's limits: tracks, segments, annotator names."""
    if len(tracks) > MAX_TRACKS:
        raise ImportFormatError(path, f"{len(tracks)} tracks", expected=f"at most {MAX_TRACKS}")
    n = sum(len(t.segments) for t in tracks)
    if n > MAX_SEGMENTS:
        raise ImportFormatError(path, f"{n} segments", expected=f"at most {MAX_SEGMENTS}")
    for t in tracks:  # every reader ends here: the annotators' names are held to the core's limit once
        for s in t.segments:
            if len(s.annotator) > MAX_NAME_CHARS:
                raise ImportFormatError(
                    path,
                    f"{s.where}: annotator of {len(s.annotator)} characters",
                    expected=f"at most {MAX_NAME_CHARS}",
                )
        if len(t.annotator) > MAX_NAME_CHARS:
            raise ImportFormatError(
                path,
                f"track {t.name}: annotator of {len(t.annotator)} characters",
                expected=f"at most {MAX_NAME_CHARS}",
            )


class SegmentCounter:
    """Counts segments while a reader collects them, refusing the one past :data:`MAX_SEGMENTS`
    before a hostile file makes a reader build millions of objects."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.n = 0

    def take(self, where: str) -> None:
        self.n += 1
        if self.n > MAX_SEGMENTS:
            raise ImportFormatError(
                self.path, f"{where}: too many segments", expected=f"at most {MAX_SEGMENTS}"
            )
