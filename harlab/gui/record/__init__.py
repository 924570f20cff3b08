"""The Record panel: live recording from simulated and Bluetooth devices, with live labels.

Entry point for the workbench: :func:`open_record_window` (the start screen's Record
button, File > Record…). Connect the window's ``open_requested(str)`` to open a
recording in the workbench.

The panel loads on first use (``from harlab.gui.record import RecordWindow``): the workbench
imports only :mod:`harlab.gui.record.recovery` at start, for its start screen, and the panel's
modules (device protocols, the live plots) took 0.29 s of its import (-X importtime, a busy machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harlab.gui.record.panel import RecordPanel, RecordWindow, open_record_window

__all__ = ["RecordPanel", "RecordWindow", "open_record_window"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from harlab.gui.record import panel

        return getattr(panel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
