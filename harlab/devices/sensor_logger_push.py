"""A receiver for Sensor Logger's HTTP push: any phone (and its watch) as a live source.

Sensor Logger (iOS/Android, tszheichoi) POSTs JSON once per batch period::

    {"messageId": 7, "sessionId": "...", "deviceId": "...",
     "payload": [{"name": "accelerometer", "time": 1698501144401773000,
                  "values": {"x": 0.1, "y": -0.2, "z": 0.03}}, ...]}

``time`` is UTC epoch **nanoseconds** on the phone's clock. Requests are sent
concurrently, so messages can arrive out of order. This module turns them into
ordinary :class:`~harlab.devices.source.SampleBatch` objects:

* **Reordering.** Samples wait ``hold_s`` (1 s) after their message arrived, then
  every stream emits what is due in time order. A sample older than what its
  stream already emitted is *late*: counted in :attr:`SensorLoggerSource.late` and
  dropped, never written out of order. Repeated messages (same session and
  ``messageId``) and repeated timestamps are dropped and counted too.
* **Streams up front.** The recorder creates a file's streams before the first
  message, so the source declares its streams when it is built: by default the
  phone's motion sensors (:data:`STANDARD`) plus the watch's heart rate; other
  known sensors (``wristmotion``) are chosen with ``streams=``. Samples of any
  other name are counted in :attr:`SensorLoggerSource.ignored` with one warning
  per name, so nothing vanishes silently.
* **Names, units and kinds.** Streams, channels and units are those of an imported
  export of the same phone (the one table :data:`harlab.core.phone_sensors.SENSORS`).
  ``accelerometer`` is acceleration *without* gravity and gets
  the kind ``linear_acceleration``; ``totalacceleration`` (Android; gravity
  included) is the stream of kind ``accelerometer`` that models trained on
  wearables expect. iOS sends no total acceleration: it is ``accelerometer +
  gravity``.
* **Clock.** ``align="phone"`` (default) trusts the phone's UTC clock (NTP
  synced on any connected phone); ``align="arrival"`` maps phone time to host time
  with the same lower-envelope fit as BLE devices
  (:class:`~harlab.devices.clock.ClockAligner`), which corrects a phone clock
  that is off by seconds. :attr:`SensorLoggerSource.clock_offset_s` (minimum of
  arrival minus sample time) is reported either way.

HTTP answers: **200** accepted (also for samples dropped as late or ignored);
**400** with a text body when the body is not JSON or not a Sensor Logger message
(a client bug, not something the participant can fix); **401** on a wrong token
(``?token=`` or ``Authorization: Bearer``); **413** for bodies over ``max_body``;
**499** with a human sentence, which Sensor Logger shows on the phone, when the
participant can fix it: harlab is not recording, or the receiver is already
recording another phone. The server listens on 127.0.0.1 unless ``lan=True``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.phone_sensors import SENSORS, PhoneSensor, sensor_key
from harlab.devices.clock import ClockAligner
from harlab.devices.source import SampleBatch, Source, SourceState, StreamSpec


def stream_spec(sensor: PhoneSensor) -> StreamSpec:
    """The live stream of ``sensor``: the fields every push carries, as the export's stream has them."""
    channels = sensor.live_channels
    return StreamSpec(sensor.stream, channels, tuple(sensor.unit(c) for c in channels), None, sensor.kind)


#: The phone's motion sensors, declared by default.
STANDARD = ("accelerometer", "totalacceleration", "gravity", "gyroscope", "magnetometer", "orientation")
DEFAULT_STREAMS = (*STANDARD, "heartrate")
DEFAULT_PORT = 8000
TOKEN_ENV = "HARLAB_SENSORLOGGER_TOKEN"
_MIN_NS, _MAX_NS = (
    946_684_800 * 10**9,
    4_102_444_800 * 10**9,
)  #: 2000-01-01 .. 2100-01-01 UTC, a sanity window


