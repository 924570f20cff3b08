"""Arguments and notes shared by the ``harlab train/evaluate/predict/explore`` commands.

Light to import (no torch): every command module is imported to build ``harlab --help``.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harlab.core.errors import HarlabError
from harlab.core.files import SESSION_SUFFIXES, input_file
from harlab.core.session import Session
from harlab.core.window_defaults import DEFAULT_WINDOW_S
from harlab.core.wording import counted
from harlab.ml.model_presets import (
    AUGMENT_MODES,
    DEFAULT_GBM_NEIGHBOURS,
    DEFAULT_PRESET,
    PADDINGS,
    PRESETS,
    presets_help,
)

if TYPE_CHECKING:  # torch and the dataset code load only when a command runs, not for --help
    from harlab.ml.dataset import Dataset
    from harlab.ml.training import TrainConfig, TrainProgress
    from harlab.mlops.paths import TrackingOptions


def session_file(path: Path) -> Path:
    """``path``, refused with the way forward when it holds no HDF5 (a CSV or watch file given where a
    session belongs): the one message train, evaluate, explore, predict and models give for it.

    A file named like a session (``.h5``) that is not HDF5 is damaged rather than unimported;
    opening it says what its first bytes are instead.
    """
    from harlab.storage.codec import HDF5_SIGNATURE

    if path.suffix.lower() in SESSION_SUFFIXES or not path.is_file():
        return path
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(HDF5_SIGNATURE))
    except OSError:
        return path  # opening it reports why it cannot be read
    if head != HDF5_SIGNATURE:
        raise HarlabError(
            f"{path} is not a harlab session file (HDF5); import it first: "
            f"harlab import {shlex.quote(str(path))} -o DIR"
        )
    return path


def session_paths(items: Sequence[str | Path]) -> list[Path]:
    """Session files, a folder standing for the session files under it (sorted, as ``harlab export``
    takes them), so ``harlab train sessions/`` works; a missing path or an empty folder is an error."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SESSION_SUFFIXES)
            if not found:
                raise HarlabError(f"{path}: folder holds no session files ({', '.join(SESSION_SUFFIXES)})")
            out += found
        elif not path.exists():
            raise HarlabError(f"{path}: no such session file or folder")
        else:  # a FIFO or device is refused without being opened
            out.append(session_file(input_file(path, "a session file")))
    return out


def load_sessions(paths: Sequence[str]) -> tuple[list[Session], list[str], list[dict[str, Any]]]:
    """Read session files fully; returns sessions, display names and provenance dicts (path, sha256)."""
    from harlab.mlops.training_pipeline import read_sources, source_names

    files = session_paths(paths)
    sessions, sources = read_sources(files, say=note)
    return sessions, source_names(files), sources


@contextmanager
def cancel_on_interrupt() -> Iterator[threading.Event]:
    """An event Ctrl+C sets instead of interrupting: a long run (training, calibration) stops at
    its next check (between files, every batch), so its tracked run ends KILLED and no
    half-written model is left. Off the main thread (a test calling the command) Ctrl+C is left
    as it is."""
    cancel = threading.Event()
    old = (
        signal.signal(signal.SIGINT, lambda *_: cancel.set())
        if threading.current_thread() is threading.main_thread()
        else None
    )
    try:
        yield cancel
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


_Req = TypeVar("_Req", contravariant=True)
_Res = TypeVar("_Res", covariant=True)


class Pipeline(Protocol[_Req, _Res]):
    """What :func:`harlab.mlops.training_pipeline.run_training` and
    :func:`harlab.mlops.calibration_pipeline.run_calibration` have in common."""

    def __call__(
        self,
        req: _Req,
        *,
        output: str | Path | None = ...,
        tracking: TrackingOptions | None = ...,
        progress: Callable[[TrainProgress], None] | None = ...,
        say: Callable[[str], None] = ...,
        cancel: threading.Event | None = ...,
    ) -> _Res: ...


def run_pipeline(
    pipeline: Pipeline[_Req, _Res],
    req: _Req,
    *,
    output: Path,
    tracking: TrackingOptions | None,
    what: str,
) -> _Res | None:
    """Run ``pipeline`` as a command does: progress and notes on stderr, Ctrl+C setting its
    cancel event (:func:`cancel_on_interrupt`). Returns its result, or None when it stopped on
    the request (it raised :class:`~harlab.ml.training.TrainingCancelled`), after saying on
    stderr that ``what`` was cancelled and ``output`` not written; the command then returns
    :data:`~harlab.cli.shared_options.CANCELLED_EXIT`. ``harlab train`` and ``harlab calibrate`` run this way."""
    from harlab.ml.training import TrainingCancelled  # torch: only when a command runs

    try:
        with cancel_on_interrupt() as cancel:
            return pipeline(
                req, output=output, tracking=tracking, progress=print_progress, say=note, cancel=cancel
            )
    except TrainingCancelled:
        note(f"harlab: cancelled: {what} cancelled, {output} not written")
        return None


