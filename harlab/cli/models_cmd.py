"""``harlab models list|show|promote|register|export-onnx``: the model registry and ONNX export.

The registry is MLflow's (``pip install 'harlab[mlops]'``), in the local store of
harlab's data folder unless ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` says
otherwise. ``export-onnx`` works on a model file or a registered model; see docs/MLOPS.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harlab.cli.shared_options import add_force, check_output, has_suffix
from harlab.core.errors import HarlabError
from harlab.core.wording import counted


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "models",
        help="registered models: list, show, promote (aliases), register a file, export to ONNX",
        description="The MLflow model registry of harlab models, and ONNX export; see docs/MLOPS.md.",
    )
    p.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI, else harlab's local store)",
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    sub.required = True

    ls = sub.add_parser("list", help="registered models with their aliases")
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    ls.set_defaults(func=run_list)

    sh = sub.add_parser(
        "show", help="versions of a registered model: aliases, run, preset, validation scores"
    )
    sh.add_argument("name", help="registered model name (see 'harlab models list')")
    sh.add_argument("--json", action="store_true", help="print the versions as JSON")
    sh.set_defaults(func=run_show)

    pr = sub.add_parser("promote", help="point an alias (staging, production, ...) at a version")
    pr.add_argument("name", help="registered model name")
    pr.add_argument("version", help="version number to point the alias at (see 'harlab models show NAME')")
    pr.add_argument("--alias", default="production", help="alias to set (default: production)")
    pr.set_defaults(func=run_promote)

    rg = sub.add_parser("register", help="log a harlab model file as a new version of NAME (a tracked run)")
    rg.add_argument("model", metavar="MODEL", help="model file written by 'harlab train'")
    rg.add_argument("--name", required=True, help="required: registered model name")
    rg.add_argument("--alias", default=None, help="also point this alias at the new version")
    rg.add_argument("--experiment", default="harlab", help="MLflow experiment of the run (harlab)")
    rg.set_defaults(func=run_register)

    ex = sub.add_parser("export-onnx", help="export a model's network to ONNX and check it against PyTorch")
    ex.add_argument(
        "model", metavar="MODEL", help="model file, or models:/NAME@ALIAS or models:/NAME/VERSION"
    )
    ex.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="required: ONNX file to write")
    ex.add_argument(
        "--sessions",
        nargs="*",
        default=(),
        metavar="SESSION",
        help="check parity on windows of these session files (default: synthetic windows)",
    )
    ex.add_argument("--tolerance", type=float, default=1e-4, help="largest |Δprob| allowed (1e-4)")
    ex.add_argument("--opset", type=int, default=18, help="ONNX opset version (18)")
    add_force(ex)
    ex.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    from harlab.mlops.registry import list_models

    models = list_models(args.tracking_uri)
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    if not models:
        print("no registered models (register with 'harlab train ... --register NAME')")
        return 0
    for m in models:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(m["aliases"].items())) or "-"
        print(f"{m['name']}\t{counted(m['versions'], 'version')}, latest v{m['latest']}\taliases: {aliases}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from harlab.mlops.registry import show_model

    info = show_model(args.name, args.tracking_uri)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{info['name']}  ({info['tracking_uri']})")
    if info["description"]:
        print(f"  {info['description']}")
    for v in info["versions"]:
        t = v["tags"]
        scores = (
            f"val acc {t['harlab.val_accuracy']} F1 {t['harlab.val_macro_f1']}"
            if "harlab.val_accuracy" in t
            else "no validation scores"
        )
        aliases = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
        print(
            f"  v{v['version']}{aliases}  {v['created_utc']}  {t.get('harlab.preset', '?')}  {scores}  "
            f"run {v['run_id']}"
        )
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from harlab.mlops.registry import set_alias

    ref = set_alias(args.name, args.version, args.alias, args.tracking_uri)
    print(f"{ref.name}@{args.alias} -> version {ref.version} ({ref.uri})")
    return 0


def run_register(args: argparse.Namespace) -> int:
    from harlab.ml.modelfile import ActivityModel
    from harlab.mlops.registry import set_alias
    from harlab.mlops.tracking import RunTracker, TrackingOptions

    path = Path(args.model)
    model = ActivityModel.load(path)
    opts = TrackingOptions(
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        register=args.name,
        run_name=f"register {path.name}",
    )
    from harlab.mlops.paths import require_mlflow

    require_mlflow()
    with RunTracker(opts, "register", path.with_name(path.name + ".register.json")) as run:
        run.log_params(
            {
                "model.name": model.info.name,
                "model.preset": model.info.preset,
                "model.classes": model.classes,
                "model.file": str(path.resolve()),
            }
        )
        run.log_json({"training_sessions": model.info.training_sessions}, "lineage/training.json")
        out = run.log_model(model, path) or {}
    version = out.get("registered_version")
    if args.alias and version:
        set_alias(args.name, version, args.alias, args.tracking_uri)
    print(json.dumps({"name": args.name, "version": version, "alias": args.alias, "run_id": run.run_id}))
    return 0


def run_export(args: argparse.Namespace) -> int:
    import numpy as np

    from harlab.cli.ml_options import load_sessions, note
    from harlab.ml.dataset import session_windows
    from harlab.mlops.onnx_export import export_onnx
    from harlab.mlops.registry import load_model_spec

    check_output(
        args.output,
        [args.model, *args.sessions],
        force=args.force,
        own_kind=has_suffix(".onnx"),
        kind="an ONNX file",
    )
    model, ref = load_model_spec(args.model, args.tracking_uri)
    sample = None
    if args.sessions:
        sessions, _, _ = load_sessions(args.sessions)
        parts = [session_windows(s, model.info).X for s in sessions]
        sample = np.concatenate(parts) if parts else None
        if sample is None or not len(sample):
            raise HarlabError("the sessions hold no complete window for this model")
        sample = sample[np.linspace(0, len(sample) - 1, min(len(sample), 512)).astype(int)]
    res = export_onnx(model, args.output, sample, args.tolerance, args.opset)
    note(
        f"wrote {res.path}: {res.member} network; max |Δprob| vs PyTorch {res.max_abs_diff:.2e} on "
        f"{counted(res.n_checked, 'window')} (tolerance {args.tolerance:g})"
    )
    if len(model.members) > 1:
        note("note: only the CNN half of the ensemble is exported; its probabilities are not the ensemble's")
    print(
        json.dumps(
            {
                "onnx": str(res.path),
                "member": res.member,
                "max_abs_diff": res.max_abs_diff,
                "windows_checked": res.n_checked,
                "source": ref.uri if ref else args.model,
            }
        )
    )
    return 0
