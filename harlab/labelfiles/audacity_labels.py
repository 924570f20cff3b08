"""Audacity label files: ``start<TAB>end<TAB>label`` per line, seconds, one track per file.

A point label has ``start == end`` (Audacity writes both) or, in files of some other tools,
only ``start<TAB>label``; both are zero-length events. Audacity writes a spectral selection as
an extra line ``\\<TAB>low Hz<TAB>high Hz`` after its label: those lines carry no time and are
skipped (counted in the notes). A label with empty text is not a class and is left out (also
counted). Times are relative to the session start, as harlab's export writes them
(:mod:`harlab.exporters.audacity`).
"""

from __future__ import annotations

import re
from pathlib import Path

from harlab.core.errors import ImportFormatError
from harlab.core.wording import counted
from harlab.labelfiles.label_source import (
    FoundTrack,
    LabelFile,
    RawSegment,
    SegmentCounter,
    check_counts,
    check_name,
    check_time,
    decode_text,
    read_bytes,
)

_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")


def _seconds(path: Path, cell: str, line: int) -> float:
    cell = cell.strip()
    if not _NUMBER.fullmatch(cell):
        raise ImportFormatError(
            path, f"{cell[:40]!r} is not a time in seconds", line=line, expected="e.g. 12.5"
        )
    return check_time(path, float(cell.replace(",", ".")), f"line {line}")


def looks_like_audacity(text: str) -> bool:
    """The first non-empty line is ``number<TAB>number<TAB>...`` or ``number<TAB>text``."""
    for raw in text.splitlines()[:5]:
        if not raw.strip():
            continue
        cells = raw.split("\t")
        return len(cells) >= 2 and bool(_NUMBER.fullmatch(cells[0].strip()))
    return False


def read_audacity(path: Path, track_name: str | None = None) -> LabelFile:
    text = decode_text(path, read_bytes(path, "an Audacity label file"))
    counter = SegmentCounter(path)
    segs: list[RawSegment] = []
    spectral = empty = 0
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if raw.startswith("\\"):
            spectral += 1
            continue
        cells = raw.split("\t")
        if len(cells) < 2:
            raise ImportFormatError(path, "a line without tabs", line=i, expected="start<TAB>end<TAB>label")
        start = _seconds(path, cells[0], i)
        if len(cells) == 2 and not _NUMBER.fullmatch(cells[1].strip()):
            end, label = start, cells[1]  # point label: start<TAB>label
        else:
            end = _seconds(path, cells[1], i)
            label = "\t".join(cells[2:])
        if not label.strip():
            empty += 1
            continue
        counter.take(f"line {i}")
        segs.append(RawSegment(start, end, check_name(path, label, "class name", f"line {i}"), f"line {i}"))
    notes = []
    if spectral:
        notes.append(f"{counted(spectral, 'spectral-selection line')} (frequencies, no times) skipped")
    if empty:
        notes.append(f"{counted(empty, 'label')} with no text left out")
    if not segs:
        raise ImportFormatError(path, "no labels", expected="lines start<TAB>end<TAB>label")
    tracks = [FoundTrack(track_name or path.stem, segs)]
    check_counts(path, tracks)
    return LabelFile(path, "audacity", tracks, notes)
