"""Session metadata: who, with which device, when, and where the data came from."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harlab.core.errors import SessionError


def check_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA zone, else raise SessionError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SessionError(f"unknown IANA timezone {name!r}") from exc
    return name


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class DeviceInfo:
    """A sensor device; ``placement`` is where it was worn ("left wrist")."""

    name: str = ""
    model: str = ""
    firmware: str = ""
    placement: str = ""
    address: str = ""


@dataclass
class SourceFile:
    path: str
    sha256: str
    size: int = 0

    @classmethod
    def of(cls, path: str | Path) -> SourceFile:
        p = Path(path)
        return cls(str(p), sha256_of(p), p.stat().st_size)


@dataclass
class Provenance:
    """Where the session's data came from, so results can be traced to files."""

    importer: str = ""
    harlab_version: str = ""
    sources: list[SourceFile] = field(default_factory=list)
    created_utc: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: str = ""


@dataclass
class Metadata:
    """``start_utc`` is tz-aware UTC, or ``None`` when the recording's start is
    unknown (the seed's CSV); stream times are seconds after it either way."""

    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    participant_id: str = ""
    devices: list[DeviceInfo] = field(default_factory=list)
    timezone: str = "UTC"
    start_utc: datetime | None = None
    notes: str = ""
    provenance: Provenance = field(default_factory=Provenance)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        if self.start_utc is not None:
            if self.start_utc.tzinfo is None:
                raise SessionError("start_utc must be timezone-aware")
            self.start_utc = self.start_utc.astimezone(UTC)

    @property
    def device(self) -> DeviceInfo:
        """The primary device (the first), created empty if there is none."""
        if not self.devices:
            self.devices.append(DeviceInfo())
        return self.devices[0]

    def local_start(self) -> datetime | None:
        if self.start_utc is None:
            return None
        return self.start_utc.astimezone(ZoneInfo(self.timezone))
