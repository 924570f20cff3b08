"""Agreement and adjudication summaries as JSON-ready dicts, CSV and a short HTML report.

* :func:`agreement_dict`: everything of a :class:`~harlab.agreement.compare.MultiAgreement` as
  plain JSON (``harlab agreement --json``); undefined values are ``null``.
* :func:`write_agreement_csv`: one tidy table (``scope, section, subject, measure, value``), one
  row per number, so pandas or a spreadsheet pivots it as the paper needs.
* :func:`write_todo_csv`: the consensus's disagreements, one row each, one column per track.
* :func:`write_html_report`: the summary, per-class and event tables and the confusion matrix of
  every pair of annotators as a PNG beside the HTML (``NAME-confusion-A-B.png``, reusable in a paper).

Every file is written whole or not at all (:mod:`harlab.core.files`). The confusion PNGs are the
pictures ``harlab evaluate`` draws for a model (:mod:`harlab.core.confusion_plot`).
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

from harlab.agreement.compare import MultiAgreement, SessionAgreement
from harlab.agreement.consensus import ConsensusResult
from harlab.agreement.event_match import EventAgreement
from harlab.agreement.reliability import PairAgreement
from harlab.core import files
from harlab.core.confusion_plot import plot_confusion_matrix


def _num(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def events_dict(e: EventAgreement) -> dict[str, Any]:
    return {
        "first": e.first,
        "second": e.second,
        "tolerance_s": e.tolerance,
        "segments_first": e.n_first,
        "segments_second": e.n_second,
        "matched": e.matched,
        "precision": e.precision,
        "recall": e.recall,
        "f1": e.f1,
        "abs_offset_s": e.offset_stats(),
    }


def session_dict(s: SessionAgreement) -> dict[str, Any]:
    r = s.reliability
    return {
        "session": s.name,
        "tracks": list(s.tracks),
        "annotators": list(s.annotators),
        "span_s": list(s.span),
        "unit": r.unit,
        "step_s": r.step,
        "units": r.units,
        "coverage": r.coverage,
        "agreement": r.agreement,
        "cohen_kappa": r.cohen_kappa,
        "light_kappa": r.light_kappa,
        "fleiss_kappa": r.fleiss_kappa,
        "fleiss_units": r.fleiss_units,
        "krippendorff_alpha": r.krippendorff_alpha,
        "alpha_units": r.alpha_units,
        "pairable_units": r.pairable_units,
        "classes": list(r.classes),
        "pairs": [
            {
                "first": p.first,
                "second": p.second,
                "units": p.units,
                "agreement": p.agreement,
                "cohen_kappa": p.cohen_kappa,
                "confusion": p.confusion.tolist(),
            }
            for p in r.pairs
        ],
        "per_class": [
            {
                "class": c.name,
                "ratings": c.units,
                "specific_agreement": c.specific_agreement,
                "kappa_vs_rest": c.kappa_vs_rest,
            }
            for c in r.per_class
        ],
        "events": [events_dict(e) for e in s.events],
    }


def agreement_dict(m: MultiAgreement) -> dict[str, Any]:
    return {
        "pooled": session_dict(m.pooled),
        "sessions": [session_dict(s) for s in m.sessions],
        "skipped": [{"session": p, "reason": why} for p, why in m.skipped],
    }


def agreement_rows(m: MultiAgreement) -> list[tuple[str, str, str, str, float | int | None]]:
    """(scope, section, subject, measure, value) for every number of the result."""
    rows: list[tuple[str, str, str, str, float | int | None]] = []
    for s in [m.pooled, *m.sessions]:
        d = session_dict(s)
        scope = s.name
        everyone = "|".join(s.tracks)
        for key in (
            "units",
            "agreement",
            "cohen_kappa",
            "light_kappa",
            "fleiss_kappa",
            "fleiss_units",
            "krippendorff_alpha",
            "alpha_units",
        ):
            rows.append((scope, "overall", everyone, key, d[key]))
        rows.append((scope, "overall", everyone, "step_s", s.reliability.step))
        for track, cov in s.reliability.coverage.items():
            rows.append((scope, "coverage", track, "fraction_labelled", cov))
        for p in d["pairs"]:
            for key in ("units", "agreement", "cohen_kappa"):
                rows.append((scope, "pair", f"{p['first']}|{p['second']}", key, p[key]))
        for c in d["per_class"]:
            for key in ("ratings", "specific_agreement", "kappa_vs_rest"):
                rows.append((scope, "class", c["class"], key, c[key]))
        for e in d["events"]:
            subject = f"{e['first']}|{e['second']}"
            for key in (
                "tolerance_s",
                "segments_first",
                "segments_second",
                "matched",
                "precision",
                "recall",
                "f1",
            ):
                rows.append((scope, "events", subject, key, e[key]))
            for key, v in e["abs_offset_s"].items():
                rows.append((scope, "events", subject, f"abs_offset_{key}_s", v))
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(["" if v is None else v for v in row] for row in rows)

    return files.atomic_write(path, write)


def write_agreement_csv(m: MultiAgreement, path: str | Path) -> Path:
    return _write_csv(
        Path(path), ["scope", "section", "subject", "measure", "value"], [list(r) for r in agreement_rows(m)]
    )


def write_todo_csv(result: ConsensusResult, path: str | Path) -> Path:
    """The disagreements left to decide: start, end, duration and each track's label ("" = none)."""
    tracks = [t for t, _ in result.todo[0].labels] if result.todo else []
    rows = [
        [f"{d.start:.3f}", f"{d.end:.3f}", f"{d.duration:.3f}", *[lab or "" for _, lab in d.labels]]
        for d in result.todo
    ]
    return _write_csv(Path(path), ["start_s", "end_s", "duration_s", *tracks], rows)


