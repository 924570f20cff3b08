"""Names, constants and small codecs of the harlab session file, format version 1.

Everything that decides how a model value looks inside the HDF5 file lives here,
so the writer, the readers and ``validate`` cannot disagree, and
``docs/FORMAT.md`` has one place to be checked against.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import h5py
import numpy as np

from harlab.core.labels import SOURCES, Segment
from harlab.core.streams import MAX_NAME_CHARS as MAX_NAME_CHARS  # object names are held to it too

FORMAT_NAME = "harlab-session"
FORMAT_VERSION = 1

#: Every compressed dataset uses the shuffle filter plus gzip level 1: gzip is built into
#: every HDF5 library (lzf is h5py-only), and on sensor data shuffle+gzip-1 wrote 2x faster
#: than gzip without shuffle and gave files 2.4x smaller than lzf without shuffle
#: (measured on 1 M x 6 quantised float32 samples + float64 time).
COMPRESSION: dict[str, Any] = {"compression": "gzip", "compression_opts": 1, "shuffle": True}

#: Pyramid: level k holds one min/max row per ``PYRAMID_FACTOR**k`` raw samples. A level is
#: added while the level below it has more than ``PYRAMID_TOP`` rows, so the coarsest level
#: always has at most a few hundred rows.
PYRAMID_FACTOR = 16
PYRAMID_TOP = 256

#: A ``time`` read for a range never loads more than this many samples to find its ends.
INDEX_TARGET = 4096

# -- limits: what opening and ``validate`` accept (checked on HDF5 metadata before any data is read) --
#: Largest chunk of any dataset (harlab writes chunks of about 128 KiB): one chunk is decoded whole,
#: so a crafted 3 GB chunk would be a 3 GB read for one sample.
MAX_CHUNK_BYTES = 64 << 20
#: A dataset may declare at most this many bytes per byte it stores (when compressed; otherwise 1),
#: plus ``SIZE_SLACK``. Deflate cannot expand more than 1032:1, so real data always fits; a declared
#: extent of 10**11 samples over a few unallocated chunks does not.
MAX_EXPANSION = 1100
SIZE_SLACK = 1 << 20
#: Datasets outside ``/streams`` (tables, predictions) are read whole, so they are capped.
MAX_TABLE_BYTES = 256 << 20
#: HDF5 filters a session file may use: deflate (gzip), shuffle, fletcher32 and lzf, all of
#: bounded expansion; anything else (scale-offset, plugins) is refused.
ALLOWED_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
MAX_CHANNELS = 4096
#: ``rate_hz`` is NaN (irregular) or in (0, MAX_RATE_HZ].
MAX_RATE_HZ = 1e6
#: The pyramid ``factor`` lies in this range (harlab writes ``PYRAMID_FACTOR``).
PYRAMID_FACTOR_RANGE = (2, 1024)
#: Objects (links) walked in one file before giving up (a session of 256 streams with their
#: pyramids holds about 5000).
MAX_OBJECTS = 20_000
#: Members of ``/streams``, ``/labels`` and ``/predictions`` each, counted before any is read:
#: walking and reading thousands of tables takes minutes, and no session has that many.
MAX_TRACKS = 256
#: Attributes are read whole; none of harlab's is larger than a few kilobytes.
MAX_ATTR_BYTES = 1 << 20
#: ``/videos/<i>`` entries: their attributes (name, reference JSON, sync, region) and no members.
VIDEO_ATTRS = ("name", "reference", "offset_s", "drift_ppm", "roi")
#: The longest string attribute of a video entry (a reference is a few hundred bytes).
MAX_VIDEO_ATTR_BYTES = 16 << 10

SEGMENT_COLUMNS = (
    "id",
    "start",
    "end",
    "label",
    "annotator",
    "source",
    "confidence",
    "note",
    "created",
    "modified",
)

STR = h5py.string_dtype("utf-8")

SEGMENT_DTYPE = np.dtype(
    [
        ("id", np.int64),
        ("start", np.float64),
        ("end", np.float64),
        ("label", STR),
        ("annotator", STR),
        ("source", STR),
        ("confidence", np.float64),
        ("note", STR),
        ("created", STR),
        ("modified", STR),
    ]
)
CLASS_DTYPE = np.dtype([("name", STR), ("color", STR), ("hotkey", STR), ("description", STR)])
DEVICE_DTYPE = np.dtype(
    [
        ("name", STR),
        ("model", STR),
        ("firmware", STR),
        ("placement", STR),
        ("address", STR),
    ]
)
SOURCE_DTYPE = np.dtype([("path", STR), ("sha256", STR), ("size", np.int64)])
#: ``/quality/<name>``: one row per span of a quality track (seconds, ``start < end``)
SPAN_DTYPE = np.dtype([("start", np.float64), ("end", np.float64)])
#: the attributes of a ``/quality/<name>`` table
QUALITY_ATTRS = ("kind", "method", "params")


def chunk_rows(n_channels: int) -> int:
    """Rows per chunk so one chunk of ``values`` is about 128 KiB (a power of two, 1024..65536)."""
    rows = 131072 // (4 * max(1, n_channels))
    return int(min(65536, max(1024, 1 << (rows.bit_length() - 1))))


# -- scalar codecs -------------------------------------------------------------------
def dt_to_str(value: datetime | None) -> str:
    """ISO 8601 with microseconds and the UTC offset; ``""`` for None."""
    return "" if value is None else value.isoformat(timespec="microseconds")


def str_to_dt(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def to_str(value: Any) -> str:
    """A string attribute or table cell as ``str``; ValueError unless it is valid UTF-8
    (h5py hands undecodable attribute bytes over as lone surrogates, which would fail
    only later, when written to a CSV or a terminal)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{text.encode('utf-8', 'backslashreplace').decode()!r} is not valid UTF-8 "
            f"(at character {exc.start})"
        ) from None
    return text


