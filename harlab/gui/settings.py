"""Persistent GUI settings (QSettings) in one place.

Everything the window remembers between runs (recent files, palette, time-axis
mode, geometry) goes through these helpers so tests can point QSettings at a
temporary folder once (:func:`use_settings_dir`) and never touch the user's real
configuration.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings

ORGANIZATION = "harlab"
APPLICATION = "harlab"
MAX_RECENT = 10


def use_settings_dir(folder: str | Path, organization: str = ORGANIZATION) -> None:
    """Store settings as INI files under ``folder`` (tests, portable installs)."""
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    QCoreApplication.setOrganizationName(organization)
    QCoreApplication.setApplicationName(APPLICATION)


def settings() -> QSettings:
    """The settings store (INI format everywhere, so :func:`use_settings_dir` works)."""
    org = QCoreApplication.organizationName() or ORGANIZATION
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, org, APPLICATION)


def get_bool(key: str, default: bool = False) -> bool:
    value = settings().value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def set_value(key: str, value: object) -> None:
    s = settings()
    s.setValue(key, value)
    s.sync()


def get_str(key: str, default: str = "") -> str:
    value = settings().value(key, default)
    return default if value is None else str(value)


def recent_files() -> list[str]:
    """Recently opened sessions, newest first, only those that still exist."""
    value = settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [p for p in (value or []) if Path(p).exists()]


def add_recent_file(path: str | Path) -> None:
    p = str(Path(path).resolve())
    items = [x for x in recent_files() if x != p]
    set_value("recent_files", [p, *items][:MAX_RECENT])
