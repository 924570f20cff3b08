"""The model registry: log harlab models as MLflow pyfuncs, register versions, move aliases, load them back.

A registered harlab model is an MLflow pyfunc whose ``artifacts/`` folder holds the
harlab model file, so anything that speaks MLflow can serve it and harlab itself can
load the exact file back (:func:`load_registered`) without pickles. Versions are
immutable; aliases (``staging``, ``production``) point at one version each and move
with ``harlab models promote``. Predictions made from a registered model record
``models:/NAME/VERSION`` and the registry they came from (:func:`prediction_provenance`).
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harlab import __version__
from harlab.core.errors import HarlabError
from harlab.core.metadata import sha256_of
from harlab.ml.model_archive import MODEL_SUFFIX, open_regular
from harlab.ml.modelfile import ActivityModel, ModelFileError
from harlab.mlops.paths import (
    registry_uri_for,
    require_mlflow,
    use_store,
)

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[^/]+))?/?$")


@dataclass(frozen=True)
class ModelRef:
    """One registered model version and where it lives."""

    name: str
    version: str
    alias: str | None
    tracking_uri: str
    run_id: str | None = None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``: the immutable reference (an alias may move later)."""
        return f"models:/{self.name}/{self.version}"


def public_uri(uri: str) -> str:
    """The tracking URI without user name or password, fit to be written into files."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return uri


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` (or ``models:/NAME``: latest) -> (name, alias, version)."""
    m = _URI.match(uri)
    if not m:
        raise HarlabError(
            f"{uri!r} is not a registered-model URI (expected models:/NAME@ALIAS or models:/NAME/VERSION)"
        )
    return m.group("name"), m.group("alias"), m.group("version")


def _client(tracking_uri: str | None) -> tuple[Any, str]:
    _, uri = use_store(tracking_uri)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=registry_uri_for(uri)), uri


def _mlflow_error(exc: Exception, what: str) -> HarlabError:
    msg = getattr(exc, "message", None) or str(exc)
    return HarlabError(f"{what}: {msg}")


def resolve_version(
    name: str, alias_or_version: str | None = None, tracking_uri: str | None = None
) -> ModelRef:
    """Which version an alias (or ``latest``, or a number) names right now."""
    client, uri = _client(tracking_uri)
    sel = alias_or_version or "latest"
    try:
        if sel.isdigit():
            mv = client.get_model_version(name, sel)
            alias = None
        elif sel == "latest":
            versions = client.search_model_versions(f"name='{name}'")
            if not versions:
                raise HarlabError(f"registered model {name!r} has no versions in {public_uri(uri)}")
            mv = max(versions, key=lambda v: int(v.version))
            alias = None
        else:
            mv = client.get_model_version_by_alias(name, sel)
            alias = sel
    except HarlabError:
        raise
    except Exception as exc:  # MlflowException: RESOURCE_DOES_NOT_EXIST and friends
        known = ""
        try:
            rm = client.get_registered_model(name)
            known = f"; aliases: {', '.join(f'{a}->v{v}' for a, v in rm.aliases.items()) or 'none'}"
        except Exception:  # the model itself is unknown
            known = f"; no registered model {name!r} there"
        raise _mlflow_error(exc, f"cannot resolve {name}@{sel} in {public_uri(uri)}{known}") from exc
    return ModelRef(name, str(mv.version), alias, uri, mv.run_id)


def load_registered(
    name: str, alias_or_version: str | None = "production", tracking_uri: str | None = None
) -> tuple[ActivityModel, str, str]:
    """Load a registered version as an :class:`ActivityModel` (Qt-free; for the workbench and the server).

    Returns ``(model, "models:/NAME/VERSION", version)``; the URI names the exact version even
    when asked by alias, so what is recorded does not move with the alias.
    """
    model, ref = load_ref(name, alias_or_version, tracking_uri)
    return model, ref.uri, ref.version


def load_ref(
    name: str, alias_or_version: str | None = "production", tracking_uri: str | None = None
) -> tuple[ActivityModel, ModelRef]:
    mlflow = require_mlflow()
    ref = resolve_version(name, alias_or_version, tracking_uri)
    client, _ = _client(ref.tracking_uri)
    with tempfile.TemporaryDirectory(prefix="harlab-model-") as tmp:
        try:
            # the version's own artifact location, from the store resolved above: a models:/ URI
            # would be looked up again by MLflow in its process-wide default store
            source = client.get_model_version_download_uri(ref.name, ref.version)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=source,
                dst_path=tmp,
                tracking_uri=ref.tracking_uri,
                registry_uri=registry_uri_for(ref.tracking_uri),
            )
        except Exception as exc:
            raise _mlflow_error(
                exc, f"cannot download {ref.uri} from {public_uri(ref.tracking_uri)}"
            ) from exc
        files = sorted(Path(local).rglob(f"*{MODEL_SUFFIX}"))
        if not files:
            raise HarlabError(
                f"{ref.uri} holds no harlab model file ({MODEL_SUFFIX}); was it logged by harlab?"
            )
        model = ActivityModel.load(files[0])
    return model, ref


