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

from harlab.core.labels import Segment
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
    arr = ds[()]
    have = arr.dtype.names or ()
    if arr.ndim != 1 or not have:
        raise ValueError(f"{ds.name} should be a 1-D table (compound dataset), got {arr.dtype} {arr.shape}")
    missing = [n for n in dtype.names or () if n not in have]
    if missing:
        raise ValueError(
            f"table {ds.name} lacks the {'columns' if len(missing) > 1 else 'column'} {', '.join(missing)}"
        )
    out: dict[str, list[Any]] = {}
    for name in arr.dtype.names or ():
        col = arr[name]
        if col.dtype.kind in "OSU":
            out[name] = [to_str(v) for v in col.tolist()]
        else:
            out[name] = col.tolist()
    return out


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


def segments_from_table(cols: dict[str, list[Any]]) -> list[Segment]:
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
