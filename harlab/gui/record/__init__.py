"""The Record panel: live recording from simulated and Bluetooth devices, with live labels.

Entry point for the workbench: :func:`open_record_window` (the start screen's Record
button, File > Record…). Connect the window's ``open_requested(str)`` to open a
recording in the workbench.
"""

from harlab.gui.record.panel import RecordPanel, RecordWindow, open_record_window

__all__ = ["RecordPanel", "RecordWindow", "open_record_window"]
