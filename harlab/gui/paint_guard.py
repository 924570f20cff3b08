"""Painting that cannot take the workbench down.

Qt calls a Python ``paint``/``paintEvent`` override from C++. When such an override raises an
exception that numpy set from C (a failed reshape on an empty array, say), PySide6 6.11 crashes
with a segmentation fault while reporting it, so one odd value in a session file from someone
else would kill the process and any unsaved work. Every painting override in the GUI is wrapped
in :func:`never_raises`: the exception is logged once per place and the item simply paints
nothing this time.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_reported: set[tuple[str, str]] = set()


def never_raises(method: F) -> F:
    """``method`` (a Qt painting override) with every exception logged instead of raised."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raising here would crash the process
            key = (method.__qualname__, f"{type(exc).__name__}: {exc}")
            if key not in _reported:
                _reported.add(key)
                log.exception("painting %s failed; it is left blank", method.__qualname__)
            return None

    return guarded  # type: ignore[return-value]