def load_model_spec(spec: str, tracking_uri: str | None = None) -> tuple[ActivityModel, ModelRef | None]:
    """A model file path, or ``models:/NAME@ALIAS`` / ``models:/NAME/VERSION`` from the registry."""
    if spec.startswith("models:/"):
        name, alias, version = parse_models_uri(spec)
        return load_ref(name, alias or version or "latest", tracking_uri)
    return ActivityModel.load(spec), None


def prediction_provenance(ref: ModelRef, model: ActivityModel) -> tuple[str, dict[str, str]]:
    """``(model_version, params)`` for a :class:`~harlab.core.predictions.PredictionTrack` made by a
    registered model: the exact ``models:/NAME/VERSION``, the alias used, the registry and run."""
    version = f"{ref.uri} ({model.info.preset} {model.info.created_utc})"
    params = {
        "registry_uri": public_uri(ref.tracking_uri),
        "model_uri": ref.uri,
        "registered_model": ref.name,
        "registered_version": ref.version,
        "registered_alias": ref.alias or "",
        "mlflow_run_id": ref.run_id or "",
    }
    return version, params


def predict_registered(
    session: Any,
    name: str,
    alias_or_version: str | None = "production",
    tracking_uri: str | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`harlab.ml.predict.predict_session` with a registered model; the track records the version."""
    from harlab.ml.predict import predict_session

    model, ref = load_ref(name, alias_or_version, tracking_uri)
    version, params = prediction_provenance(ref, model)
    track = predict_session(model, session, model_version=version, **kwargs)
    track.params.update(params)
    return track


# -- logging and registering -----------------------------------------------------------------------


def pip_requirements() -> list[str]:
    """What the pyfunc needs (listed, not inferred: inference loads the model in a subprocess)."""
    reqs = [f"harlab=={__version__}"]
    for pkg in ("mlflow", "torch", "lightgbm", "numpy", "scipy", "pandas"):
        try:
            reqs.append(f"{pkg}=={importlib.metadata.version(pkg).split('+')[0]}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(pkg)
    return reqs


def stage_checked(model_path: Path, folder: Path) -> tuple[Path, ActivityModel]:
    """Copy the model file into ``folder`` and load the copy (:meth:`ActivityModel.load`, the one
    validation of model files); a problem names ``model_path``, not the copy."""
    staged = folder / f"{model_path.stem or 'model'}{MODEL_SUFFIX}"
    try:
        with open_regular(model_path) as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except HarlabError as exc:
        raise ModelFileError(model_path, str(exc)) from exc
    try:
        return staged, ActivityModel.load(staged)
    except ModelFileError as exc:
        raise ModelFileError(model_path, exc.problem) from exc


def log_pyfunc(
    model: ActivityModel, model_path: Path, register_name: str | None = None, artifact_name: str = "model"
) -> dict[str, Any]:
    """Log ``model`` (already saved at ``model_path``) as a pyfunc in the active run; register it
    as a new version of ``register_name`` when given. Returns the URIs and the version.

    What is logged and described is the file at ``model_path`` as :meth:`ActivityModel.load`
    reads it (``model`` is the caller's copy of it): a file that does not load is refused with
    the same :class:`ModelFileError`, and nothing is logged."""
    require_mlflow()
    import mlflow.pyfunc

    from harlab.mlops.scoring import WindowScorer

    code_path = Path(__file__).with_name("pyfunc_model_code.py")  # never imported: it calls set_model
    with tempfile.TemporaryDirectory(prefix="harlab-log-") as tmp:
        # what is logged is a private copy, validated exactly as loading validates (the file
        # could change between a check of it and MLflow's copy); the artifact keeps a
        # recognisable name
        model_path, model = stage_checked(Path(model_path), Path(tmp))
        describe = WindowScorer(model).describe()
        describe["model_sha256"] = sha256_of(model_path)
        # MLflow warns that it cannot infer a signature: on purpose, harlab.mlops.scoring checks the
        # input (a tensor signature would refuse tables and the seed's format; see docs/MLOPS.md)
        pyfunc_log = logging.getLogger("mlflow.pyfunc")
        level = pyfunc_log.level
        pyfunc_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*signature.*")
                info = mlflow.pyfunc.log_model(
                    name=artifact_name,
                    python_model=str(code_path),
                    artifacts={"harlab_model": str(model_path)},
                    pip_requirements=pip_requirements(),
                    metadata={"harlab": describe},
                    registered_model_name=register_name,
                )
        except Exception as exc:
            raise _mlflow_error(exc, "cannot log the model to MLflow") from exc
        finally:
            pyfunc_log.setLevel(level)
    out: dict[str, Any] = {"model_uri": info.model_uri, "model_sha256": describe["model_sha256"]}
    if register_name:
        version = str(info.registered_model_version)
        out.update(registered_name=register_name, registered_version=version)
        client, _ = _client(mlflow.get_tracking_uri())
        tags = {
            "harlab.preset": model.info.preset,
            "harlab.classes": ",".join(model.classes)[:5000],
            "harlab.rate_hz": f"{model.info.rate_hz:g}",
            "harlab.window_s": f"{model.info.window_s:g}",
            "harlab.model_sha256": describe["model_sha256"],
        }
        val = model.info.metrics.get("validation")
        if val:
            tags["harlab.val_accuracy"] = f"{val['accuracy']:.4f}"
            tags["harlab.val_macro_f1"] = f"{val['macro_f1']:.4f}"
        for k, v in tags.items():
            client.set_model_version_tag(register_name, version, k, v)
        rm = client.get_registered_model(register_name)
        if not rm.description:
            client.update_registered_model(
                register_name,
                description=(
                    f"harlab activity model: {', '.join(model.classes)[:300]}; {model.info.window_s:g} s windows at "
                    f"{model.info.rate_hz:g} Hz of {', '.join(model.info.channels)}"
                ),
            )
    return out


def tag_version(name: str, version: str, tags: dict[str, str], tracking_uri: str | None = None) -> None:
    """Set tags on one registered version (a personal model's parent, for one)."""
    client, uri = _client(tracking_uri)
    try:
        for k, v in tags.items():
            client.set_model_version_tag(name, str(version), k, v[:5000])
    except Exception as exc:
        raise _mlflow_error(exc, f"cannot tag {name} version {version} in {public_uri(uri)}") from exc


def set_alias(name: str, version: str, alias: str, tracking_uri: str | None = None) -> ModelRef:
    """Point ``alias`` at ``version`` (``harlab models promote``); returns the new reference."""
    client, uri = _client(tracking_uri)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", alias) or alias.lower() == "latest" or alias.isdigit():
        raise HarlabError(
            f"{alias!r} is not a valid alias (letters, digits, _ and -; not 'latest' or a number)"
        )
    try:
        mv = client.get_model_version(name, str(version))
        client.set_registered_model_alias(name, alias, str(version))
    except Exception as exc:
        raise _mlflow_error(
            exc, f"cannot set {name}@{alias} -> version {version} in {public_uri(uri)}"
        ) from exc
    return ModelRef(name, str(version), alias, uri, mv.run_id)


def delete_alias(name: str, alias: str, tracking_uri: str | None = None) -> None:
    client, uri = _client(tracking_uri)
    try:
        client.delete_registered_model_alias(name, alias)
    except Exception as exc:
        raise _mlflow_error(exc, f"cannot remove {name}@{alias} in {public_uri(uri)}") from exc


def _ts(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else ""


def list_models(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Registered models with their versions count, aliases and latest version."""
    client, uri = _client(tracking_uri)
    out = []
    try:
        for rm in client.search_registered_models(order_by=["name ASC"]):
            versions = client.search_model_versions(f"name='{rm.name}'")
            latest = max((int(v.version) for v in versions), default=0)
            out.append(
                {
                    "name": rm.name,
                    "versions": len(versions),
                    "latest": str(latest) if latest else "",
                    "aliases": dict(rm.aliases),
                    "description": rm.description or "",
                    "updated_utc": _ts(rm.last_updated_timestamp),
                }
            )
    except Exception as exc:
        raise _mlflow_error(exc, f"cannot list registered models in {public_uri(uri)}") from exc
    return out


def show_model(name: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """A registered model's versions: aliases, run, tags (preset, classes, validation scores), status."""
    client, uri = _client(tracking_uri)
    try:
        rm = client.get_registered_model(name)
        versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    except Exception as exc:
        raise _mlflow_error(exc, f"no registered model {name!r} in {public_uri(uri)}") from exc
    by_version: dict[str, list[str]] = {}
    for a, v in rm.aliases.items():
        by_version.setdefault(str(v), []).append(a)
    return {
        "name": rm.name,
        "description": rm.description or "",
        "aliases": dict(rm.aliases),
        "tracking_uri": public_uri(uri),
        "versions": [
            {
                "version": str(v.version),
                "aliases": sorted(by_version.get(str(v.version), [])),
                "run_id": v.run_id,
                "status": v.status,
                "created_utc": _ts(v.creation_timestamp),
                "source": v.source,
                "tags": dict(v.tags),
            }
            for v in versions
        ],
    }
