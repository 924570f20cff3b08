"""Label files from other tools onto a session: ELAN, Audacity, CSV tables, Label Studio.

Readers turn a file into tracks of raw segments (:mod:`~harlab.labelfiles.label_source`);
:mod:`~harlab.labelfiles.label_import` matches classes, reports conflicts and makes the one edit
that adds the tracks, in the workbench (undoable) or on a session file (``harlab labels import``).
Qt-free: it sits beside ``harlab.ml`` above the importers, whose column spec and time reading the
CSV tables reuse.
"""

from harlab.labelfiles.label_import import (
    Conflict,
    ImportPlan,
    ImportRequest,
    LabelImportError,
    PlanCancelled,
    detect_format,
    import_into_file,
    is_label_file,
    plan_import,
    read_label_file,
    recording_span,
)
from harlab.labelfiles.label_source import FORMATS, FoundTrack, LabelFile, RawSegment

__all__ = [
    "FORMATS",
    "Conflict",
    "FoundTrack",
    "ImportPlan",
    "ImportRequest",
    "LabelFile",
    "LabelImportError",
    "PlanCancelled",
    "RawSegment",
    "detect_format",
    "import_into_file",
    "is_label_file",
    "plan_import",
    "read_label_file",
    "recording_span",
]
