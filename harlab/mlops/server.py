"""``harlab serve``: a small scoring service for MLflow requests and the seed's watch companion.

MLflow's own scoring server refuses keys it does not know, so the seed's
``{"data": ...}`` body cannot reach a pyfunc through it. This server answers both on
the standard library's threading HTTP server (no extra dependency, no network access
needed to start), with the same preprocessing as the pyfunc (:mod:`harlab.mlops.scoring`):

* ``POST /invocations``: MLflow formats (``inputs``, ``instances``, ``dataframe_split``,
  ``dataframe_records``) answered as ``{"predictions": [{"class", "class_index",
  "confidence", "p_<class>"...}]}`` exactly like ``mlflow models serve``; and the seed's
  ``{"data": ...}`` answered in the seed's shape;
* ``POST /score``: the seed's path; ``{"data": N×10×6×1}`` -> ``{"result": [class index per
  window], "result_full": [[probabilities]], "classes": [...]}``. ``?compat=azureml`` wraps
  the answer in a JSON string as Azure ML did (the seed's clients parse twice);
* ``GET /health`` (also ``/ping``), ``GET /version`` (model, classes, channels, expected shape).

Errors are JSON with ``error`` and ``message`` (and ``key``/``expected`` for bad input):
400 for malformed input, 404 unknown path, 405 wrong method, 411/413 for a missing or too
large body, 415 for a body that is not JSON, 500 only for faults of the server itself.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import torch

from harlab import __version__
from harlab.ml.modelfile import ActivityModel
from harlab.mlops.scoring import ScoringInputError, WindowScorer, parse_payload

MAX_BODY = 64 * 1024 * 1024


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
        return {"model_uri": self.source, "model_version": self.version, "harlab_version": __version__,
                **self.scorer.describe()}

    def handle(self, path: str, body: Any) -> dict[str, Any]:
        X, fmt = parse_payload(self.scorer, body)
        with self._lock:
            self.requests += 1
            with torch.inference_mode():
                scored = self.scorer.score(X)
        if path == "/score" or fmt == "seed":
            return scored.seed_response()
        return {"predictions": scored.frame().to_dict(orient="records")}


class _Handler(BaseHTTPRequestHandler):
    server_version = f"harlab-serve/{__version__}"
    protocol_version = "HTTP/1.1"
    service: ScoringService  # set on the subclass made by make_server
    quiet = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.quiet:
            super().log_message(format, *args)

    def _send(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, allow_nan=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, **extra: Any) -> None:
        code = HTTPStatus(status).phrase.upper().replace(" ", "_")
        self._send(status, {"error": message, "message": message, "error_code": code, **extra})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path in ("/health", "/ping"):
            self._send(200, {"status": "ok", "model_uri": self.service.source,
                             "uptime_s": round(time.time() - self.service.started, 1)})
        elif path == "/version":
            self._send(200, self.service.describe())
        elif path in ("/invocations", "/score"):
            self._error(405, f"{path} takes POST with a JSON body")
        else:
            self._error(404, f"no such path {path!r}; use POST /invocations or /score, GET /health or /version")

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if path not in ("/invocations", "/score"):
            self._drain()
            self._error(404, f"no such path {path!r}; POST to /invocations or /score")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        length_txt = self.headers.get("Content-Length")
        if length_txt is None:
            self.close_connection = True
            self._error(411, "a Content-Length header is required")
            return
        try:
            length = int(length_txt)
        except ValueError:
            self.close_connection = True
            self._error(400, f"Content-Length {length_txt!r} is not a number")
            return
        if length > MAX_BODY:
            self.close_connection = True
            self._error(413, f"the body has {length} bytes; at most {MAX_BODY} (split the windows over requests)")
            return
        raw = self.rfile.read(length)
        if ctype not in ("application/json", "text/json", ""):
            self._error(415, f"Content-Type {ctype!r} is not supported; send application/json")
            return
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(400, f"the body is not valid JSON: {exc}")
            return
        try:
            answer = self.service.handle(path, body)
        except ScoringInputError as exc:
            self._send(400, exc.as_json())
            return
        except Exception as exc:  # a fault of ours: say so, keep serving
            self.log_error("scoring failed: %r", exc)
            self._error(500, f"internal error while scoring: {type(exc).__name__}: {exc}")
            return
        if path == "/score" and parse_qs(parts.query).get("compat") == ["azureml"]:
            self._send(200, json.dumps(answer))
        else:
            self._send(200, answer)

    def _drain(self) -> None:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        if 0 < n <= MAX_BODY:
            self.rfile.read(n)


def make_server(service: ScoringService, host: str = "127.0.0.1", port: int = 5001,
                quiet: bool = False) -> ThreadingHTTPServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port (see ``server.server_address``)."""
    handler = type("Handler", (_Handler,), {"service": service, "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
