"""THE table of keyboard shortcuts (mne-qt-browser's pattern).

One tuple drives the main window's key bindings (by ``name``), the help dialog
(:func:`format_help`) and the tests that press keys. Key strings are Qt's portable text
("Ctrl+Z", "Shift+Left", "PgUp", "F1"), so the GUI passes them to ``QKeySequence`` as is;
this module stays Qt-free.

Class hotkeys are not in the table: they come from the session's
:class:`~harlab.core.LabelSchema` (``LabelClass.hotkey``). Pressing one starts a segment
of that class at the cursor, pressing it again ends it there (pressing another class's key
ends the open segment and starts the next one), and with a selection it labels the
selection (:class:`~harlab.labeling.hotkeys.HotkeyLabeler`). Plain keys the table uses are
listed by :func:`reserved_keys` so schemas and presets never reuse them; keys handed out
automatically and the repair of a file's clashing keys live in
:mod:`harlab.labeling.class_keys`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harlab.core.labels import LabelSchema

GROUPS = ("File", "Navigation", "Labeling", "Adjudication", "View", "Video", "Help")
CLASS_GROUP = "Classes"
#: What a class key does (the help's "Classes" rows).
CLASS_KEY_HELP = "a class key starts a segment at the cursor, ends it, or labels the selection"


@dataclass(frozen=True)
class Shortcut:
    """One command the keyboard can trigger; ``name`` is what the GUI binds a slot to."""

    name: str
    keys: tuple[str, ...]
    description: str
    group: str


SHORTCUTS: tuple[Shortcut, ...] = (
    # File
    Shortcut("open", ("Ctrl+O",), "Open a session or import a file", "File"),
    Shortcut("save", ("Ctrl+S",), "Save the session", "File"),
    Shortcut("save_as", ("Ctrl+Shift+S",), "Save the session under another name", "File"),
    Shortcut("import", ("Ctrl+I",), "Import a recording or labels", "File"),
    Shortcut("record", ("Ctrl+R",), "Record from a device (simulated or Bluetooth)", "File"),
    Shortcut("close", ("Ctrl+W",), "Close the session (asks about unsaved changes)", "File"),
    Shortcut("quit", ("Ctrl+Q",), "Quit harlab", "File"),
    # Navigation
    Shortcut(
        "cursor_left", ("Left",), "Move the cursor left by 1% of the view (the view follows)", "Navigation"
    ),
    Shortcut("cursor_right", ("Right",), "Move the cursor right by 1% of the view", "Navigation"),
    Shortcut("cursor_left_sample", ("Alt+Left",), "Move the cursor one sample left", "Navigation"),
    Shortcut("cursor_right_sample", ("Alt+Right",), "Move the cursor one sample right", "Navigation"),
    Shortcut("pan_left", ("Shift+Left",), "Pan left by half a view", "Navigation"),
    Shortcut("pan_right", ("Shift+Right",), "Pan right by half a view", "Navigation"),
    Shortcut("page_left", ("PgUp",), "Pan left by a whole view", "Navigation"),
    Shortcut("page_right", ("PgDown",), "Pan right by a whole view", "Navigation"),
    Shortcut("zoom_in", ("=", "+"), "Zoom in around the cursor", "Navigation"),
    Shortcut("zoom_out", ("-",), "Zoom out around the cursor", "Navigation"),
    Shortcut("zoom_all", ("Ctrl+0",), "Show the whole recording", "Navigation"),
    Shortcut("zoom_selection", ("Z",), "Zoom to the selected segment or span", "Navigation"),
    Shortcut("go_start", ("Home",), "Go to the start of the recording", "Navigation"),
    Shortcut("go_end", ("End",), "Go to the end of the recording", "Navigation"),
    Shortcut("next_segment", ("Ctrl+Right",), "Jump to and select the next segment", "Navigation"),
    Shortcut("prev_segment", ("Ctrl+Left",), "Jump to and select the previous segment", "Navigation"),
    Shortcut("next_gap", ("Ctrl+Shift+Right",), "Jump to the next unlabelled gap", "Navigation"),
    Shortcut("prev_gap", ("Ctrl+Shift+Left",), "Jump to the previous unlabelled gap", "Navigation"),
    Shortcut("go_to_time", ("Ctrl+G",), "Go to a time (clock time or seconds)", "Navigation"),
    Shortcut("go_to_day", ("Ctrl+Shift+G",), "Show one whole day (pick it from a list)", "Navigation"),
    Shortcut("next_day", ("Ctrl+PgDown",), "Show the next day (local midnight to midnight)", "Navigation"),
    Shortcut("prev_day", ("Ctrl+PgUp",), "Show the previous day", "Navigation"),
    Shortcut("next_track", ("Down",), "Make the next label track current", "Navigation"),
    Shortcut("prev_track", ("Up",), "Make the previous label track current", "Navigation"),
    Shortcut(
        "next_least_confident",
        ("Ctrl+U",),
        "Jump to the next stretch the model is least sure of",
        "Navigation",
    ),
    Shortcut(
        "next_disagreement",
        ("Ctrl+D",),
        "Jump to the next disagreement: between the compared label tracks when some are compared, "
        "else between prediction and label",
        "Navigation",
    ),
    Shortcut(
        "prev_disagreement",
        ("Ctrl+Shift+D",),
        "Jump to the previous disagreement (compared label tracks, or prediction and label)",
        "Navigation",
    ),
    # Labeling
    Shortcut("select_at_cursor", ("Return", "Enter"), "Select the segment under the cursor", "Labeling"),
    Shortcut(
        "cancel", ("Escape",), "Clear the selection; abandon a segment started by a class key", "Labeling"
    ),
    Shortcut("nudge_start_left", ("[",), "Move the selected segment's start one sample left", "Labeling"),
    Shortcut("nudge_start_right", ("]",), "Move the selected segment's start one sample right", "Labeling"),
    Shortcut(
        "nudge_end_left", ("{",), "Move the selected segment's end one sample left (Shift+[)", "Labeling"
    ),
    Shortcut(
        "nudge_end_right", ("}",), "Move the selected segment's end one sample right (Shift+])", "Labeling"
    ),
    Shortcut("move_left", ("Ctrl+[",), "Move the selected segment one sample left", "Labeling"),
    Shortcut("move_right", ("Ctrl+]",), "Move the selected segment one sample right", "Labeling"),
    Shortcut("split_at_cursor", ("S",), "Split the segment under the cursor at the cursor", "Labeling"),
    Shortcut("merge_with_next", ("M",), "Merge the selected segment with the next one", "Labeling"),
    Shortcut("delete_segment", ("Del", "Backspace"), "Delete the selected segments", "Labeling"),
    Shortcut("change_class", ("C",), "Change the class of the selected segments", "Labeling"),
    Shortcut("edit_segment", ("F2",), "Edit the selected segment's fields (note, times, class)", "Labeling"),
    Shortcut("undo", ("Ctrl+Z",), "Undo the last edit", "Labeling"),
    Shortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit", "Labeling"),
    Shortcut(
        "accept_prediction", ("Ctrl+Shift+A",), "Accept the selected predicted segment as a label", "Labeling"
    ),
    # Adjudication (walking the to-do list of a consensus; class keys draw a new label there)
    Shortcut(
        "next_todo", ("Alt+Down",), "Adjudication: go to the next item of the to-do list", "Adjudication"
    ),
    Shortcut(
        "prev_todo", ("Alt+Up",), "Adjudication: go to the previous item of the to-do list", "Adjudication"
    ),
    Shortcut(
        "pick_annotator_1",
        ("Alt+1",),
        "Adjudication: take the first compared track's labels here",
        "Adjudication",
    ),
    Shortcut(
        "pick_annotator_2",
        ("Alt+2",),
        "Adjudication: take the second compared track's labels here",
        "Adjudication",
    ),
    Shortcut(
        "pick_annotator_3",
        ("Alt+3",),
        "Adjudication: take the third compared track's labels here",
        "Adjudication",
    ),
    # View
    Shortcut("toggle_segment_table", ("Ctrl+T",), "Show or hide the segment table", "View"),
    Shortcut("edit_schema", ("Ctrl+L",), "Edit the label classes (names, colours, hotkeys)", "View"),
    Shortcut("toggle_time_mode", ("T",), "Switch the time axis between clock time and seconds", "View"),
    Shortcut("toggle_magnitude", ("Ctrl+M",), "Show or hide the magnitude channel", "View"),
    Shortcut("autoscale_y", ("Y",), "Toggle automatic y-scaling", "View"),
    Shortcut(
        "toggle_label_blind",
        ("Ctrl+Shift+B",),
        "Label blind: hide the other annotators' tracks and the model's predictions",
        "View",
    ),
    Shortcut("toggle_agreement", ("Ctrl+Shift+K",), "Show or hide the agreement panel", "View"),
    Shortcut(
        "toggle_week_view",
        ("Ctrl+Shift+W",),
        "Show or hide the week: activity per day, actogram, non-wear",
        "View",
    ),
    # Video (the video dock; class keys label at the frame on screen while it plays)
    Shortcut("play_pause", ("Space",), "Play or pause the video (the cursor moves with it)", "Video"),
    Shortcut("frame_forward", (".",), "Step the video one frame forward", "Video"),
    Shortcut("frame_back", (",",), "Step the video one frame back", "Video"),
    Shortcut("sync_later", ("Alt+]",), "Sync: move the video one frame later against the traces", "Video"),
    Shortcut(
        "sync_earlier", ("Alt+[",), "Sync: move the video one frame earlier against the traces", "Video"
    ),
    Shortcut("sync_later_fine", ("Alt+}",), "Sync: move the video 10 ms later (Alt+Shift+])", "Video"),
    Shortcut("sync_earlier_fine", ("Alt+{",), "Sync: move the video 10 ms earlier (Alt+Shift+[)", "Video"),
    # Help
    Shortcut("help", ("F1",), "Show this list of shortcuts", "Help"),
)

_BY_NAME = {s.name: s for s in SHORTCUTS}

_MODIFIERS = ("Ctrl", "Alt", "Shift", "Meta")
_ALIASES = {
    "DELETE": "Del",
    "DEL": "Del",
    "ESC": "Escape",
    "ESCAPE": "Escape",
    "PAGEUP": "PgUp",
    "PGUP": "PgUp",
    "PAGEDOWN": "PgDown",
    "PGDOWN": "PgDown",
    "RETURN": "Return",
    "ENTER": "Enter",
    "CONTROL": "Ctrl",
    "CTRL": "Ctrl",
    "ALT": "Alt",
    "SHIFT": "Shift",
    "META": "Meta",
    "SPACE": "Space",
    "BACKSPACE": "Backspace",
    "TAB": "Tab",
}


def by_name(name: str) -> Shortcut:
    """The shortcut called ``name`` (KeyError names the unknown shortcut)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no shortcut named {name!r}") from None


