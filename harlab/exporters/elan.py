"""ELAN annotation files (EAF 3.0), one per session, for teams that code video in ELAN.

Each label track becomes a TIER of ALIGNABLE_ANNOTATIONs on a time-alignable
linguistic type whose controlled vocabulary is the session's label schema, so coders
pick the same classes in ELAN. Times are integer milliseconds from the session start.

Every video attached to the session becomes a MEDIA_DESCRIPTOR, so the file opens in
ELAN with its videos in sync: MEDIA_URL is the video's absolute ``file:`` URL (where it
is found now, else where the session remembers it), RELATIVE_MEDIA_URL the path from the
EAF file, and TIME_ORIGIN the video time (ms) at annotation time 0, which ELAN adds to
every annotation time (negative when the video started after the session). ELAN has no
clock drift: the origin is chosen at the middle of the session, so a drift of d ppm puts
at most d/2 ppm of half the session's length between them at its ends (the drift is kept
as a PROPERTY). ELAN does not allow overlapping annotations on one tier, so an overlapping
track is spread over as few tiers as needed (``<track>``, ``<track>-2``, ...);
zero-length events become 1 ms annotations, because ELAN cannot hold shorter ones.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harlab import __version__
from harlab.core.labels import LabelTrack, Segment
from harlab.core.session import Session
from harlab.core.videos import VideoLink
from harlab.exporters.exporter import (
    Exporter,
    ExportJob,
    plan_outputs,
    register,
    tracks_per_session,
)
from harlab.video.video_reference import resolve_video

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LINGUISTIC_TYPE = "harlab-label"
CV_ID = "harlab-classes"


#: MIME types ELAN knows by file suffix; anything else is "video/*"
MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
}


@dataclass(frozen=True)
class ElanMedia:
    """One MEDIA_DESCRIPTOR: where ELAN finds the video and where it starts."""

    url: str  #: absolute ``file:`` URL
    relative_url: str | None  #: from the EAF file's folder (``./cam.mp4``), when one exists
    mime_type: str
    time_origin_ms: int  #: video time at annotation time 0
    name: str
    drift_ppm: float


def media_for(
    session: Session, session_path: str | Path | None = None, eaf_path: str | Path | None = None
) -> list[ElanMedia]:
    """The session's videos as ELAN media descriptors, in display order."""
    lo, hi = session.time_bounds()
    middle = (lo + hi) / 2.0
    out = []
    for link in session.videos.values():
        where = _video_path(link, session_path)
        relative = None
        if eaf_path is not None:
            try:
                rel = os.path.relpath(where, Path(eaf_path).resolve().parent)
                relative = (
                    rel.replace(os.sep, "/") if rel.startswith("..") else "./" + rel.replace(os.sep, "/")
                )
            except ValueError:  # another drive (Windows): no relative path exists
                relative = None
        out.append(
            ElanMedia(
                url=where.as_uri(),
                relative_url=relative,
                mime_type=MIME_TYPES.get(where.suffix.lower(), "video/*"),
                time_origin_ms=_ms(float(link.sync.to_video(middle)) - middle),
                name=link.name,
                drift_ppm=link.sync.drift_ppm,
            )
        )
    return out


def _video_path(link: VideoLink, session_path: str | Path | None) -> Path:
    """Where the video is now (found, or found by name beside the session), else where it was."""
    if session_path is not None:
        loc = resolve_video(link.reference, session_path)
        if loc.usable and loc.path is not None:
            return Path(loc.path).resolve()
        stored = Path(link.reference.path)
        return stored if stored.is_absolute() else (Path(session_path).resolve().parent / stored).resolve()
    stored = Path(link.reference.path)
    return stored if stored.is_absolute() else Path.cwd() / stored


def _ms(t: float) -> int:
    return int(round(t * 1000.0))


def _spread(track: LabelTrack) -> list[list[tuple[int, int, Segment]]]:
    """Segments as (start ms, end ms, seg), spread over tiers without overlaps (greedy, by start)."""
    tiers: list[list[tuple[int, int, Segment]]] = []
    ends: list[int] = []
    for seg in track:
        a = _ms(seg.start)
        b = max(_ms(seg.end), a + 1)
        for i, last_end in enumerate(ends):
            if a >= last_end:
                tiers[i].append((a, b, seg))
                ends[i] = b
                break
        else:
            tiers.append([(a, b, seg)])
            ends.append(b)
    return tiers or [[]]


