"""Class hotkeys that never collide with the shortcut table: automatic assignment and repair.

A class hotkey that is also a shortcut of the table (``S`` splits, ``T`` switches the time
axis, ``C`` changes the class) makes Qt report an ambiguous shortcut and do *neither*, so a
schema with one is half-working. Every place that hands out hotkeys takes them from
:func:`class_keys` (digits, then the letters the table leaves free), and a schema that
arrives with a file (an older session, a recording made with another schema) is mended by
:func:`repair_hotkeys` before the workbench binds its keys: each clashing or unusable key
moves to a free letter of the class's name, else to the next free key, else it is cleared.
The caller tells the user once with :func:`describe_repairs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from harlab.core.colors import MIN_CLASS_DISTANCE, color_distance, distinct_color
from harlab.core.labels import LabelClass, LabelSchema
from harlab.labeling.shortcuts import class_hotkey_problem, reserved_keys

#: Candidate class keys in the order they are handed out: the digit row, then the letters
#: on the left hand, then the rest; :func:`class_keys` drops the ones the table uses.
_KEY_ORDER = "1234567890qweradfgvbxuiophjklnz"


def class_keys() -> tuple[str, ...]:
    """Every single key a class may have, in the order automatic assignment uses them."""
    reserved = reserved_keys()
    return tuple(k for k in _KEY_ORDER if k.upper() not in reserved)


def assign_hotkeys(count: int, taken: Iterable[str] = ()) -> list[str | None]:
    """``count`` free class keys in :func:`class_keys` order, skipping ``taken``; None once
    the keys run out (a class may have no key)."""
    used = {k.lower() for k in taken}
    free = [k for k in class_keys() if k not in used]
    return [free[i] if i < len(free) else None for i in range(count)]


def add_classes(
    schema: LabelSchema, names: Iterable[str], like: LabelSchema | None = None
) -> list[LabelClass]:
    """Add each of ``names`` that ``schema`` lacks, with a free key and a colour unlike the others
    (a protocol's activities before a recording, so the file's classes can be keyed later); a
    class ``like`` knows (the demo's activities) keeps its key and colour there when they are free."""
    added: list[LabelClass] = []
    for name in dict.fromkeys(names):
        if name in schema:
            continue
        used = {c.hotkey.lower() for c in schema if c.hotkey}
        colours = [c.color for c in schema]
        known = like.get(name) if like is not None else None
        key = (
            known.hotkey if known is not None and known.hotkey and known.hotkey.lower() not in used else None
        )
        colour = known.color if known is not None and known.color not in colours else None
        if (
            colour is not None
            and colours
            and min(color_distance(colour, c) for c in colours) < MIN_CLASS_DISTANCE
        ):
            colour = None
        added.append(
            schema.add(
                LabelClass(
                    name,
                    colour or distinct_color(colours),
                    key or assign_hotkeys(1, used)[0],
                    known.description if known is not None else "",
                )
            )
        )
    return added


@dataclass(frozen=True)
class HotkeyRepair:
    """One class whose hotkey was moved (``new``) or cleared (``new`` is None)."""

    name: str
    old: str
    new: str | None
    why: str


def repair_hotkeys(schema: LabelSchema) -> list[HotkeyRepair]:
    """Move every class hotkey the workbench cannot bind (a shortcut of the table, not a single
    printable key) to a free key, in place; returns what changed (empty: nothing to do)."""
    bad = {c.name: problem for c in schema if c.hotkey and (problem := class_hotkey_problem(c.hotkey))}
    if not bad:
        return []
    used = {c.hotkey.lower() for c in schema if c.hotkey and c.name not in bad}
    allowed = set(class_keys())
    repairs: list[HotkeyRepair] = []
    for cls in list(schema):
        if cls.name not in bad:
            continue
        new = _free_key(cls.name, used, allowed)
        schema.update(cls.name, replace(cls, hotkey=new))
        repairs.append(HotkeyRepair(cls.name, cls.hotkey or "", new, bad[cls.name]))
    return repairs


def _free_key(name: str, used: set[str], allowed: set[str]) -> str | None:
    """A free class key for ``name``: one of its own letters if free (W for walking), else the next
    free key in :func:`class_keys` order; ``used`` gains it. None once every key is taken."""
    letters = [ch.lower() for ch in name if ch.isalnum()]
    new = next((k for k in (*letters, *class_keys()) if k in allowed and k not in used), None)
    if new is not None:
        used.add(new)
    return new


def key_keyless_classes(schema: LabelSchema) -> list[str]:
    """Give every class without a hotkey a free one, in place (classes an import found in a file's
    label column come without keys, and a class without a key cannot be labelled from the
    keyboard); returns the names of the classes keyed."""
    used = {c.hotkey.lower() for c in schema if c.hotkey}
    allowed = set(class_keys())
    keyed = []
    for cls in list(schema):
        if cls.hotkey:
            continue
        new = _free_key(cls.name, used, allowed)
        if new is None:
            break
        schema.update(cls.name, replace(cls, hotkey=new))
        keyed.append(cls.name)
    return keyed


#: What the workbench's status bar adds after the repairs: where to change them, how to keep them.
REPAIR_HINT = " (Ctrl+L edits the classes; save to keep the change)"


def describe_repairs(repairs: Iterable[HotkeyRepair], hint: str = REPAIR_HINT) -> str:
    """One sentence for the status bar: which class keys moved and why, then ``hint``."""
    parts = []
    for r in repairs:
        old = r.old.upper() if len(r.old) <= 12 else r.old[:12].upper() + "…"  # a file's key may be any text
        parts.append(f"{r.name} {old}→{r.new.upper()}" if r.new else f"{r.name} {old} cleared")
    if not parts:
        return ""
    return "Class hotkeys that clashed with the shortcut table were changed: " + ", ".join(parts) + hint
