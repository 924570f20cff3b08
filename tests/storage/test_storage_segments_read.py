"""A label table is read at once (columns checked together, segments made without a check per row)
with the same segments, and the same error for every bad row, as read row by row."""

from __future__ import annotations

import inspect
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from harlab.core.labels import Segment
from harlab.core.streams import MAX_NAME_CHARS, check_name_length
from harlab.storage.layout import (
    SEGMENT_DTYPE,
    STR,
    decode_column,
    read_segments,
    read_table,
    segment_rows,
    segments_at_once,
    segments_from_table,
    table_columns,
    to_str,
    write_table,
)

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def sound_segments(n: int) -> list[Segment]:
    rng = np.random.default_rng(3)
    starts = np.cumsum(rng.uniform(1, 20, n))
    labels = ["walking", "sitting", "gång", "睡眠", "a" * MAX_NAME_CHARS]
    return [
        Segment(
            start=float(s),
            end=float(s + rng.uniform(0, 5)) if i % 7 else float(s),  # some zero-length events
            label=labels[i % len(labels)],
            annotator=["", "ann", "b" * MAX_NAME_CHARS][i % 3],
            source=["manual", "imported", "prediction"][i % 3],
            confidence=None if i % 2 else float(rng.uniform(0, 1)) if i % 5 else float(i % 4 == 0),
            note=["", "a note, with ünïcode", "line\nbreak"][i % 3],
            created=T0 + timedelta(microseconds=i),
            modified=T0 + timedelta(seconds=i),
            id=i + 1,
        )
        for i, s in enumerate(starts)
    ]


def table(path: Path, rows: list[tuple[Any, ...]], dtype: np.dtype = SEGMENT_DTYPE) -> h5py.File:
    with h5py.File(path, "w") as f:
        write_table(f, "t", dtype, rows)
    return h5py.File(path, "r")


def row_by_row(ds: h5py.Dataset) -> list[Segment]:
    """How label tables were read before ``read_segments``."""
    return segments_from_table(read_table(ds, SEGMENT_DTYPE))


def outcome(read: Any, ds: h5py.Dataset) -> Any:
    try:
        return read(ds)
    except Exception as exc:  # noqa: BLE001 - the errors themselves are compared
        return type(exc), str(exc)


@pytest.mark.parametrize("n", [0, 1, 2000])  # 2000 rows: a chunked, compressed table
def test_sound_tables_are_read_at_once_into_the_same_segments(tmp_path, n):
    segments = sound_segments(n)
    with table(tmp_path / "s.h5", segment_rows(segments)) as f:
        arr = f["t"][()]
        assert segments_at_once(arr, table_columns("t", arr, SEGMENT_DTYPE)) is not None
        got = read_segments(f["t"])
        assert got == segments == row_by_row(f["t"])
    # the same fields, in the same order, of the same types as made by the dataclass
    for a, b in zip(got, segments, strict=True):
        assert list(vars(a).items()) == list(vars(b).items())
        assert [type(v) for v in vars(a).values()] == [type(v) for v in vars(b).values()]
        assert hash(a) == hash(b)


def good_row(i: int = 0) -> dict[str, Any]:
    return {
        "id": i + 1,
        "start": 10.0 * i,
        "end": 10.0 * i + 5,
        "label": "walking",
        "annotator": "",
        "source": "manual",
        "confidence": math.nan,
        "note": "",
        "created": T0.isoformat(),
        "modified": "",
    }


#: bad rows for each check of ``Segment.__post_init__``, in its order
POST_INIT_CHECKS: dict[str, list[dict[str, Any]]] = {
    "times finite": [{"start": math.nan}, {"end": math.inf}, {"start": -math.inf}],
    "ends before it starts": [{"end": -1.0}],
    "a label": [{"label": ""}],
    "label length": [{"label": "x" * (MAX_NAME_CHARS + 1)}],
    "annotator length": [{"annotator": "y" * (MAX_NAME_CHARS + 1)}],
    "source": [{"source": "oracle"}, {"source": "Manual"}],
    "confidence in 0..1": [{"confidence": 1.5}, {"confidence": -0.25}, {"confidence": math.inf}],
}
#: bad rows for what ``segments_from_table`` converts before the checks, and several at once
CONVERSIONS = [
    {"created": "yesterday"},
    {"modified": "2026-13-01"},
    {"label": "l" * MAX_NAME_CHARS, "annotator": "a" * 300},
    {"start": math.nan, "created": "no time"},
]
BAD_ROWS = [row for rows in POST_INIT_CHECKS.values() for row in rows] + CONVERSIONS