def build_eaf(
    session: Session, tracks: Sequence[LabelTrack], media: Sequence[ElanMedia] = ()
) -> ET.ElementTree[ET.Element]:
    """The EAF document for ``tracks`` of ``session``, linking ``media`` (see :func:`media_for`)."""
    md = session.metadata
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": f"harlab {__version__}",
            "DATE": datetime.now(UTC).isoformat(timespec="seconds"),
            "FORMAT": "3.0",
            "VERSION": "3.0",
            f"{{{XSI}}}noNamespaceSchemaLocation": EAF_SCHEMA,
        },
    )
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for m in media:  # MEDIA_DESCRIPTORs come first in HEADER
        attrs = {"MEDIA_URL": m.url, "MIME_TYPE": m.mime_type}
        if m.relative_url is not None:
            attrs["RELATIVE_MEDIA_URL"] = m.relative_url
        attrs["TIME_ORIGIN"] = str(m.time_origin_ms)
        ET.SubElement(header, "MEDIA_DESCRIPTOR", attrs)
    props = {
        "URN": f"urn:nl-mpi-tools-elan-eaf:{md.session_id}",
        "harlab:session_id": md.session_id,
        "harlab:participant": md.participant_id,
        "harlab:start_utc": md.start_utc.isoformat() if md.start_utc else "",
        "harlab:time_origin": "session start (0 ms = first moment of the session's time axis)",
    }
    time_order = ET.SubElement(root, "TIME_ORDER")
    slot_of: dict[int, str] = {}
    tier_elems: list[ET.Element] = []
    ann_id = 0
    pending: list[tuple[ET.Element, int, int, str]] = []
    for track in tracks:
        for k, rows in enumerate(_spread(track), start=1):
            tier_id = track.name if k == 1 else f"{track.name}-{k}"
            attrs = {"TIER_ID": tier_id, "LINGUISTIC_TYPE_REF": LINGUISTIC_TYPE}
            if md.participant_id:
                attrs["PARTICIPANT"] = md.participant_id
            annotators = sorted({s.annotator for _, _, s in rows if s.annotator})
            if annotators:
                attrs["ANNOTATOR"] = ", ".join(annotators)
            tier = ET.Element("TIER", attrs)
            tier_elems.append(tier)
            for a, b, seg in rows:
                ann_id += 1
                slot_of.setdefault(a, "")
                slot_of.setdefault(b, "")
                ann = ET.SubElement(
                    ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {"ANNOTATION_ID": f"a{ann_id}"}
                )
                pending.append((ann, a, b, seg.label))
    for i, ms in enumerate(sorted(slot_of), start=1):
        slot_of[ms] = f"ts{i}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{i}", "TIME_VALUE": str(ms)})
    for ann, a, b, label in pending:
        ann.set("TIME_SLOT_REF1", slot_of[a])
        ann.set("TIME_SLOT_REF2", slot_of[b])
        ET.SubElement(ann, "ANNOTATION_VALUE").text = label
    for m in media:
        props[f"harlab:video:{m.name}"] = (
            f"time origin {m.time_origin_ms} ms, drift {m.drift_ppm:+.1f} ppm (ELAN plays without drift)"
        )
    props["lastUsedAnnotationId"] = str(ann_id)
    # HEADER children: PROPERTY elements, after the MEDIA_DESCRIPTORs
    for name, value in props.items():
        ET.SubElement(header, "PROPERTY", {"NAME": name}).text = value
    root.extend(tier_elems)
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        {
            "LINGUISTIC_TYPE_ID": LINGUISTIC_TYPE,
            "TIME_ALIGNABLE": "true",
            "GRAPHIC_REFERENCES": "false",
            "CONTROLLED_VOCABULARY_REF": CV_ID,
        },
    )
    ET.SubElement(
        root,
        "LANGUAGE",
        {
            "LANG_ID": "und",
            "LANG_LABEL": "undetermined (und)",
            "LANG_DEF": "http://cdb.iso.org/lg/CDB-00130975-001",
        },
    )
    cv = ET.SubElement(root, "CONTROLLED_VOCABULARY", {"CV_ID": CV_ID})
    ET.SubElement(cv, "DESCRIPTION", {"LANG_REF": "und"}).text = "harlab label classes"
    names = list(session.schema.names)
    for track in tracks:
        names += [s.label for s in track if s.label not in names]
    for i, name in enumerate(names, start=1):
        cls = session.schema.get(name)
        entry = ET.SubElement(cv, "CV_ENTRY_ML", {"CVE_ID": f"cve{i}"})
        ET.SubElement(
            entry,
            "CVE_VALUE",
            {
                "LANG_REF": "und",
                "DESCRIPTION": cls.description if cls else "",
            },
        ).text = name
    ET.indent(root, space="  ")
    return ET.ElementTree(root)


@register
class ElanExporter(Exporter):
    name = "eaf"
    description = "ELAN annotation file (EAF 3.0), one per session, a tier per label track"
    suffixes = (".eaf",)
    options = frozenset({"tracks"})

    def write(self, job: ExportJob) -> None:
        plan = tracks_per_session(job)
        targets = plan_outputs(job.out_path, job.names, ".eaf", self.suffixes, self.name)
        paths: Sequence[Path | None] = job.options.session_paths or [None] * len(plan)
        for i, ((session, tracks), final, spath) in enumerate(zip(plan, targets, paths, strict=True)):
            tmp = job.out.target(final)
            root = build_eaf(session, tracks, media_for(session, spath, final)).getroot()
            tmp.write_bytes(
                b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
            )
            if job.progress is not None:
                job.progress((i + 1) / len(plan), final.name)