class PushError(Exception):
    """A request that gets a non-200 answer: ``status`` and the text body to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _time_ns(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("time is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and np.isfinite(value):
        return int(value)
    if isinstance(value, str):
        return int(value)
    raise ValueError(f"time must be integer nanoseconds, got {value!r}")


@dataclass
class _Pending:
    arrival: float
    time: np.ndarray  #: phone seconds
    values: np.ndarray


class _StreamBuffer:
    """Samples of one stream waiting out the reorder window, and what was emitted last."""

    def __init__(self, sensor: PhoneSensor) -> None:
        self.sensor = sensor
        self.spec = stream_spec(sensor)
        self.pending: list[_Pending] = []
        self.last: float | None = None  #: phone time of the last emitted sample
        self.aligner = ClockAligner()


class SensorLoggerSource(Source):
    """An HTTP server that receives Sensor Logger pushes and emits sorted batches.

    ``port=0`` picks a free port (tests); read :attr:`port` or :attr:`url` after
    :meth:`start`. ``token`` (any string) is required from clients when given;
    with ``lan=True`` and no token one is generated, because then anyone on the
    network could otherwise push into the recording.
    """

    name = "Sensor Logger"

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        *,
        token: str | None = None,
        lan: bool = False,
        streams: Iterable[str] = DEFAULT_STREAMS,
        hold_s: float = 1.0,
        align: str = "phone",
        max_body: int = 10 * 1024 * 1024,
        gap_s: float = 1.0,
        flush_interval_s: float = 0.1,
        clock: Callable[[], float] = time.time,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        if align not in ("phone", "arrival"):
            raise HarlabError(f"align must be 'phone' or 'arrival', got {align!r}")
        chosen = list(dict.fromkeys(sensor_key(s) for s in streams))
        unknown = [s for s in chosen if s not in SENSORS]
        if unknown:
            raise HarlabError(
                f"unknown Sensor Logger {'sensors' if len(unknown) > 1 else 'sensor'} {', '.join(unknown)}; known: {', '.join(SENSORS)}"
            )
        names = Counter(SENSORS[key].stream for key in chosen)
        twice = [n for n, k in names.items() if k > 1]
        if twice:
            same = ", ".join(k for k in chosen if SENSORS[k].stream in twice)
            raise HarlabError(
                f"Sensor Logger sensors {same} would all be the stream {twice[0]!r}; choose one"
            )
        self.requested_port = port
        self.lan = lan
        self.host = "0.0.0.0" if lan else "127.0.0.1"
        self.token = token if token is not None else (secrets.token_urlsafe(9) if lan else None)
        self.hold_s = hold_s
        self.align = align
        self.max_body = max_body
        self.gap_s = gap_s
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._announce = announce
        self._buffers = {key: _StreamBuffer(SENSORS[key]) for key in chosen}
        self.streams = [b.spec for b in self._buffers.values()]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.accepting = False
        # What happened, for the status line and the tests.
        self.messages = 0
        self.duplicate_messages = 0
        self.late: Counter[str] = Counter()  #: samples older than what their stream had emitted
        self.duplicate_samples: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()  #: samples of sensors not recorded, by payload name
        self.bad_samples = 0
        self.rejected: Counter[int] = Counter()  #: requests answered with an error, by status
        self.warnings: list[str] = []
        self.device_id: str | None = None
        self.session_ids: list[str] = []
        self.clock_offset_s: float | None = None
        self._seen: dict[str, set[int]] = {}
        self._old_max: dict[str, int] = {}  #: highest messageId per session that arrived hold_s ago
        self._arrivals: list[tuple[float, str, int]] = []

    # -- construction from a --device argument -------------------------------------------
    @classmethod
    def from_device_arg(cls, device: str, **kwargs: Any) -> SensorLoggerSource:
        """``sensorlogger``, ``sensorlogger:PORT`` or ``sensorlogger:lan:PORT`` (listen on the LAN).

        The token comes from the environment variable ``HARLAB_SENSORLOGGER_TOKEN``
        (generated for LAN use when unset); the URL to type into Sensor Logger is
        printed on standard error when the receiver starts.
        """
        import os

        parts = device.split(":")
        if parts[0] != "sensorlogger" or len(parts) > 3:
            raise HarlabError(
                f"--device {device!r}: expected sensorlogger, sensorlogger:PORT or sensorlogger:lan:PORT"
            )
        lan = len(parts) >= 2 and parts[1] == "lan"
        port_text = parts[2] if lan and len(parts) == 3 else (parts[1] if len(parts) == 2 and not lan else "")
        if len(parts) == 3 and not lan:
            raise HarlabError(f"--device {device!r}: the middle part may only be 'lan'")
        try:
            port = int(port_text) if port_text else DEFAULT_PORT
        except ValueError as exc:
            raise HarlabError(f"--device {device!r}: port must be a number, got {port_text!r}") from exc
        if not 0 <= port <= 65535:
            raise HarlabError(f"--device {device!r}: port {port} is out of range 0-65535")
        kwargs.setdefault("token", os.environ.get(TOKEN_ENV) or None)
        kwargs.setdefault("announce", lambda text: print(text, file=sys.stderr, flush=True))
        source = cls(port, lan=lan, **kwargs)
        source.bind()
        return source

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server is not None else self.requested_port

    @property
    def url(self) -> str:
        """Where to point Sensor Logger (HTTP Push URL); on the LAN use this computer's address."""
        host = "<this computer's IP address>" if self.lan else "127.0.0.1"
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/push{query}"

    def bind(self) -> None:
        """Open the listening socket now, so a port in use is a clear error before a recording starts.

        :meth:`start` binds by itself; :meth:`from_device_arg` binds early for the command line.
        """
        if self._server is not None:
            return
        source = self

        class Handler(_Handler):
            receiver = source

        try:
            self._server = ThreadingHTTPServer((self.host, self.requested_port), Handler)
        except OSError as exc:
            raise HarlabError(
                f"Sensor Logger receiver cannot listen on {self.host}:{self.requested_port}: "
                f"{exc.strerror or exc}; choose another port with --device sensorlogger:PORT"
            ) from exc
        self._server.daemon_threads = True

    def start(self) -> None:
        """Listen and start the reorder thread; a failure is reported as the error state, like other sources."""
        try:
            self.bind()
        except HarlabError as exc:
            self.set_state(SourceState.ERROR, str(exc))
            return
        assert self._server is not None
        self.accepting = True
        self.stats.started = time.time()
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sensorlogger-http",
            daemon=True,
        )
        flush = threading.Thread(target=self._flush_loop, name="sensorlogger-flush", daemon=True)
        self._threads = [serve, flush]
        for t in self._threads:
            t.start()
        self.set_state(SourceState.CONNECTING, f"waiting for Sensor Logger pushes at {self.url}")
        if self._announce is not None:
            self._announce(f"Sensor Logger: set HTTP Push URL to {self.url}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, then emit everything still held (sorted), then report stopped."""
        self.accepting = False
        if self._server is not None:
            if self._threads:  # shutdown() waits for serve_forever, so only when it runs
                self._server.shutdown()
            self._server.server_close()
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._flush(final=True)
        if self.state != SourceState.ERROR:
            self.set_state(SourceState.STOPPED, self.summary())

    def summary(self) -> str:
        parts = [f"{self.messages} messages"]
        if sum(self.late.values()):
            parts.append(f"{sum(self.late.values())} late samples dropped")
        if sum(self.ignored.values()):
            parts.append("ignored " + ", ".join(f"{k} ({v})" for k, v in self.ignored.items()))
        if self.bad_samples:
            parts.append(f"{self.bad_samples} unreadable samples")
        if self.stats.lost_packets:
            parts.append(f"{self.stats.lost_packets} messages missing")
        return "; ".join(parts)

    # -- requests (on the server's threads) ------------------------------------------------
    def check_token(self, query: str, authorization: str | None) -> None:
        if self.token is None:
            return
        given = parse_qs(query).get("token", [None])[0]
        if given is None and authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise PushError(401, "wrong or missing token: add ?token=... to the push URL harlab showed")

    def ingest(self, body: bytes) -> str:
        """Parse one pushed message and queue its samples; returns the text of the 200 answer."""
        arrival = self._clock()
        try:
            msg = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise PushError(
                400, f"body is not UTF-8 text (byte {exc.start}): expected a JSON object"
            ) from exc
        except json.JSONDecodeError as exc:
            raise PushError(
                400, f"malformed JSON at line {exc.lineno} column {exc.colno} (byte {exc.pos}): {exc.msg}"
            ) from exc
        if not isinstance(msg, dict):
            raise PushError(400, f"expected a JSON object with a 'payload' list, got {type(msg).__name__}")
        payload = msg.get("payload")
        if not isinstance(payload, list):
            raise PushError(
                400, "expected a 'payload' list of samples ({'name', 'time', 'values'}) in the message"
            )
        if not self.accepting:
            raise PushError(499, "harlab is not recording right now")
        device = str(msg.get("deviceId", ""))
        session = str(msg.get("sessionId", ""))
        mid = msg.get("messageId")
        rows: dict[str, tuple[list[int], list[list[float]]]] = {}
        problems: list[str] = []
        skipped: Counter[str] = Counter()
        for i, entry in enumerate(payload):
            try:
                key, t_ns, vals = self._sample(entry)
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"payload[{i}]: {exc}")
                continue
            if key is None:
                skipped[entry["name"]] += 1
                continue
            ts, vs = rows.setdefault(key, ([], []))
            ts.append(t_ns)
            vs.append(vals)
        if payload and problems and not rows and len(problems) == len(payload):
            raise PushError(
                400, f"none of the {len(payload)} samples could be read; first problem: {problems[0]}"
            )
        with self._lock:
            if self.device_id is None and device:
                self.device_id = device
            elif device and device != self.device_id:
                raise PushError(
                    499,
                    f"harlab is already recording another phone ({self.device_id}); "
                    "use a different port for this one",
                )
            if isinstance(mid, int) and not isinstance(mid, bool):
                seen = self._seen.setdefault(session, set())
                if mid in seen:
                    self.duplicate_messages += 1
                    return "duplicate message ignored"
                seen.add(mid)
                self._arrivals.append((arrival, session, mid))
            if session and session not in self.session_ids:
                self.session_ids.append(session)
            self.messages += 1
            for name, count in skipped.items():
                if name not in self.ignored:
                    self.warnings.append(
                        f"ignoring sensor {name!r}: not among the recorded streams "
                        f"({', '.join(self._buffers)})"
                    )
                self.ignored[name] += count
            self.bad_samples += len(problems)
            if problems and len(self.warnings) < 50:
                self.warnings.append(f"message {mid}: {len(problems)} unreadable samples, e.g. {problems[0]}")
            for key, (ts, vs) in rows.items():
                t = np.asarray(ts, np.int64)
                t_s = (t // 1_000_000_000).astype(np.float64) + (t % 1_000_000_000) / 1e9
                buf = self._buffers[key]
                buf.pending.append(_Pending(arrival, t_s, np.asarray(vs, np.float32)))
                newest = float(t_s.max())
                offset = arrival - newest
                if self.clock_offset_s is None or offset < self.clock_offset_s:
                    self.clock_offset_s = offset
                buf.aligner.update(newest, arrival)
        if self.state != SourceState.STREAMING:
            self.set_state(SourceState.STREAMING, f"receiving from {device or 'Sensor Logger'}")
        return f"ok: {sum(len(r[0]) for r in rows.values())} samples"

    def _sample(self, entry: Any) -> tuple[str | None, int, list[float]]:
        if not isinstance(entry, dict):
            raise TypeError(f"expected an object, got {type(entry).__name__}")
        name = entry.get("name")
        if not isinstance(name, str):
            raise ValueError("missing 'name'")
        key = sensor_key(name)
        buf = self._buffers.get(key)
        if buf is None:
            return None, 0, []
        if "time" not in entry:
            raise ValueError(f"{name}: missing 'time' (UTC nanoseconds)")
        t_ns = _time_ns(entry["time"])
        if not _MIN_NS <= t_ns <= _MAX_NS:
            for unit, scale in (("milliseconds", 10**6), ("microseconds", 10**3), ("seconds", 10**9)):
                if _MIN_NS <= t_ns * scale <= _MAX_NS:
                    raise ValueError(f"{name}: time {t_ns} looks like {unit}; expected UTC epoch nanoseconds")
            raise ValueError(f"{name}: time {t_ns} is not UTC epoch nanoseconds between 2000 and 2100")
        values = entry.get("values")
        if not isinstance(values, dict):  # older app versions put the values beside name and time
            values = entry
        out = []
        for k in buf.spec.channels:
            v = values.get(k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ValueError(f"{name}: value {k!r} missing or not a finite number ({v!r})")
            out.append(float(v))
        return key, t_ns, out

    # -- the reorder window ----------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self._flush()
            except Exception as exc:  # report, never die silently
                self.set_state(SourceState.ERROR, f"Sensor Logger receiver: {exc}")
                return

    def _flush(self, final: bool = False) -> None:
        """Emit, per stream and in time order, every sample whose message has been held long enough."""
        now = self._clock()
        due_before = np.inf if final else now - self.hold_s
        batches: list[SampleBatch] = []
        with self._lock:
            for buf in self._buffers.values():
                batches.extend(self._due(buf, due_before))
            self._count_missing(due_before)
        for b in batches:
            self.emit_batch(b)

    def _due(self, buf: _StreamBuffer, due_before: float) -> list[SampleBatch]:
        old = [p for p in buf.pending if p.arrival <= due_before]
        if not old:
            return []
        # Everything up to the newest sample of the old messages is due, including samples of
        # younger messages that belong before it (they came early; keeping them would make them late).
        cutoff = max(float(p.time.max()) for p in old)
        t = np.concatenate([p.time for p in buf.pending])
        v = np.concatenate([p.values for p in buf.pending])
        now_mask = t <= cutoff
        keep = [_Pending(p.arrival, p.time[p.time > cutoff], p.values[p.time > cutoff]) for p in buf.pending]
        buf.pending = [p for p in keep if len(p.time)]
        t, v = t[now_mask], v[now_mask]
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        name = buf.spec.name
        fresh = np.ones(len(t), bool)
        if buf.last is not None:
            late = t < buf.last
            self.late[name] += int(late.sum())
            fresh &= ~late
        repeat = np.zeros(len(t), bool)
        repeat[1:] = t[1:] == t[:-1]
        if buf.last is not None:
            repeat |= t == buf.last
        repeat &= fresh
        self.duplicate_samples[name] += int(repeat.sum())
        fresh &= ~repeat
        t, v = t[fresh], v[fresh]
        if not len(t):
            return []
        # A silence longer than gap_s in a regularly sampled stream is a gap (lost pushes, the app
        # paused): split there, so the file marks it, whether it falls between flushes or inside one.
        edges = np.diff(np.concatenate([[buf.last if buf.last is not None else t[0]], t])) > self.gap_s
        if not buf.sensor.regular:
            edges[:] = False
        host = buf.aligner.to_host(t) if self.align == "arrival" else t
        buf.last = float(t[-1])
        starts = [0, *np.flatnonzero(edges[1:]) + 1]
        ends = [*starts[1:], len(t)]
        return [
            SampleBatch(
                name, host[a:b], v[a:b], device_time=t[a:b], gap_before=bool(edges[a]), source=self.name
            )
            for a, b in zip(starts, ends, strict=True)
        ]

    def _count_missing(self, due_before: float) -> None:
        """Message ids never received among those older than the reorder window (lost pushes)."""
        while self._arrivals and self._arrivals[0][0] <= due_before:
            _, session, mid = self._arrivals.pop(0)
            self._old_max[session] = max(self._old_max.get(session, mid), mid)
        missing = 0
        for session, top in self._old_max.items():
            seen = self._seen.get(session, set())
            below = [m for m in seen if m <= top]
            missing += (top - min(below) + 1) - len(below) if below else 0
        self.stats.lost_packets = missing


class _Handler(BaseHTTPRequestHandler):
    """One request: check the token and size, hand the body to the receiver, answer in plain text."""

    receiver: SensorLoggerSource
    server_version = "harlab-sensorlogger/1"
    timeout = 15

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # requests are counted on the receiver, not printed to stderr

    def _answer(self, status: int, text: str) -> None:
        body = (text.rstrip("\n") + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        # Opening the URL in the phone's browser checks the network path (no data is shown).
        self._answer(200, "harlab Sensor Logger receiver: set this URL as Sensor Logger's HTTP Push URL")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        rec = self.receiver
        body_read = False
        try:
            rec.check_token(urlsplit(self.path).query, self.headers.get("Authorization"))
            length_text = self.headers.get("Content-Length")
            if length_text is None:
                raise PushError(411, "a Content-Length header is required")
            try:
                length = int(length_text)
            except ValueError as exc:
                raise PushError(400, f"Content-Length is not a number: {length_text!r}") from exc
            if length > rec.max_body:
                raise PushError(
                    413,
                    f"message of {length} bytes exceeds the {rec.max_body}-byte limit; "
                    "shorten Sensor Logger's batch period",
                )
            body = self.rfile.read(length)
            body_read = True
            text = rec.ingest(body)
        except PushError as exc:
            if not body_read:
                self.close_connection = True  # an unread body must not be parsed as the next request
            with rec._lock:
                rec.rejected[exc.status] += 1
            self._answer(exc.status, exc.message)
            return
        self._answer(200, text)