def normalize_key(key: str) -> str:
    """Canonical form for comparing key strings: modifiers in Ctrl, Alt, Shift, Meta order,
    letters upper-case ("shift+ctrl+z" -> "Ctrl+Shift+Z"; "+" and "Ctrl++" stay valid)."""
    key = key.strip()
    if key in ("+", ""):
        return key
    parts = key.split("+")
    if key.endswith("++"):
        parts = [*key[:-2].split("+"), "+"]
    mods: set[str] = set()
    for p in parts[:-1]:
        m = _ALIASES.get(p.strip().upper(), p.strip())
        if m not in _MODIFIERS:
            raise ValueError(f"{key!r}: {p!r} is not a modifier (one of {_MODIFIERS})")
        mods.add(m)
    last = parts[-1].strip()
    last = _ALIASES.get(last.upper(), last.upper() if len(last) == 1 else last[:1].upper() + last[1:])
    return "+".join([*(m for m in _MODIFIERS if m in mods), last])


def reserved_keys(shortcuts: Iterable[Shortcut] = SHORTCUTS) -> set[str]:
    """Every key (normalised) the table uses; a class hotkey must not be one of them."""
    return {normalize_key(k) for s in shortcuts for k in s.keys}


def key_conflicts(shortcuts: Iterable[Shortcut] = SHORTCUTS, schema: LabelSchema | None = None) -> list[str]:
    """Human-readable descriptions of every key bound twice (table and class hotkeys)."""
    owner: dict[str, str] = {}
    problems: list[str] = []

    def claim(key: str, who: str) -> None:
        k = normalize_key(key)
        if k in owner and owner[k] != who:
            problems.append(f"{k} is bound to both {owner[k]!r} and {who!r}")
        else:
            owner[k] = who

    names: set[str] = set()
    for s in shortcuts:
        if s.name in names:
            problems.append(f"shortcut name {s.name!r} appears twice")
        names.add(s.name)
        for k in s.keys:
            claim(k, s.name)
    if schema is not None:
        for c in schema:
            if c.hotkey:
                claim(c.hotkey, f"class {c.name}")
    return problems


