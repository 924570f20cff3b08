"""Session <-> HDF5: writing the whole session into an open file, and reading it back.

The writer never modifies an existing file: :mod:`harlab.storage.session_file` calls
:func:`write_session` on a fresh temporary file and renames it into place. The reader
turns every problem (missing dataset, wrong shape, invalid value) into a
:class:`~harlab.core.errors.SessionFileError` naming the object inside the file.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import h5py
import numpy as np

import harlab
from harlab.core import files
from harlab.core.errors import (
    HarlabError,
    SessionError,
    SessionFileError,
    UnsupportedVersionError,
    VideoFileError,
)
from harlab.core.labels import LabelSchema, LabelTrack, Policy, Segment
from harlab.core.metadata import DeviceInfo, Metadata, Provenance, SourceFile
from harlab.core.predictions import PredictionTrack
from harlab.core.quality_tracks import QualityTrack
from harlab.core.session import Session
from harlab.core.streams import Stream
from harlab.core.videos import VideoLink, VideoSyncError
from harlab.core.wording import counted
from harlab.storage.h5data import H5StreamData
from harlab.storage.layout import (
    CLASS_DTYPE,
    COMPRESSION,
    DEVICE_DTYPE,
    FORMAT_NAME,
    FORMAT_VERSION,
    SEGMENT_DTYPE,
    SOURCE_DTYPE,
    SPAN_DTYPE,
    dict_to_json,
    dt_to_str,
    json_to_dict,
    read_segments,
    read_table,
    segment_rows,
    str_list,
    str_to_dt,
    to_str,
    write_table,
)
from harlab.storage.probe import probe_metadata, trust
from harlab.storage.pyramid import StreamAppender, create_stream_group
from harlab.storage.structure import structure_problems

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: ending of the temporary file of a save in progress (``.<name>.<random>.h5.tmp``), which
#: :func:`remove_stale_temps` deletes when a save was killed
TEMP_SUFFIX = ".h5.tmp"
_BLOCK = 1 << 20  # rows per append when encoding a stream that is not in memory


# -- writing --------------------------------------------------------------------------
def write_root(f: h5py.File) -> None:
    f.attrs["format"] = FORMAT_NAME
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["harlab_version"] = harlab.__version__
    f.attrs["written_utc"] = dt_to_str(datetime.now(UTC))
    for name in ("metadata", "labels", "predictions", "streams"):
        if name not in f:
            f.create_group(name, track_order=True)


def write_metadata(f: h5py.File, md: Metadata) -> None:
    g = f.require_group("metadata")
    for key in list(g.keys()):
        del g[key]
    g.attrs["session_id"] = md.session_id
    g.attrs["participant_id"] = md.participant_id
    g.attrs["timezone"] = md.timezone
    g.attrs["start_utc"] = dt_to_str(md.start_utc)
    g.attrs["notes"] = md.notes
    g.attrs["extra"] = dict_to_json(md.extra)
    write_table(
        g,
        "devices",
        DEVICE_DTYPE,
        [(d.name, d.model, d.firmware, d.placement, d.address) for d in md.devices],
    )
    p = g.create_group("provenance")
    pv = md.provenance
    p.attrs["importer"] = pv.importer
    p.attrs["harlab_version"] = pv.harlab_version
    p.attrs["created_utc"] = dt_to_str(pv.created_utc)
    p.attrs["notes"] = pv.notes
    write_table(p, "sources", SOURCE_DTYPE, [(s.path, s.sha256, int(s.size)) for s in pv.sources])


def write_schema(f: h5py.File, schema: LabelSchema) -> None:
    if "schema" in f:
        del f["schema"]
    write_table(f, "schema", CLASS_DTYPE, [(c.name, c.color, c.hotkey or "", c.description) for c in schema])


def write_label_track(parent: h5py.Group, track: LabelTrack) -> None:
    ds = write_table(parent, track.name, SEGMENT_DTYPE, segment_rows(track))
    ds.attrs["policy"] = track.policy
    ds.attrs["description"] = track.description
    ds.attrs["next_id"] = track.next_id
    ds.attrs["annotator"] = track.annotator
    ds.attrs["created"] = dt_to_str(track.created)
    ds.attrs["modified"] = dt_to_str(track.modified)


def write_prediction_track(parent: h5py.Group, p: PredictionTrack) -> None:
    g = parent.create_group(p.name)
    g.attrs["model_name"] = p.model_name
    g.attrs["model_version"] = p.model_version
    g.attrs["classes"] = (
        np.array(p.classes, dtype=object) if p.classes else np.zeros(0, dtype=h5py.string_dtype())
    )
    g.attrs["created"] = dt_to_str(p.created)
    g.attrs["params"] = dict_to_json(p.params)
    big = len(p) > 1024
    opts: dict[str, Any] = {**COMPRESSION, "chunks": True} if big else {}
    g.create_dataset("window_start", data=p.window_start, **opts)
    g.create_dataset("window_end", data=p.window_end, **opts)
    g.create_dataset("probabilities", data=p.probabilities, **opts)
    write_table(g, "segments", SEGMENT_DTYPE, segment_rows(p.segments))


def write_stream_attrs(g: h5py.Group, s: Stream) -> None:
    g.attrs["channels"] = (
        np.array(s.channels, dtype=object) if s.channels else np.zeros(0, dtype=h5py.string_dtype())
    )
    g.attrs["units"] = np.array(s.units, dtype=object) if s.units else np.zeros(0, dtype=h5py.string_dtype())
    g.attrs["rate_hz"] = np.nan if s.rate_hz is None else float(s.rate_hz)
    g.attrs["kind"] = s.kind
    g.attrs["device"] = s.device
    g.attrs["attrs"] = dict_to_json(s.attrs)


def write_stream(parent: h5py.Group, s: Stream) -> None:
    """Copy an HDF5-backed stream group as stored (no re-encoding); encode anything else."""
    data = s.data
    if isinstance(data, H5StreamData):
        parent.copy(data.group, s.name)
        g = parent[s.name]
    else:
        g = create_stream_group(parent, s.name, data.n_channels)
        app = StreamAppender(g)
        t, v = data.read()
        fl = data.read_flags()
        for i in range(0, len(t), _BLOCK) if len(t) else ():
            app.append(t[i : i + _BLOCK], v[i : i + _BLOCK], fl[i : i + _BLOCK])
    write_stream_attrs(g, s)


def write_session(f: h5py.File, session: Session) -> None:
    """The whole session into an empty, writable file."""
    write_root(f)
    write_metadata(f, session.metadata)
    write_schema(f, session.schema)
    for track in session.label_tracks.values():
        write_label_track(f["labels"], track)
    for p in session.prediction_tracks.values():
        write_prediction_track(f["predictions"], p)
    for s in session.streams.values():
        write_stream(f["streams"], s)
    write_videos(f, list(session.videos.values()))
    write_quality(f, list(session.quality_tracks.values()))


def write_quality(f: h5py.File, tracks: list[QualityTrack]) -> None:
    """``/quality/<name>`` per quality track; no ``/quality`` when the session has none, so a
    session without one writes the same layout as before quality tracks existed."""
    if not tracks:
        return
    g = f.create_group("quality", track_order=True)
    for track in tracks:
        ds = write_table(
            g, track.name, SPAN_DTYPE, list(zip(track.start.tolist(), track.end.tolist(), strict=True))
        )
        ds.attrs["kind"] = track.kind
        ds.attrs["method"] = track.method
        ds.attrs["params"] = dict_to_json(track.params)


def write_videos(f: h5py.File, links: list[VideoLink]) -> None:
    """``/videos/<i>`` per link in display order; no ``/videos`` at all when the session has none,
    so a session without video writes the same layout as before videos existed."""
    if not links:
        return
    g = f.create_group("videos", track_order=True)
    for i, link in enumerate(links):
        e = g.create_group(str(i))
        e.attrs["name"] = link.name
        e.attrs["reference"] = link.reference.to_json()
        e.attrs["offset_s"] = float(link.sync.offset_s)
        e.attrs["drift_ppm"] = float(link.sync.drift_ppm)
        if link.roi is not None:
            e.attrs["roi"] = np.array(link.roi, dtype=np.int64)


def remove_stale_temps(path: Path) -> None:
    """Delete temporary files of saves that were killed; call only while holding the lock
    (only a lock holder creates them, so none of them can be in use)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            tmp.unlink()


