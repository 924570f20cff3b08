"""Wide CSV: one row per sample, one column per channel, one label column per track.

Two layouts (``docs/EXPORT.md`` has the precise definition):

* per stream (default): ``<session>.<stream>.csv`` per stream, with the stream's own
  timestamps, never resampled;
* merged (``rate_hz`` given): ``<session>.csv`` with every chosen stream resampled onto
  the common grid ``t = k / rate`` (see :mod:`harlab.signal.resampling`).

Columns: ``time_s`` (seconds since session start, shortest text that reads back as
the same float64), ``time_utc`` (ISO 8601 UTC, only when the session's start is
known), ``<stream>.<channel>`` (float32 values, shortest text that reads back as the
same float32; NaN written as an empty field), ``label.<track>`` (the class at the
sample, empty when unlabelled). Streams are read in chunks, so a day-long recording
opened lazily never has to fit in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np

from harlab.core.labels import LabelTrack
from harlab.core.session import Session
from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportJob,
    ProgressCallback,
    iso_utc_array,
    pick_tracks,
    plan_outputs,
    register,
    time_chunks,
)
from harlab.signal.labelled_windows import labels_at, resolve_channels
from harlab.signal.resampling import resample_onto


def _chosen(session: Session, streams: Sequence[str] | None, what: str) -> list[tuple[str, list[int]]]:
    if streams is None:
        return [(n, list(range(len(s.channels)))) for n, s in session.streams.items()]
    return resolve_channels(session, streams, what)


def _number_text(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of each value (float64 or float32 as stored); NaN -> ""."""
    nan = np.isnan(values)
    if values.dtype == np.float64:
        text = list(map(repr, values.tolist()))  # Python's repr is the shortest round-trip form, and fast
        for i in np.flatnonzero(nan):
            text[i] = ""
        return text
    arr = values.astype(str)  # numpy prints float32 in its own shortest round-trip form
    if nan.any():
        arr[nan] = ""
    return arr.tolist()


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _write_frame(
    f: TextIO,
    t: np.ndarray,
    columns: list[tuple[str, np.ndarray]],
    session: Session,
    tracks: list[LabelTrack],
    header: bool,
) -> None:
    """Write rows for samples ``t``; numbers are formatted by numpy (3x faster than pandas.to_csv)."""
    names = ["time_s"]
    cols: list[list[str]] = [_number_text(np.asarray(t, dtype=np.float64))]
    if session.metadata.start_utc is not None:
        names.append("time_utc")
        cols.append(iso_utc_array(session.metadata.start_utc, t).tolist())
    for name, col in columns:
        names.append(name)
        cols.append(_number_text(col))
    for tr in tracks:
        names.append(f"label.{tr.name}")
        labels = labels_at(tr, t)
        uniq = {x: _quote(x) for x in set(labels.tolist())}
        cols.append([uniq[x] for x in labels.tolist()])
    if header:
        f.write(",".join(_quote(n) for n in names) + "\n")
    if len(t):
        f.write("\n".join(map(",".join, zip(*cols, strict=True))) + "\n")


