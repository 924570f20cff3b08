"""Label Studio's JSON export of time-series labels.

The export is a list of tasks; each task has ``annotations`` (one per person who labelled it),
each with a ``result`` list. A time-series label is a result of ``type: "timeserieslabels"``
whose ``value`` holds ``start``, ``end``, ``instant`` (a point) and ``timeserieslabels`` (the
classes, usually one). ``from_name`` names the TimeSeriesLabels control, which becomes the track;
when a file holds several people's annotations, each person's is their own track (``<control>``
for the first, ``<control>-<annotator>`` for the others), so two people's labels never mix; a file
harlab exported (its task data names a harlab session) keeps each control one track, with the
annotator on each segment, as it was. Results of
other types (choices, text areas) are counted in the notes and left alone.

``start``/``end`` are in the units of the task's time column: numbers are read as seconds from
the session start (what harlab's export writes, :mod:`harlab.exporters.labelstudio`); strings
are ISO 8601 clock times, placed by the session's start. A result with several classes on one
span is refused (harlab's tracks give a span one class): split it in Label Studio first.

The annotator is ``completed_by``: a user object (its email, else its name), a string, or a
user id (``labelstudio user 7``). Nesting deeper than Python's JSON decoder can follow is
refused as "nested too deeply", like every JSON input of harlab.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from harlab.core.errors import ImportFormatError
from harlab.core.wording import counted
from harlab.labelfiles.label_source import (
    FoundTrack,
    LabelFile,
    RawSegment,
    SegmentCounter,
    SessionClock,
    check_counts,
    check_name,
    check_time,
    decode_text,
    read_bytes,
)

EXPECTED = "a Label Studio JSON export (a list of tasks with annotations[].result[])"


def load_json(path: Path, text: str, expected: str) -> Any:
    """JSON with NaN/Infinity, deep nesting and syntax errors refused, naming the line."""

    def constant(c: str) -> float:
        raise ImportFormatError(
            path,
            f"{c} is not a valid value",
            line=text.count("\n", 0, text.find(c)) + 1,
            expected="a finite number",
        )

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            path, f"invalid JSON: {exc.msg}", line=exc.lineno, expected=expected
        ) from None
    except RecursionError:
        raise ImportFormatError(path, "JSON nested too deeply", line=1, expected=expected) from None


def looks_like_labelstudio(text: str) -> bool:
    return bool(re.match(r"\s*[\[{]", text)) and '"annotations"' in text[: 1 << 20]


def _annotator(who: Any) -> str:
    if isinstance(who, dict):
        for key in ("email", "username"):
            if isinstance(who.get(key), str) and who[key].strip():
                return str(who[key]).strip()
        name = " ".join(str(who.get(k) or "") for k in ("first_name", "last_name")).strip()
        if name:
            return name
        who = who.get("id")
    if isinstance(who, str):
        return who.strip()
    if isinstance(who, int) and not isinstance(who, bool):
        return f"labelstudio user {who}"
    return ""


def _time(path: Path, v: Any, where: str, clock: SessionClock) -> float:
    if isinstance(v, bool) or v is None:
        raise ImportFormatError(path, f"{where}: time {v!r}", expected="a number or an ISO 8601 time")
    if isinstance(v, int | float):
        return check_time(path, float(v), where)
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ImportFormatError(
                path, f"{where}: time {v[:40]!r}", expected="a number or an ISO 8601 time"
            ) from None
        if clock.start_utc is None:
            raise ImportFormatError(
                path,
                f"{where}: clock time {v[:40]!r} but the session's start time is unknown",
                expected="times in seconds from the session start",
            )
        if t.tzinfo is None:
            from zoneinfo import ZoneInfo

            t = t.replace(tzinfo=ZoneInfo(clock.timezone))
        return check_time(path, (t - clock.start_utc).total_seconds(), where)
    raise ImportFormatError(
        path, f"{where}: time of type {type(v).__name__}", expected="a number or an ISO 8601 time"
    )


def read_labelstudio(path: Path, clock: SessionClock) -> LabelFile:
    text = decode_text(path, read_bytes(path, EXPECTED))
    data = load_json(path, text, EXPECTED)
    tasks = data if isinstance(data, list) else [data]
    counter = SegmentCounter(path)
    tracks: dict[str, FoundTrack] = {}
    other = 0
    first_of: dict[str, str] = {}  # control -> the annotator whose track is called just <control>
    for ti, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("annotations", []), list):
            raise ImportFormatError(
                path, f"task {ti} is not an object with an annotations list", expected=EXPECTED
            )
        # harlab's export groups one track's segments by annotator: they are one track again
        harlab_made = isinstance(task.get("data"), dict) and "harlab_session_id" in task["data"]
        for ai, ann in enumerate(task.get("annotations", []), start=1):
            if not isinstance(ann, dict) or not isinstance(ann.get("result", []), list):
                raise ImportFormatError(
                    path, f"task {ti}, annotation {ai}: no result list", expected=EXPECTED
                )
            if ann.get("was_cancelled") is True:
                continue
            who = _annotator(ann.get("completed_by"))
            for ri, res in enumerate(ann.get("result", []), start=1):
                where = f"task {ti}, annotation {ai}, result {ri}"
                if not isinstance(res, dict):
                    raise ImportFormatError(path, f"{where}: not an object", expected=EXPECTED)
                if res.get("type") != "timeserieslabels":
                    other += 1
                    continue
                value = res.get("value")
                if not isinstance(value, dict):
                    raise ImportFormatError(
                        path, f"{where}: value is not an object", expected="value.start/end"
                    )
                classes = value.get("timeserieslabels")
                if (
                    not isinstance(classes, list)
                    or not classes
                    or not all(isinstance(c, str) for c in classes)
                ):
                    raise ImportFormatError(
                        path,
                        f"{where}: timeserieslabels {str(classes)[:60]}",
                        expected="a list of class names",
                    )
                if len(classes) > 1:
                    raise ImportFormatError(
                        path,
                        f"{where}: {len(classes)} classes on one span",
                        expected='one class per span (choice="single")',
                    )
                start = _time(path, value.get("start"), where, clock)
                end = (
                    start
                    if value.get("instant") is True and value.get("end") is None
                    else _time(path, value.get("end"), where, clock)
                )
                control = check_name(path, str(res.get("from_name") or "label"), "control name", where)
                first = first_of.setdefault(control, who)
                split = who != first and not harlab_made
                name = f"{control}-{who or 'unknown'}" if split else control
                track = tracks.setdefault(name, FoundTrack(name, [], who))
                counter.take(where)
                track.segments.append(
                    RawSegment(start, end, check_name(path, classes[0], "class name", where), where, who)
                )
    notes = (
        [f"{counted(other, 'result')} of other types (not time-series labels) left alone"] if other else []
    )
    out = [t for t in tracks.values() if t.segments]
    if not out:
        raise ImportFormatError(path, "no time-series labels", expected=EXPECTED)
    check_counts(path, out)
    return LabelFile(path, "labelstudio", out, notes)
