"""A tiny, Qt-free observer mechanism.

The core never imports Qt, yet the GUI must learn when a session changes. Views
connect plain callables to an :class:`EventEmitter`; the GUI layer bridges them to
Qt signals where it needs queued delivery. Callbacks are held strongly (bound
methods of widgets should be disconnected when the widget closes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Callback = Callable[["Event"], Any]
#: How long work reports how far it got: the fraction done (0..1) and what it is doing.
ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class Event:
    """What changed: ``kind`` names the change (e.g. ``"segments_added"``),
    ``source`` is the object that changed, ``data`` carries details."""

    kind: str
    source: Any = None
    data: dict[str, Any] = field(default_factory=dict)


class EventEmitter:
    """Keeps a list of subscribers and calls each with every emitted event.

    ``blocked()`` suspends delivery, which bulk operations (imports, undo of a
    large command) use to emit one summary event instead of thousands.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def emit(self, kind: str, source: Any = None, **data: Any) -> None:
        if self._blocked:
            return
        event = Event(kind, source, data)
        for callback in list(self._callbacks):
            callback(event)

    def blocked(self) -> _Blocker:
        return _Blocker(self)

    def __len__(self) -> int:
        return len(self._callbacks)


class _Blocker:
    def __init__(self, emitter: EventEmitter) -> None:
        self._emitter = emitter

    def __enter__(self) -> EventEmitter:
        self._emitter._blocked += 1
        return self._emitter

    def __exit__(self, *exc: object) -> None:
        self._emitter._blocked -= 1
