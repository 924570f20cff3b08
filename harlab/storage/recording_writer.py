"""Crash-safe recording: :class:`RecordingWriter`, :func:`recover`, :func:`has_unrecovered_journal`.

While recording, every call is written twice: first to the journal (see
:mod:`harlab.storage.sample_journal`; the crash-safe truth), then, in blocks of a few thousand
samples, into a working HDF5 file ``.<name>.recording.h5`` whose pyramid is updated
incrementally, so ``close()`` is instant and needs no conversion. ``close()`` adds the
labels and metadata, renames the working file to the session path and deletes the
journal. After a SIGKILL the working file may be unreadable, so recovery ignores it and
rebuilds the session from the journal with the same appender code.
"""

from __future__ import annotations

import contextlib
import os
import time as _time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harlab.core.errors import SessionError, SessionFileError
from harlab.core.files import fsync_dir, fsync_path
from harlab.core.labels import LabelSchema, LabelTrack, Policy, Segment, segment_from_dict, segment_to_dict
from harlab.core.metadata import DeviceInfo, Metadata, Provenance, SourceFile
from harlab.storage.codec import save_h5
from harlab.storage.h5data import H5StreamData
from harlab.storage.layout import chunk_rows, dt_to_str, str_to_dt
from harlab.storage.lock import FileLock, lock_holder
from harlab.storage.probe import trust
from harlab.storage.sample_journal import (
    KIND_DATA,
    KIND_END,
    KIND_HEADER,
    KIND_SEGMENT,
    KIND_STREAM,
    ReadResult,
    encode_data,
    encode_json,
    read_records,
    recording_journal_path,
)
from harlab.storage.session_writer import SessionBuilder, stream_spec


def working_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(f".{p.name}.recording.h5")


def has_unrecovered_journal(path: str | Path) -> bool:
    """True when a recording of ``path`` was interrupted and nobody is recording it now."""
    return recording_journal_path(path).exists() and lock_holder(path) is None


# -- JSON codecs for the journal ------------------------------------------------------
def metadata_to_json(md: Metadata) -> dict[str, Any]:
    d = asdict(md)
    d["start_utc"] = dt_to_str(md.start_utc)
    d["provenance"]["created_utc"] = dt_to_str(md.provenance.created_utc)
    return d


def metadata_from_json(d: dict[str, Any]) -> Metadata:
    prov = dict(d.get("provenance") or {})
    prov["sources"] = [SourceFile(**s) for s in prov.get("sources", [])]
    created = str_to_dt(prov.pop("created_utc", "") or "")
    p = Provenance(**prov)
    if created is not None:
        p.created_utc = created
    return Metadata(
        session_id=d["session_id"],
        participant_id=d.get("participant_id", ""),
        devices=[DeviceInfo(**x) for x in d.get("devices", [])],
        timezone=d.get("timezone", "UTC"),
        start_utc=str_to_dt(d.get("start_utc") or ""),
        notes=d.get("notes", ""),
        provenance=p,
        extra=dict(d.get("extra") or {}),
    )


def segment_to_json(track: LabelTrack, s: Segment) -> dict[str, Any]:
    return {
        "track": track.name,
        "policy": track.policy,
        "description": track.description,
        **segment_to_dict(s),
    }


