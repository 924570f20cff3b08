"""The one source abstraction used by the recorder, the GUI and the command line.

A source (a BLE wearable, a simulated device, a phone app) produces
:class:`SampleBatch` objects, timestamped multi-channel samples of one stream,
and status changes. Consumers never see bytes or radios; they drain batches from a
thread-safe queue, so a slow consumer (a redraw) never delays the radio thread.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from harlab.core.events import EventEmitter


class SourceState(StrEnum):
    IDLE = "idle"
    SCANNING = "scanning"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    channels: tuple[str, ...]
    units: tuple[str, ...]
    rate_hz: float | None
    kind: str = ""


@dataclass
class SampleBatch:
    """Samples of one stream. ``time`` is host time in seconds (``time.time()`` scale,
    aligned per device clock); ``device_time`` keeps the device's own stamps if any."""

    stream: str
    time: np.ndarray
    values: np.ndarray
    device_time: np.ndarray | None = None
    gap_before: bool = False  #: samples were lost just before this batch
    source: str = ""

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class SourceStats:
    """Live signal quality per stream: counts for effective rate, loss, gaps, clipping."""

    samples: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    lost_packets: int = 0
    clipped: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def effective_rate(self, stream: str) -> float:
        dt = time.time() - self.started
        return self.samples.get(stream, 0) / dt if dt > 0 else 0.0


class Source:
    """Base class: subclasses call :meth:`emit_batch` and :meth:`set_state`."""

    name: str = "source"

    def __init__(self) -> None:
        self.events = EventEmitter()  # "state" events: data state=SourceState, message=str
        self.batches: queue.SimpleQueue[SampleBatch] = queue.SimpleQueue()
        self.state = SourceState.IDLE
        self.stats = SourceStats()
        self.streams: list[StreamSpec] = []

    def start(self) -> None:
        """Begin producing batches (on the source's own thread)."""
        raise NotImplementedError

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the source's thread; the queue keeps what was produced."""
        raise NotImplementedError

    def set_activity(self, activity: str) -> None:
        """The activity a recording protocol prompts for now: a simulated participant does it,
        a real device has nothing to do."""

    def set_state(self, state: SourceState, message: str = "") -> None:
        self.state = state
        self.events.emit("state", self, state=state, message=message)

    def emit_batch(self, batch: SampleBatch) -> None:
        batch.source = batch.source or self.name
        self.stats.samples[batch.stream] = self.stats.samples.get(batch.stream, 0) + len(batch)
        if batch.gap_before:
            self.stats.gaps[batch.stream] = self.stats.gaps.get(batch.stream, 0) + 1
        self.batches.put(batch)

    def drain(self) -> list[SampleBatch]:
        out = []
        while True:
            try:
                out.append(self.batches.get_nowait())
            except queue.Empty:
                return out
