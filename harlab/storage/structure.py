"""Checks of a session file's structure, made on HDF5 metadata before any sample is read.

A crafted HDF5 file can make a trusting reader read another file on disk (a dataset
with external storage, an external link, a virtual dataset), allocate gigabytes (an
extent of 10**11 samples declared over a few unallocated chunks, a 3 GB chunk) or
never finish (a pyramid ``factor`` of 0 or 1, a billion ``levels``). Everything here
looks only at link types, dataset creation properties, shapes, allocated storage and
small attributes, so it takes milliseconds whatever the file declares.

:func:`~harlab.storage.codec.open_h5` refuses a file with any problem found here, and
:func:`~harlab.storage.validate.validate_file` reports them all and reads no data of
such a file. The limits live in :mod:`harlab.storage.layout` and ``docs/FORMAT.md``.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harlab.core.quality_tracks import MAX_QUALITY_TRACKS, QUALITY_KINDS
from harlab.core.videos import MAX_VIDEOS
from harlab.storage.layout import (
    ALLOWED_FILTERS,
    MAX_ATTR_BYTES,
    MAX_CHANNELS,
    MAX_CHUNK_BYTES,
    MAX_EXPANSION,
    MAX_NAME_CHARS,
    MAX_OBJECTS,
    MAX_RATE_HZ,
    MAX_TABLE_BYTES,
    MAX_TRACKS,
    MAX_VIDEO_ATTR_BYTES,
    PYRAMID_FACTOR_RANGE,
    PYRAMID_TOP,
    QUALITY_ATTRS,
    SIZE_SLACK,
    SPAN_DTYPE,
    VIDEO_ATTRS,
    to_str,
)

_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, OverflowError)

#: A global heap collection (where HDF5 keeps variable-length strings) starts with "GCOL", version 1
#: and three zero bytes; 8 bytes that random sample data practically never holds.
_GCOL = b"GCOL\x01\x00\x00\x00"
_GCOL_MIN = 4096


def global_heap_problems(path: Path) -> list[str]:
    """Inconsistent global heap collections in the file's bytes.

    HDF5 2.0 does not check the object sizes inside a collection: a free-space object of size 0
    makes it loop forever, and a size past the end makes it read out of bounds (found by flipping
    random bits in session files), the first time any string attribute is read. So the
    collections are walked here, in Python, before HDF5 reads one; a region that only looks like
    a collection by chance is not one HDF5 would read, so nothing is lost by checking it too.
    """
    out: list[str] = []
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < len(_GCOL):
            return out
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            for at in _signatures(m, size):
                problem = _collection_problem(m, at, size)
                if problem:
                    out.append(f"the global heap (strings) at byte {at} is corrupt: {problem}")
    return out


def _signatures(m: mmap.mmap, size: int, piece: int = 64 << 20) -> Iterator[int]:
    """Offsets of every collection signature in ``m``, searched a piece at a time: one search of a
    gigabyte would hold Python's lock for a second, freezing a window that waits beside it."""
    start = 0
    while start < size:
        end = min(size, start + piece + len(_GCOL) - 1)  # a signature across the cut is found once
        at = m.find(_GCOL, start, end)
        while at >= 0:
            yield at
            at = m.find(_GCOL, at + len(_GCOL), end)
        start += piece


