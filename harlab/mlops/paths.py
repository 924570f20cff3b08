"""Where harlab keeps its MLflow store, and how to reach MLflow when it is installed.

The default store is a SQLite database plus an artifact folder in the user's harlab
data folder (MLflow 3 made ``sqlite:///`` its own default; the plain-file store is
being phased out). ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` point anywhere
else: a shared ``http(s)://`` server, ``databricks``, or an Azure ML workspace's
``azureml://`` URI. A plain folder there (``MLFLOW_TRACKING_URI=/data/store``, what MLflow 2's
file store took) means a SQLite store inside that folder: MLflow 3 refuses to write a file store,
so harlab does not hand it one (:func:`store_for_path`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harlab.core.errors import HarlabError

INSTALL_HINT = "pip install 'harlab[mlops]'"
DEFAULT_EXPERIMENT = "harlab"


@dataclass
class TrackingOptions:
    """How a command run is tracked; ``register`` names a registered model to add a version to."""

    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str = DEFAULT_EXPERIMENT
    register: str | None = None
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


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


#: a URI scheme of two letters or more (``C:`` is a Windows drive, not a scheme)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
#: tracking URIs without a colon that MLflow knows by name
_NAMED_STORES = ("databricks", "databricks-uc")
_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class FileStoreRefused(HarlabError):
    """The tracking URI names an MLflow 2 file store (``mlruns/``), which MLflow 3 no longer writes."""


def store_for_path(raw: str, source: str) -> str:
    """The tracking URI for a plain path (or ``file:`` URI) given as a tracking URI.

    MLflow 3 stops a plain-folder (file) store with a "maintenance mode" error, so a folder means
    ``sqlite:///FOLDER/mlflow.db`` (artifacts in ``FOLDER/artifacts``), and a path ending in
    ``.db``/``.sqlite`` means that database. A folder that already holds an MLflow file store is
    refused rather than silently replaced by an empty database beside its runs. ``source`` names
    where the path came from (``--tracking-uri`` or ``MLFLOW_TRACKING_URI``) for the error.
    """
    text = raw[len("file:") :] if raw.startswith("file:") else raw
    if text.startswith("//"):  # file:///abs/path or file://localhost/abs/path
        text = "/" + text[2:].partition("/")[2]
    path = Path(text).expanduser().resolve()
    if path.suffix.lower() in _DB_SUFFIXES or path.is_file():
        return "sqlite:///" + path.as_posix()
    if (path / ".trash").is_dir() or (path / "0" / "meta.yaml").is_file():
        db = f"sqlite:///{(path.parent / (path.name + '.db')).as_posix()}"
        raise FileStoreRefused(
            f"{source}={raw} is an MLflow file store (mlruns/), which MLflow 3 no longer writes: move its runs "
            f"into a database with 'mlflow migrate-filestore --source {path} --target {db}' and set "
            f"{source}={db} (or name another folder)"
        )
    return "sqlite:///" + (path / "mlflow.db").as_posix()


def is_plain_path(uri: str) -> bool:
    """Whether a tracking URI is a file-system path (or ``file:`` URI) rather than a store URI."""
    return uri.startswith("file:") or not (_SCHEME.match(uri) or uri in _NAMED_STORES)


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit ``uri``, else ``MLFLOW_TRACKING_URI``, else the local default store; a plain
    path becomes a SQLite store (:func:`store_for_path`)."""
    source = "--tracking-uri" if uri else "MLFLOW_TRACKING_URI"
    given = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not given:
        return default_tracking_uri()
    if is_plain_path(given) and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in ("true", "1"):
        return store_for_path(given, source)
    return given


def local_artifact_root(tracking_uri: str) -> str | None:
    """Artifact folder for experiments created in a local SQLite store (beside the database);
    None for servers, which choose their own artifact location."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri[len("sqlite:///") :])
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


#: libraries whose INFO lines ("Creating initial MLflow database tables", alembic's migration steps)
#: would otherwise reach stderr: harlab's own notes say what happened, and -q must mean quiet
_CHATTY_LOGGERS = ("mlflow", "alembic")


def quiet_library_logs() -> None:
    """Show only warnings and errors from MLflow and alembic (their INFO lines are not harlab's
    interface); called wherever harlab imports MLflow, after MLflow configured its logger."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def require_mlflow() -> Any:
    """Import and return ``mlflow``, or raise :class:`MlopsUnavailable` with the install hint."""
    try:
        import mlflow
    except ImportError as exc:
        raise MlopsUnavailable(
            f"MLflow is not installed; to track runs and use the registry: {INSTALL_HINT}"
        ) from exc
    quiet_library_logs()
    return mlflow


def prepare_store(tracking_uri: str) -> None:
    """Create the folder of a local SQLite store so MLflow can create the database."""
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def registry_uri_for(tracking_uri: str) -> str | None:
    """The registry is the tracking store itself, except where MLflow has its own default (Databricks)
    or ``MLFLOW_REGISTRY_URI`` names another."""
    if os.environ.get("MLFLOW_REGISTRY_URI"):
        return os.environ["MLFLOW_REGISTRY_URI"]
    return None if tracking_uri.startswith("databricks") else tracking_uri


_ANNOUNCED: set[str] = set()  #: plain-path URIs already explained in this process


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
    given = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if given and resolved != given and given not in _ANNOUNCED:
        _ANNOUNCED.add(given)
        print(
            f"tracking URI {given} is a path, not a store URI: using the SQLite store {resolved} "
            "(MLflow 3 no longer writes folder stores)",
            file=sys.stderr,
            flush=True,
        )
    prepare_store(resolved)
    mlflow.set_tracking_uri(resolved)
    return mlflow, resolved