def note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def add_window_args(p: argparse.ArgumentParser, *, with_track: bool = True) -> None:
    g = p.add_argument_group("windows")
    if with_track:
        g.add_argument("--track", default="activity", help="label track to learn from (default: activity)")
    g.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_S,
        metavar="S",
        help="window length in seconds (%(default)g)",
    )
    g.add_argument(
        "--stride", type=float, default=None, metavar="S", help="window stride in seconds (half a window)"
    )
    g.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="HZ",
        help="resample to this rate (default: the streams' common rate)",
    )
    g.add_argument(
        "--channels",
        default=None,
        metavar="LIST",
        help="comma-separated streams or stream.channel entries (default: every regular stream)",
    )
    g.add_argument(
        "--policy",
        default="majority",
        choices=["majority", "centre", "pure"],
        help="window label policy (majority)",
    )
    g.add_argument(
        "--classes",
        default=None,
        metavar="LIST",
        help="comma-separated classes to keep (others are left out)",
    )


def add_class_rule_args(p: argparse.ArgumentParser) -> None:
    """``--merge A=B`` and ``--ignore C``: the train dialog's class table on the command line."""
    g = p.add_argument_group("classes")
    g.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="CLASS=INTO",
        help="train CLASS as INTO (another class, or a new name); repeatable",
    )
    g.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CLASS",
        help="leave CLASS out: its time counts as unlabelled; repeatable",
    )


def class_mapping_from_args(args: argparse.Namespace) -> dict[str, str | None]:
    """``{class: new name or None}`` from ``--merge`` and ``--ignore``; a class both merged and
    ignored, or merged into an ignored class (which would drop its data silently), is refused."""
    from harlab.core.classnames import find_class
    from harlab.ml.class_rules import MERGE, ClassRule, class_mapping

    merges: dict[str, ClassRule] = {}
    for item in args.merge:
        name, sep, into = item.partition("=")
        if not sep or not name.strip() or not into.strip():
            raise HarlabError(f"--merge {item!r}: write it as CLASS=INTO, e.g. --merge Jogging=Walking")
        merges[name.strip()] = ClassRule(MERGE, into.strip())
    ignored = [name.strip() for name in args.ignore if name.strip()]
    for name, rule in merges.items():
        for clash in (name, rule.target):
            if find_class(clash, ignored) is not None:
                raise HarlabError(
                    f"--merge {name}={rule.target} and --ignore {clash} disagree: "
                    f"{clash!r} cannot be both trained and left out"
                )
    mapping = class_mapping(merges) if merges else {}
    mapping.update(dict.fromkeys(ignored))
    return mapping


def add_train_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS), help=presets_help())
    g.add_argument("--epochs", type=int, default=40, metavar="N", help="most network epochs (%(default)s)")
    g.add_argument(
        "--batch-size", type=int, default=64, metavar="N", help="windows per network step (%(default)s)"
    )
    g.add_argument("--lr", type=float, default=2e-3, help="network learning rate (%(default)g)")
    g.add_argument(
        "--patience", type=int, default=8, metavar="N", help="early-stopping patience in epochs (%(default)s)"
    )
    g.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help=(
            "share of participants held out for early stopping and the validation score, or of the "
            "time blocks of each recording when participants cannot be held out (%(default)s)"
        ),
    )
    g.add_argument(
        "--augment",
        default="jitter",
        choices=list(AUGMENT_MODES),
        help="network augmentation: jitter (default), flip, warp (jitter + tempo 0.8-1.25x), none",
    )
    g.add_argument(
        "--no-class-weights",
        action="store_true",
        help="weigh every window alike (default: rarer classes weigh more)",
    )
    g.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed repeats a run (%(default)s)"
    )
    g.add_argument(
        "--threads", type=int, default=0, metavar="N", help="torch threads (default: cores, at most 4)"
    )
    # the defaults stated here are harlab.ml.models.CNN1DConfig's (tests hold them together), and
    # where the ensemble preset's network differs, its own from the preset table
    ens = PRESETS["ensemble"].network_defaults
    g.add_argument("--depth", type=int, default=None, metavar="N", help="cnn1d conv blocks (4)")
    g.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="N",
        help=f"cnn1d filters of the first block (64; the ensemble's network {ens['width']})",
    )
    g.add_argument(
        "--max-width",
        type=int,
        default=None,
        metavar="N",
        help=f"cnn1d filters of the widest block (128; the ensemble's network {ens['max_width']})",
    )
    g.add_argument("--kernel", type=int, default=None, metavar="N", help="cnn1d kernel size (5)")
    g.add_argument(
        "--padding",
        default=None,
        choices=PADDINGS,
        help="how cnn1d convolutions meet a window's edges (same; the ensemble's network "
        f"{ens['padding']}): valid and margins let overlapping windows share their convolutions; "
        "margins takes samples of the recording beside each window (docs/ML.md)",
    )
    g.add_argument("--dropout", type=float, default=None, metavar="P", help="cnn1d dropout (0.2)")
    g.add_argument("--no-batch-norm", action="store_true", help="cnn1d without batch normalisation")
    g.add_argument(
        "--no-context",
        action="store_true",
        help="models see each window alone, not also against the rest of its recording "
        "(tilt from the recording's upright, motion against its walking and median, and for "
        "LightGBM the window features against the recording's median window)",
    )
    g.add_argument(
        "--gbm-neighbours",
        type=int,
        default=DEFAULT_GBM_NEIGHBOURS,
        metavar="N",
        help="LightGBM also sees the mean window features of N windows on each side of a window "
        "in its recording: temporal context (%(default)s; 0 = each window alone; docs/ML.md)",
    )
    g.add_argument(
        "--no-orientation",
        action="store_true",
        help="keep every recording as worn instead of mapping it into the orientation most "
        "training recordings share (a watch turned round or on the other wrist)",
    )
    g.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the members trained without the validation participants instead of training "
        "them again on everyone once early stopping has chosen (half the training time)",
    )