@register
class WideCsvExporter(Exporter):
    name = "csv"
    description = (
        "wide CSV, one file per stream (or merged onto a common grid with --rate), label column per track"
    )
    suffixes = (".csv",)
    options = frozenset({"tracks", "streams", "rate_hz"})

    def write(self, job: ExportJob) -> None:
        rate = job.options.rate_hz
        if rate is not None and not (rate > 0 and np.isfinite(rate)):
            raise ExportError(f"rate must be a positive number of Hz, got {rate}")
        jobs: list[tuple[Session, str, list[tuple[str, list[int]]], list[LabelTrack]]] = []
        for s, n in zip(job.sessions, job.names, strict=True):
            chosen = _chosen(s, job.options.streams, f"session {n}")
            tracks = pick_tracks(s, job.options.tracks, f"session {n}")
            if rate is None:
                jobs += [(s, f"{n}.{sname}", [(sname, idx)], tracks) for sname, idx in chosen]
            elif chosen:
                jobs.append((s, n, chosen, tracks))
        if not jobs:
            raise ExportError("nothing to export: the sessions have no streams")
        targets = plan_outputs(job.out_path, [j[1] for j in jobs], ".csv", self.suffixes, self.name)
        total = sum(sum(s.streams[sn].n_samples for sn, _ in ch) for s, _, ch, _ in jobs) or 1
        done = 0
        for (session, label, chosen, tracks), final in zip(jobs, targets, strict=True):
            tmp = job.out.target(final)
            n_here = sum(session.streams[sn].n_samples for sn, _ in chosen)

            def report(frac: float, _label: str = label, _base: int = done, _n: int = n_here) -> None:
                if job.progress is not None:
                    job.progress(min(1.0, (_base + frac * _n) / total), _label)

            with open(tmp, "w", encoding="utf-8", newline="") as f:
                if rate is None:
                    self._per_stream(f, session, chosen[0], tracks, job.options.chunk_samples, report)
                else:
                    self._merged(f, session, chosen, tracks, rate, job.options.chunk_samples, report)
            done += n_here
        if job.progress is not None:
            job.progress(1.0, "done")

    @staticmethod
    def _per_stream(
        f: TextIO,
        session: Session,
        chosen: tuple[str, list[int]],
        tracks: list[LabelTrack],
        chunk: int,
        report: ProgressCallback,
    ) -> None:
        sname, idx = chosen
        stream = session.streams[sname]
        colnames = [f"{sname}.{stream.channels[i]}" for i in idx]
        header = True
        if stream.n_samples == 0:
            _write_frame(
                f, np.zeros(0), [(c, np.zeros(0, np.float32)) for c in colnames], session, tracks, True
            )
            return
        t_first, t_last = stream.time_bounds()
        n_chunks = max(1, -(-stream.n_samples // max(1, chunk)))
        for i, (a, b) in enumerate(time_chunks(t_first, t_last, stream.n_samples, chunk)):
            t, v = stream.read(a, b)
            if len(t) or header:
                cols = [(c, v[:, j]) for c, j in zip(colnames, idx, strict=True)]
                _write_frame(f, t, cols, session, tracks, header)
                header = False
            report((i + 1) / n_chunks, sname)

    @staticmethod
    def _merged(
        f: TextIO,
        session: Session,
        chosen: list[tuple[str, list[int]]],
        tracks: list[LabelTrack],
        rate: float,
        chunk: int,
        report: ProgressCallback,
    ) -> None:
        bounds = [session.streams[n].time_bounds() for n, _ in chosen if session.streams[n].n_samples]
        colnames = [f"{n}.{session.streams[n].channels[i]}" for n, idx in chosen for i in idx]
        if not bounds:
            _write_frame(
                f, np.zeros(0), [(c, np.zeros(0, np.float32)) for c in colnames], session, tracks, True
            )
            return
        k0 = int(np.ceil(min(b[0] for b in bounds) * rate - 1e-9))
        k1 = int(np.floor(max(b[1] for b in bounds) * rate + 1e-9))
        margin = 64.0 / rate
        header = True
        starts = list(range(k0, k1 + 1, max(1, chunk)))
        for ci, ka in enumerate(starts):
            kb = min(k1 + 1, ka + chunk)
            grid = np.arange(ka, kb) / rate
            cols: list[np.ndarray] = []
            for sname, idx in chosen:
                stream = session.streams[sname]
                pad = margin + (2.0 / stream.rate_hz if stream.rate_hz else 0.0)
                t, v = stream.read(grid[0] - pad, grid[-1] + pad)
                cols.append(resample_onto(t, v[:, idx], grid, rate, rate_hz=stream.rate_hz))
            values = np.concatenate(cols, axis=1)
            keep = ~np.isnan(values).all(axis=1)
            if keep.any() or header:
                named = [(c, values[keep, j]) for j, c in enumerate(colnames)]
                _write_frame(f, grid[keep], named, session, tracks, header)
                header = False
            report((ci + 1) / len(starts), "resampling")