class RecordingWriter:
    """Append samples of several streams many times a second, surviving SIGKILL.

    At most ``fsync_interval`` seconds of data can be lost to a power cut, and none
    to a killed process, except a record being written at that instant. The writer
    holds the write lock of ``path`` until ``close()``.
    """

    def __init__(
        self,
        path: str | Path,
        metadata: Metadata,
        schema: LabelSchema | None = None,
        *,
        fsync_interval: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.schema = schema or LabelSchema()
        self.fsync_interval = fsync_interval
        self._closed = True
        self._lock = FileLock(self.path).acquire()
        self._fd: int | None = None
        self._h5: h5py.File | None = None
        try:
            jp = recording_journal_path(self.path)
            if jp.exists():
                raise SessionFileError(
                    self.path,
                    f"has an interrupted recording ({jp.name}); open it to recover it before recording again",
                )
            if self.path.exists():
                raise SessionFileError(self.path, "already exists; a recording always writes a new file")
            self._fd = os.open(jp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            self._write(
                encode_json(
                    KIND_HEADER,
                    {
                        "format": "harlab-journal",
                        "version": 1,
                        "metadata": metadata_to_json(metadata),
                        "schema": self.schema.to_list(),
                        "started_utc": dt_to_str(datetime.now(UTC)),
                    },
                )
            )
            os.fsync(self._fd)
            fsync_dir(self.path.parent)
            wp = working_path(self.path)
            with contextlib.suppress(FileNotFoundError):
                wp.unlink()
            self._h5 = h5py.File(wp, "w", track_order=True, locking=False)
            self._builder = SessionBuilder(self._h5, metadata, self.schema)
        except BaseException:
            self._cleanup_failed_start()
            raise
        self._blocks: list[int] = []
        self._last_sync = _time.monotonic()
        self._closed = False

    def _cleanup_failed_start(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            with contextlib.suppress(OSError):
                recording_journal_path(self.path).unlink()
        if self._h5 is not None:
            self._h5.close()
            with contextlib.suppress(OSError):
                working_path(self.path).unlink()
        self._lock.release()

    # -- journal ------------------------------------------------------------------
    def _write(self, record: bytes) -> None:
        assert self._fd is not None
        view = memoryview(record)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _maybe_sync(self) -> None:
        now = _time.monotonic()
        if now - self._last_sync >= self.fsync_interval:
            os.fsync(self._fd)  # type: ignore[arg-type]
            self._last_sync = now

    def _check_open(self) -> None:
        if self._closed:
            raise SessionError(f"the recording of {self.path} is closed")

    # -- API ----------------------------------------------------------------------
    def add_stream(
        self,
        name: str,
        channels: list[str],
        units: list[str] | str,
        rate_hz: float | None = None,
        kind: str = "",
        device: str = "",
        attrs: dict[str, str] | None = None,
    ) -> None:
        self._check_open()
        spec = stream_spec(name, channels, units, rate_hz, kind, device, attrs)
        self._builder.add_stream(spec)
        self._blocks.append(chunk_rows(len(channels)))
        self._write(encode_json(KIND_STREAM, spec))
        self._maybe_sync()

    def append(
        self, name: str, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None = None
    ) -> None:
        """Add samples (times in seconds after ``metadata.start_utc``, non-decreasing)."""
        self._check_open()
        sid = self._builder.stream_id(name)
        t, v, fl = self._builder.check(sid, time, values, flags)
        if not len(t):
            return
        self._write(encode_data(sid, t, v, fl))
        self._builder.append(sid, t, v, fl, self._blocks[sid])
        self._maybe_sync()

    def add_segment(self, track: str, segment: Segment, policy: Policy = "exclusive") -> Segment:
        """Add a live label (e.g. the activity the participant announced); returns it with its id."""
        self._check_open()
        tr = self._builder.track(track, policy)
        new = tr.add(segment)
        self.schema.ensure(new.label)
        self._write(encode_json(KIND_SEGMENT, segment_to_json(tr, new)))
        self._maybe_sync()
        return new

    def n_samples(self, name: str) -> int:
        return self._builder.n_samples(self._builder.stream_id(name))

    def stream_data(self, name: str) -> H5StreamData:
        """Lazy view of what reached the working file so far (call ``flush`` first for all)."""
        self._check_open()
        return H5StreamData(self._builder.f["streams"][name], working_path(self.path))

    def flush(self) -> None:
        """Push buffered samples into the working file and fsync the journal."""
        self._check_open()
        for sid in range(len(self._builder.appenders)):
            self._builder.push(sid)
        self._builder.f.flush()
        os.fsync(self._fd)  # type: ignore[arg-type]
        self._last_sync = _time.monotonic()

    def close(self) -> Path:
        """Finish the session file at ``path`` and delete the journal; returns the path."""
        if self._closed:
            return self.path
        self._closed = True
        try:
            self._builder.finish()
            assert self._h5 is not None
            self._h5.close()
            wp = working_path(self.path)
            fsync_path(wp)
            os.replace(wp, self.path)
            fsync_dir(self.path.parent)
            trust(self.path)  # written by this process: opening it needs no probe in a child
            self._write(encode_json(KIND_END, {}))
            os.close(self._fd)  # type: ignore[arg-type]
            self._fd = None
            recording_journal_path(self.path).unlink()
            fsync_dir(self.path.parent)
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._lock.release()
        return self.path

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def recover(path: str | Path, lock: FileLock | None = None) -> Path | None:
    """Rebuild the session file of an interrupted recording from its journal.

    Returns the path, or None when there was nothing to recover. Samples in a record
    torn by the crash are dropped; everything before it is kept. Raises
    :class:`FileLockedError` while the recording is still running.
    """
    path = Path(path)
    jp = recording_journal_path(path)
    own = lock is None
    lk = FileLock(path).acquire() if own else lock
    try:
        if not jp.exists():
            return None
        result = ReadResult()
        try:
            fh = open(jp, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise SessionFileError(jp, f"cannot read the journal: {exc.strerror}") from None
        with fh:
            records = read_records(fh, result)
            first = next(records, None)
            if first is None or first.kind != KIND_HEADER:
                # Killed while the recording was starting: nothing was recorded.
                _discard(path)
                return None
            head = first.json()

            def fill(f: h5py.File) -> None:
                b = SessionBuilder(
                    f, metadata_from_json(head["metadata"]), LabelSchema.from_list(head["schema"])
                )
                b.f.attrs["recovered_from_journal"] = result.problem or "clean"
                n_ch: list[int] = []
                for rec in records:
                    if rec.kind == KIND_STREAM:
                        spec = rec.json()
                        b.add_stream(spec)
                        n_ch.append(len(spec["channels"]))
                    elif rec.kind == KIND_DATA:
                        t, v, fl = rec.data(n_ch[rec.stream])
                        b.append(rec.stream, t, v, fl, 1 << 16)
                    elif rec.kind == KIND_SEGMENT:
                        d = rec.json()
                        b.track(d["track"], d["policy"], d.get("description", "")).add(
                            segment_from_dict(d), keep_id=True
                        )
                b.finish()

            try:
                save_h5(path, fill)
            except (ValueError, KeyError, IndexError, SessionError) as exc:
                raise SessionFileError(jp, f"the journal cannot be recovered: {exc}") from None
        _discard(path)
        return path
    finally:
        if own and lk is not None:
            lk.release()


def _discard(path: Path) -> None:
    for p in (recording_journal_path(path), working_path(path)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    fsync_dir(path.parent)
