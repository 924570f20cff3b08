"""``harlab info FILE... [--json]``: what session files hold, without loading their samples."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from harlab.core.errors import HarlabError
from harlab.core.files import input_file
from harlab.core.wording import counted
from harlab.storage import open_session
from harlab.storage.layout import dt_to_str


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "info",
        help="show a session file's metadata, streams, label and prediction tracks",
        description="Summarise a harlab session file. Reads only metadata, never all samples.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="session files (.h5)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON instead of text (one object for one file, a list for several)",
    )
    p.set_defaults(func=run)


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def describe(path: str) -> dict[str, Any]:
    """The facts ``harlab info`` prints, as plain JSON-ready values."""
    with open_session(path) as sf:
        s = sf.session
        md = s.metadata
        streams = []
        for st in s.streams.values():
            t0, t1 = st.time_bounds()
            streams.append(
                {
                    "name": st.name,
                    "kind": st.kind,
                    "device": st.device,
                    "channels": st.channels,
                    "units": st.units,
                    "rate_hz": st.rate_hz,
                    "n_samples": st.n_samples,
                    "start": _num(t0),
                    "duration_s": st.duration_s,
                }
            )
        labels = []
        for tr in s.label_tracks.values():
            used: dict[str, int] = {}
            for seg in tr:
                used[seg.label] = used.get(seg.label, 0) + 1
            labels.append(
                {
                    "name": tr.name,
                    "policy": tr.policy,
                    "annotator": tr.annotator,
                    "created": dt_to_str(tr.created),
                    "modified": dt_to_str(tr.modified),
                    "n_segments": len(tr),
                    "classes": used,
                }
            )
        preds = [
            {
                "name": p.name,
                "model_name": p.model_name,
                "model_version": p.model_version,
                "classes": p.classes,
                "n_windows": len(p),
                "n_segments": len(p.segments),
                "created": dt_to_str(p.created),
            }
            for p in s.prediction_tracks.values()
        ]
        return {
            "file": str(sf.path),
            "metadata": {
                "session_id": md.session_id,
                "participant_id": md.participant_id,
                "timezone": md.timezone,
                "start_utc": dt_to_str(md.start_utc) or None,
                "notes": md.notes,
                "devices": [vars(d) for d in md.devices],
                "provenance": {
                    "importer": md.provenance.importer,
                    "harlab_version": md.provenance.harlab_version,
                    "created_utc": dt_to_str(md.provenance.created_utc),
                    "notes": md.provenance.notes,
                    "sources": [vars(x) for x in md.provenance.sources],
                },
                "extra": md.extra,
            },
            "schema": s.schema.to_list(),
            "streams": streams,
            "label_tracks": labels,
            "prediction_tracks": preds,
            "videos": [
                {
                    "name": v.name,
                    "path": v.reference.path,
                    "duration_s": v.reference.duration_s,
                    "frame_rate": v.reference.frame_rate,
                    "offset_s": v.sync.offset_s,
                    "drift_ppm": v.sync.drift_ppm,
                }
                for v in s.videos.values()
            ],
            "quality_tracks": [
                {
                    "name": q.name,
                    "kind": q.kind,
                    "method": q.method,
                    "n_spans": len(q),
                    "total_s": q.total_s,
                }
                for q in s.quality_tracks.values()
            ],
        }


def _text(d: dict[str, Any]) -> str:
    md = d["metadata"]
    out = [
        f"file:         {d['file']}",
        f"session:      {md['session_id']}   participant: {md['participant_id'] or '-'}",
        f"start (UTC):  {md['start_utc'] or 'unknown'}   timezone: {md['timezone']}",
    ]
    for dev in md["devices"]:
        out.append(
            f"device:       {dev['name']} {dev['model']} fw {dev['firmware'] or '-'} ({dev['placement'] or '-'})"
        )
    prov = md["provenance"]
    if prov["importer"] or prov["sources"]:
        out.append(
            f"provenance:   {prov['importer'] or '-'} (harlab {prov['harlab_version'] or '?'}), "
            f"{counted(len(prov['sources']), 'source file')}"
        )
        out += [f"              {x['path']}  sha256 {x['sha256'][:16]}…" for x in prov["sources"]]
    if md["notes"]:
        out.append(f"notes:        {md['notes']}")
    for k, v in md["extra"].items():
        # a value of several lines (import warnings) keeps its later lines under the first
        out.append(f"extra:        {k} = " + str(v).replace("\n", "\n" + " " * (17 + len(k))))
    out.append(f"streams ({len(d['streams'])}):")
    for s in d["streams"]:
        rate = f"{s['rate_hz']:g} Hz" if s["rate_hz"] else "irregular"
        start = f"{s['start']:.3f}" if s["start"] is not None else "-"
        chans = ", ".join(f"{c} [{u}]" for c, u in zip(s["channels"], s["units"], strict=True))
        out.append(
            f"  {s['name']:<14} {rate:>10}  {counted(s['n_samples'], 'sample'):>18}  start {start} s  "
            f"duration {s['duration_s']:.3f} s  {chans}"
        )
    out.append(f"label tracks ({len(d['label_tracks'])}):")
    for t in d["label_tracks"]:
        used = ", ".join(f"{k} ({v})" for k, v in t["classes"].items()) or "-"
        out.append(
            f"  {t['name']:<14} {t['policy']:<11} {counted(t['n_segments'], 'segment'):>15}  classes: {used}"
            + (f"  by {t['annotator']}" if t.get("annotator") else "")
        )
    out.append(f"prediction tracks ({len(d['prediction_tracks'])}):")
    for p in d["prediction_tracks"]:
        out.append(
            f"  {p['name']:<14} {p['model_name']} {p['model_version']}  {counted(p['n_windows'], 'window')}  "
            f"{counted(p['n_segments'], 'segment')}  classes: {', '.join(p['classes']) or '-'}"
        )
    if d["quality_tracks"]:
        out.append(f"quality tracks ({len(d['quality_tracks'])}):")
    for q in d["quality_tracks"]:
        out.append(
            f"  {q['name']:<14} {q['kind']:<11} {counted(q['n_spans'], 'span'):>15}  "
            f"{q['total_s'] / 60:.1f} min  {q['method'] or '-'}"
        )
    if d["videos"]:
        out.append(f"videos ({len(d['videos'])}):")
    for v in d["videos"]:
        out.append(
            f"  {v['name']:<14} {v['path']}  {v['duration_s']:.3f} s at {v['frame_rate']:.3g} fps  "
            f"offset {v['offset_s']:+.3f} s  drift {v['drift_ppm']:+.1f} ppm"
        )
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Describe each file; a file that cannot be read is reported and the others still shown (exit 1)."""
    described: list[dict[str, Any]] = []
    failed = 0
    for i, name in enumerate(args.files):
        try:
            d = describe(str(input_file(name, "a session file")))
        except HarlabError as exc:
            if len(args.files) == 1:
                raise
            print(f"harlab: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        described.append(d)
        if not args.json:
            print(("\n" if i else "") + _text(d))
    if args.json:
        out: Any = described[0] if len(args.files) == 1 else described
        print(json.dumps(out, indent=2, ensure_ascii=False))
    return 1 if failed else 0
