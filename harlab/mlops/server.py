"""``harlab serve``: a small scoring service for MLflow requests and the seed's watch companion.

MLflow's own scoring server refuses keys it does not know, so the seed's
``{"data": ...}`` body cannot reach a pyfunc through it. This server answers both on
the standard library's HTTP server (no extra dependency, no network access needed to
start), with the same preprocessing as the pyfunc (:mod:`harlab.mlops.scoring`):

* ``POST /invocations``: MLflow formats (``inputs``, ``instances``, ``dataframe_split``,
  ``dataframe_records``) answered as ``{"predictions": [{"class", "class_index",
  "confidence", "p_<class>"...}]}`` exactly like ``mlflow models serve``; and the seed's
  ``{"data": ...}`` answered in the seed's shape;
* ``POST /score``: the seed's path; ``{"data": N×10×6×1}`` -> ``{"result": [class index per
  window], "result_full": [[probabilities]], "classes": [...]}``. ``?compat=azureml`` wraps
  the answer in a JSON string as Azure ML did (the seed's clients parse twice);
* ``GET /health`` (also ``/ping``), ``GET /version`` (model, classes, channels, expected shape).

Errors are JSON with ``error`` and ``message`` (and ``key``/``expected`` for bad input):
400 for malformed input, 401 without the token (when one is set), 404 unknown path, 405
wrong method, 408 for a request that stops arriving, 411/413 for a missing or too large
body, 415 for a body that is not JSON, 503 (with ``Retry-After``) when the server is busy,
500 only for faults of the server itself.

Hostile or broken clients cost bounded work (:class:`ServerLimits`, docs/SECURITY.md): a
fixed pool of worker threads takes connections from a bounded queue; a connection that finds
the queue full is answered 503 by one extra thread, never dropped. Each read waits at most
``client_timeout`` seconds and each request phase has a deadline, so a client that stops
sending gets 408 and frees its worker. Bodies are bounded one by one and together; the
windows a body may describe are bounded in :mod:`harlab.mlops.scoring` before any work.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import json
import queue
import selectors
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import torch

from harlab import __version__
from harlab.core.errors import HarlabError
from harlab.ml.modelfile import ActivityModel
from harlab.mlops.scoring import ScoringInputError, WindowScorer, parse_payload
from harlab.mlops.server_limits import MAX_BODY, MIB, MIN_TOKEN_CHARS, ServerLimits

__all__ = [
    "MAX_BODY",
    "ScoringServer",
    "ScoringService",
    "ServerLimits",
    "check_exposure",
    "make_server",
    "read_token",
]

#: longest request-line, header line and header count (the standard library's limits)
MAX_LINE = 65536


class ScoringService:
    """The model and what the server says about it; scoring is serialised (one torch pool)."""

    def __init__(self, model: ActivityModel, source: str, version: str | None = None) -> None:
        self.scorer = WindowScorer(model)
        self.source = source
        self.version = version
        self.started = time.time()
        self.requests = 0
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {
            "model_uri": self.source,
            "model_version": self.version,
            "harlab_version": __version__,
            **self.scorer.describe(),
        }

    def handle(self, path: str, body: Any) -> dict[str, Any]:
        X, fmt = parse_payload(self.scorer, body)
        with self._lock:
            self.requests += 1
            with torch.inference_mode():
                scored = self.scorer.score(X)
        if path == "/score" or fmt == "seed":
            return scored.seed_response()
        return {"predictions": scored.frame().to_dict(orient="records")}


# -- access ---------------------------------------------------------------------------------------


def read_token(path: str) -> bytes:
    """The bearer token in ``path`` (surrounding whitespace dropped); refused if short or not plain text."""
    try:
        with open(path, "rb") as f:
            raw = f.read(4097)
    except OSError as exc:
        raise HarlabError(f"{path}: cannot read the token file: {exc.strerror or exc}") from exc
    token = raw.strip()
    hint = 'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))" > FILE'
    if len(raw) > 4096 or len(token) < MIN_TOKEN_CHARS:
        raise HarlabError(f"{path}: the token must be {MIN_TOKEN_CHARS} to 4096 characters ({hint})")
    if not all(33 <= b <= 126 for b in token):
        raise HarlabError(f"{path}: the token must be printable ASCII without spaces ({hint})")
    return token


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address (``""`` is every interface)."""
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    try:
        return bool(infos) and all(
            ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos
        )
    except ValueError:
        return False


