"""The recorder: sources in, a crash-safe session file out, labels marked live.

A pump thread drains every source's queue ten times a second into the
:class:`~harlab.storage.RecordingWriter` (which journals each append, so a killed
process loses at most the samples still in a source's queue, well under a
second). Label hotkeys start and stop segments; a guided :class:`Protocol`
prompts the participant and writes the labels itself. Several sources record
into one session, each stream on its own aligned clock. The GUI and the command
line drive the same object and poll :meth:`Recorder.status`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from harlab import __version__
from harlab.core.errors import HarlabError
from harlab.core.events import Event, EventEmitter
from harlab.core.labels import LabelSchema, Segment
from harlab.core.metadata import DeviceInfo, Metadata
from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.devices.source import SampleBatch, Source, SourceState
from harlab.recording.protocol import Protocol
from harlab.storage import RecordingWriter


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:24] or "device"


@dataclass
class StreamQuality:
    samples: int = 0
    gaps: int = 0
    clipped: int = 0
    recent_rate_hz: float = 0.0
    last_time: float | None = None


@dataclass
class RecorderStatus:
    state: str
    elapsed_s: float
    streams: dict[str, StreamQuality]
    sources: dict[str, str]
    lost_packets: int
    open_label: str | None
    protocol_step: int | None = None
    protocol_phase: str = ""
    protocol_prompt: str = ""
    protocol_remaining_s: float = 0.0
    messages: list[str] = field(default_factory=list)


class Recorder:
    def __init__(
        self,
        path: str | Path,
        sources: list[Source],
        *,
        metadata: Metadata | None = None,
        schema: LabelSchema | None = None,
        track: str = "activity",
        annotator: str = "",
        placement: str = "",
        clock: Callable[[], float] = time.time,
        pump_interval_s: float = 0.1,
        live_window_s: float = 30.0,
    ) -> None:
        if not sources:
            raise HarlabError("a recording needs at least one source")
        self.path = Path(path)
        self.sources = sources
        self.metadata = metadata or Metadata()
        self.schema = schema or LabelSchema()
        self.track = track
        self.annotator = annotator
        self.placement = placement
        self._clock = clock
        self.pump_interval_s = pump_interval_s
        self.live_window_s = live_window_s
        self.events = EventEmitter()
        self.writer: RecordingWriter | None = None
        self.t0: float | None = None
        self.names: dict[tuple[int, str], str] = {}
        self.quality: dict[str, StreamQuality] = {}
        self._live: dict[str, deque[tuple[np.ndarray, np.ndarray]]] = {}
        self._rate_window: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Pauses are spans of session time, not of pump calls: queued samples taken
        # before a pause are kept, those taken during it dropped, whenever they are drained.
        self._paused_at: float | None = None
        self._excluded: list[tuple[float, float]] = []
        self._gap_next: set[str] = set()
        self._open: tuple[str, float] | None = None
        self._protocol: Protocol | None = None
        self._pstate: tuple[int, str, float] | None = None  # step, phase, phase end (session s)
        self.messages: list[str] = []
        self.state = "idle"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.t0 = self._clock()
        md = self.metadata
        md.start_utc = datetime.fromtimestamp(self.t0, UTC)
        md.provenance.importer = "harlab record"
        md.provenance.harlab_version = __version__
        many = len(self.sources) > 1
        for s in self.sources:
            md.devices.append(
                DeviceInfo(
                    name=s.name,
                    model=getattr(getattr(s, "profile", None), "description", "") or type(s).__name__,
                    placement=self.placement,
                )
            )
        self.writer = RecordingWriter(self.path, md, self.schema)
        for i, src in enumerate(self.sources):
            for spec in src.streams:
                name = f"{_slug(src.name)}_{spec.name}" if many else spec.name
                self.names[(i, spec.name)] = name
                self.writer.add_stream(
                    name, list(spec.channels), list(spec.units), spec.rate_hz, spec.kind, src.name
                )
                self.quality[name] = StreamQuality()
                self._live[name] = deque()
                self._rate_window[name] = deque()
        for src in self.sources:
            src.events.connect(self._on_source_event)
            src.start()
        self.state = "recording"
        self._thread = threading.Thread(target=self._pump_loop, name="recorder", daemon=True)
        self._thread.start()

    def stop(self) -> Path:
        """Stop sources, close an open label, write the last samples and finish the file."""
        for src in self.sources:
            src.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            self._pump_once()
            now = self.now()
            if self._open is not None:
                self._close_label(now)
            assert self.writer is not None
            path = self.writer.close()
        self.state = "stopped"
        self.events.emit("stopped", self, path=str(path))
        return path

    def now(self) -> float:
        """Seconds since the recording started."""
        return 0.0 if self.t0 is None else self._clock() - self.t0

    def pause(self) -> None:
        """Stop keeping samples from now on (a paused span is a marked gap in every stream)."""
        with self._lock:
            if self._paused_at is None:
                self._paused_at = self.now()
                self.state = "paused"

    def resume(self) -> None:
        with self._lock:
            if self._paused_at is not None:
                self._excluded.append((self._paused_at, self.now()))
                self._paused_at = None
                self._gap_next.update(self.quality)
                self.state = "recording"

    # -- labels ----------------------------------------------------------------------
    def start_label(self, label: str) -> None:
        with self._lock:
            now = self.now()
            if self._open is not None:
                self._close_label(now)
            self.schema.ensure(label)
            self._open = (label, now)
            self.events.emit("label_started", self, label=label, start=now)

    def stop_label(self) -> Segment | None:
        with self._lock:
            return self._close_label(self.now()) if self._open else None

    def toggle_label(self, label: str) -> None:
        """What a class hotkey does: start ``label``, or stop it if it is the open one."""
        with self._lock:
            if self._open is not None and self._open[0] == label:
                self.stop_label()
            else:
                self.start_label(label)

    @property
    def open_label(self) -> str | None:
        return self._open[0] if self._open else None

    def _close_label(self, end: float) -> Segment | None:
        assert self._open is not None and self.writer is not None
        label, start = self._open
        self._open = None
        seg = self.writer.add_segment(
            self.track, Segment(start, max(start, end), label, self.annotator or "participant", "recorded")
        )
        self.events.emit("label_stopped", self, label=label, start=start, end=seg.end)
        return seg

    # -- protocol --------------------------------------------------------------------
    def run_protocol(self, protocol: Protocol) -> None:
        """Prompt each step (countdown, then the activity) and label it; runs on the pump."""
        with self._lock:
            self._protocol = protocol
            self._pstate = (0, "countdown", self.now() + protocol.countdown_s)
            self._announce()

    @property
    def protocol_done(self) -> bool:
        return self._protocol is not None and self._pstate is None

    def _announce(self) -> None:
        assert self._protocol is not None
        if self._pstate is None:
            self.events.emit("protocol_done", self)
            return
        i, phase, _ = self._pstate
        step = self._protocol.steps[i]
        self.events.emit(
            "protocol_step", self, index=i, phase=phase, activity=step.activity, prompt=step.prompt
        )

    def _advance_protocol(self) -> None:
        if self._protocol is None or self._pstate is None:
            return
        now = self.now()
        while self._pstate is not None and now >= self._pstate[2]:
            i, phase, end = self._pstate
            step = self._protocol.steps[i]
            if phase == "countdown":
                self._open = (step.activity, end)
                self.schema.ensure(step.activity)
                self._pstate = (i, "active", end + step.duration_s)
            else:
                if self._open is not None:
                    self._close_label(end)
                nxt = i + 1
                self._pstate = (
                    (nxt, "countdown", end + self._protocol.countdown_s)
                    if nxt < len(self._protocol.steps)
                    else None
                )
            self._announce()
            for src in self.sources:  # a simulated participant does as prompted
                if self._pstate is not None and self._pstate[1] == "active":
                    src.set_activity(self._protocol.steps[self._pstate[0]].activity)

    # -- the pump --------------------------------------------------------------------
    def _on_source_event(self, event: Event) -> None:
        state = event.data.get("state")
        msg = event.data.get("message", "")
        if state in (SourceState.RECONNECTING, SourceState.ERROR):
            self.messages.append(f"{event.source.name}: {state.value} {msg}".strip())
        self.events.emit("source_state", event.source, state=state, message=msg)

    def _pump_loop(self) -> None:
        while not self._stop.wait(self.pump_interval_s):
            with self._lock:
                try:
                    self._pump_once()
                    self._advance_protocol()
                except Exception as exc:  # keep recording the other streams; say why
                    self.messages.append(f"recorder: {exc}")
                    self.events.emit("error", self, message=str(exc))

    def _pump_once(self) -> None:
        assert self.writer is not None and self.t0 is not None
        for i, src in enumerate(self.sources):
            for batch in src.drain():
                name = self.names.get((i, batch.stream))
                if name is None:
                    continue
                self._write(name, batch)

    def _write(self, name: str, batch: SampleBatch) -> None:
        assert self.writer is not None and self.t0 is not None
        t = np.asarray(batch.time, float) - self.t0
        v = np.asarray(batch.values, np.float32)
        q = self.quality[name]
        keep = np.ones(len(t), bool)
        if q.last_time is not None:
            keep &= t > q.last_time  # a reconnect may repeat the last sample or two
        for a, b in self._excluded:
            keep &= (t < a) | (t >= b)
        if self._paused_at is not None:
            keep &= t < self._paused_at
        t, v = t[keep], v[keep]
        if not len(t):
            return
        flags = np.zeros(len(t), np.uint8)
        if batch.gap_before or name in self._gap_next:
            flags[0] |= FLAG_GAP_BEFORE
            q.gaps += 1
            self._gap_next.discard(name)
        self.writer.append(name, t, v, flags)
        q.samples += len(t)
        q.last_time = float(t[-1])
        win = self._rate_window[name]
        win.append((float(t[-1]), len(t)))
        while win and win[0][0] < t[-1] - 5.0:
            win.popleft()
        span = win[-1][0] - win[0][0]
        q.recent_rate_hz = (sum(n for _, n in list(win)[1:]) / span) if span > 0 else 0.0
        live = self._live[name]
        live.append((t, v))
        while live and live[0][0][-1] < t[-1] - self.live_window_s:
            live.popleft()

    # -- what views poll -------------------------------------------------------------
    def live(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        """The last ``live_window_s`` seconds of a stream (session times, values)."""
        with self._lock:
            parts = list(self._live.get(stream, ()))
        if not parts:
            return np.zeros(0), np.zeros((0, 1), np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def status(self) -> RecorderStatus:
        with self._lock:
            lost = sum(
                getattr(getattr(s, "profile", None), "lost_packets", 0) + s.stats.lost_packets
                for s in self.sources
            )
            st = RecorderStatus(
                self.state,
                self.now(),
                {k: StreamQuality(**vars(v)) for k, v in self.quality.items()},
                {s.name: s.state.value for s in self.sources},
                lost,
                self.open_label,
                messages=list(self.messages[-5:]),
            )
            if self._protocol is not None and self._pstate is not None:
                i, phase, end = self._pstate
                step = self._protocol.steps[i]
                st.protocol_step, st.protocol_phase = i, phase
                st.protocol_prompt = step.prompt if phase == "active" else f"Get ready: {step.prompt}"
                st.protocol_remaining_s = max(0.0, end - self.now())
            return st
