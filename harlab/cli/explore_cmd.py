"""``harlab explore SESSIONS... -o pca.png``: PCA of labelled windows, coloured by class."""

from __future__ import annotations

import argparse
import csv

from harlab.cli.ml_options import add_window_args, dataset_from_args, note
from harlab.cli.shared_options import PNG_MAGIC, add_force, check_output, has_magic, has_suffix
from harlab.core import files


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "explore",
        help="PCA scatter of labelled windows coloured by class (PNG)",
        description="Project labelled windows onto their principal components and plot them by class.",
    )
    p.add_argument(
        "sessions", nargs="+", metavar="SESSION", help="session files (.h5) or folders holding them"
    )
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="required: image to write")
    p.add_argument("--dims", type=int, choices=[2, 3], default=2, help="2-D or 3-D scatter (2)")
    p.add_argument(
        "--raw", action="store_true", help="project standardised raw samples instead of window features"
    )
    p.add_argument("--coords", default=None, metavar="CSV", help="also write the coordinates as CSV")
    add_window_args(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harlab.ml.explore import pca_windows, plot_pca

    check_output(
        args.output, args.sessions, force=args.force, own_kind=has_magic(PNG_MAGIC), kind="a PNG image"
    )
    if args.coords:
        check_output(
            args.coords,
            args.sessions,
            force=args.force,
            own_kind=has_suffix(".csv"),
            kind="a CSV file",
            option="--coords",
        )
    data = dataset_from_args(args, args.sessions)
    proj = pca_windows(
        data.X, data.info.rate_hz, data.info.channels, data.info.units, 3, "raw" if args.raw else "features"
    )
    labels = data.windows.labels
    plot_pca(proj, labels, args.output, args.dims)
    note(f"wrote {args.output} (explained variance {', '.join(f'{v:.1%}' for v in proj.explained)})")
    if args.coords:
        with files.atomic_open(args.coords, "w", newline="", encoding="utf-8", durable=False) as f:
            w = csv.writer(f)
            w.writerow(["session", "participant", "start_s", "class", "pc1", "pc2", "pc3"])
            for i in range(len(labels)):
                w.writerow(
                    [
                        data.windows.session[i],
                        data.windows.participant[i],
                        f"{data.windows.start_s[i]:.3f}",
                        labels[i],
                        *(f"{v:.5f}" for v in proj.coords[i]),
                    ]
                )
    return 0