def check_exposure(host: str, token: bytes | None, insecure: bool) -> None:
    """Refuse to listen beyond this machine without a token, unless the caller insists (``--insecure``)."""
    if token is None and not insecure and not is_loopback(host):
        raise HarlabError(
            f"--host {host!r} is reachable from other machines and no --token-file is given; "
            "anyone who reaches it could use the model. Give --token-file FILE, or --insecure if "
            "something in front of it (a proxy with TLS and authentication) already checks "
            "clients. See docs/SECURITY.md"
        )


# -- connection input with timeouts ---------------------------------------------------------------


class _Reader(io.RawIOBase):
    """A connection's input: each read waits at most ``idle`` seconds, and never past ``deadline``."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        super().__init__()
        self.sock = sock
        self.idle = idle
        self.deadline: float | None = None
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        wait = self.idle
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's deadline passed")
            wait = min(wait, left)
        self.sock.settimeout(wait)
        n = self.sock.recv_into(b)
        self.received += n
        return n


class _Writer(io.BufferedIOBase):
    """Connection output that always sends everything (``sendall``), like the standard library's."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.sock.sendall(b)
        with memoryview(b) as view:
            return view.nbytes


def _drain(sock: socket.socket, seconds: float, cap: int) -> None:
    """Read and drop input until the client closes, ``seconds`` pass or ``cap`` bytes came.

    Closing a socket whose input was not all read sends a reset, which can destroy the answer
    before the client reads it; so after an early answer the rest of the request is read away.
    """
    end = time.monotonic() + seconds
    got = 0
    try:
        sock.shutdown(socket.SHUT_WR)
        while got < cap:
            left = end - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                return
            got += len(chunk)
    except OSError:
        return


