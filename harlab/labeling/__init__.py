"""Labeling logic without Qt: edit commands, undo history, crash journal, shortcuts, presets.

The Qt widgets live in :mod:`harlab.gui.labeling`; everything here runs (and is tested) in a
plain Python process.
"""

from harlab.labeling.commands import (
    AcceptPredictions,
    AddLabelTrack,
    AddSegment,
    ChangeClass,
    Composite,
    EditCommand,
    LabelRange,
    MergeSegments,
    ModifySegment,
    MoveSegment,
    RemoveSegments,
    SetSchema,
    SplitSegment,
    command_from_dict,
    edge_limits,
)
from harlab.labeling.history import EditHistory
from harlab.labeling.hotkeys import HotkeyLabeler
from harlab.labeling.journal import EditJournal, discard_journal, pending_edits, replay
from harlab.labeling.shortcuts import SHORTCUTS, Shortcut, by_name, format_help

__all__ = [
    "SHORTCUTS", "AcceptPredictions", "AddLabelTrack", "AddSegment", "ChangeClass", "Composite",
    "EditCommand", "EditHistory", "EditJournal", "discard_journal", "pending_edits", "replay", "HotkeyLabeler", "LabelRange", "MergeSegments", "ModifySegment",
    "MoveSegment", "RemoveSegments", "SetSchema", "Shortcut", "SplitSegment", "by_name", "command_from_dict",
    "edge_limits", "format_help",
]
