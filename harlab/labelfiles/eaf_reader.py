"""ELAN annotation files (``.eaf``): each tier a track.

Times come from the TIME_ORDER. A TIME_SLOT may have no TIME_VALUE (ELAN writes such slots for
annotations that were not aligned by hand); ELAN places them evenly between the nearest slots
with values before and after them in the time order, and so does this reader. A slot with no
valued slot on one side cannot be placed and is refused, naming the slot.

Reference tiers are read as ELAN shows them: an annotation of a Symbolic Association tier
(one REF_ANNOTATION per parent) spans its parent annotation; the annotations of a Symbolic
Subdivision tier (several per parent, chained by PREVIOUS_ANNOTATION) split the parent's span
evenly, in chain order. Annotations with an empty value are left out and counted in the notes.

The XML is parsed by the standard library's expat with a document type declaration refused
before any entity is declared, so no entity is ever expanded (billion laughs) and nothing is
fetched from the network; the file is held to the label-file size limit before parsing.

Files harlab wrote (``AUTHOR="harlab ..."``) read back as they were exported
(:mod:`harlab.exporters.elan`): the 1 ms annotations it writes for zero-length events are
events again, and the tiers ``<track>-2``, ``<track>-3``... it spreads an overlapping track
over join ``<track>`` again.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from harlab.core.errors import ImportFormatError
from harlab.core.wording import counted
from harlab.labelfiles.label_source import (
    MAX_SEGMENTS,
    FoundTrack,
    LabelFile,
    RawSegment,
    SegmentCounter,
    check_counts,
    check_name,
    check_time,
    read_bytes,
)

_MS = 1e-3
_MAX_REF_DEPTH = 32  #: reference tiers hang under each other; ELAN documents have a few levels


class _NoDoctype(ET.TreeBuilder):
    """A tree builder that refuses a DOCTYPE: EAF has none, and only a DOCTYPE declares entities."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused(f"a document type declaration (<!DOCTYPE {name}>)")


class _Refused(Exception):
    pass


def parse_xml_safely(path: Path, data: bytes, expected: str) -> ET.Element:
    """The root element of ``data``; a DOCTYPE (entities), malformed XML or a refusal names the place."""
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except _Refused as exc:
        raise ImportFormatError(path, f"{exc} is not allowed", expected=expected) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ImportFormatError(path, f"not well-formed XML: {exc}", line=line, expected=expected) from None
    if not isinstance(root, ET.Element):
        raise ImportFormatError(path, "no XML root element", expected=expected)
    return root