def split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def train_config(args: argparse.Namespace) -> TrainConfig:
    from harlab.ml.training import TrainConfig

    arch: dict[str, Any] = {}
    for key in ("depth", "width", "max_width", "kernel", "dropout", "padding"):
        if getattr(args, key, None) is not None:
            arch[key] = getattr(args, key)
    if getattr(args, "no_batch_norm", False):
        arch["batch_norm"] = False
    return TrainConfig(
        preset=args.preset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        val_fraction=args.val_fraction,
        class_weights=not args.no_class_weights,
        augment=args.augment,
        seed=args.seed,
        threads=args.threads,
        arch=arch,
        context=not getattr(args, "no_context", False),
        gbm_neighbours=getattr(args, "gbm_neighbours", DEFAULT_GBM_NEIGHBOURS),
        orientation=not getattr(args, "no_orientation", False),
        cnn_refit=not getattr(args, "no_refit", False),
        gbm_refit=not getattr(args, "no_refit", False),
    )


def dataset_from_args(
    args: argparse.Namespace, paths: Sequence[str], classes: Sequence[str] | None = None
) -> Dataset:
    from harlab.ml.dataset import build_dataset

    sessions, names, sources = load_sessions(paths)
    note(f"cutting {args.window:g} s windows from track {args.track!r}")
    data = build_dataset(
        sessions,
        args.track,
        args.window,
        args.stride,
        args.rate,
        split_list(args.channels),
        args.policy,
        classes=classes if classes is not None else split_list(args.classes),
        names=names,
        sources=sources,
    )
    for line in data.notes:
        note(line)
    counts = ", ".join(f"{c} {n}" for c, n in data.windows.class_counts().items())
    note(
        f"{counted(len(data), 'window')}, {counted(len(set(data.groups.tolist())), data.group_kind)}; {counts}"
    )
    return data


def validation_summary(metrics: dict[str, Any]) -> list[str]:
    """Lines about a trained model's validation: which split, the score (only when it has
    windows), and the warnings of :func:`harlab.ml.training.choose_validation`."""
    val = metrics.get("validation")
    lines = [f"validation: {metrics['validation_split']}"] if metrics.get("validation_split") else []
    if val:
        lines.append(
            f"validation accuracy {val['accuracy']:.3f}, macro-F1 {val['macro_f1']:.3f} "
            f"({counted(metrics.get('n_validation_windows', 0), 'window')})"
        )
    lines += [f"warning: {w}" for w in metrics.get("warnings", [])]
    return lines


def print_progress(p: TrainProgress) -> None:
    if p.stage == "lightgbm":
        # a refit on everyone (or a run without validation) has no validation loss to show
        tail = f"  val loss {p.val_loss:.4f}" if p.val_loss == p.val_loss else ""
        note(f"  lightgbm round {p.epoch}/{p.epochs}{tail}")
        return
    line = f"  {p.stage} epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  acc {p.acc:.3f}"
    if p.val_loss == p.val_loss:  # a refit on everyone has no validation numbers
        line += f"  val loss {p.val_loss:.4f}  val acc {p.val_acc:.3f}  val F1 {p.val_f1:.3f}"
    note(line)
