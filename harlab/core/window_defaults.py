"""The window every command cuts unless told otherwise: ``harlab train``, ``evaluate``, ``explore``,
``export --to windows`` and the ML code behind them, so an exported training set and a trained
model see the same windows.

2.56 s is the UCI HAR convention (128 samples at 50 Hz); windows start every half window.
"""

from __future__ import annotations

#: Window length in seconds when none is given.
DEFAULT_WINDOW_S = 2.56


def default_stride(window_s: float) -> float:
    """The step between windows when none is given: half a window (each sample in two windows)."""
    return window_s / 2
