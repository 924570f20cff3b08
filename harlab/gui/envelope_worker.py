"""Fetching min/max envelopes of the visible range off the GUI thread.

After mne-qt-browser's ``LoadThread`` and ephyviewer's ``DataGrabber``: the GUI
asks for "stream S over [t0, t1) in about N bins"; a worker thread reads it through
:meth:`StreamData.envelope` (from the file's min/max pyramid for a session opened
from disk) and hands it back. Only the newest request per stream is kept, so a
fast pan or zoom never queues a backlog of ranges nobody looks at any more.
"""

from __future__ import annotations

import atexit
import math
import threading
import time
import traceback
import weakref
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from harlab.core.streams import Envelope, Stream


@dataclass(frozen=True)
class EnvelopeRequest:
    key: str  #: stream name
    generation: int  #: increases with every request of this key; stale answers are dropped
    t0: float
    t1: float
    bins: int


@dataclass(frozen=True)
class EnvelopeResult:
    request: EnvelopeRequest
    envelope: Envelope | None
    error: str = ""
    seconds: float = 0.0  #: how long the read took


#: A stream whose last read took less than this is read on the calling (GUI) thread when the
#: worker is idle: the answer comes in the same frame, without a thread hop. Slower reads
#: (a cold file, a huge raw range) stay on the worker so the window never stalls.
INLINE_S = 0.004


class _Worker(QObject):
    done = Signal(object)

    def __init__(self, streams: dict[str, Stream]) -> None:
        super().__init__()
        self.streams = streams
        self._lock = threading.Lock()
        self._pending: dict[str, EnvelopeRequest] = {}

    def put(self, req: EnvelopeRequest) -> None:
        with self._lock:
            self._pending[req.key] = req

    @Slot()
    def warm(self) -> None:
        """Decode each stream's coarse pyramid levels into memory (``warm()`` where the data has
        one: a file's lazy streams, one slice per step), answering the requests that arrive
        between steps, so the first zoom to a new level finds its rows decoded without any
        frame waiting for more than a slice."""
        for stream in list(self.streams.values()):
            warm = getattr(stream.data, "warm", None)
            if warm is None:
                continue
            try:
                for _step in warm():
                    self.work()  # a request waits for one slice at most
            except Exception:  # noqa: BLE001 - the reads that need the level report it
                traceback.print_exc()
        self.work()

    @Slot()
    def work(self) -> None:
        # serve everything pending, then answer once: one repaint for all streams, not one each
        results = []
        while True:
            with self._lock:
                if not self._pending:
                    break
                key = next(iter(self._pending))
                req = self._pending.pop(key)
            results.append(compute(self.streams, req))
        if results:
            self.done.emit(results)


def compute(streams: dict[str, Stream], req: EnvelopeRequest) -> EnvelopeResult:
    stream = streams.get(req.key)
    if stream is None:
        return EnvelopeResult(req, None, f"no stream {req.key!r}")
    t = time.perf_counter()
    try:
        env = stream.data.envelope(req.t0, req.t1, req.bins)
    except Exception as exc:  # noqa: BLE001 - shown in the status line, never kills the thread
        traceback.print_exc()
        return EnvelopeResult(req, None, f"{type(exc).__name__}: {exc}")
    return EnvelopeResult(req, env, seconds=time.perf_counter() - t)


class EnvelopeFetcher(QObject):
    """Owns the worker thread; ``result`` (a list of :class:`EnvelopeResult`) is delivered
    on the GUI thread.

    With ``threaded=False`` requests are served inline (deterministic, for
    debugging and for sessions so small that a thread hop costs more than it saves).
    """

    result = Signal(object)
    _wake = Signal()
    _warm = Signal()

    def __init__(
        self, streams: dict[str, Stream], threaded: bool = True, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.streams = streams
        self.threaded = threaded
        self._generation: dict[str, int] = {}
        self._outstanding: dict[str, int] = {}
        self._cost: dict[str, float] = {}  #: seconds the last read of each stream took
        self.inline_s = INLINE_S
        self.inline_served = 0  #: requests answered on the calling thread (tests, benchmark)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        if threaded:
            self._thread = QThread()
            self._thread.setObjectName("harlab-envelopes")
            self._worker = _Worker(streams)
            self._worker.moveToThread(self._thread)
            self._wake.connect(self._worker.work)
            self._warm.connect(self._worker.warm)
            self._worker.done.connect(self._deliver)
            self._thread.start()
            self._warm.emit()
            ref = weakref.ref(self)

            def stop() -> None:  # a script that never closes its window must not abort at exit
                fetcher = ref()
                if fetcher is not None:
                    fetcher.shutdown()

            atexit.register(stop)

    def request(self, key: str, t0: float, t1: float, bins: int) -> int:
        """Ask for an envelope; answered through ``result`` (possibly before this returns)."""
        inline = self._worker is None or (
            not self._outstanding and self._cost.get(key, math.inf) < self.inline_s
        )
        gen = self._generation.get(key, 0) + 1
        self._generation[key] = gen
        self._outstanding[key] = gen
        req = EnvelopeRequest(key, gen, t0, t1, max(1, int(bins)))
        if inline:
            self.inline_served += self._worker is not None
            self._deliver(compute(self.streams, req))
        else:
            self._worker.put(req)
            self._wake.emit()
        return gen

    @Slot(object)
    def _deliver(self, results: EnvelopeResult | list[EnvelopeResult]) -> None:
        fresh = []
        for res in results if isinstance(results, list) else [results]:
            if self._generation.get(res.request.key) != res.request.generation:
                continue  # a newer request superseded this one
            self._outstanding.pop(res.request.key, None)
            if res.envelope is not None:
                self._cost[res.request.key] = res.seconds
            fresh.append(res)
        if fresh:
            self.result.emit(fresh)

    def is_waiting(self, key: str) -> bool:
        """True while the newest request for ``key`` has not been delivered."""
        return key in self._outstanding

    @property
    def busy(self) -> bool:
        """True while some stream's newest request has not been delivered."""
        return bool(self._outstanding)

    def shutdown(self) -> None:
        """Stop the worker thread (idempotent)."""
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(5000)
            self._thread = None
            self._worker = None