class _ByteBudget:
    """Bytes of request bodies held at once, across all workers."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.total:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


def _error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    code = HTTPStatus(status).phrase.upper().replace(" ", "_").replace("-", "_")
    return {"error": message, "message": message, "error_code": code, **extra}


def _parse_int(text: str) -> int | float:
    """JSON integers: past 18 digits as a float (a 5000-digit number is inf, refused as not finite,
    instead of Python's int-conversion limit error or a huge int)."""
    return int(text) if len(text) <= 18 else float(text)


# -- the request handler -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = f"harlab-serve/{__version__}"
    protocol_version = "HTTP/1.1"
    # set on the subclass made by make_server
    service: ScoringService
    limits: ServerLimits
    token: bytes | None = None
    budget: _ByteBudget
    quiet = False

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self._reader = _Reader(self.connection, self.limits.client_timeout)
        self.rfile = io.BufferedReader(self._reader, 65536)
        self.wfile = _Writer(self.connection)
        self._served = 0
        self._linger = False

    def finish(self) -> None:
        if self._linger:
            _drain(self.connection, self.limits.linger, 2 * self.limits.max_body_bytes)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.quiet:
            super().log_message(format, *args)

    # -- one request, with timeouts and no traceback for a client's fault --------------------------
    def handle_one_request(self) -> None:
        reader = self._reader
        reader.deadline = time.monotonic() + self.limits.header_timeout
        before = reader.received
        self._responded = False
        self.raw_requestline = b""
        self.requestline = ""
        self.command = ""
        self.request_version = self.protocol_version
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if len(self.raw_requestline) > MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, f"the request line is over {MAX_LINE} bytes")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # it answered already (400, 431, 505...)
                return
            method = getattr(self, f"do_{self.command}", None)
            if method is None:
                self.send_error(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"method {self.command[:20]!r} is not served; "
                    "use GET /health, /version or POST /invocations, /score",
                )
                return
            method()
        except TimeoutError:
            self.close_connection = True
            started = self._served == 0 or reader.received > before or bool(self.raw_requestline)
            if started and not self._responded:  # an idle kept-alive connection just closes
                self._try_error(
                    HTTPStatus.REQUEST_TIMEOUT,
                    "the request did not arrive in time: at most "
                    f"{self.limits.client_timeout:g} s of silence, {self.limits.header_timeout:g} s for "
                    "the headers",
                )
        except OSError as exc:  # the client went away (reset, broken pipe): nothing to answer
            self.close_connection = True
            self.log_error("connection ended by the client: %s", exc)
        finally:
            self._served += 1

    def _try_error(self, status: int, message: str, **extra: Any) -> None:
        with contextlib.suppress(OSError):
            self._error(status, message, **extra)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's protocol errors (bad request line, headers...) as JSON, then close."""
        self.close_connection = True
        self._linger = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: still answer with a status line
            self.request_version = self.protocol_version
        self._error(code, message or HTTPStatus(code).phrase)

    def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, allow_nan=False).encode("utf-8")
        self._responded = True
        # a slow reader may take its time, but not forever
        self.connection.settimeout(max(self.limits.client_timeout, len(data) / self.limits.min_upload_rate))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        self._send(status, _error_body(status, message, **extra), headers)

    def _refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Answer before the body was read: close afterwards, reading the unread body away first."""
        self.close_connection = True
        self._linger = True
        self._error(status, message, headers)

    def _authorized(self) -> bool:
        if self.token is None:
            return True
        scheme, _, cred = (self.headers.get("Authorization") or "").strip().partition(" ")
        given = cred.strip().encode("latin-1", "replace")
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self.token)

    def _refuse_unauthorized(self) -> None:
        self._refuse(
            401,
            "this server needs 'Authorization: Bearer <token>' (the token in its --token-file)",
            {"WWW-Authenticate": 'Bearer realm="harlab"'},
        )

    # -- methods -------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
            "Transfer-Encoding"
        ):
            self.close_connection = True  # a body on a GET is not read: do not parse it as the next request
            self._linger = True
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path in ("/health", "/ping"):
            status: dict[str, Any] = {"status": "ok"}
            if self._authorized():
                status.update(
                    model_uri=self.service.source, uptime_s=round(time.time() - self.service.started, 1)
                )
            self._send(200, status)
        elif not self._authorized():
            self._refuse_unauthorized()
        elif path == "/version":
            self._send(200, self.service.describe())
        elif path in ("/invocations", "/score"):
            self._error(405, f"{path} takes POST with a JSON body", {"Allow": "POST"})
        else:
            self._error(
                404, f"no such path {path[:200]!r}; use POST /invocations or /score, GET /health or /version"
            )

    do_HEAD = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        limits = self.limits
        if not self._authorized():
            self._refuse_unauthorized()
            return
        if path not in ("/invocations", "/score"):
            self._refuse(404, f"no such path {path[:200]!r}; POST to /invocations or /score")
            return
        compat = parse_qs(parts.query).get("compat")
        if compat not in (None, ["azureml"]) or (compat and path != "/score"):
            self._refuse(
                400,
                f"query {parts.query[:200]!r} is not understood; the only option is /score?compat=azureml",
            )
            return
        if self.headers.get("Transfer-Encoding"):
            self._refuse(
                411, "chunked (Transfer-Encoding) bodies are not accepted; send a Content-Length header"
            )
            return
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            self._refuse(411, "a Content-Length header is required")
            return
        length_txt = lengths[0].strip()
        if len(set(lengths)) > 1 or not (length_txt.isascii() and length_txt.isdigit()):
            self._refuse(
                400,
                f"Content-Length {', '.join(lengths)[:40]!r} is not one byte count (digits 0-9, given once)",
            )
            return
        length = int(length_txt) if len(length_txt) <= 18 else sys.maxsize
        if length > limits.max_body_bytes:
            self._refuse(
                413,
                f"the body has {length_txt[:40]} bytes; at most {limits.max_body_bytes} "
                "(split the windows over requests)",
            )
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("application/json", "text/json", ""):
            self._refuse(415, f"Content-Type {ctype[:100]!r} is not supported; send application/json")
            return
        if not self.budget.take(length):
            self._refuse(
                503,
                f"the server is reading or scoring {limits.max_inflight_bytes // MIB} MiB of "
                f"requests already; retry after {limits.retry_after} s",
                {"Retry-After": str(limits.retry_after)},
            )
            return
        try:
            self._answer(path, length, compat is not None)
        finally:
            self.budget.give(length)

    def handle_expect_100(self) -> bool:
        return True  # 100 Continue is sent by do_POST once the headers are found acceptable

    def _read_body(self, length: int) -> bytes | None:
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(HTTPStatus.CONTINUE)
            self.end_headers()
        self._reader.deadline = time.monotonic() + max(5.0, length / self.limits.min_upload_rate)
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            self._error(
                408,
                f"the body did not arrive: Content-Length says {length} bytes; the server waits "
                f"at most {self.limits.client_timeout:g} s for each part of it",
            )
            return None
        if len(raw) < length:
            self.close_connection = True
            self._error(400, f"the body ended after {len(raw)} of the {length} bytes its Content-Length says")
            return None
        return raw

    def _answer(self, path: str, length: int, azureml: bool) -> None:
        raw = self._read_body(length)
        if raw is None:
            return
        try:
            body = json.loads(raw.decode("utf-8"), parse_int=_parse_int)
        except RecursionError:
            self._error(400, "the body is not valid JSON: nested too deeply")
            return
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            self._error(400, f"the body is not valid JSON: {str(exc)[:300]}")
            return
        del raw
        try:
            answer = self.service.handle(path, body)
        except ScoringInputError as exc:
            self._send(400, exc.as_json())
            return
        except MemoryError:
            self._error(
                503,
                "the server ran out of memory for this request; send fewer windows",
                {"Retry-After": str(self.limits.retry_after)},
            )
            return
        except Exception as exc:  # a fault of ours: say so, log it, keep serving
            import traceback

            sys.stderr.write(f"harlab serve: scoring failed:\n{traceback.format_exc()}")
            self._error(500, f"internal error while scoring: {type(exc).__name__}: {exc}")
            return
        self._send(200, json.dumps(answer) if azureml else answer)


# -- the server: a fixed pool of workers, and one thread that answers 503 when it is full ----------


class _Rejecter:
    """Answers, on one thread, the connections the worker pool has no room for: 503 with
    ``Retry-After`` at once, then the request is read away (see :func:`_drain`) until the client
    closes or ``linger`` seconds pass. Non-blocking, so slow clients do not hold up the others."""

    #: however steadily a rejected client trickles, its connection closes this many seconds after the 503
    MAX_LINGER = 30.0

    def __init__(self, limits: ServerLimits, max_open: int = 4096) -> None:
        body = json.dumps(
            _error_body(
                503,
                f"the server is busy ({limits.workers} requests in progress and "
                f"{limits.queue} waiting); retry after {limits.retry_after} s",
            )
        ).encode()
        self.response = (
            f"HTTP/1.1 503 Service Unavailable\r\nServer: harlab-serve/{__version__}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Retry-After: {limits.retry_after}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        # a rejected client may not have sent a byte yet (its thread starved under load): it gets the
        # header allowance to start, then ``linger`` of silence between chunks, until it closes
        self.first_wait = max(limits.linger, limits.header_timeout)
        self.linger = max(limits.linger, limits.client_timeout)
        self.cap = 2 * limits.max_body_bytes
        self.max_open = max_open
        self.rejected = 0
        self._inbox: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._open: dict[socket.socket, list[float]] = {}  # socket -> [deadline, bytes read, last deadline]
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="harlab-serve-busy", daemon=True)
        self._thread.start()

    def reject(self, sock: socket.socket) -> None:
        self._inbox.put(sock)
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()
        self._thread.join(2)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full wake-up pipe: the loop is awake anyway
            self._wake_w.send(b"\0")

    def _start(self, sock: socket.socket) -> None:
        self.rejected += 1
        try:
            sock.setblocking(False)
            sock.send(self.response)  # a few hundred bytes: the send buffer takes them at once
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        if len(self._open) >= self.max_open:  # pathological load: the answer is out, stop reading
            sock.close()
            return
        now = time.monotonic()
        self._open[sock] = [now + self.first_wait, 0, now + self.MAX_LINGER]
        self._sel.register(sock, selectors.EVENT_READ, sock)

    def _end(self, sock: socket.socket) -> None:
        self._open.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)
        sock.close()

    def _run(self) -> None:
        while not self._closed:
            for key, _ in self._sel.select(timeout=0.25):
                if key.data is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except OSError:
                        pass
                    while True:
                        try:
                            self._start(self._inbox.get_nowait())
                        except queue.Empty:
                            break
                    continue
                sock = key.data
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                state = self._open.get(sock)
                if not chunk or state is None:
                    self._end(sock)
                    continue
                state[1] += len(chunk)
                state[0] = min(time.monotonic() + self.linger, state[2])
                if state[1] > self.cap:
                    self._end(sock)
            now = time.monotonic()
            for sock in [s for s, (deadline, _, _) in self._open.items() if deadline < now]:
                self._end(sock)
        for sock in list(self._open):
            self._end(sock)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


class ScoringServer(HTTPServer):
    """An HTTP server with a fixed pool of worker threads (not a thread per connection)."""

    def __init__(self, address: tuple[str, int], handler: type[_Handler], limits: ServerLimits) -> None:
        self.limits = limits
        self.request_queue_size = limits.backlog
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._pending: queue.Queue[tuple[socket.socket, Any]] = queue.Queue(maxsize=limits.queue)
        self._stopping = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Lock()
        super().__init__(address, handler)
        self.rejecter = _Rejecter(limits)
        self._workers = [
            threading.Thread(target=self._work, name=f"harlab-serve-{i}", daemon=True)
            for i in range(limits.workers)
        ]
        for w in self._workers:
            w.start()

    def load(self) -> tuple[int, int]:
        """(connections a worker is handling, accepted connections waiting for a worker) now."""
        with self._busy_lock:
            return self._busy, self._pending.qsize()

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self._pending.put_nowait((request, client_address))
        except queue.Full:
            self.rejecter.reject(request)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                request, address = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._busy_lock:
                self._busy += 1
            try:
                self.finish_request(request, address)
            except Exception:
                self.handle_error(request, address)
            finally:
                self.shutdown_request(request)
                with self._busy_lock:
                    self._busy -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a client that went away is not a fault of the server
            sys.stderr.write(f"harlab serve: connection from {client_address[0]} ended: {exc}\n")
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        """Stop listening; connections still waiting for a worker are closed, requests in progress finish."""
        super().server_close()
        self._stopping.set()
        while True:
            try:
                self._pending.get_nowait()[0].close()
            except queue.Empty:
                break
        self.rejecter.close()


def make_server(
    service: ScoringService,
    host: str = "127.0.0.1",
    port: int = 5001,
    quiet: bool = False,
    limits: ServerLimits | None = None,
    token: bytes | None = None,
) -> ScoringServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port (see ``server.server_address``).

    ``token``: when given, every request but ``/health`` needs ``Authorization: Bearer <token>``.
    """
    limits = limits or ServerLimits()
    handler = type(
        "Handler",
        (_Handler,),
        {
            "service": service,
            "quiet": quiet,
            "limits": limits,
            "token": token,
            "budget": _ByteBudget(max(limits.max_inflight_bytes, limits.max_body_bytes)),
        },
    )
    return ScoringServer((host, port), handler, limits)
