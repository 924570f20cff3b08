"""``harlab serve -m MODEL``: score windows over HTTP (MLflow's request formats and the seed's).

``MODEL`` is a model file or a registered model (``models:/NAME@production``,
``models:/NAME/3``). The server answers ``POST /invocations`` and ``POST /score`` and
``GET /health`` and ``/version``; see :mod:`harlab.mlops.server` and docs/MLOPS.md.
"""

from __future__ import annotations

import argparse
import json
import sys

from harlab.cli._common import QUIET_HELP


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (MLflow request formats and the seed's {\"data\": ...})",
        description="Score sensor windows over HTTP: POST /invocations (MLflow formats or the seed's), "
                    "POST /score (the seed's path), GET /health, GET /version. See docs/MLOPS.md.",
    )
    p.add_argument("-m", "--model", required=True, metavar="MODEL",
                   help="model file, or models:/NAME@ALIAS or models:/NAME/VERSION from the registry")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=5001, help="port (5001; 0 picks a free one)")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help="registry to load models:/ URIs from")
    p.add_argument("--threads", type=int, default=1, help="torch threads for scoring (1)")
    p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP + "; no log line per request")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from harlab.ml.cli_support import note
    from harlab.mlops.registry import load_model_spec
    from harlab.mlops.server import ScoringService, make_server

    torch.set_num_threads(max(1, args.threads))
    model, ref = load_model_spec(args.model, args.tracking_uri)
    service = ScoringService(model, ref.uri if ref else args.model, ref.version if ref else None)
    server = make_server(service, args.host, args.port, quiet=args.quiet)
    host, port = server.server_address[:2]
    # one machine-readable line first, so scripts and tests can find the port
    print(json.dumps({"listening": f"http://{host}:{port}", "model": service.source,
                      "version": service.version}), flush=True)
    note(f"serving {model.info.name!r} ({', '.join(model.classes)}) on http://{host}:{port} "
         "- POST /invocations or /score; Ctrl-C stops")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        note("stopped")
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