def read_eaf(path: Path) -> LabelFile:
    root = parse_xml_safely(path, read_bytes(path, "an ELAN .eaf file"), "an ELAN .eaf file")
    if root.tag != "ANNOTATION_DOCUMENT":
        raise ImportFormatError(path, f"root element <{root.tag[:60]}>", expected="<ANNOTATION_DOCUMENT>")
    header = root.find("HEADER")
    units = header.get("TIME_UNITS", "milliseconds") if header is not None else "milliseconds"
    if units != "milliseconds":
        raise ImportFormatError(path, f"TIME_UNITS {units[:40]!r}", expected="milliseconds")
    slots = _slot_times(path, root)
    notes: list[str] = []
    counter = SegmentCounter(path)
    # every alignable annotation's span first: reference annotations point at them
    spans: dict[str, tuple[float, float]] = {}
    tiers = root.findall("TIER")
    for tier in tiers:
        for ann in tier.iter("ALIGNABLE_ANNOTATION"):
            aid = ann.get("ANNOTATION_ID", "")
            where = f"annotation {aid[:40] or '(no id)'}"
            a, b = (
                _slot(path, slots, ann.get("TIME_SLOT_REF1"), where),
                _slot(path, slots, ann.get("TIME_SLOT_REF2"), where),
            )
            spans[aid] = (a, b)
    refs = _reference_spans(path, tiers, spans)
    harlab_made = (root.get("AUTHOR") or "").startswith("harlab")
    tracks: list[FoundTrack] = []
    empty = 0
    for tier in tiers:
        tier_id = check_name(path, tier.get("TIER_ID", ""), "tier name", "TIER")
        annotator = (tier.get("ANNOTATOR") or "").strip()
        segs: list[RawSegment] = []
        for ann in tier.iter("ANNOTATION"):
            inner = next(iter(ann), None)
            if inner is None:
                continue
            aid = inner.get("ANNOTATION_ID", "")
            where = f"tier {tier_id}, annotation {aid[:40] or '(no id)'}"
            value = inner.findtext("ANNOTATION_VALUE") or ""
            if not value.strip():
                empty += 1
                continue
            if inner.tag == "ALIGNABLE_ANNOTATION":
                a, b = spans[aid]
            elif inner.tag == "REF_ANNOTATION":
                a, b = refs[aid]
            else:
                raise ImportFormatError(
                    path, f"{where}: <{inner.tag[:40]}>", expected="ALIGNABLE_ANNOTATION or REF_ANNOTATION"
                )
            if harlab_made and round((b - a) / _MS) == 1:
                b = a  # harlab writes a zero-length event as 1 ms (ELAN has nothing shorter)
            counter.take(where)
            label = check_name(path, value, "class name", where)
            segs.append(RawSegment(a, b, label, where, annotator))
        if not segs:
            notes.append(f"tier {tier_id!r} has no annotations with a value; not offered")
            continue
        segs.sort(key=lambda s: (s.start, s.end))
        tracks.append(FoundTrack(tier_id, segs, annotator))
    if harlab_made:
        tracks = _join_spread_tiers(tracks)
    if empty:
        notes.append(f"{counted(empty, 'annotation')} with an empty value left out")
    check_counts(path, tracks)
    return LabelFile(path, "eaf", tracks, notes)


def _slot_times(path: Path, root: ET.Element) -> dict[str, float]:
    """Every TIME_SLOT's time in seconds, unvalued slots placed evenly between valued neighbours."""
    order = root.find("TIME_ORDER")
    elems = order.findall("TIME_SLOT") if order is not None else []
    if len(elems) > 2 * MAX_SEGMENTS:
        raise ImportFormatError(path, f"{len(elems)} time slots", expected=f"at most {2 * MAX_SEGMENTS}")
    ids: list[str] = []
    values: list[float | None] = []
    for el in elems:
        sid = el.get("TIME_SLOT_ID", "")
        if not sid:
            raise ImportFormatError(path, "a TIME_SLOT without TIME_SLOT_ID", expected="an id per slot")
        raw = el.get("TIME_VALUE")
        if raw is None or not raw.strip():
            values.append(None)
        else:
            if not re.fullmatch(r"\s*-?\d{1,15}\s*", raw):
                raise ImportFormatError(
                    path, f"time slot {sid[:40]}: TIME_VALUE {raw[:40]!r}", expected="whole milliseconds"
                )
            values.append(check_time(path, int(raw) * _MS, f"time slot {sid[:40]}"))
        ids.append(sid)
    valued = [i for i, v in enumerate(values) if v is not None]
    out: dict[str, float] = {}
    k = 0  # index into valued of the first valued slot at or after i
    for i, sid in enumerate(ids):
        v = values[i]
        while k < len(valued) and valued[k] < i:
            k += 1
        if v is None:
            if k == 0 or k == len(valued):
                side = "before" if k == 0 else "after"
                raise ImportFormatError(
                    path,
                    f"time slot {sid[:40]} has no time and no slot with a time {side} it",
                    expected="unvalued slots between slots with TIME_VALUE (as ELAN writes them)",
                )
            lo, hi = valued[k - 1], valued[k]
            va, vb = values[lo], values[hi]
            assert va is not None and vb is not None
            v = va + (vb - va) * (i - lo) / (hi - lo)
        out[sid] = v
    return out


