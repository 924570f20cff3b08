"""Where harlab keeps its MLflow store, and how to reach MLflow when it is installed.

The default store is a SQLite database plus an artifact folder in the user's harlab
data folder (MLflow 3 made ``sqlite:///`` its own default; the plain-file store is
being phased out). ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` point anywhere
else: a shared ``http(s)://`` server, ``databricks``, or an Azure ML workspace's
``azureml://`` URI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from harlab.core.errors import HarlabError

INSTALL_HINT = "pip install 'harlab[mlops]'"
DEFAULT_EXPERIMENT = "harlab"


class MlopsUnavailable(HarlabError):
    """MLflow (or ONNX) is not installed; the message says how to install it."""


def data_dir() -> Path:
    """harlab's per-user data folder: ``HARLAB_DATA_DIR``, else the platform's convention
    (``$XDG_DATA_HOME/harlab`` or ``~/.local/share/harlab`` on Linux)."""
    env = os.environ.get("HARLAB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "harlab"


def local_store_dir() -> Path:
    return data_dir() / "mlflow"


def default_tracking_uri() -> str:
    """``sqlite:///<data folder>/mlflow/mlflow.db`` (four slashes before an absolute path)."""
    return "sqlite:///" + (local_store_dir() / "mlflow.db").resolve().as_posix()


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit ``uri``, else ``MLFLOW_TRACKING_URI``, else the local default store."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def local_artifact_root(tracking_uri: str) -> str | None:
    """Artifact folder for experiments created in a local SQLite store (beside the database);
    None for servers, which choose their own artifact location."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri[len("sqlite:///"):])
    return (db.parent / "artifacts").resolve().as_uri()


def tracking_disabled_by_env() -> bool:
    """``HARLAB_TRACKING=off`` (or 0/false/no) turns tracking off like ``--no-track``."""
    return os.environ.get("HARLAB_TRACKING", "").strip().lower() in ("off", "0", "false", "no")


def mlflow_available() -> bool:
    """Whether MLflow imports (it is imported anyway when tracking starts)."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def require_mlflow() -> Any:
    """Import and return ``mlflow``, or raise :class:`MlopsUnavailable` with the install hint."""
    try:
        import mlflow
    except ImportError as exc:
        raise MlopsUnavailable(f"MLflow is not installed; to track runs and use the registry: {INSTALL_HINT}") from exc
    return mlflow


def prepare_store(tracking_uri: str) -> None:
    """Create the folder of a local SQLite store so MLflow can create the database."""
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def registry_uri_for(tracking_uri: str) -> str | None:
    """The registry is the tracking store itself, except where MLflow has its own default (Databricks)
    or ``MLFLOW_REGISTRY_URI`` names another."""
    if os.environ.get("MLFLOW_REGISTRY_URI"):
        return os.environ["MLFLOW_REGISTRY_URI"]
    return None if tracking_uri.startswith("databricks") else tracking_uri


def use_store(uri: str | None = None) -> tuple[Any, str]:
    """Import MLflow and point it at harlab's store; returns ``(mlflow, tracking_uri)``.

    Every command that touches MLflow comes through here, so ``train``, ``models``, ``predict``,
    ``serve`` and ``evaluate`` all find the same store (:func:`resolve_tracking_uri`). MLflow's
    process-wide tracking URI is set too: parts of MLflow read it rather than the URI passed to
    them (resolving a ``models:/`` URI, for one) and would otherwise open MLflow's own default, a
    ``mlflow.db`` in the working folder.
    """
    mlflow = require_mlflow()
    resolved = resolve_tracking_uri(uri)
    prepare_store(resolved)
    mlflow.set_tracking_uri(resolved)
    return mlflow, resolved
