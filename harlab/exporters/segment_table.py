"""Segment table: every label segment of every session as one row (CSV or TSV by extension).

One file for all sessions, sorted by session, track and start, so a statistician can
read all annotations of a study with one ``read_csv``. Absolute times are ISO 8601 UTC
(empty when the session's start is unknown); relative times are seconds since the
session start written with full float64 precision. With ``video_times`` (``--video-times
NAME``) two more columns, ``video_start_s`` and ``video_end_s``, give each segment's times in
that video's own clock (by the session's sync; before 0 or past the video's end when the
segment lies outside it), so a coder can jump to the moment in any player.
"""

from __future__ import annotations

import csv

from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportJob,
    fmt_difference,
    fmt_float,
    iso_utc,
    pick_tracks,
    pick_video,
    register,
)

COLUMNS = (
    "session",
    "session_id",
    "participant",
    "track",
    "segment_id",
    "class",
    "start_utc",
    "end_utc",
    "start_s",
    "end_s",
    "duration_s",
    "annotator",
    "source",
    "confidence",
    "note",
    "created_utc",
    "modified_utc",
)
VIDEO_COLUMNS = ("video_start_s", "video_end_s")


@register
class SegmentTableExporter(Exporter):
    name = "segments"
    description = (
        "table of label segments (CSV or TSV by extension): absolute and relative times, class, track, ..."
    )
    suffixes = (".csv", ".tsv")
    options = frozenset({"tracks", "video_times"})

    def write(self, job: ExportJob) -> None:
        suffix = job.out_path.suffix.lower()
        if suffix not in self.suffixes:
            raise ExportError(
                f"the segment table is one file; name it .csv or .tsv (got {job.out_path.name!r})"
            )
        delimiter = "\t" if suffix == ".tsv" else ","
        video = job.options.video_times
        plan = [
            (s, n, pick_tracks(s, job.options.tracks, f"session {n}"))
            for s, n in zip(job.sessions, job.names, strict=True)
        ]
        links = [None if video is None else pick_video(s, video, f"session {n}") for s, n, _ in plan]
        tmp = job.out.target(job.out_path)
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
            w.writerow(COLUMNS + (VIDEO_COLUMNS if video is not None else ()))
            for i, ((session, sname, tracks), link) in enumerate(zip(plan, links, strict=True)):
                md = session.metadata
                for track in sorted(tracks, key=lambda t: t.name):
                    for seg in track:
                        w.writerow(
                            [
                                sname,
                                md.session_id,
                                md.participant_id,
                                track.name,
                                seg.id,
                                seg.label,
                                iso_utc(md.start_utc, seg.start),
                                iso_utc(md.start_utc, seg.end),
                                fmt_float(seg.start),
                                fmt_float(seg.end),
                                fmt_difference(seg.start, seg.end),
                                seg.annotator,
                                seg.source,
                                fmt_float(seg.confidence),
                                seg.note,
                                seg.created.isoformat(),
                                seg.modified.isoformat(),
                            ]
                            + (
                                []
                                if link is None
                                else [
                                    fmt_float(link.video_time(seg.start)),
                                    fmt_float(link.video_time(seg.end)),
                                ]
                            )
                        )
                if job.progress is not None:
                    job.progress((i + 1) / len(plan), sname)
