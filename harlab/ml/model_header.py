"""The JSON header of a model file, checked field by field before anything acts on it.

A header is data from whoever wrote the file. Every field that harlab computes with is
checked for its type and range here, so a wrong type, a rate of 0, -1, inf or NaN, an
orientation of the wrong length or an architecture of a billion layers is a clear
:class:`~harlab.core.errors.HarlabError` and never a traceback, a hang or an allocation
later on. The limits are far above anything harlab trains (:data:`LIMITS`); the free-form
parts (training sessions, configuration, metrics) may only nest :data:`MAX_DEPTH` deep.

What the header promises about the arrays (classes, channels and window length against
the weights' shapes and the booster's trees) is checked by the members when they are
restored (:mod:`harlab.ml.modelfile`, :mod:`harlab.ml.booster_text`).
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, fields
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.streams import MAX_NAME_CHARS
from harlab.ml.context import CONTEXT_NAMES
from harlab.ml.model_presets import MAX_GBM_NEIGHBOURS
from harlab.ml.models import PADDINGS, CNN1DConfig, Seed2DConfig, margins

MAX_HEADER_BYTES = 64 << 20
MAX_DEPTH = 32
#: upper bounds of the header's numbers (lower bounds are 1 unless said otherwise)
LIMITS: dict[str, int] = {
    "classes": 10_000,
    "channels": 256,
    "rate_hz": 100_000,
    "window_samples": 100_000,  #: samples per window
    "window_values": 4_000_000,  #: samples x channels of one window (16 MB of float32)
    "members": 16,
    "depth": 64,  #: cnn1d blocks
    "blocks": 16,  #: seed2d blocks
    "width": 65_536,
    "kernel": 4_096,
    #: values of a network's widest layer for one window (16 MB of float32; a batch of windows
    #: multiplies it): filters x samples (x channels for seed2d)
    "activations": 1 << 22,
}
_INFO_TEXT = ("track", "label_policy", "preset", "name", "harlab_version", "created_utc")


def parse_header(raw: np.ndarray) -> dict[str, Any]:
    """The header entry (UTF-8 JSON as bytes) -> the checked header dict."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise HarlabError(f"the header is a {raw.dtype} array of shape {raw.shape}, not bytes")
    if raw.size > MAX_HEADER_BYTES:
        raise HarlabError(f"the header is {raw.size} bytes; at most {MAX_HEADER_BYTES}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarlabError(f"the header is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise HarlabError(
            f"the header nests deeper than JSON can be read (at most {MAX_DEPTH} levels)"
        ) from exc
    except ValueError as exc:  # an integer of more digits than Python converts
        raise HarlabError(f"the header holds an invalid number: {exc}") from exc
    _check_depth(header)
    return header


def _check_depth(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > MAX_DEPTH:
                raise HarlabError(f"the header nests more than {MAX_DEPTH} levels deep")
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))


# -- typed fields ----------------------------------------------------------------------------------