def test_every_check_of_a_segment_has_its_twin_in_segments_at_once():
    """A check added to ``Segment.__post_init__`` must be added to ``segments_at_once`` (which
    would otherwise make segments the check refuses) and its bad rows to ``POST_INIT_CHECKS``."""
    source = inspect.getsource(Segment.__post_init__)
    assert source.count("raise ") + source.count("check_name_length(") == len(POST_INIT_CHECKS)
    assert "raise " in inspect.getsource(check_name_length)


@pytest.mark.parametrize("at, later", [(0, False), (3, False), (0, True)])
@pytest.mark.parametrize("bad", BAD_ROWS, ids=[", ".join(b) for b in BAD_ROWS])
def test_a_bad_row_is_refused_with_the_error_of_reading_row_by_row(tmp_path, bad, at, later):
    rows = [good_row(i) for i in range(6)]
    rows[at].update(bad)
    if later:
        rows[5].update(label="")  # another bad row after it: the first is named
    with table(tmp_path / "b.h5", [tuple(r[c] for c in SEGMENT_DTYPE.names or ()) for r in rows]) as f:
        arr = f["t"][()]
        assert segments_at_once(arr, table_columns("t", arr, SEGMENT_DTYPE)) is None
        expected = outcome(row_by_row, f["t"])
        assert isinstance(expected, tuple), "the bad row was accepted row by row"
        assert outcome(read_segments, f["t"]) == expected


#: columns of other types than harlab writes (values of three rows): read row by row, as before;
#: some are accepted, some refused
COLUMN_TYPES = {
    "start as text": ("start", STR, ["1.5", "12.5", "x"]),
    "start as parseable text": ("start", STR, ["1.5", "12.5", "21"]),
    "id as float": ("id", np.float64, [1.0, 2.5, 3.0]),
    "id as text": ("id", STR, ["1", "2", "3"]),
    "confidence as int": ("confidence", np.int64, [0, 1, 1]),
    "label as int": ("label", np.int64, [5, 6, 7]),
    "end as float128": ("end", np.longdouble, [5.0, 15.0, 25.0]),
    "end 2 values": ("end", np.dtype((np.float64, (2,))), [(5.0, 1.0), (15.0, 1.0), (25.0, 1.0)]),
    "label fixed-length": ("label", "S16", [b"walking", b"sitting", b"x"]),
    "note fixed-length with a NUL": ("note", "S16", [b"", b"ab\x00cd", b""]),
    "label not UTF-8": ("label", STR, [b"walk", b"walk\xff", b"sit"]),
}


@pytest.mark.parametrize("column, dtype, values", list(COLUMN_TYPES.values()), ids=list(COLUMN_TYPES))
def test_columns_of_other_types_read_as_row_by_row(tmp_path, column, dtype, values):
    fields = [(n, dtype if n == column else SEGMENT_DTYPE[n]) for n in SEGMENT_DTYPE.names or ()]
    fields.append(("extra", STR))  # a column harlab does not know is decoded, not refused
    rows = [good_row(i) | {"extra": "x", column: v} for i, v in enumerate(values)]
    with table(tmp_path / "c.h5", [tuple(r[n] for n, _ in fields) for r in rows], np.dtype(fields)) as f:
        assert outcome(read_segments, f["t"]) == outcome(row_by_row, f["t"])


def test_extra_text_column_that_is_not_utf8_is_refused_as_before(tmp_path):
    fields = [*((n, SEGMENT_DTYPE[n]) for n in SEGMENT_DTYPE.names or ()), ("extra", STR)]
    rows = [good_row(i) | {"extra": "x"} for i in range(3)]
    rows[2]["extra"] = b"\xfe"
    with table(tmp_path / "e.h5", [tuple(r[n] for n, _ in fields) for r in rows], np.dtype(fields)) as f:
        got = outcome(read_segments, f["t"])
        assert got == outcome(row_by_row, f["t"])
        assert got[0] is UnicodeDecodeError


@pytest.mark.parametrize(
    "items",
    [
        [],
        [b"", b"a", "ü".encode()],
        [b"a", b"b\xff"],  # not UTF-8: the per-value error
        [b"a\x00b", b"c"],  # a NUL inside a value (fixed-length cell)
        [b"a", "b"],  # mixed types
        ["x", "y"],
        [bytearray(b"a"), b"b"],
        [np.bytes_(b"a"), b"b"],
    ],
)
def test_decode_column_is_to_str_of_each_item(items):
    try:
        expected: Any = [to_str(v) for v in items]
    except Exception as exc:  # noqa: BLE001
        expected = (type(exc), str(exc))
    try:
        got: Any = decode_column(items)
    except Exception as exc:  # noqa: BLE001
        got = (type(exc), str(exc))
    assert got == expected
