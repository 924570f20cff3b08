"""``harlab predict MODEL SESSION...``: add a prediction track to each session file.

Every window of each session is classified in batches; probabilities are kept per
window and smoothed into segments (sticky HMM, optional minimum duration). The track
is saved into the session file, replacing an earlier one of the same name.

Several sessions (or ``--workers``/``--scheduler``) run as a cohort on Dask distributed
(:mod:`harlab.mlops.cohort`, docs/COHORT.md): each session is predicted and saved by a worker,
one failing file never stops the others (the exit code is 1 when any failed), and sessions
that already hold this model's prediction are skipped unless ``--no-resume``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harlab.cli.cohort_options import add_cohort_args, cohort_options, run_command_cohort, wants_cluster
from harlab.cli.ml_options import note, session_file
from harlab.cli.shared_options import add_quiet, quiet_stderr
from harlab.core.classnames import class_key, describe_unmatched
from harlab.core.errors import HarlabError
from harlab.core.files import input_file
from harlab.core.metadata import sha256_of
from harlab.core.wording import counted

if TYPE_CHECKING:
    from harlab.core.session import Session
    from harlab.ml.modelfile import ActivityModel
    from harlab.mlops.cohort import ItemResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "predict",
        help="apply a model to session files and store its predictions in them",
        description="Classify every window of each session and save a prediction track into the file.",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="model file written by 'harlab train', or a registered model: models:/NAME@ALIAS or models:/NAME/VERSION",
    )
    p.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI for models:/ (default: the local store)"
    )
    p.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.h5), changed in place")
    p.add_argument("--name", default=None, help="prediction track name (default: TRACK-predicted)")
    p.add_argument(
        "--stride", type=float, default=None, metavar="S", help="window stride (default: the model's)"
    )
    p.add_argument(
        "--p-switch",
        type=float,
        default=0.02,
        help="HMM probability of switching class between windows (0.02)",
    )
    p.add_argument("--no-hmm", action="store_true", help="no HMM smoothing (argmax per window)")
    p.add_argument(
        "--min-duration",
        type=float,
        default=0.0,
        metavar="S",
        help="merge predicted segments shorter than S seconds into a neighbour",
    )
    add_cohort_args(p)
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if len(args.sessions) > 1 or wants_cluster(args):
        return run_cohort_predict(args)
    with quiet_stderr(args.quiet):  # -q: no notes, as for every command without a cohort
        return run_sequential(args)


def load_model(args: argparse.Namespace) -> tuple[ActivityModel, str, dict[str, str]]:
    """The model, the version its tracks record (which identifies it: file hash or registered
    version) and the registry's provenance params."""
    from harlab.ml.modelfile import ActivityModel

    if args.model.startswith("models:/"):
        from harlab.mlops.registry import load_model_spec, prediction_provenance

        model, ref = load_model_spec(args.model, args.tracking_uri)
        assert ref is not None
        version, params = prediction_provenance(ref, model)
        return model, version, params
    model = ActivityModel.load(args.model)
    return model, f"{model.info.preset} {model.info.created_utc} sha256:{sha256_of(args.model)[:12]}", {}


def run_sequential(args: argparse.Namespace) -> int:
    """Every session in this process, one after the other, with progress per window batch."""
    from harlab.storage import open_session

    for path in args.sessions:  # a missing, special, broken or hostile file is refused before the model loads
        if not Path(path).exists():
            raise HarlabError(f"{path}: no such session file")
        open_session(session_file(input_file(path, "a session file"))).close()
    from harlab.ml.predict import SmoothingConfig, predict_session

    model, version, params = load_model(args)
    sm = SmoothingConfig(None if args.no_hmm else args.p_switch, args.min_duration)
    warned: set[str] = set()
    for path in args.sessions:
        note(f"predicting {path}")
        t0 = time.perf_counter()
        with open_session(path, writable=True) as sf:
            sf.require_sound()  # before the work: a file that fails validate is not written into
            unknown_label_classes(path, sf.session, model.info.track, model.classes, warned)
            track = predict_session(
                model,
                sf.session,
                args.name,
                args.stride,
                sm,
                version,
                progress=lambda d, n: note(f"  {100 * d // max(n, 1)}%"),  # two passes over the windows
            )
            track.params.update(params)  # the exact registered version it came from
            sf.save()
        dt = time.perf_counter() - t0
        counts = Counter(s.label for s in track.segments)
        note(
            f"  {counted(len(track), 'window')}, {counted(len(track.segments), 'segment')} in {dt:.1f} s "
            f"-> track {track.name!r}"
        )
        if track.params.get("orientation", "as worn") != "as worn":
            note(
                f"  the device was worn differently from the training recordings ({track.params['orientation']}); "
                "mapped into their orientation"
            )
        print(result_line(path, track.name, counts.most_common()))
    return 0


