"""Training windows for machine learning: NPZ or HDF5 (by extension) plus a JSON manifest beside it.

The cutting rules live in :mod:`harlab.signal.labelled_windows` (shared with the models);
this module picks defaults, writes the arrays and the manifest
(``<output>.json``, e.g. ``windows.npz.json``), atomically together. With ``video_times``
(``--video-times NAME``) two more arrays, ``video_start_s`` and ``video_end_s``, give each
window's start and end in that video's clock, so a window can be checked against the video.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harlab.core.session import Session
from harlab.core.videos import VideoLink
from harlab.core.window_defaults import DEFAULT_WINDOW_S, default_stride
from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportJob,
    pick_video,
    register,
)
from harlab.exporters.windows import manifest, write_hdf5, write_npz
from harlab.signal.labelled_windows import WindowSet, cut_windows


def manifest_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".json")


def default_track(sessions: Sequence[Session]) -> str:
    """The only label track name the sessions use, else a clear error."""
    names = sorted({t for s in sessions for t in s.label_tracks})
    if len(names) == 1:
        return names[0]
    if not names:
        raise ExportError("the sessions have no label tracks, so there is nothing to label windows with")
    raise ExportError(f"the sessions have several label tracks ({', '.join(names)}); choose one with --track")


@register
class TrainingWindowsExporter(Exporter):
    name = "windows"
    description = (
        "training windows X (N x T x C), y, participant, session, start times: .npz or .h5 + JSON manifest"
    )
    suffixes = (".npz", ".h5", ".hdf5")
    options = frozenset(
        {"tracks", "streams", "rate_hz", "window_s", "stride_s", "label_policy", "classes", "video_times"}
    )

    def write(self, job: ExportJob) -> None:
        progress = job.progress
        if job.out_path.suffix.lower() not in self.suffixes:
            raise ExportError(
                f"training windows go to one .npz or .h5/.hdf5 file (got {job.out_path.name!r})"
            )
        if job.options.tracks is not None and len(job.options.tracks) != 1:
            raise ExportError(
                f"training windows use one label track; got {len(job.options.tracks)}: {job.options.tracks}"
            )
        track = job.options.tracks[0] if job.options.tracks else default_track(job.sessions)
        video = job.options.video_times
        links = (
            [pick_video(s, video, f"session {n}") for s, n in zip(job.sessions, job.names, strict=True)]
            if video is not None
            else []
        )
        # train's defaults (harlab.core.window_defaults): without --window they are rounded to whole
        # samples as train rounds them (2.56 s is 51.2 samples at 20 Hz); given values must be exact
        window_s = job.options.window_s if job.options.window_s is not None else DEFAULT_WINDOW_S
        ws = cut_windows(
            job.sessions,
            track,
            window_s,
            job.options.stride_s if job.options.stride_s is not None else default_stride(window_s),
            job.options.rate_hz,
            job.options.streams,
            job.options.label_policy or "majority",
            classes=job.options.classes,
            names=job.names,
            progress=(lambda f, m: progress(0.9 * f, m)) if progress else None,
            round_to_samples=job.options.window_s is None,
        )
        if links:
            add_video_times(ws, links, str(video))
        description = manifest(ws)
        description["file"] = job.out_path.name
        tmp = job.out.target(job.out_path)
        tmp_manifest = job.out.target(manifest_path(job.out_path))
        if job.out_path.suffix.lower() == ".npz":
            with open(tmp, "wb") as f:
                write_npz(ws, f, description)
        else:
            write_hdf5(ws, tmp, description)
        tmp_manifest.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
        if job.progress is not None:
            job.progress(1.0, f"{len(ws)} windows")


def add_video_times(ws: WindowSet, links: Sequence[VideoLink], name: str) -> None:
    """Each window's start and end in the video ``name`` of its session (``links[session_index]``)."""
    start = np.empty(len(ws), dtype=np.float64)
    end = np.empty(len(ws), dtype=np.float64)
    for i, link in enumerate(links):
        rows = ws.session_index == i
        start[rows] = link.video_time(ws.start_s[rows])
        end[rows] = link.video_time(ws.start_s[rows] + ws.window_s)
    ws.video, ws.video_start_s, ws.video_end_s = name, start, end