def dict_to_json(d: dict[str, Any]) -> str:
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def json_to_dict(text: Any) -> dict[str, str]:
    d = json.loads(to_str(text)) if text is not None and to_str(text) else {}
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, got {type(d).__name__}")
    return {str(k): str(v) for k, v in d.items()}


def str_list(value: Any) -> list[str]:
    """An attribute holding an array of strings (or one string) as a Python list."""
    if isinstance(value, str | bytes):
        return [to_str(value)]
    return [to_str(v) for v in np.asarray(value).ravel().tolist()]


# -- tables --------------------------------------------------------------------------
def write_table(
    group: h5py.Group, name: str, dtype: np.dtype, rows: Sequence[tuple[Any, ...]]
) -> h5py.Dataset:
    """A compound dataset, one record per row; chunked and compressed when large."""
    arr = np.array(list(rows), dtype=dtype) if rows else np.zeros(0, dtype=dtype)
    kwargs: dict[str, Any] = {}
    if len(arr) > 1024:
        kwargs = {"chunks": (min(len(arr), 4096),), **COMPRESSION, "maxshape": (None,)}
    return group.create_dataset(name, data=arr, **kwargs)


def read_table(ds: h5py.Dataset, dtype: np.dtype) -> dict[str, list[Any]]:
    """Column lists of a compound dataset, strings decoded; every column of ``dtype`` must be there."""
    return table_columns(ds.name, ds[()], dtype)


def table_columns(where: str, arr: np.ndarray, dtype: np.dtype) -> dict[str, list[Any]]:
    """:func:`read_table` of an array already read from the dataset named ``where``."""
    have = arr.dtype.names or ()
    if arr.ndim != 1 or not have:
        raise ValueError(f"{where} should be a 1-D table (compound dataset), got {arr.dtype} {arr.shape}")
    missing = [n for n in dtype.names or () if n not in have]
    if missing:
        raise ValueError(
            f"table {where} lacks the {'columns' if len(missing) > 1 else 'column'} {', '.join(missing)}"
        )
    out: dict[str, list[Any]] = {}
    for name in arr.dtype.names or ():
        col = arr[name]
        if col.dtype.kind in "OSU":
            out[name] = decode_column(col.tolist())
        else:
            out[name] = col.tolist()
    return out


def decode_column(items: list[Any]) -> list[str]:
    """``[to_str(v) for v in items]``, in one decode when every item is ``bytes`` (a label table's
    20 000 rows hold 120 000 strings, decoded one by one in 40 ms, together in 1 ms). An HDF5
    string ends at its first NUL, so NUL can join the items; a column it cannot join (a NUL
    inside a fixed-length cell, bytes that are not UTF-8, items of other types) goes through
    :func:`to_str` one by one, which raises the error naming the value."""
    if items and set(map(type, items)) == {bytes}:
        try:
            text = b"\x00".join(items).decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            out = text.split("\x00")
            if len(out) == len(items):
                return out
    return [to_str(v) for v in items]