# -- reading --------------------------------------------------------------------------
def save_h5(path: str | Path, fill: Callable[[h5py.File], None]) -> Path:
    """Create the HDF5 file ``path`` with ``fill`` through :func:`harlab.core.files.atomic_write`.

    The one way a session file comes into being, for a save and for a recording recovered
    from its journal: a crash leaves the old file or the new one, never a torn one. An
    ``OSError`` (full disk, read-only folder) becomes a :class:`SessionFileError` naming
    ``path``; the file is then marked trusted, since harlab wrote its bytes, so opening it
    needs no probe in a child process.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SessionFileError(path, f"the folder {folder} does not exist")

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w", track_order=True, locking=False) as f:
            fill(f)

    try:
        files.atomic_write(path, write, suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise SessionFileError(path, f"could not save: {exc.strerror or exc}") from None
    trust(path)
    return path


def check_signature(path: Path) -> None:
    """Raise SessionFileError unless ``path`` is a regular file that starts like an HDF5 file
    (a FIFO or device is refused before it is opened: reading one could block or never end)."""
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise SessionFileError(
                path, "is not a regular file (a pipe, socket or device), not a session file"
            )
        with open(path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise SessionFileError(path, "no such file") from None
    except IsADirectoryError:
        raise SessionFileError(path, "is a folder, not a session file") from None
    except OSError as exc:
        raise SessionFileError(path, f"cannot read the file: {exc.strerror}") from None
    if head != HDF5_SIGNATURE:
        shown = head.hex(" ") if head else "nothing (the file is empty)"
        raise SessionFileError(
            path,
            f"not an HDF5 file: bytes 0-7 are {shown}, a harlab session starts with the HDF5 signature "
            "89 48 44 46 0d 0a 1a 0a",
        )


def open_h5(path: Path, check_structure: bool = True) -> h5py.File:
    """Open read-only and check the format attributes and, when ``check_structure``, the
    structure (:mod:`harlab.storage.structure`: no references to other files, declared sizes
    the file can hold, sane chunks and attributes); every failure is a SessionFileError."""
    check_signature(path)
    # a file harlab did not write or check: its global heaps scanned, its metadata walked by a child
    # process (a crash of HDF5 on damaged metadata ends the child, not this one)
    probe_metadata(path)
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise SessionFileError(path, f"corrupt or truncated HDF5 file ({_short(exc)})") from None
    try:
        fmt = f.attrs.get("format")
        if fmt is None or to_str(fmt) != FORMAT_NAME:
            raise SessionFileError(
                path,
                f"not a harlab session file: root attribute 'format' is {fmt!r}, expected {FORMAT_NAME!r}",
            )
        ver = f.attrs.get("format_version")
        try:
            ver_int = int(ver)
        except (TypeError, ValueError, OverflowError):
            raise SessionFileError(
                path, f"root attribute 'format_version' is {ver!r}, expected an integer"
            ) from None
        if ver_int > FORMAT_VERSION:
            raise UnsupportedVersionError(
                path,
                f"format version {ver_int} was written by a newer harlab; this harlab "
                f"({harlab.__version__}) reads format versions up to {FORMAT_VERSION}. Update harlab to open it.",
            )
        if ver_int < 1:
            raise SessionFileError(path, f"format version {ver_int} is not valid (expected 1)")
        if check_structure:
            problems = structure_problems(f, path.stat().st_size)
            if problems:
                more = (
                    f" (and {counted(len(problems) - 1, 'more problem')}; see harlab validate)"
                    if len(problems) > 1
                    else ""
                )
                raise SessionFileError(path, f"refused: {problems[0]}{more}")
    except (KeyError, ValueError, TypeError, OSError, RuntimeError) as exc:
        f.close()
        raise SessionFileError(path, f"corrupt root attributes ({_short(exc)})") from None
    except BaseException:
        f.close()
        raise
    return f


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n")[0][:200] or type(exc).__name__


class _Reader:
    """Reads one open file into a Session; ``where`` names the object being read for errors."""

    def __init__(self, f: h5py.File, path: Path) -> None:
        self.f = f
        self.path = path
        self.where = "/"

    def need(self, group: h5py.Group, name: str, kind: type = h5py.Dataset) -> Any:
        obj = group.get(name)
        label = "dataset" if kind is h5py.Dataset else "group"
        full = f"{group.name.rstrip('/')}/{name}"
        if obj is None:
            raise SessionFileError(self.path, f"missing {label} {full}")
        if not isinstance(obj, kind):
            raise SessionFileError(self.path, f"{full} should be a {label}")
        return obj

    def attr(self, obj: Any, name: str, default: Any = None) -> Any:
        if name in obj.attrs:
            return obj.attrs[name]
        if default is None:
            raise SessionFileError(self.path, f"{obj.name} lacks the attribute {name!r}")
        return default

    def read(self, lazy: bool = True) -> Session:
        try:
            return self._read(lazy)
        except HarlabError as exc:
            if isinstance(exc, SessionFileError):
                raise
            raise SessionFileError(self.path, f"{self.where}: {exc}") from None
        except (KeyError, ValueError, TypeError, OSError, RuntimeError, IndexError) as exc:
            raise SessionFileError(self.path, f"{self.where}: {_short(exc)}") from None

    def _read(self, lazy: bool) -> Session:
        f = self.f
        self.where = "/metadata"
        md = self.metadata(self.need(f, "metadata", h5py.Group))
        self.where = "/schema"
        cls = read_table(self.need(f, "schema"), CLASS_DTYPE)
        schema = LabelSchema.from_list(
            [{k: cls[k][i] for k in CLASS_DTYPE.names or ()} for i in range(len(cls["name"]))]
        )
        session = Session(md, schema)
        for name, ds in self.need(f, "labels", h5py.Group).items():
            self.where = f"/labels/{name}"
            if not isinstance(ds, h5py.Dataset):
                raise SessionFileError(self.path, f"{self.where} should be a table (dataset)")
            policy = cast(Policy, to_str(self.attr(ds, "policy", "exclusive")))  # LabelTrack checks it
            track = LabelTrack(
                name,
                policy,
                to_str(ds.attrs.get("description", "")),
                annotator=to_str(ds.attrs.get("annotator", "")),
            )
            track.add_many(read_segments(ds), keep_ids=True)
            track.keep_ids_below(int(ds.attrs.get("next_id", 1)))  # ids of deleted segments stay used
            # after add_many, which marks the track modified; files older than these attributes
            # have neither: both unknown (None), never the time of reading
            track.created = str_to_dt(to_str(ds.attrs.get("created", "")))
            track.modified = str_to_dt(to_str(ds.attrs.get("modified", "")))
            session.add_label_track(track)
        for name, g in self.need(f, "predictions", h5py.Group).items():
            self.where = f"/predictions/{name}"
            session.add_prediction_track(self.prediction(name, g))
        for name, g in self.need(f, "streams", h5py.Group).items():
            self.where = f"/streams/{name}"
            session.add_stream(self.stream(name, g))
        videos = f.get("videos")
        if videos is not None:
            self.where = "/videos"
            if not isinstance(videos, h5py.Group):
                raise SessionFileError(self.path, "/videos should be a group")
            for i in range(len(videos)):
                self.where = f"/videos/{i}"
                link = self.video(self.need(videos, str(i), h5py.Group))
                if link.name in session.videos:
                    raise SessionFileError(self.path, f"{self.where}: a second video named {link.name!r}")
                session.add_video(link)
        quality = f.get("quality")
        if quality is not None:
            if not isinstance(quality, h5py.Group):
                raise SessionFileError(self.path, "/quality should be a group")
            for name, ds in quality.items():
                self.where = f"/quality/{name}"
                session.set_quality_track(self.quality(name, ds))
        return session

    def quality(self, name: str, ds: h5py.Dataset) -> QualityTrack:
        """One quality track; :class:`QualityTrack` checks the spans (finite, sorted, disjoint)."""
        if not isinstance(ds, h5py.Dataset):
            raise SessionFileError(self.path, f"{self.where} should be a table (dataset)")
        cols = read_table(ds, SPAN_DTYPE)
        try:
            return QualityTrack(
                name=name,
                kind=to_str(self.attr(ds, "kind")),
                start=np.asarray(cols["start"], dtype=np.float64),
                end=np.asarray(cols["end"], dtype=np.float64),
                method=to_str(self.attr(ds, "method", "")),
                params=json_to_dict(self.attr(ds, "params", "{}")),
            )
        except SessionError as exc:
            raise SessionFileError(self.path, f"{self.where}: {exc}") from None

    def video(self, g: h5py.Group) -> VideoLink:
        """One link, every value checked by :meth:`VideoLink.from_dict` (the structure checks
        have bounded the entry's count, types and sizes before)."""
        roi = g.attrs.get("roi")
        try:
            return VideoLink.from_dict(
                {
                    "name": to_str(self.attr(g, "name")),
                    "reference": json.loads(to_str(self.attr(g, "reference"))),
                    "sync": {
                        "offset_s": float(self.attr(g, "offset_s")),
                        "drift_ppm": float(self.attr(g, "drift_ppm")),
                    },
                    "roi": None if roi is None else [int(v) for v in np.asarray(roi).ravel()],
                },
                where=g.name,
            )
        except (VideoFileError, VideoSyncError) as exc:
            problem = exc.problem if isinstance(exc, VideoFileError) else str(exc)
            raise SessionFileError(self.path, f"{g.name}: {problem}") from None
        except (ValueError, RecursionError) as exc:
            raise SessionFileError(
                self.path, f"{g.name}: reference is not valid JSON ({_short(exc)})"
            ) from None

    def metadata(self, g: h5py.Group) -> Metadata:
        dev = read_table(self.need(g, "devices"), DEVICE_DTYPE)
        devices = [
            DeviceInfo(**{k: dev[k][i] for k in DEVICE_DTYPE.names or ()}) for i in range(len(dev["name"]))
        ]
        p = self.need(g, "provenance", h5py.Group)
        src = read_table(self.need(p, "sources"), SOURCE_DTYPE)
        sources = [
            SourceFile(a, b, int(c)) for a, b, c in zip(src["path"], src["sha256"], src["size"], strict=True)
        ]
        created = str_to_dt(to_str(self.attr(p, "created_utc", "")))
        prov = Provenance(
            importer=to_str(self.attr(p, "importer", "")),
            harlab_version=to_str(self.attr(p, "harlab_version", "")),
            sources=sources,
            notes=to_str(self.attr(p, "notes", "")),
        )
        if created is not None:
            prov.created_utc = created
        return Metadata(
            session_id=to_str(self.attr(g, "session_id")),
            participant_id=to_str(self.attr(g, "participant_id", "")),
            devices=devices,
            timezone=to_str(self.attr(g, "timezone", "UTC")),
            start_utc=str_to_dt(to_str(self.attr(g, "start_utc", ""))),
            notes=to_str(self.attr(g, "notes", "")),
            provenance=prov,
            extra=json_to_dict(self.attr(g, "extra", "{}")),
        )

    def prediction(self, name: str, g: h5py.Group) -> PredictionTrack:
        if not isinstance(g, h5py.Group):
            raise SessionFileError(self.path, f"{self.where} should be a group")
        classes = str_list(self.attr(g, "classes", np.zeros(0, dtype=object)))
        return PredictionTrack(
            name=name,
            model_name=to_str(self.attr(g, "model_name", "")),
            model_version=to_str(self.attr(g, "model_version", "")),
            classes=classes,
            window_start=self.need(g, "window_start")[()],
            window_end=self.need(g, "window_end")[()],
            probabilities=self.need(g, "probabilities")[()],
            segments=read_segments(self.need(g, "segments")),
            created=str_to_dt(to_str(self.attr(g, "created", ""))) or datetime.now(UTC),
            params=json_to_dict(self.attr(g, "params", "{}")),
        )

    def stream(self, name: str, g: h5py.Group) -> Stream:
        if not isinstance(g, h5py.Group):
            raise SessionFileError(self.path, f"{self.where} should be a group")
        t = self.need(g, "time")
        v = self.need(g, "values")
        fl = self.need(g, "flags")
        pyr = self.need(g, "pyramid", h5py.Group)
        if t.ndim != 1 or v.ndim != 2 or fl.ndim != 1 or not (t.shape[0] == v.shape[0] == fl.shape[0]):
            raise SessionFileError(
                self.path,
                f"{self.where}: inconsistent shapes time {t.shape}, values {v.shape}, flags {fl.shape}",
            )
        for k in range(1, int(self.attr(pyr, "levels")) + 1):
            lv = self.need(pyr, str(k), h5py.Group)
            for key in ("time", "lo", "hi"):
                self.need(lv, key)
        self.attr(pyr, "factor")
        data = H5StreamData(g, self.path)
        if data.n_samples:
            coarse, _ = data.coarse_index()
            if len(coarse) > 1 and np.any(np.diff(coarse) < 0):
                i = int(np.flatnonzero(np.diff(coarse) < 0)[0])
                raise SessionFileError(
                    self.path,
                    f"{self.where}/time goes backwards (around {coarse[i]:.6f} s then {coarse[i + 1]:.6f} s)",
                )
        rate = float(self.attr(g, "rate_hz", np.nan))
        return Stream(
            name=name,
            channels=str_list(self.attr(g, "channels")),
            units=str_list(self.attr(g, "units")),
            data=data,
            rate_hz=None if np.isnan(rate) else rate,
            kind=to_str(self.attr(g, "kind", "")),
            device=to_str(self.attr(g, "device", "")),
            attrs=json_to_dict(self.attr(g, "attrs", "{}")),
        )


def read_file_session(f: h5py.File, path: Path) -> Session:
    return _Reader(f, path).read()


__all__ = [
    "HDF5_SIGNATURE",
    "Segment",
    "SessionError",
    "check_signature",
    "open_h5",
    "read_file_session",
    "write_session",
]