def _where(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def need_int(d: dict[str, Any], key: str, where: str, lo: int = 1, hi: int | None = None) -> int:
    return int_value(d.get(key), _where(where, key), lo, hi)


def int_value(v: Any, name: str, lo: int = 1, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise HarlabError(f"header field {name} must be an integer, got {_show(v)}")
    if v < lo or (hi is not None and v > hi):
        raise HarlabError(f"header field {name} = {v} is outside {lo}..{hi if hi is not None else ''}")
    return v


def need_float(d: dict[str, Any], key: str, where: str, lo: float, hi: float, lo_open: bool = False) -> float:
    return float_value(d.get(key), _where(where, key), lo, hi, lo_open)


def float_value(v: Any, name: str, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise HarlabError(f"header field {name} must be a number, got {_show(v)}")
    f = float(v)
    if not math.isfinite(f) or f < lo or f > hi or (lo_open and f == lo):
        bound = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
        raise HarlabError(f"header field {name} = {v!r} must be a finite number in {bound}")
    return f


def need_bool(d: dict[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    if key not in d and default is not None:
        return default
    v = d.get(key)
    if not isinstance(v, bool):
        raise HarlabError(f"header field {_where(where, key)} must be true or false, got {_show(v)}")
    return v


def need_strings(d: dict[str, Any], key: str, where: str, lo: int, hi: int) -> list[str]:
    v = d.get(key)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise HarlabError(f"header field {_where(where, key)} must be a list of strings, got {_show(v)}")
    if not lo <= len(v) <= hi:
        expected = f"{lo} (one per channel)" if lo == hi else f"{lo}..{hi}"
        raise HarlabError(f"header field {_where(where, key)} has {len(v)} entries; expected {expected}")
    for s in v:
        _check_name(s, _where(where, key))
    return v


def _check_name(s: str, where: str) -> None:
    """Names (classes, channels, units, the track) become names in session files and are quoted
    whole in messages, so they are held to the session file's own limit."""
    if len(s) > MAX_NAME_CHARS:
        raise HarlabError(
            f"header field {where} holds a name of {len(s)} characters ({_show(s)}); at most {MAX_NAME_CHARS}"
        )


def _show(v: Any) -> str:
    text = json.dumps(v) if isinstance(v, str | int | float | bool | type(None)) else type(v).__name__
    return text if len(text) <= 60 else text[:57] + "..."


# -- the header ------------------------------------------------------------------------------------


def check_header(header: Any, format_name: str, format_version: int) -> None:
    """Check the whole header (format, info, weights, member headers); raise on the first problem."""
    if not isinstance(header, dict) or header.get("format") != format_name:
        raise HarlabError(f"header format is not {format_name!r}")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= format_version:
        raise HarlabError(f"model format version {version!r}; this harlab reads 1 to {format_version}")
    info = header.get("info")
    if not isinstance(info, dict):
        raise HarlabError(f"header field info must be an object, got {_show(info)}")
    check_info(info)
    members = header.get("members")
    if not isinstance(members, list) or not 1 <= len(members) <= LIMITS["members"]:
        raise HarlabError(f"header field members must be a list of 1..{LIMITS['members']} members")
    for i, m in enumerate(members):
        if not isinstance(m, dict):
            raise HarlabError(f"header field members[{i}] must be an object, got {_show(m)}")
        check_member(m, info, f"members[{i}]")
    if "weights" in header:
        weights = header["weights"]
        if (
            not isinstance(weights, list)
            or len(weights) != len(members)
            or any(
                isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0
                for w in weights
            )
            or not sum(weights) > 0
        ):
            raise HarlabError(
                f"header field weights must hold one finite number >= 0 per member ({len(members)}) "
                f"with a positive sum, got {_show(weights)}"
            )


def check_info(info: dict[str, Any]) -> None:
    """The fields of :class:`harlab.ml.modelfile.ModelInfo` that harlab computes with."""
    w = "info"
    classes = need_strings(info, "classes", w, 1, LIMITS["classes"])
    if len(set(classes)) != len(classes):
        raise HarlabError("header field info.classes names a class twice")
    channels = need_strings(info, "channels", w, 1, LIMITS["channels"])
    units = need_strings(info, "units", w, len(channels), len(channels))
    del units
    rate = need_float(info, "rate_hz", w, 0.0, LIMITS["rate_hz"], lo_open=True)
    window = need_float(info, "window_s", w, 0.0, 1e6, lo_open=True)
    need_float(info, "stride_s", w, 0.0, 1e6, lo_open=True)
    n_time = int(round(window * rate))
    if not 2 <= n_time <= LIMITS["window_samples"]:
        raise HarlabError(
            f"a window of {window:g} s at {rate:g} Hz is {n_time} samples; expected "
            f"2..{LIMITS['window_samples']}"
        )
    if n_time * len(channels) > LIMITS["window_values"]:
        raise HarlabError(
            f"a window of {n_time} samples x {len(channels)} channels is more than "
            f"{LIMITS['window_values']} values"
        )
    if "stream_kinds" in info:
        kinds = need_strings(info, "stream_kinds", w, 0, len(channels))
        if kinds and len(kinds) != len(channels):
            raise HarlabError(
                f"header field info.stream_kinds has {len(kinds)} entries for {len(channels)} channels"
            )
    for key in _INFO_TEXT:
        if key in info and not isinstance(info[key], str):
            raise HarlabError(f"header field info.{key} must be a string, got {_show(info[key])}")
        if key in info:
            _check_name(info[key], f"info.{key}")
    if "n_train_windows" in info:
        need_int(info, "n_train_windows", w, 0)
    for key, kind in (("training_sessions", list), ("train_config", dict), ("metrics", dict)):
        if key in info and not isinstance(info[key], kind):
            raise HarlabError(
                f"header field info.{key} must be a{'' if kind is list else 'n'} "
                f"{'list' if kind is list else 'object'}, got {_show(info[key])}"
            )
    calibration = info.get("calibration")
    if calibration is not None:
        if not isinstance(calibration, dict):
            raise HarlabError(
                f"header field info.calibration must be null or an object, got {_show(calibration)}"
            )
        if not isinstance(calibration.get("parent"), dict):
            raise HarlabError("header field info.calibration.parent must be an object (the parent model)")
        sessions = calibration.get("sessions")
        if not isinstance(sessions, list) or any(not isinstance(s, dict) for s in sessions):
            raise HarlabError("header field info.calibration.sessions must be a list of objects")
    if any(not isinstance(s, dict) for s in info.get("training_sessions", [])):
        raise HarlabError("header field info.training_sessions must hold objects")
    validation = info.get("metrics", {}).get("validation")
    if validation is not None:  # the registry tags versions with these scores
        if not isinstance(validation, dict):
            raise HarlabError(
                f"header field info.metrics.validation must be an object, got {_show(validation)}"
            )
        for key in ("accuracy", "macro_f1"):
            need_float(validation, key, "info.metrics.validation", 0.0, 1.0)
    upright = info.get("orientation_upright")
    if upright is not None and (
        not isinstance(upright, list)
        or len(upright) != 3
        or any(isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) for x in upright)
        or not math.hypot(*upright) > 1e-6
    ):
        raise HarlabError(
            "header field info.orientation_upright must be null or 3 finite numbers (a direction), "
            f"got {_show(upright) if not isinstance(upright, list) else [_show(x) for x in upright[:5]]}"
        )


def check_member(m: dict[str, Any], info: dict[str, Any], where: str) -> None:
    kind = m.get("kind")
    if kind == "torch":
        arch = m.get("arch")
        if not isinstance(arch, dict):
            raise HarlabError(f"header field {where}.arch must be an object, got {_show(arch)}")
        full = check_arch(arch, f"{where}.arch")
        n_time = int(round(float(info["rate_hz"]) * float(info["window_s"])))
        if arch["kind"] == "seed2d":
            widest, values = max(full["filters"]), max(full["filters"]) * n_time * len(info["channels"])
        else:
            widest = max(full["width"], full["max_width"])
            # a "margins" network takes each window with its margins, which grow with depth and kernel
            values = widest * (n_time + sum(margins(CNN1DConfig(**full))))
        if values > LIMITS["activations"]:
            raise HarlabError(
                f"header field {where}.arch: layers of {widest} filters over {n_time}-sample windows "
                f"would hold {values} values per window; at most {LIMITS['activations']}"
            )
    elif kind == "lightgbm":
        n_channels = len(info["channels"])
        need_float(m, "rate_hz", where, 0.0, LIMITS["rate_hz"], lo_open=True)
        triads = m.get("triads")
        if (
            not isinstance(triads, list)
            or len(triads) > n_channels
            or any(
                not isinstance(t, list)
                or len(t) != 3
                or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n_channels for i in t)
                for t in triads
            )
        ):
            raise HarlabError(
                f"header field {where}.triads must be a list of [i, j, k] channel indices "
                f"below {n_channels}, got {_show(triads)}"
            )
        if "features_version" in m:
            need_int(m, "features_version", where, 1, 1000)
        need_bool(m, "recording_context", where, default=False)
        need_bool(m, "recording_relative", where, default=False)
        if "neighbours" in m and need_int(m, "neighbours", where, 0, MAX_GBM_NEIGHBOURS):
            # neighbours are found where windows overlap: a stride of a whole window has none, and
            # a stride beyond the window would ask each batch for ever more windows beside it
            step = round(float(info["stride_s"]) * float(info["rate_hz"]))
            if step >= round(float(info["window_s"]) * float(info["rate_hz"])):
                raise HarlabError(
                    f"header field {where}.neighbours: the windows beside a window need windows that "
                    f"overlap, but the stride ({float(info['stride_s']):g} s) is not shorter than the window"
                )
    else:
        raise HarlabError(f"member {where[len('members[') : -1]} has unknown kind {_show(kind)}")


def check_arch(arch: dict[str, Any], where: str) -> dict[str, Any]:
    """Types from the architecture's dataclass defaults, ranges that keep building it quick;
    returns the settings with the defaults filled in."""
    kind = arch.get("kind")
    cls = {"cnn1d": CNN1DConfig, "seed2d": Seed2DConfig}.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise HarlabError(f"unknown network architecture {_show(kind)} (expected 'cnn1d' or 'seed2d')")
    defaults = {
        f.name: (f.default if f.default is not MISSING else f.default_factory())  # type: ignore[operator]  # every setting has one or the other
        for f in fields(cls)
    }
    unknown = sorted(set(arch) - set(defaults))
    if unknown:
        raise HarlabError(f"architecture {kind!r}: unknown settings {unknown[:5]}")
    for key, default in defaults.items():
        if key in arch:
            _check_like(arch[key], default, f"{where}.{key}")
    get = {**defaults, **arch}
    width, kernel = LIMITS["width"], LIMITS["kernel"]
    if cls is CNN1DConfig:
        need_int(get, "depth", where, 1, LIMITS["depth"])
        need_int(get, "width", where, 1, width)
        need_int(get, "max_width", where, 1, width)
        need_int(get, "kernel", where, 1, kernel)
        need_int(get, "pool_every", where, 0, LIMITS["depth"])
        need_float(get, "dropout", where, 0.0, 0.99)
        if get["padding"] not in PADDINGS:
            raise HarlabError(
                f"header field {where}.padding = {_show(get['padding'])} is unknown; expected one of "
                f"{', '.join(PADDINGS)}"
            )
        ctx = need_int(get, "context_inputs", where, 0)
        if ctx not in (0, len(CONTEXT_NAMES)):
            raise HarlabError(
                f"header field {where}.context_inputs = {ctx}; the recording context has "
                f"{len(CONTEXT_NAMES)} columns (or 0 for none)"
            )
    else:
        n = len(get["filters"])
        if not 1 <= n <= LIMITS["blocks"] or len(get["pools"]) != n or len(get["dropouts"]) != n:
            raise HarlabError(
                f"header field {where}: filters, pools and dropouts need one entry per block "
                f"(1..{LIMITS['blocks']} blocks)"
            )
        for i in range(n):
            int_value(get["filters"][i], f"{where}.filters[{i}]", 1, width)
            float_value(get["dropouts"][i], f"{where}.dropouts[{i}]", 0.0, 0.99)
            pool = get["pools"][i]
            if len(pool) != 2:
                raise HarlabError(f"header field {where}.pools[{i}] must be two sizes, got {_show(pool)}")
            for j in range(2):
                int_value(pool[j], f"{where}.pools[{i}][{j}]", 1, LIMITS["window_samples"])
        need_int(get, "kernel", where, 1, kernel)
        need_float(get, "bn_momentum", where, 0.0, 1.0)
    return get


def _check_like(value: Any, default: Any, where: str) -> None:
    """``value`` has the JSON type of the dataclass default ``default`` (lists element by element)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list)
        if ok and default:
            for i, v in enumerate(value):
                _check_like(v, default[0], f"{where}[{i}]")
    else:
        ok = True
    if not ok:
        raise HarlabError(f"header field {where} has the wrong type: {_show(value)}")