def result_line(path: str, track: str, counts: Sequence[tuple[str, int]]) -> str:
    """The line on stdout for a predicted session: its path, the track and segments per class."""
    return f"{path}: {track}: " + ", ".join(f"{c} {n}" for c, n in counts)


def run_cohort_predict(args: argparse.Namespace) -> int:
    """Every session on a Dask cluster (:func:`harlab.mlops.cohort.run_cohort`), each predicted and
    saved by its worker; results on stdout in the order given, failures on stderr."""
    import os
    import tempfile

    from harlab.ml.predict import SmoothingConfig
    from harlab.mlops.cohort import local_workers
    from harlab.mlops.cohort_predict import PredictJob, PredictOutcome, predict_file

    options = cohort_options(args)
    # a file named twice would be two workers fighting over its lock: each file once, first place kept
    first: dict[str, str] = {}
    for p in args.sessions:
        first.setdefault(os.path.realpath(p), str(p))
    sessions = list(first.values())
    with quiet_stderr(args.quiet):
        model, version, params = load_model(args)
    if args.model.startswith("models:/"):  # the worker gets the model's file, written here once
        with tempfile.TemporaryDirectory(prefix="harlab-predict-") as tmp:
            model_bytes = model.save(Path(tmp) / "model.harmodel").read_bytes()
    else:
        model_bytes = Path(args.model).read_bytes()
    # local workers share this machine's cores; on a remote worker each session gets one thread
    threads = (
        0 if options.scheduler else max(1, (os.cpu_count() or 1) // local_workers(options, len(sessions)))
    )
    job = PredictJob(
        model_bytes=model_bytes,
        model_version=version,
        params=params,
        name=args.name,
        stride_s=args.stride,
        smoothing=SmoothingConfig(None if args.no_hmm else args.p_switch, args.min_duration),
        resume=args.resume,
        threads=threads,
    )
    warned: set[str] = set()

    def show(result: ItemResult) -> None:
        if result.status == "skipped":
            print(f"{result.item}: skipped: {result.message}", flush=True)
            return
        out: PredictOutcome = result.value
        fresh = [c for c in out.unknown_labels if class_key(c) not in warned]
        if fresh:
            warned.update(class_key(c) for c in fresh)
            warn_unknown(result.item, model.info.track, fresh, model.classes)
        if out.orientation != "as worn" and not args.quiet:
            note(
                f"{result.item}: the device was worn differently from the training recordings ({out.orientation})"
            )
        print(result_line(result.item, out.track, out.counts), flush=True)

    if not args.quiet:
        note(f"predicting {counted(len(sessions), 'session')} with {version}")
    return run_command_cohort(
        args, predict_file, sessions, show, shared=job, done="predicted", options=options
    )


def unknown_label_classes(
    path: str, session: Session, track: str, classes: Sequence[str], warned: set[str]
) -> None:
    """Warn once about classes the session's labels have that the model does not know.

    Their stretches are still predicted, as one of the model's classes, so comparing the
    prediction with the labels would look like the model's mistakes; a WISDM or UCI HAPT
    session under the demo model is the usual case. Names are matched as everywhere
    (:mod:`harlab.core.classnames`: case and separators do not count); ``warned`` holds the
    class keys already named, so several sessions name each class once.
    """
    from harlab.mlops.cohort_predict import unknown_label_classes as unknown_in

    unknown = [c for c in unknown_in(session, track, list(classes)) if class_key(c) not in warned]
    warned.update(class_key(c) for c in unknown)
    if unknown:
        warn_unknown(path, track, unknown, classes)


def warn_unknown(path: str, track: str, unknown: Sequence[str], classes: Sequence[str]) -> None:
    note(
        f"warning: {path}: its {track!r} labels have classes the model does not know: "
        f"{describe_unmatched(list(unknown), classes)}; the model predicts only {', '.join(classes)}, "
        "so its prediction cannot match those labels"
    )