def segment_rows(segments: Iterable[Segment]) -> list[tuple[Any, ...]]:
    return [
        (
            s.id,
            s.start,
            s.end,
            s.label,
            s.annotator,
            s.source,
            math.nan if s.confidence is None else float(s.confidence),
            s.note,
            dt_to_str(s.created),
            dt_to_str(s.modified),
        )
        for s in segments
    ]


def read_segments(ds: h5py.Dataset) -> list[Segment]:
    """The segments of a label table (``/labels/<name>``, a prediction's ``segments``): the same
    segments, and the same error for a table with a bad row, as
    ``segments_from_table(read_table(ds, SEGMENT_DTYPE))``, about 3x faster on a table of
    sound rows (see :func:`segments_at_once`)."""
    arr = ds[()]
    cols = table_columns(ds.name, arr, SEGMENT_DTYPE)
    segments = segments_at_once(arr, cols)
    return segments_from_table(cols) if segments is None else segments


#: Columns holding text: a table whose columns of these are not strings is read row by row.
SEGMENT_TEXT = ("label", "annotator", "source", "note", "created", "modified")


def segments_at_once(arr: np.ndarray, cols: dict[str, list[Any]]) -> list[Segment] | None:
    """The segments of a table whose every row passes the checks of ``Segment.__post_init__``,
    made without calling it per row; None when any row would not (or a column has an
    unexpected type), so that :func:`segments_from_table` goes row by row and raises the
    error of the first bad row, as it always has.

    Why: a week's 20 000 segments took 75 ms to build one by one (a frozen dataclass sets each
    field through ``object.__setattr__``, and the checks call numpy on scalars), most of the
    time from ``harlab FILE`` to its first frame that is not the window. Here the numbers are
    checked as columns and the text on its few distinct values. Every check of
    ``Segment.__post_init__`` must have its twin here: tests/storage/test_storage_segments_read.py
    compares the two on a bad row for each check, and counts the checks."""
    dtype = arr.dtype
    if any(dtype[c].kind != "f" or dtype[c].itemsize > 8 for c in ("start", "end", "confidence")):
        return None
    if dtype["id"].kind not in "iu" or any(dtype[c].kind not in "OSU" for c in SEGMENT_TEXT):
        return None
    start, end, conf = arr["start"], arr["end"], arr["confidence"]
    if not (np.isfinite(start).all() and np.isfinite(end).all()) or (end < start).any():
        return None
    known = conf[~np.isnan(conf)]
    if ((known < 0.0) | (known > 1.0)).any():
        return None
    labels, annotators = set(cols["label"]), set(cols["annotator"])
    if "" in labels or any(len(t) > MAX_NAME_CHARS for t in labels | annotators):
        return None
    if not set(cols["source"]) <= set(SOURCES):
        return None
    try:
        iso = datetime.fromisoformat  # str_to_dt, without a call per value
        created = [iso(t) if t else None for t in cols["created"]]
        modified = [iso(t) if t else None for t in cols["modified"]]
    except ValueError:
        return None
    new, setattr_ = object.__new__, object.__setattr__
    out = []
    for s, e, label, annotator, source, c, note, cr, mo, i in zip(
        cols["start"],
        cols["end"],
        cols["label"],
        cols["annotator"],
        cols["source"],
        cols["confidence"],
        cols["note"],
        created,
        modified,
        cols["id"],
        strict=True,
    ):
        seg = new(Segment)
        # the fields in their order, as the dataclass's __init__ sets them
        setattr_(
            seg,
            "__dict__",
            {
                "start": s,
                "end": e,
                "label": label,
                "annotator": annotator,
                "source": source,
                "confidence": None if math.isnan(c) else c,
                "note": note,
                "created": cr,
                "modified": mo,
                "id": i,
            },
        )
        out.append(seg)
    return out


def segments_from_table(cols: dict[str, list[Any]]) -> list[Segment]:
    """The segments of a table's columns, one by one (each checked by ``Segment.__post_init__``)."""
    out = []
    for i in range(len(cols.get("id", []))):
        conf = cols["confidence"][i]
        out.append(
            Segment(
                start=float(cols["start"][i]),
                end=float(cols["end"][i]),
                label=cols["label"][i],
                annotator=cols["annotator"][i],
                source=cols["source"][i],
                confidence=None if math.isnan(conf) else float(conf),
                note=cols["note"][i],
                created=str_to_dt(cols["created"][i]),  # type: ignore[arg-type]
                modified=str_to_dt(cols["modified"][i]),  # type: ignore[arg-type]
                id=int(cols["id"][i]),
            )
        )
    return out