def _collection_problem(m: mmap.mmap, at: int, file_size: int) -> str | None:
    if at + 16 > file_size:
        return "it is cut off by the end of the file"
    (csize,) = struct.unpack_from("<Q", m, at + 8)
    if csize < _GCOL_MIN or at + csize > file_size:
        return f"it declares {csize} bytes ({_GCOL_MIN} or more, within the file's {file_size})"
    end, p = at + csize, at + 16
    while p + 16 <= end:  # HDF5 takes a tail shorter than an object header as free space
        idx, _, _, osize = struct.unpack_from("<HHIQ", m, p)
        need = osize if idx == 0 else 16 + -(-osize // 8) * 8  # free space counts its own header
        if need < 16 or p + need > end:
            return f"object {idx} at byte {p} declares {osize} bytes, {end - p} are left"
        p += need
    return None


def structure_problems(f: h5py.File, file_size: int) -> list[str]:
    """Every structural problem of the open file ``f`` (``file_size`` bytes on disk); [] when
    its data can be read safely. Each problem names the object inside the file."""
    out: list[str] = []
    for group in ("streams", "labels", "predictions"):
        link = f.get(group, getlink=True)
        if isinstance(link, h5py.HardLink) and isinstance(f.get(group), h5py.Group):
            n = f[group].id.get_num_objs()
            if n > MAX_TRACKS:
                out.append(f"/{group} holds {n} members (at most {MAX_TRACKS})")
    if out:
        return out  # counted before the walk, which would read every one of them
    _walk(f, file_size, out)
    if out:
        return out  # the stream checks below open objects by name, which must be safe first
    streams = f.get("streams")
    if isinstance(streams, h5py.Group):
        for name in streams:
            g = streams.get(name)
            if isinstance(g, h5py.Group):
                try:
                    out += stream_structure_problems(g)
                except _READ_ERRORS as exc:
                    out.append(f"{g.name}: cannot be read ({_short(exc)})")
    if "videos" in f:
        try:
            out += video_structure_problems(f["videos"])
        except _READ_ERRORS as exc:
            out.append(f"/videos: cannot be read ({_short(exc)})")
    if "quality" in f:
        try:
            out += quality_structure_problems(f["quality"])
        except _READ_ERRORS as exc:
            out.append(f"/quality: cannot be read ({_short(exc)})")
    return out


def quality_structure_problems(g: Any) -> list[str]:
    """``/quality``: a group of at most :data:`MAX_QUALITY_TRACKS` tables of two float columns
    (``start``, ``end``) with string attributes ``kind`` (one of :data:`QUALITY_KINDS`), ``method``
    and ``params``; the span values are checked when read (:class:`QualityTrack`)."""
    if not isinstance(g, h5py.Group):
        return [f"{g.name} should be a group of quality tables"]
    names = list(g)
    if len(names) > MAX_QUALITY_TRACKS:
        return [f"{g.name} holds {len(names)} entries (at most {MAX_QUALITY_TRACKS} quality tracks)"]
    out: list[str] = []
    for name in names:
        ds = g[name]
        if not isinstance(ds, h5py.Dataset):
            out.append(f"{ds.name} should be a table (dataset) of spans")
            continue
        fields = ds.dtype.fields or {}
        if (
            ds.ndim != 1
            or set(fields) != set(SPAN_DTYPE.names or ())
            or any(fields[k][0].kind != "f" or fields[k][0].itemsize > 8 for k in fields)
        ):
            out.append(
                f"{ds.name} has dtype {ds.dtype} shape {ds.shape}, expected a table of float start, end"
            )
        extra = sorted(set(ds.attrs) - set(QUALITY_ATTRS))
        if extra:
            out.append(f"{ds.name}: unknown attributes {extra[:3]}")
        for key in QUALITY_ATTRS:
            if key not in ds.attrs:
                out.append(f"{ds.name} lacks the attribute {key!r}")
                continue
            if math.prod(ds.attrs.get_id(key).shape or ()) != 1:
                out.append(f"{ds.name}: attribute {key!r} should be one string")
                continue
            strings = _strings(ds, key, out)
            if strings is None:
                continue
            if len(strings[0].encode("utf-8")) > MAX_VIDEO_ATTR_BYTES:
                out.append(f"{ds.name}: attribute {key!r} is longer than {MAX_VIDEO_ATTR_BYTES} bytes")
            elif key == "kind" and strings[0] not in QUALITY_KINDS:
                out.append(f"{ds.name}: kind {strings[0]!r} is not one of {', '.join(QUALITY_KINDS)}")
    return out


def video_structure_problems(g: Any) -> list[str]:
    """``/videos``: a group of at most :data:`MAX_VIDEOS` entries ``0..n-1``, each a group without
    members whose attributes have the types the reader expects (values are checked when read)."""
    if not isinstance(g, h5py.Group):
        return [f"{g.name} should be a group of video entries"]
    names = list(g)
    if len(names) > MAX_VIDEOS:
        return [f"{g.name} holds {len(names)} entries (at most {MAX_VIDEOS} videos)"]
    want = {str(i) for i in range(len(names))}
    if set(names) != want:
        odd = sorted(set(names) - want)[:3]
        return [f"{g.name}: entries must be named 0..{len(names) - 1}, found {', '.join(map(repr, odd))}"]
    out: list[str] = []
    for name in names:
        e = g[name]
        if not isinstance(e, h5py.Group):
            out.append(f"{e.name} should be a group (a video entry)")
            continue
        if len(e):
            out.append(f"{e.name}: a video entry has attributes only, found members {sorted(e)[:3]}")
        extra = sorted(set(e.attrs) - set(VIDEO_ATTRS))
        if extra:
            out.append(f"{e.name}: unknown attributes {extra[:3]}")
        for key in ("name", "reference"):
            if key not in e.attrs:
                out.append(f"{e.name} lacks the attribute {key!r}")
                continue
            aid = e.attrs.get_id(key)
            strings = _strings(e, key, out) if math.prod(aid.shape or ()) == 1 else None
            if strings is None:
                if math.prod(aid.shape or ()) != 1:
                    out.append(f"{e.name}: attribute {key!r} should be one string")
            elif len(strings[0].encode("utf-8")) > MAX_VIDEO_ATTR_BYTES:
                out.append(f"{e.name}: attribute {key!r} is longer than {MAX_VIDEO_ATTR_BYTES} bytes")
        for key in ("offset_s", "drift_ppm"):
            _number(e, key, out)
        if "roi" in e.attrs:
            aid = e.attrs.get_id("roi")
            if aid.dtype.kind not in "iu" or tuple(aid.shape or ()) != (4,):
                out.append(
                    f"{e.name}: attribute 'roi' has type {aid.dtype} shape {aid.shape}, expected 4 integers"
                )
    return out


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n")[0][:200] or type(exc).__name__


def _join(group: h5py.Group, name: str) -> str:
    return f"{group.name.rstrip('/')}/{name}"


def _walk(f: h5py.File, file_size: int, out: list[str]) -> None:
    """Visit every link once, without following soft or external links (``visititems``
    would resolve them), and check each object it reaches."""
    seen = {f.id}
    stack: list[h5py.Group] = [f]
    count = 0
    while stack:
        g = stack.pop()
        try:
            names = list(g)
        except _READ_ERRORS as exc:
            out.append(f"{g.name}: its members cannot be listed ({_short(exc)})")
            continue
        for name in names:
            count += 1
            if count > MAX_OBJECTS:
                out.append(f"the file holds more than {MAX_OBJECTS} objects; a session file has far fewer")
                return
            if isinstance(name, bytes):  # h5py gives a name that is not UTF-8 as bytes
                out.append(f"{g.name}: an object name is not valid UTF-8 ({name!r})")
                continue
            if len(name) > MAX_NAME_CHARS:
                out.append(
                    f"{g.name}: an object name has {len(name)} characters (at most {MAX_NAME_CHARS}): "
                    f"{name[:40]!r}..."
                )
                continue
            path = _join(g, name)
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                out.append(
                    f"{g.name}: an object name is not valid UTF-8 "
                    f"({name.encode('utf-8', 'backslashreplace').decode()!r})"
                )
                continue
            try:
                link = g.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    out.append(
                        f"{path} is an external link to {link.filename}:{link.path}; "
                        "a session file must not refer to other files"
                    )
                    continue
                if isinstance(link, h5py.SoftLink):
                    out.append(f"{path} is a soft link to {link.path}; harlab writes no links")
                    continue
                if not isinstance(link, h5py.HardLink):
                    out.append(f"{path} is a link of an unknown kind ({type(link).__name__})")
                    continue
                obj = g.get(name)
                if obj is None:
                    out.append(f"{path} is listed in {g.name} but cannot be opened (a damaged link)")
                    continue
                _attr_problems(obj, path, out)
                if isinstance(obj, h5py.Dataset):
                    out += _dataset_problems(obj, path, file_size)
                elif isinstance(obj, h5py.Group) and obj.id not in seen:
                    seen.add(obj.id)
                    stack.append(obj)
            except _READ_ERRORS as exc:
                out.append(f"{path}: cannot be read ({_short(exc)})")


def _attr_problems(obj: Any, path: str, out: list[str]) -> None:
    for key in obj.attrs:
        aid = obj.attrs.get_id(key)
        shape = aid.shape or ()
        size = math.prod(shape) * aid.dtype.itemsize
        if size > MAX_ATTR_BYTES:
            out.append(f"{path}: attribute {key!r} declares {size} bytes (at most {MAX_ATTR_BYTES})")


def _dataset_problems(ds: h5py.Dataset, path: str, file_size: int) -> list[str]:
    """External storage, virtual mapping, foreign filters, huge chunks, and a declared size
    that the stored bytes cannot hold."""
    dcpl = ds.id.get_create_plist()
    n_ext = dcpl.get_external_count()
    if n_ext:
        files = ", ".join(to_str(dcpl.get_external(i)[0]) for i in range(min(n_ext, 3)))
        return [
            f"{path} keeps its data in an external file ({files}); a session file must not refer to other files"
        ]
    if ds.is_virtual:
        files = ", ".join(sorted({to_str(m.file_name) for m in ds.virtual_sources()})[:3])
        return [
            f"{path} is a virtual dataset mapping data from {files or 'other datasets'}; "
            "a session file must not refer to other files"
        ]
    out: list[str] = []
    compressed = False
    for i in range(dcpl.get_nfilters()):
        code = dcpl.get_filter(i)[0]
        if code not in ALLOWED_FILTERS:
            out.append(
                f"{path} uses HDF5 filter {code}; a session file uses only "
                f"{', '.join(ALLOWED_FILTERS.values())}"
            )
        compressed = compressed or code in (1, 32000)
    shape = ds.shape or ()
    itemsize = ds.dtype.itemsize
    declared = math.prod(shape) * itemsize
    if ds.chunks is not None:
        chunk = math.prod(ds.chunks) * itemsize
        if chunk > MAX_CHUNK_BYTES:
            out.append(f"{path} has chunks of {ds.chunks} ({chunk} bytes; at most {MAX_CHUNK_BYTES})")
    stored = min(int(ds.id.get_storage_size()), file_size)
    limit = stored * (MAX_EXPANSION if compressed else 1) + SIZE_SLACK
    if declared > limit:
        out.append(
            f"{path} declares shape {shape} ({declared} bytes) but the file stores only {stored} bytes of it"
        )
    if not path.startswith("/streams/") and declared > MAX_TABLE_BYTES:
        out.append(
            f"{path} declares {declared} bytes; tables and predictions are read whole and may "
            f"hold at most {MAX_TABLE_BYTES}"
        )
    return out


def stream_structure_problems(g: h5py.Group) -> list[str]:
    """A stream group's shapes, dtypes, attribute types and pyramid geometry (metadata only)."""
    out: list[str] = []
    t, v, fl, pyr = g.get("time"), g.get("values"), g.get("flags"), g.get("pyramid")
    if not all(isinstance(x, h5py.Dataset) for x in (t, v, fl)) or not isinstance(pyr, h5py.Group):
        return out  # the reader names what is missing
    for ds, kinds in ((t, "fiu"), (v, "fiu"), (fl, "iu")):
        if ds.dtype.kind not in kinds or ds.dtype.itemsize > 8:
            out.append(f"{ds.name} has dtype {ds.dtype}, expected numbers")
    if t.ndim != 1 or v.ndim != 2 or fl.shape != t.shape or v.shape[0] != t.shape[0]:
        out.append(f"{g.name}: inconsistent shapes time {t.shape}, values {v.shape}, flags {fl.shape}")
        return out
    n, n_ch = int(t.shape[0]), int(v.shape[1])
    if n_ch > MAX_CHANNELS:
        out.append(f"{v.name} has {n_ch} channels (at most {MAX_CHANNELS})")
        return out
    for key in ("channels", "units", "kind", "device"):
        if key in g.attrs:
            names = _strings(g, key, out)
            if names is None:
                continue
            longest = max((len(x) for x in names), default=0)
            if longest > MAX_NAME_CHARS:
                out.append(
                    f"{g.name}: attribute {key} holds a name of {longest} characters (at most {MAX_NAME_CHARS})"
                )
            elif key in ("channels", "units") and len(names) != n_ch:
                out.append(f"{g.name}: attribute {key} has {len(names)} entries for {n_ch} channels")
    if "rate_hz" in g.attrs:
        rate = _number(g, "rate_hz", out)
        if rate is not None and not math.isnan(rate) and not 0 < rate <= MAX_RATE_HZ:
            out.append(
                f"{g.name}: rate_hz is {rate}, expected NaN (irregular) or a rate in (0, {MAX_RATE_HZ:.0f}] Hz"
            )
    factor = _number(pyr, "factor", out, integer=True)
    levels = _number(pyr, "levels", out, integer=True)
    if factor is None or levels is None:
        return out
    lo_f, hi_f = PYRAMID_FACTOR_RANGE
    if not lo_f <= factor <= hi_f:
        out.append(f"{pyr.name}: factor is {factor:g}, expected an integer in {lo_f}..{hi_f}")
        return out
    f_int = int(factor)
    expect, rows = 0, n
    while rows > PYRAMID_TOP:
        expect += 1
        rows = -(-rows // f_int)
    if levels != expect:
        out.append(f"{pyr.name}: levels is {levels:g}, expected {expect} for {n} samples")
        return out
    for k in range(1, expect + 1):
        m = -(-n // f_int**k)
        lv = pyr.get(str(k))
        if not isinstance(lv, h5py.Group):
            out.append(f"{pyr.name}/{k} is missing")
            continue
        for key, want in (("time", (m,)), ("lo", (m, n_ch)), ("hi", (m, n_ch))):
            ds = lv.get(key)
            if not isinstance(ds, h5py.Dataset):
                out.append(f"{lv.name}/{key} is missing")
            elif ds.shape != want:
                out.append(f"{ds.name} has shape {ds.shape}, expected {want} for {n} samples")
            elif ds.dtype.kind not in "fiu" or ds.dtype.itemsize > 8:
                out.append(f"{ds.name} has dtype {ds.dtype}, expected numbers")
    return out


def _strings(obj: Any, key: str, out: list[str]) -> list[str] | None:
    """A string or array-of-strings attribute, or None after reporting why it is not one."""
    aid = obj.attrs.get_id(key)
    if h5py.check_string_dtype(aid.dtype) is None:
        out.append(f"{obj.name}: attribute {key!r} has type {aid.dtype}, expected strings")
        return None
    value = obj.attrs[key]
    items = [value] if isinstance(value, str | bytes) else np.asarray(value, dtype=object).ravel().tolist()
    try:
        return [to_str(x) for x in items]
    except ValueError as exc:
        out.append(f"{obj.name}: attribute {key!r}: {_short(exc)}")
        return None


def _number(obj: Any, key: str, out: list[str], integer: bool = False) -> float | None:
    """A real scalar attribute (an integer one when ``integer``), or None after reporting."""
    if key not in obj.attrs:
        out.append(f"{obj.name} lacks the attribute {key!r}")
        return None
    aid = obj.attrs.get_id(key)
    kinds = "iu" if integer else "fiu"
    if aid.dtype.kind not in kinds or math.prod(aid.shape or ()) != 1:
        what = "an integer" if integer else "a number"
        out.append(f"{obj.name}: attribute {key!r} has type {aid.dtype} shape {aid.shape}, expected {what}")
        return None
    return float(np.asarray(obj.attrs[key]).ravel()[0])