def _slot(path: Path, slots: dict[str, float], ref: str | None, where: str) -> float:
    if ref is None or ref not in slots:
        raise ImportFormatError(
            path, f"{where}: time slot {str(ref)[:40]!r} is not in TIME_ORDER", expected="a TIME_SLOT_ID"
        )
    return slots[ref]


def _reference_spans(
    path: Path, tiers: list[ET.Element], spans: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Spans of REF_ANNOTATIONs: a parent's span, split evenly among a subdivision's chain."""
    refs: dict[str, tuple[str, str | None, str]] = {}  # id -> (parent id, previous id, where)
    tier_of: dict[str, str] = {}
    for tier in tiers:
        for ann in tier.iter("REF_ANNOTATION"):
            aid = ann.get("ANNOTATION_ID", "")
            where = f"tier {tier.get('TIER_ID', '')[:40]}, annotation {aid[:40]}"
            parent = ann.get("ANNOTATION_REF")
            if not aid or not parent:
                raise ImportFormatError(
                    path,
                    f"{where}: a REF_ANNOTATION without ids",
                    expected="ANNOTATION_ID and ANNOTATION_REF",
                )
            refs[aid] = (parent, ann.get("PREVIOUS_ANNOTATION"), where)
            tier_of[aid] = tier.get("TIER_ID", "")
    children: dict[tuple[str, str], list[str]] = {}  # (tier, parent) -> the tier's annotations on it
    for aid, (parent, _, _) in refs.items():
        children.setdefault((tier_of[aid], parent), []).append(aid)
    out: dict[str, tuple[float, float]] = {}

    def span_of(aid: str, depth: int) -> tuple[float, float]:
        if aid in spans:
            return spans[aid]
        if aid in out:
            return out[aid]
        if aid not in refs:
            raise ImportFormatError(
                path, f"annotation {aid[:40]!r} is referred to but not defined", expected="an ANNOTATION_ID"
            )
        if depth > _MAX_REF_DEPTH:
            raise ImportFormatError(
                path,
                f"{refs[aid][2]}: references nested deeper than {_MAX_REF_DEPTH} (or a cycle)",
                expected="reference tiers a few levels deep",
            )
        parent = refs[aid][0]
        a, b = span_of(parent, depth + 1)
        sibs = _chain(children[(tier_of[aid], parent)], refs)
        n = len(sibs)
        for j, sid in enumerate(sibs):
            out[sid] = (a + (b - a) * j / n, a + (b - a) * (j + 1) / n)
        return out[aid]

    for aid in refs:
        span_of(aid, 0)
    return out


def _chain(ids: list[str], refs: dict[str, tuple[str, str | None, str]]) -> list[str]:
    """Sibling annotations in PREVIOUS_ANNOTATION order (document order where the chain is missing)."""
    if len(ids) == 1:
        return ids
    after = {refs[i][1]: i for i in ids if refs[i][1] in ids}
    first = [i for i in ids if refs[i][1] not in ids]
    if len(first) != 1:
        return ids
    chain = [first[0]]
    while chain[-1] in after and len(chain) <= len(ids):
        chain.append(after[chain[-1]])
    return chain if len(chain) == len(ids) else ids


def _join_spread_tiers(tracks: list[FoundTrack]) -> list[FoundTrack]:
    """harlab's ELAN export spreads an overlapping track over ``name``, ``name-2``...: join them."""
    by_name = {t.name: t for t in tracks}
    out: list[FoundTrack] = []
    for t in tracks:
        m = re.fullmatch(r"(.+)-(\d+)", t.name)
        if m and int(m.group(2)) >= 2 and m.group(1) in by_name:
            base = by_name[m.group(1)]
            base.segments.extend(t.segments)
            continue
        out.append(t)
    for t in out:
        t.segments.sort(key=lambda s: (s.start, s.end))
    return out
