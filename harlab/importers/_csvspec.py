"""The reusable description of a CSV layout for the generic CSV importer.

A :class:`CsvSpec` says which column holds time (and in what unit), which columns
form which stream (with channel names, units and an optional scale factor) and which
columns hold labels. It is a plain dataclass that round-trips through a dict, a JSON
file or a small TOML file, so a lab writes it once and reuses it for every file of a
study::

    time_column = "timestamp"
    time_unit = "ms"

    [labels]
    activity = "label"

    [[streams]]
    name = "accelerometer"
    columns = ["ax", "ay", "az"]
    channels = ["x", "y", "z"]
    units = "g"
    scale = 9.80665
    kind = "accelerometer"

TOML is read with :mod:`tomllib`; writing uses a tiny emitter for exactly this shape
(the standard library has no TOML writer and the spec needs nothing more).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from harlab.core.errors import HarlabError

TIME_UNITS = ("s", "ms", "us", "ns", "iso", "samples", "auto")
TIME_ORIGINS = ("auto", "relative", "unix")


class CsvSpecError(HarlabError):
    """A CSV spec (dict, JSON or TOML file) is malformed."""


@dataclass
class StreamSpec:
    """Columns that together form one stream; ``units`` is one string or one per channel."""

    name: str
    columns: list[str]
    channels: list[str] | None = None  #: default: the column names
    units: list[str] | str = ""
    kind: str = ""
    device: str = ""
    scale: float = 1.0  #: values are multiplied by this (e.g. 9.80665 for g -> m/s^2)

    def channel_names(self) -> list[str]:
        return list(self.channels) if self.channels else list(self.columns)

    def unit_list(self) -> list[str]:
        if isinstance(self.units, str):
            return [self.units] * len(self.columns)
        return list(self.units)

    def validate(self) -> None:
        if not self.name or "/" in self.name:
            raise CsvSpecError(f"stream name {self.name!r} is empty or contains '/'")
        if not self.columns:
            raise CsvSpecError(f"stream {self.name!r} lists no columns")
        if self.channels is not None and len(self.channels) != len(self.columns):
            raise CsvSpecError(
                f"stream {self.name!r}: {len(self.channels)} channel names for {len(self.columns)} columns"
            )
        if not isinstance(self.units, str) and len(self.units) != len(self.columns):
            raise CsvSpecError(
                f"stream {self.name!r}: {len(self.units)} units for {len(self.columns)} columns"
            )
        if not (isinstance(self.scale, int | float) and math.isfinite(self.scale)):
            raise CsvSpecError(f"stream {self.name!r}: scale {self.scale!r} is not a finite number")

    @classmethod
    def parse(cls, text: str) -> StreamSpec:
        """A stream from a command-line option: ``NAME=COL1,COL2,COL3[:UNIT]``.

        Example: ``accelerometer=ax,ay,az:m/s^2``.
        """
        m = re.fullmatch(r"\s*([^=/\s]+)\s*=\s*([^:]+?)\s*(?::\s*(.+?))?\s*", text)
        if not m:
            raise CsvSpecError(f"cannot read stream option {text!r}; expected NAME=COL1,COL2[:UNIT]")
        cols = [c.strip() for c in m.group(2).split(",") if c.strip()]
        return cls(m.group(1), cols, units=m.group(3) or "")


@dataclass
class CsvSpec:
    """How to read one kind of CSV file. Empty ``streams`` means: infer from the header."""

    time_column: str | None = None
    time_unit: str = "auto"  #: s, ms, us, ns, iso, samples (indices at rate_hz) or auto
    #: label tables (``harlab labels import``): the column of each segment's end; ``time_column``
    #: is then its start and ``labels`` maps track names to the class columns
    end_column: str | None = None
    time_origin: str = "auto"  #: relative, unix, or auto (epoch-looking values are unix)
    rate_hz: float | None = None  #: when there is no time column: row i is at i / rate_hz
    timezone: str | None = None  #: IANA zone of ISO times written without an offset
    delimiter: str = ","
    decimal: str = "."
    header: bool = True  #: False: columns are named "0", "1", ... by position
    skip_rows: int = 0  #: lines before the header (or the data, without header)
    streams: list[StreamSpec] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  #: label track -> column
    participant: str | None = None

    def validate(self) -> CsvSpec:
        if self.time_unit not in TIME_UNITS:
            raise CsvSpecError(f"time_unit {self.time_unit!r} is not one of {', '.join(TIME_UNITS)}")
        if self.time_origin not in TIME_ORIGINS:
            raise CsvSpecError(f"time_origin {self.time_origin!r} is not one of {', '.join(TIME_ORIGINS)}")
        if self.rate_hz is not None and not (math.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise CsvSpecError(f"rate_hz {self.rate_hz!r} must be a positive number")
        if len(self.delimiter) != 1 or self.delimiter in '\r\n"':
            raise CsvSpecError(f"delimiter {self.delimiter!r} must be one character")
        if len(self.decimal) != 1:
            raise CsvSpecError(f"decimal {self.decimal!r} must be one character")
        if self.skip_rows < 0:
            raise CsvSpecError("skip_rows must be >= 0")
        names = set()
        for s in self.streams:
            s.validate()
            if s.name in names:
                raise CsvSpecError(f"two streams are called {s.name!r}")
            names.add(s.name)
        for track, col in self.labels.items():
            if not track or "/" in track or not col:
                raise CsvSpecError(f"label track {track!r} -> column {col!r} is invalid")
        return self

    # -- dict / files ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CsvSpec:
        if not isinstance(d, dict):
            raise CsvSpecError(f"a CSV spec must be a table/object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise CsvSpecError(
                f"unknown CSV spec keys: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        d = dict(d)
        streams = []
        skeys = {f.name for f in fields(StreamSpec)}
        for i, s in enumerate(d.pop("streams", []) or []):
            if isinstance(s, StreamSpec):
                streams.append(s)
                continue
            if not isinstance(s, dict) or set(s) - skeys or "name" not in s or "columns" not in s:
                raise CsvSpecError(
                    f"streams[{i}] must have name and columns (and only {', '.join(sorted(skeys))})"
                )
            streams.append(StreamSpec(**s))
        labels = d.pop("labels", {}) or {}
        if not isinstance(labels, dict):
            raise CsvSpecError("labels must map track names to column names")
        try:
            spec = cls(streams=streams, labels={str(k): str(v) for k, v in labels.items()}, **d)
        except TypeError as exc:
            raise CsvSpecError(f"invalid CSV spec: {exc}") from exc
        return spec.validate()

    @classmethod
    def load(cls, path: str | Path) -> CsvSpec:
        """From ``.toml`` or ``.json`` (by extension; other names are tried as TOML, then JSON)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CsvSpecError(f"{p}: cannot read the CSV spec: {exc}") from exc
        try:
            if p.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                try:
                    data = tomllib.loads(text)
                except tomllib.TOMLDecodeError:
                    if p.suffix.lower() == ".toml":
                        raise
                    data = json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise CsvSpecError(f"{p}: not a valid TOML/JSON CSV spec: {exc}") from exc
        except RecursionError:
            raise CsvSpecError(f"{p}: not a valid TOML/JSON CSV spec: nested too deeply") from None
        try:
            return cls.from_dict(data)
        except CsvSpecError as exc:
            raise CsvSpecError(f"{p}: {exc}") from exc

    def save(self, path: str | Path) -> Path:
        """Write as JSON (``.json``) or TOML (anything else)."""
        p = Path(path)
        self.validate()
        if p.suffix.lower() == ".json":
            p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        else:
            p.write_text(to_toml(self.to_dict()), encoding="utf-8")
        return p

    @classmethod
    def coerce(cls, value: object) -> CsvSpec:
        """A spec from a CsvSpec, a dict, or a path to a spec file.

        This is what ``ImportOptions.extra["spec"]`` may hold.
        """
        if isinstance(value, CsvSpec):
            return value.validate()
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, str | Path):
            return cls.load(value)
        raise CsvSpecError(f"a CSV spec must be a dict or a path to a .toml/.json file, got {value!r}")


# -- a tiny TOML writer for the spec's shape -----------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise CsvSpecError(f"cannot write {v} to TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string uses the same escapes
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise CsvSpecError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(d: dict[str, Any]) -> str:
    """Scalars and lists at the top, then tables, then arrays of tables (one level deep)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        elif isinstance(v, list) and not v:
            continue
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, t in tables:
        lines += ["", f"[{_toml_key(k)}]"]
        lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in t.items() if b is not None]
    for k, items in arrays:
        for item in items:
            lines += ["", f"[[{_toml_key(k)}]]"]
            lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in item.items() if b is not None]
    return "\n".join(lines) + "\n"


__all__ = ["CsvSpec", "CsvSpecError", "StreamSpec", "to_toml"]
