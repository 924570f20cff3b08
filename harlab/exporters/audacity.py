"""Audacity label files: ``start<TAB>end<TAB>label`` per line, one file per session and track.

Audacity (File > Import > Labels) reads times in seconds; we write six decimals
(microseconds), relative to the session start. Tabs and line breaks inside a class
name would break the format, so they become spaces.
"""

from __future__ import annotations

from harlab.core.files import safe_name
from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportJob,
    pick_tracks,
    plan_outputs,
    register,
)


def audacity_line(start: float, end: float, label: str) -> str:
    clean = " ".join(label.replace("\t", " ").splitlines())
    return f"{start:.6f}\t{end:.6f}\t{clean}\n"


@register
class AudacityExporter(Exporter):
    name = "audacity"
    description = "Audacity label file (start<TAB>end<TAB>label, seconds), one per session and track"
    suffixes = (".txt",)
    options = frozenset({"tracks"})

    def write(self, job: ExportJob) -> None:
        jobs = []
        for s, n in zip(job.sessions, job.names, strict=True):
            for track in pick_tracks(s, job.options.tracks, f"session {n}"):
                jobs.append((track, f"{n}.{safe_name(track.name)}"))
        if not jobs:
            raise ExportError("nothing to export: the sessions have no label tracks")
        targets = plan_outputs(job.out_path, [j[1] for j in jobs], ".txt", self.suffixes, self.name)
        for i, ((track, _), final) in enumerate(zip(jobs, targets, strict=True)):
            tmp = job.out.target(final)
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.writelines(audacity_line(s.start, s.end, s.label) for s in track)
            if job.progress is not None:
                job.progress((i + 1) / len(jobs), final.name)
