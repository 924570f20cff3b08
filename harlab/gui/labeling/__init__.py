"""Qt widgets of the labeling workflow: segment table, schema editor, help dialog.

The logic they drive (commands, history, shortcuts, presets) is Qt-free in
:mod:`harlab.labeling`.
"""

from harlab.gui.labeling.help_dialog import HelpDialog
from harlab.gui.labeling.schema_editor import SchemaEditorDialog
from harlab.gui.labeling.segment_dock import SegmentTableDock, SegmentTableModel

__all__ = ["HelpDialog", "SchemaEditorDialog", "SegmentTableDock", "SegmentTableModel"]
