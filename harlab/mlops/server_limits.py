"""What ``harlab serve`` lets one client, and all clients together, make it do.

Light to import (no torch, no MLflow): ``harlab serve --help`` shows these defaults, and every
command module is imported to build ``harlab --help``. The limits on the windows inside a
request (how many, how many numbers, which rates) are in :mod:`harlab.mlops.scoring`.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
MAX_BODY = 64 * MIB
#: shortest bearer token accepted from ``--token-file``
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on the server's work; see docs/SECURITY.md for what each one answers."""

    max_body_bytes: int = MAX_BODY  #: one request's body (413 past it)
    max_inflight_bytes: int = 2 * MAX_BODY  #: bodies being read or scored at once (503 past it)
    workers: int = 8  #: threads that read, parse and answer requests (scoring itself is serialised)
    queue: int = 32  #: accepted connections waiting for a worker (503 past it)
    backlog: int = 128  #: connections the kernel holds before they are accepted (listen backlog)
    client_timeout: float = 1.0  #: longest silence while a request (or the next one) arrives (408 past it)
    header_timeout: float = 5.0  #: the request line and headers must arrive within this (408 past it)
    min_upload_rate: float = 256 * 1024  #: bytes/s a body must average after its first 5 s (408 below it)
    linger: float = 1.0  #: after an early answer, read and drop the unread body this long before closing
    retry_after: int = 1  #: seconds a 503 asks the client to wait
