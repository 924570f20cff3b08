"""Labeling logic without Qt: edit commands, undo history, crash journal, shortcuts, presets.

The Qt widgets live in :mod:`harlab.gui.labeling`; everything here runs (and is tested) in a
plain Python process.
"""

from harlab.labeling.commands import (
    AddLabelTrack,
    AddPredictionTrack,
    AddSegment,
    ChangeClass,
    Composite,
    EditCommand,
    EditMetadata,
    LabelRange,
    MergeSegments,
    ModifySegment,
    MoveSegment,
    RemovePredictionTrack,
    RemoveSegments,
    RenamePredictionTrack,
    SetSchema,
    SplitSegment,
    accept_predictions,
    command_from_dict,
    edge_limits,
)
from harlab.labeling.edit_journal import EditJournal, discard_journal, pending_edits
from harlab.labeling.history import EditHistory
from harlab.labeling.hotkeys import HotkeyLabeler
from harlab.labeling.shortcuts import SHORTCUTS, Shortcut, by_name, format_help

__all__ = [
    "SHORTCUTS",
    "accept_predictions",
    "AddLabelTrack",
    "AddPredictionTrack",
    "AddSegment",
    "ChangeClass",
    "Composite",
    "EditCommand",
    "EditHistory",
    "EditJournal",
    "EditMetadata",
    "HotkeyLabeler",
    "LabelRange",
    "MergeSegments",
    "ModifySegment",
    "MoveSegment",
    "RemovePredictionTrack",
    "RemoveSegments",
    "RenamePredictionTrack",
    "SetSchema",
    "Shortcut",
    "SplitSegment",
    "by_name",
    "command_from_dict",
    "discard_journal",
    "edge_limits",
    "format_help",
    "pending_edits",
]
