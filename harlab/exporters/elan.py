"""ELAN annotation files (EAF 3.0), one per session, for teams that code video in ELAN.

Each label track becomes a TIER of ALIGNABLE_ANNOTATIONs on a time-alignable
linguistic type whose controlled vocabulary is the session's label schema, so coders
pick the same classes in ELAN. Times are integer milliseconds from the session start
(ELAN's media time; link the video in ELAN and set its offset if it started earlier
or later). ELAN does not allow overlapping annotations on one tier, so an overlapping
track is spread over as few tiers as needed (``<track>``, ``<track>-2``, ...);
zero-length events become 1 ms annotations, because ELAN cannot hold shorter ones.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from harlab import __version__
from harlab.core.labels import LabelTrack, Segment
from harlab.core.session import Session
from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportJob,
    pick_tracks,
    plan_outputs,
    register,
)

EAF_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LINGUISTIC_TYPE = "harlab-label"
CV_ID = "harlab-classes"


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


def build_eaf(session: Session, tracks: Sequence[LabelTrack]) -> ET.ElementTree[ET.Element]:
    """The EAF document for ``tracks`` of ``session``."""
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
    props["lastUsedAnnotationId"] = str(ann_id)
    # HEADER children: PROPERTY elements (after any MEDIA_DESCRIPTOR; we link no media)
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
        plan = [
            (s, pick_tracks(s, job.options.tracks, f"session {n}"))
            for s, n in zip(job.sessions, job.names, strict=True)
        ]
        if not any(tracks for _, tracks in plan):
            raise ExportError("nothing to export: the sessions have no label tracks")
        targets = plan_outputs(job.out_path, job.names, ".eaf", self.suffixes, self.name)
        for i, ((session, tracks), final) in enumerate(zip(plan, targets, strict=True)):
            tmp = job.out.target(final)
            root = build_eaf(session, tracks).getroot()
            tmp.write_bytes(
                b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
            )
            if job.progress is not None:
                job.progress((i + 1) / len(plan), final.name)
