"""Matching class names across sources: ``walking_upstairs`` == ``Walking Upstairs`` == ``WALKING-UPSTAIRS``.

Datasets spell the same activity differently (the Fitbit seed says ``Walking``, UCI HAPT
``WALKING``, a hand-made schema ``walking``), and a model trained on one is applied to the
others. A case-sensitive lookup then finds nothing and the error it leads to ("no labelled
windows") points the wrong way. Every place that looks a class name up (training,
evaluation, prediction, accepting predictions into labels, merging classes) compares
:func:`class_key` values instead, and keeps the spelling of the schema it shows.

Only case, surrounding space and the separators space, ``_`` and ``-`` are ignored: ``lying``
and ``Laying`` stay different classes (a synonym list would guess), but
:func:`describe_unmatched` names the nearest spelling so a person sees the near miss.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

_SEPARATORS = re.compile(r"[\s_\-]+")


def class_key(name: str) -> str:
    """The form two class names are compared in: case-folded, separators collapsed to one space."""
    return _SEPARATORS.sub(" ", str(name).casefold()).strip()


def same_class(a: str, b: str) -> bool:
    return class_key(a) == class_key(b)


def find_class(name: str, known: Iterable[str]) -> str | None:
    """The entry of ``known`` that is the same class as ``name`` (its spelling), or None."""
    key = class_key(name)
    for k in known:
        if class_key(k) == key:
            return k
    return None


def spelling_map(names: Iterable[str]) -> dict[str, str]:
    """``{class_key: first spelling}`` over ``names`` in order (the first spelling wins)."""
    out: dict[str, str] = {}
    for n in names:
        out.setdefault(class_key(n), n)
    return out


def describe_unmatched(unmatched: Sequence[str], known: Sequence[str]) -> str:
    """``"lying (nearest: Laying), jogging"``: the unmatched names, each with a near spelling in ``known``."""
    keys = {class_key(k): k for k in known}
    parts = []
    for name in unmatched:
        near = difflib.get_close_matches(class_key(name), list(keys), n=1, cutoff=0.6)
        parts.append(f"{name} (nearest: {keys[near[0]]})" if near else name)
    return ", ".join(parts)
