"""What samples are written into, block by block: the one protocol the simulator, the device
importers and the storage layer's writers share (none of them may import another's package)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class StreamSink(Protocol):
    """Streams declared, then samples appended a block at a time (the storage layer's
    ``SessionWriter`` and ``RecordingWriter``, or a collector building a session in memory)."""

    def add_stream(
        self,
        name: str,
        channels: list[str],
        units: list[str] | str,
        rate_hz: float | None = None,
        kind: str = "",
        device: str = "",
        attrs: dict[str, str] | None = None,
    ) -> None: ...

    def append(
        self, name: str, time: np.ndarray, values: np.ndarray, flags: np.ndarray | None = None
    ) -> None: ...
