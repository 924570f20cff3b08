"""``harlab serve -m MODEL``: score windows over HTTP (MLflow's request formats and the seed's).

``MODEL`` is a model file or a registered model (``models:/NAME@production``,
``models:/NAME/3``). The server answers ``POST /invocations`` and ``POST /score`` and
``GET /health`` and ``/version``; see :mod:`harlab.mlops.server` and docs/MLOPS.md.
It listens on 127.0.0.1 unless told otherwise, and refuses an address other machines can
reach without ``--token-file`` (or ``--insecure``); see docs/SECURITY.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

from harlab.cli.shared_options import QUIET_HELP
from harlab.core.errors import HarlabError
from harlab.mlops.server_limits import MIB, MIN_TOKEN_CHARS, ServerLimits


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help='serve a model over HTTP (MLflow request formats and the seed\'s {"data": ...})',
        description="Score sensor windows over HTTP: POST /invocations (MLflow formats or the seed's), "
        "POST /score (the seed's path), GET /health, GET /version. See docs/MLOPS.md.",
    )
    p.add_argument(
        "-m",
        "--model",
        required=True,
        metavar="MODEL",
        help="model file, or models:/NAME@ALIAS or models:/NAME/VERSION from the registry",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (127.0.0.1; 0.0.0.0 in a container, which needs --token-file or "
        "--insecure)",
    )
    p.add_argument("--port", type=int, default=5001, help="port (5001; 0 picks a free one)")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help="registry to load models:/ URIs from")
    p.add_argument("--threads", type=int, default=1, help="torch threads for scoring (1)")
    p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP + "; no log line per request")
    g = p.add_argument_group("access and limits (docs/SECURITY.md)")
    g.add_argument(
        "--token-file",
        default=None,
        metavar="FILE",
        help="require 'Authorization: Bearer <token>' on every request but /health; the token is the "
        f"text in FILE (at least {MIN_TOKEN_CHARS} characters)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="listen on a non-loopback --host without a token (only behind a proxy that checks clients)",
    )
    g.add_argument(
        "--workers",
        type=_positive_int,
        default=ServerLimits.workers,
        help=f"requests handled at once ({ServerLimits.workers}); {ServerLimits.queue} more wait, "
        "past that clients get 503 with Retry-After",
    )
    g.add_argument(
        "--max-body-mb",
        type=_positive_int,
        default=ServerLimits.max_body_bytes // MIB,
        metavar="MB",
        help=f"largest request body ({ServerLimits.max_body_bytes // MIB} MiB; 413 past it)",
    )
    g.add_argument(
        "--client-timeout",
        type=float,
        default=ServerLimits.client_timeout,
        metavar="S",
        help=f"longest silence while a request arrives ({ServerLimits.client_timeout:g} s; 408 past it)",
    )
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 4096")
    return value


def run(args: argparse.Namespace) -> int:
    import torch

    from harlab.cli.ml_options import note
    from harlab.mlops.registry import load_model_spec
    from harlab.mlops.server import ScoringService, check_exposure, make_server, read_token

    token = read_token(args.token_file) if args.token_file else None
    check_exposure(args.host, token, args.insecure)  # before the model loads: fail fast
    if not (math.isfinite(args.client_timeout) and 0.05 <= args.client_timeout <= 600):
        raise HarlabError(f"--client-timeout {args.client_timeout:g} is not between 0.05 and 600 seconds")
    limits = dataclasses.replace(
        ServerLimits(),
        workers=args.workers,
        max_body_bytes=args.max_body_mb * MIB,
        max_inflight_bytes=2 * args.max_body_mb * MIB,
        client_timeout=args.client_timeout,
    )
    torch.set_num_threads(max(1, args.threads))
    model, ref = load_model_spec(args.model, args.tracking_uri)
    service = ScoringService(model, ref.uri if ref else args.model, ref.version if ref else None)
    try:
        server = make_server(service, args.host, args.port, quiet=args.quiet, limits=limits, token=token)
    except OSError as exc:
        raise HarlabError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    host, port = str(server.server_address[0]), server.server_address[1]  # TCP: a str host
    # one machine-readable line first, so scripts and tests can find the port
    print(
        json.dumps(
            {"listening": f"http://{host}:{port}", "model": service.source, "version": service.version}
        ),
        flush=True,
    )
    if not args.quiet:
        note(
            f"serving {model.info.name!r} ({', '.join(model.classes)}) on http://{host}:{port} "
            "- POST /invocations or /score; Ctrl-C stops"
        )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        if not args.quiet:
            note("stopped")
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