def plot_pair_confusion(pair: PairAgreement, classes: tuple[str, ...], path: str | Path) -> Path:
    """PNG of one pair's confusion matrix (units), rows the first track, columns the second: the
    picture ``harlab evaluate`` draws for a model (:mod:`harlab.core.confusion_plot`)."""
    kappa = "-" if pair.cohen_kappa is None else f"{pair.cohen_kappa:.3f}"
    return plot_confusion_matrix(
        pair.confusion,
        classes,
        path,
        title=f"{pair.first} vs {pair.second}: Cohen's kappa {kappa}",
        rows=pair.first,
        columns=pair.second,
        empty=f"{pair.first} and {pair.second}\nnever labelled the same time",
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _session_rows(m: MultiAgreement) -> list[list[str]]:
    out = []
    for s in [m.pooled, *m.sessions] if len(m.sessions) > 1 else m.sessions:
        r = s.reliability
        out.append(
            [
                Path(s.name).name if s.name != "pooled" else "pooled",
                str(r.units),
                _num(r.agreement),
                _num(r.cohen_kappa if len(s.tracks) == 2 else r.light_kappa),
                _num(r.fleiss_kappa),
                _num(r.krippendorff_alpha),
            ]
        )
    return out


def write_html_report(
    m: MultiAgreement, path: str | Path, title: str = "Agreement between annotators"
) -> Path:
    """The HTML report at ``path`` and one confusion PNG per pair of tracks beside it."""
    path = Path(path)
    p = m.pooled
    r = p.reliability
    unit = f"per {r.unit}, every {r.step:g} s" if r.unit == "sample" else f"per {r.step:g}-s window"
    who = ", ".join(f"{t} ({a})" if a and a != t else t for t, a in zip(p.tracks, p.annotators, strict=True))
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Tracks: {html.escape(who)}. Units: {html.escape(unit)}. "
        f"Sessions: {len(m.sessions)}{f', skipped {len(m.skipped)}' if m.skipped else ''}.</p>",
        "<h2>Summary</h2>",
        _table(
            [
                "session",
                "units",
                "agreement",
                "Cohen's kappa" if len(p.tracks) == 2 else "Light's kappa",
                "Fleiss' kappa",
                "Krippendorff's alpha",
            ],
            _session_rows(m),
        ),
        "<h2>Per class</h2>",
        _table(
            ["class", "ratings", "specific agreement", "kappa (class vs rest)"],
            [[c.name, str(c.units), _num(c.specific_agreement), _num(c.kappa_vs_rest)] for c in r.per_class],
        ),
        "<h2>Events</h2>",
        _table(
            [
                "pair",
                "tolerance (s)",
                "segments",
                "matched",
                "precision",
                "recall",
                "F1",
                "|offset| mean (s)",
                "median",
                "95th percentile",
            ],
            [
                [
                    f"{e.first} / {e.second}",
                    f"{e.tolerance:g}",
                    f"{e.n_first} / {e.n_second}",
                    str(e.matched),
                    _num(e.precision),
                    _num(e.recall),
                    _num(e.f1),
                    *(_num(v, 2) for v in e.offset_stats().values()),
                ]
                for e in p.events
            ],
        ),
        "<h2>Confusion between annotators</h2>",
    ]
    for pair in r.pairs:
        png = path.with_name(
            f"{path.stem}-confusion-{files.safe_name(pair.first)}-{files.safe_name(pair.second)}.png"
        )
        plot_pair_confusion(pair, r.classes, png)
        parts.append(
            f'<p><img src="{html.escape(png.name)}" alt="confusion {html.escape(pair.first)} vs '
            f'{html.escape(pair.second)}"></p>'
        )
    if m.skipped:
        parts.append("<h2>Skipped sessions</h2>")
        parts.append(_table(["session", "why"], [[s, why] for s, why in m.skipped]))
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f4f4f4}"
    )
    doc = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
    return files.atomic_write(path, lambda tmp: tmp.write_text(doc, encoding="utf-8"))
