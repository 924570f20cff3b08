"""Label Studio JSON: a session's label tracks as time-series labels, one file per session.

The file is a list of one task in Label Studio's export shape (``annotations[].result[]``), so
Label Studio imports it with its annotations and harlab reads it back
(:mod:`harlab.labelfiles.labelstudio_json`). Each label track is a TimeSeriesLabels control
(``from_name`` = the track's name) on a TimeSeries called ``ts`` whose time column ``time_s`` is
seconds from the session start; ``start``/``end`` are those seconds at full float precision and a
zero-length event is ``instant: true``. Segments are grouped into one annotation per annotator
(``completed_by.email``; segments with none share an annotation without it), as Label Studio
keeps one annotation per person. The task's ``data`` names the session (id, participant, start)
so a reader can tell which session the labels belong to.
"""

from __future__ import annotations

import json
from typing import Any

from harlab.core.labels import LabelTrack
from harlab.core.session import Session
from harlab.exporters.exporter import (
    Exporter,
    ExportJob,
    plan_outputs,
    register,
    tracks_per_session,
)

TIME_SERIES = "ts"
TIME_COLUMN = "time_s"


def labelstudio_tasks(session: Session, tracks: list[LabelTrack]) -> list[dict[str, Any]]:
    """The Label Studio export (a list of one task) for ``tracks`` of ``session``."""
    md = session.metadata
    by_annotator: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for track in tracks:
        for seg in track:
            n += 1
            by_annotator.setdefault(seg.annotator, []).append(
                {
                    "id": f"h{n}",
                    "from_name": track.name,
                    "to_name": TIME_SERIES,
                    "type": "timeserieslabels",
                    "origin": "manual",
                    "value": {
                        "start": seg.start,
                        "end": seg.end,
                        "instant": seg.start == seg.end,
                        "timeserieslabels": [seg.label],
                    },
                }
            )
    annotations = []
    for i, (who, results) in enumerate(by_annotator.items(), start=1):
        ann: dict[str, Any] = {"id": i, "result": results, "was_cancelled": False}
        if who:
            ann["completed_by"] = {"email": who}
        annotations.append(ann)
    data = {
        "harlab_session_id": md.session_id,
        "harlab_participant": md.participant_id,
        "harlab_start_utc": md.start_utc.isoformat() if md.start_utc else "",
        "time_column": TIME_COLUMN,
    }
    return [{"id": 1, "data": data, "annotations": annotations}]


@register
class LabelStudioExporter(Exporter):
    name = "labelstudio"
    description = "Label Studio JSON (time-series labels, seconds from the session start), one per session"
    suffixes = (".json",)
    options = frozenset({"tracks"})

    def write(self, job: ExportJob) -> None:
        plan = tracks_per_session(job)
        targets = plan_outputs(job.out_path, job.names, ".json", self.suffixes, self.name)
        for i, ((session, tracks), final) in enumerate(zip(plan, targets, strict=True)):
            tmp = job.out.target(final)
            text = json.dumps(labelstudio_tasks(session, list(tracks)), indent=1, ensure_ascii=False)
            tmp.write_text(text + "\n", encoding="utf-8")
            if job.progress is not None:
                job.progress((i + 1) / len(plan), final.name)
