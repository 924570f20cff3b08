"""Class rules for training: keep, ignore or merge classes before windows are cut.

A person says "train walking and stairs as one class" or "leave transitions out" (the
train dialog's class table, ``harlab train --merge/--ignore``). That must change the data, not only the names shown, so the label
track is rewritten *before* :func:`harlab.ml.dataset.build_dataset` cuts windows: a
merged class's segments are renamed (windows straddling two merged classes then get
the merged label by majority, as they should), and an ignored class's segments are
dropped, so its time counts as unlabelled and no window is cut from it.

The originals are never touched: :func:`relabeled_view` returns a new
:class:`~harlab.core.session.Session` that shares the (read-only) streams of the
original and owns a rewritten copy of the one label track used for training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from harlab.core.classnames import class_key, find_class
from harlab.core.errors import HarlabError
from harlab.core.labels import LabelSchema, LabelTrack, Segment
from harlab.core.session import Session

KEEP, IGNORE, MERGE = "keep", "ignore", "merge into"
ACTIONS = (KEEP, IGNORE, MERGE)


@dataclass(frozen=True)
class ClassRule:
    """What to do with one class: ``action`` is keep, ignore or merge into ``target``."""

    action: str = KEEP
    target: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise HarlabError(f"unknown class action {self.action!r}; one of {', '.join(ACTIONS)}")
        if self.action == MERGE and not self.target.strip():
            raise HarlabError("merging a class needs the name of the class to merge into")


def class_mapping(rules: Mapping[str, ClassRule]) -> dict[str, str | None]:
    """``{original: new name or None (ignored)}`` for every class in ``rules``.

    A merge target may be another listed class (which must itself be kept: merging
    into an ignored class would silently drop data) or a new name.
    """
    out: dict[str, str | None] = {}
    for name, rule in rules.items():
        if rule.action == IGNORE:
            out[name] = None
        elif rule.action == KEEP:
            out[name] = name
        else:
            target = rule.target.strip()
            target = find_class(target, rules) or target  # "walking" merges into the listed "Walking"
            other = rules.get(target)
            if other is not None and target != name and other.action != KEEP:
                raise HarlabError(
                    f"class {name!r} is merged into {target!r}, which is itself "
                    f"{'ignored' if other.action == IGNORE else 'merged'}"
                )
            out[name] = target
    if out and not any(v is not None for v in out.values()):
        raise HarlabError("every class is ignored: keep at least two classes to train on")
    return out


def output_classes(mapping: Mapping[str, str | None], order: list[str]) -> list[str]:
    """The model's classes: mapped names in the order their first source appears in ``order``."""
    keyed = _keyed(mapping)
    seen: list[str] = []
    for name in order:
        new = keyed.get(class_key(name), name)
        if new is not None and find_class(new, seen) is None:
            seen.append(new)
    return seen


def _keyed(mapping: Mapping[str, str | None]) -> dict[str, str | None]:
    """``mapping`` looked up by :func:`class_key`: sources spell one class differently."""
    out: dict[str, str | None] = {}
    for k, v in mapping.items():
        out.setdefault(class_key(k), v)
    return out


def relabeled_view(session: Session, track: str, mapping: Mapping[str, str | None]) -> Session:
    """A session sharing ``session``'s streams and metadata whose track ``track`` has every
    segment renamed by ``mapping`` (classes missing from it are kept, None drops the segment).
    Names are matched by :func:`class_key`: a rule for ``Walking`` also renames ``WALKING``."""
    src = session.label_tracks.get(track)
    keyed = _keyed(mapping)
    schema = LabelSchema()
    for c in session.schema:
        new = keyed.get(class_key(c.name), c.name)
        if new is not None and new not in schema:
            schema.add(replace(c, name=new, hotkey=None))
    view = Session(session.metadata, schema)
    for stream in session.streams.values():
        view.add_stream(stream)
    if src is not None:
        copy = LabelTrack(track, src.policy, src.description)
        segs: list[Segment] = []
        for seg in src:
            new = keyed.get(class_key(seg.label), seg.label)
            if new is not None:
                segs.append(replace(seg, label=new))
        view.add_label_track(copy)
        if segs:
            view.add_segments(track, segs)
    return view
