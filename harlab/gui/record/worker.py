"""Run one blocking call off the GUI thread and hear about it on the GUI thread.

Connecting to devices and finishing a recording file can block for seconds (BLE
connects, joins of device threads, the final flush); the window must keep painting.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from harlab.core.errors import HarlabError


class Worker(QObject):
    """``Worker(fn).start()`` runs ``fn()`` on a daemon thread; ``done(result)`` or ``failed(message)``
    arrive queued on the thread that owns the worker (the GUI thread)."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "record-worker") -> None:
        super().__init__()
        self._fn = fn
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Worker:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self._fn()
        except HarlabError as exc:
            self._emit(self.failed, str(exc))
        except Exception as exc:  # unexpected: still a message in the window, details on stderr
            traceback.print_exc()
            self._emit(self.failed, f"{type(exc).__name__}: {exc}")
        else:
            self._emit(self.done, result)

    @staticmethod
    def _emit(signal, value: object) -> None:  # noqa: ANN001 - a bound Signal
        with contextlib.suppress(RuntimeError):  # the window that asked is gone
            signal.emit(value)
