"""Label schema presets for the datasets harlab knows, and schema JSON import/export.

Presets give every class a distinct colour that reads on light and dark backgrounds and a
one-key hotkey (1-9, 0, then letters the shortcut table leaves free; the Fitbit seed's keys
are its class codes 0-9), so labeling a new recording in a known protocol starts with one
click. Names follow what the importers emit for each dataset, with the source code of each
class in its description; the importers build their schemas from these presets
(:meth:`Preset.schema` with the file's names), so a class looks and keys the same whether
it was imported or chosen here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harlab.core import files
from harlab.core.colors import CLASS_COLORS, distinct_color
from harlab.core.errors import ImportFormatError, SessionError
from harlab.core.labels import LabelClass, LabelSchema
from harlab.labeling.class_keys import HotkeyRepair, assign_hotkeys, class_keys, repair_hotkeys

SCHEMA_FORMAT = "harlab-label-schema"
SCHEMA_VERSION = 1

#: The presets' class colours: the perceptually distinct class palette (18 classes, every pair
#: at least :data:`~harlab.core.colors.MIN_CLASS_DISTANCE` apart; a test checks each schema).
PRESET_COLORS = CLASS_COLORS
#: Digits first, then letters the shortcut table does not use (computed from the table).
PRESET_HOTKEYS = class_keys()


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    classes: tuple[tuple[str, str], ...]  # (class name, description)
    hotkeys: tuple[str, ...] = ()  #: explicit keys (a dataset's own codes); else :data:`PRESET_HOTKEYS`

    def schema(self, names: Mapping[int, str] | None = None) -> LabelSchema:
        """A fresh schema (callers may edit it).

        ``names`` maps a class's position in the preset to the name a file spells it with
        (an importer's classes): those classes keep the preset's colour, key and description
        under that name; positions beyond the preset get a distinct colour and a free key.
        """
        keys = self.hotkeys or PRESET_HOTKEYS
        names = dict(enumerate(n for n, _ in self.classes)) if names is None else dict(names)
        out = LabelSchema()
        extra = [i for i in sorted(names) if not 0 <= i < len(self.classes)]
        spare = iter(assign_hotkeys(len(extra), keys[: len(self.classes)]))
        for i in sorted(names):
            if 0 <= i < len(self.classes):
                out.add(LabelClass(names[i], PRESET_COLORS[i], keys[i], self.classes[i][1]))
            else:
                out.add(LabelClass(names[i], distinct_color([c.color for c in out]), next(spare)))
        return out


#: the seed's Fitbit activity classes, in code order (code i is FITBIT_ACTIVITIES[i])
FITBIT_ACTIVITIES: tuple[str, ...] = (
    "Walking",
    "Upstairs",
    "Downstairs",
    "Running",
    "Standing",
    "Sitting",
    "Jumping",
    "Squat",
    "Laying",
    "Situp",
)
_WISDM = (
    ("walking", "A"),
    ("jogging", "B"),
    ("stairs", "C"),
    ("sitting", "D"),
    ("standing", "E"),
    ("typing", "F"),
    ("teeth", "G: brushing teeth"),
    ("soup", "H: eating soup"),
    ("chips", "I: eating chips"),
    ("pasta", "J: eating pasta"),
    ("drinking", "K: drinking from a cup"),
    ("sandwich", "L: eating a sandwich"),
    ("kicking", "M: kicking a soccer ball"),
    ("catch", "O: playing catch with a tennis ball"),
    ("dribbling", "P: dribbling a basketball"),
    ("writing", "Q"),
    ("clapping", "R"),
    ("folding", "S: folding clothes"),
)
_UCI = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "fitbit-seed",
            "Fitbit seed project (10 activities)",
            tuple(
                (n, f"seed code {i}" + (' (the seed spells it "Squad")' if n == "Squat" else ""))
                for i, n in enumerate(FITBIT_ACTIVITIES)
            ),
            hotkeys=tuple("0123456789"),
        ),
        Preset("wisdm", "WISDM 2019 (18 activities)", tuple((n, f"WISDM code {c}") for n, c in _WISDM)),
        Preset(
            "uci-har",
            "UCI HAR / HAPT (6 activities, 6 transitions)",
            tuple(
                (n, f"UCI HAPT id {i}" + (" (postural transition)" if i > 6 else ""))
                for i, n in enumerate(_UCI, 1)
            ),
        ),
    )
}


def preset(name: str) -> LabelSchema:
    """A fresh schema of the preset ``name`` ("fitbit-seed", "wisdm", "uci-har")."""
    try:
        return PRESETS[name].schema()
    except KeyError:
        raise SessionError(f"no schema preset {name!r}; choose one of {sorted(PRESETS)}") from None


# -- JSON import/export ---------------------------------------------------------------------
def schema_to_json(schema: LabelSchema) -> dict[str, Any]:
    return {"format": SCHEMA_FORMAT, "version": SCHEMA_VERSION, "classes": schema.to_list()}


def export_schema(schema: LabelSchema, path: str | Path) -> Path:
    """Write ``schema`` as JSON (atomically, see :func:`harlab.core.files.atomic_open`)."""
    path = Path(path)
    text = json.dumps(schema_to_json(schema), indent=2, ensure_ascii=False) + "\n"
    with files.atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def schema_from_json(data: Any, path: str | Path = "<schema>") -> LabelSchema:
    """Validate parsed JSON (an object with ``classes`` or a bare list of classes).

    A class hotkey the workbench cannot bind (a shortcut of the table, as in a schema exported
    before the table took the key) is kept here; :func:`read_schema` repairs it."""
    if isinstance(data, dict):
        if data.get("format", SCHEMA_FORMAT) != SCHEMA_FORMAT:
            raise ImportFormatError(path, f"format is {data.get('format')!r}", expected=f"{SCHEMA_FORMAT!r}")
        if int(data.get("version", 1)) > SCHEMA_VERSION:
            raise ImportFormatError(path, f"schema version {data.get('version')} is newer than this harlab")
        items = data.get("classes")
    else:
        items = data
    if not isinstance(items, list):
        raise ImportFormatError(
            path, "no list of classes", expected='{"classes": [{"name": ..., "color": ...}, ...]}'
        )
    schema = LabelSchema()
    for i, item in enumerate(items):
        where = f"classes[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ImportFormatError(
                path, f"{where} is not a class", expected='an object with a "name" string'
            )
        try:
            hotkey = item.get("hotkey") or None
            if hotkey is not None and not isinstance(hotkey, str):
                raise SessionError(f"hotkey {hotkey!r} is not a string")
            schema.add(
                LabelClass(
                    item["name"],
                    str(item.get("color") or "#7f7f7f"),
                    hotkey,
                    str(item.get("description") or ""),
                )
            )
        except SessionError as exc:
            raise ImportFormatError(path, f"{where} ({item.get('name')!r}): {exc}") from None
    return schema


def import_schema(path: str | Path) -> LabelSchema:
    """Read a schema JSON file, its class hotkeys repaired (:func:`read_schema`)."""
    return read_schema(path)[0]


def read_schema(path: str | Path) -> tuple[LabelSchema, list[HotkeyRepair]]:
    """Read a schema JSON file and what :func:`~harlab.labeling.class_keys.repair_hotkeys`
    changed: a schema that comes with a file is made to work (a clashing or unusable hotkey
    moved to a free key, or cleared), and the caller tells the user once. Any other problem is
    an :class:`ImportFormatError` naming the file, the line/column of a syntax error, or the
    class entry that is wrong."""
    schema = _parse_schema_file(Path(path))
    return schema, repair_hotkeys(schema)


def _parse_schema_file(path: Path) -> LabelSchema:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(path, f"cannot read the schema file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            path, f"invalid JSON at column {exc.colno}: {exc.msg}", line=exc.lineno, expected="a JSON schema"
        ) from None
    return schema_from_json(data, path)