def class_hotkey_problem(hotkey: str, shortcuts: Iterable[Shortcut] = SHORTCUTS) -> str:
    """Why ``hotkey`` cannot be a class hotkey ("" when it can): one printable character
    that no shortcut of the table uses."""
    if len(hotkey) != 1 or not hotkey.isprintable() or hotkey.isspace():
        return f"hotkey {hotkey!r} must be a single printable key such as 'w' or '3'"
    k = normalize_key(hotkey)
    for s in shortcuts:
        if any(normalize_key(x) == k for x in s.keys):
            return f"hotkey {hotkey!r} is already the shortcut for {s.description.lower()!r}"
    return ""


def format_help(
    shortcuts: Iterable[Shortcut] = SHORTCUTS, schema: LabelSchema | None = None
) -> list[tuple[str, str, str]]:
    """Rows (group, keys, description) for the help dialog, grouped in :data:`GROUPS` order,
    with the schema's class hotkeys as a "Classes" group after "Labeling"."""
    shortcuts = list(shortcuts)
    rows: list[tuple[str, str, str]] = []
    groups = list(GROUPS) + sorted({s.group for s in shortcuts} - set(GROUPS))
    for g in groups:
        rows += [(g, ", ".join(s.keys), s.description) for s in shortcuts if s.group == g]
        if g == "Labeling" and schema is not None:
            for c in schema:
                if c.hotkey:
                    rows.append(
                        (
                            CLASS_GROUP,
                            c.hotkey.upper(),
                            f"{c.name}: {CLASS_KEY_HELP}",
                        )
                    )
    return rows
