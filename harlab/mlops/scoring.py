"""From request payloads to model windows and back: the one place scoring inputs are checked.

Both the MLflow pyfunc (``mlflow models serve``, ``spark_udf``, ``mlflow.pyfunc.load_model``)
and ``harlab serve`` go through :class:`WindowScorer`, so every route applies the same
preprocessing (channel order, units, window length, optional resampling) and answers
malformed input with the same :class:`ScoringInputError` naming the key, the shape it
got and the shape it expected. No MLflow import here: the server works on it alone.

Accepted windows (N windows of T samples and C channels, SI units: m/s², rad/s):

* an array N×T×C in the model's channel order (MLflow ``inputs`` / ``instances``);
  N×T×C×1 (every value in its own list, as the seed's companion sends) is accepted too;
* an array N×(T·C) of flattened windows, time-major (sample 0's channels, then sample 1's...);
* a table (MLflow ``dataframe_split`` / ``dataframe_records``, Spark) with the T·C columns
  named by :meth:`WindowScorer.frame_columns` (``accelerometer_x_t000`` ...), in any order,
  or positional columns ``0..T·C-1``, or a single column whose cells hold whole windows;
* the seed's contract, ``{"data": N×10×6×1}`` in the fixed order ax, ay, az, gx, gy, gz,
  which :meth:`WindowScorer.seed_windows` maps onto the model's channels.

Windows must have the model's length at the model's rate. When the sender says its rate
(``rate_hz``) and it differs, each window is resampled (polyphase, anti-aliased) and
accepted if it then covers the model's window within one sample; otherwise it is refused.

The work a request may cause is bounded before any of it is done: at most :data:`MAX_WINDOWS`
windows and :data:`MAX_VALUES` numbers (windows x samples x channels, counted at the sent
length and at the resampled length, from the declared shape before any array is built), and a
``rate_hz`` within a factor :data:`MAX_RATE_FACTOR` of the model's. A request past a bound is
refused with the bound in the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from harlab.core.errors import HarlabError
from harlab.ml.modelfile import ActivityModel, ModelInfo

#: the seed's request channel order (fitbit-formats.md §2.4): (stream kind, axis)
SEED_CHANNELS: tuple[tuple[str, str], ...] = (
    ("accelerometer", "x"),
    ("accelerometer", "y"),
    ("accelerometer", "z"),
    ("gyroscope", "x"),
    ("gyroscope", "y"),
    ("gyroscope", "z"),
)
SEED_CHANNEL_NAMES = ("ax", "ay", "az", "gx", "gy", "gz")
#: most windows one request may carry (a day at 1 s windows is 86 400)
MAX_WINDOWS = 200_000
#: most numbers (windows x samples x channels) one request may carry or be resampled to: 64 MiB
#: as float32, about what a 64 MiB JSON body can hold
MAX_VALUES = 1 << 24
#: ``rate_hz`` must be within this factor of the model's rate (resampling further is not a window)
MAX_RATE_FACTOR = 100
#: top-level keys of a request body: the windows under exactly one of the first five
WINDOW_KEYS = ("data", "inputs", "instances", "dataframe_split", "dataframe_records")
OPTION_KEYS = ("rate_hz", "params")


class ScoringInputError(HarlabError):
    """A request's windows cannot be scored; ``key`` is the part of the request at fault."""

    def __init__(self, message: str, key: str = "", expected: str = "") -> None:
        self.key = key
        self.expected = expected
        where = f"{key!r}: " if key else ""
        tail = f" (expected {expected})" if expected else ""
        super().__init__(f"{where}{message}{tail}")

    def as_json(self) -> dict[str, Any]:
        return {
            "error": str(self),
            "error_code": "BAD_REQUEST",
            "message": str(self),
            "key": self.key,
            "expected": self.expected,
        }


def frame_columns(info: ModelInfo) -> list[str]:
    """Names of the flattened columns, time-major: ``<stream>_<channel>_t<sample>``.

    Dots become underscores so the names are plain Spark and SQL identifiers.
    """
    width = max(3, len(str(info.n_time - 1)))
    chans = [c.replace(".", "_") for c in info.channels]
    return [f"{c}_t{t:0{width}d}" for t in range(info.n_time) for c in chans]


def _declared_size(value: Any) -> tuple[list[int], int]:
    """The shape nested lists declare along their first elements, and its product (no array built)."""
    dims: list[int] = []
    while isinstance(value, list | tuple) and len(dims) < 6:
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return dims, math.prod(dims)


def check_size(n_values: int, key: str, what: str) -> None:
    """Refuse a request of more than :data:`MAX_VALUES` numbers before building or resampling it."""
    if n_values > MAX_VALUES:
        raise ScoringInputError(
            f"{what} make {n_values} numbers; one request may carry at most {MAX_VALUES}",
            key,
            "fewer windows per request (split them over several)",
        )


def _as_float_array(value: Any, key: str) -> np.ndarray:
    if isinstance(value, list | tuple):
        dims, n = _declared_size(value)
        if dims and dims[0] > MAX_WINDOWS:
            raise ScoringInputError(f"{dims[0]} windows in one request", key, f"at most {MAX_WINDOWS}")
        check_size(n, key, " x ".join(map(str, dims)))
    elif isinstance(value, str | bytes | dict) or value is None or isinstance(value, bool):
        raise ScoringInputError(
            f"a JSON {type(value).__name__}, not an array",
            key,
            "nested lists of numbers, every window the same shape",
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # too large a number becomes inf: refused below
            arr = np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ScoringInputError(
            f"not a rectangular array of numbers ({exc})",
            key,
            "nested lists of numbers, every window the same shape",
        ) from exc
    return arr


def checked_rate(rate_hz: Any, model_rate: float) -> float | None:
    """``rate_hz`` as a float, or None; refused unless a finite number within :data:`MAX_RATE_FACTOR`
    of the model's rate."""
    if rate_hz is None:
        return None
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, int | float | np.integer | np.floating):
        raise ScoringInputError(f"{rate_hz!r} is not a number", "rate_hz", "samples per second")
    rate = float(rate_hz)
    lo, hi = model_rate / MAX_RATE_FACTOR, model_rate * MAX_RATE_FACTOR
    if not (math.isfinite(rate) and lo <= rate <= hi):
        raise ScoringInputError(
            f"{rate_hz!r} is not a rate this model can take",
            "rate_hz",
            f"samples per second, from {lo:g} to {hi:g} (the model's {model_rate:g} Hz "
            f"within a factor {MAX_RATE_FACTOR})",
        )
    return rate


def resample_ratio(from_hz: float, to_hz: float) -> Fraction:
    """The polyphase factors ``up/down`` (denominator at most 1000) that take ``from_hz`` to ``to_hz``."""
    return Fraction(to_hz / from_hz).limit_denominator(1000)


def resample_windows(X: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """Resample every window (axis 1) from ``from_hz`` to ``to_hz`` (polyphase, anti-aliased)."""
    from scipy.signal import resample_poly

    ratio = resample_ratio(from_hz, to_hz)
    if ratio == 1:
        return X
    out = resample_poly(X.astype(np.float64), ratio.numerator, ratio.denominator, axis=1, padtype="line")
    return out.astype(np.float32)


@dataclass
class Scored:
    """Class probabilities (N, K) of the scored windows, with the class names."""

    probabilities: np.ndarray
    classes: list[str]

    @property
    def index(self) -> np.ndarray:
        return self.probabilities.argmax(1) if len(self.probabilities) else np.zeros(0, np.int64)

    def frame(self) -> pd.DataFrame:
        """One row per window: ``class``, ``class_index``, ``confidence`` and ``p_<class>`` per class
        (what the pyfunc returns: MLflow serialises it as ``{"predictions": [records]}``)."""
        idx = self.index
        p = self.probabilities
        data: dict[str, Any] = {
            "class": [self.classes[i] for i in idx],
            "class_index": idx.astype(np.int64),
            "confidence": p.max(1) if len(p) else np.zeros(0, np.float32),
        }
        for k, c in enumerate(self.classes):
            data[f"p_{c}"] = p[:, k]
        return pd.DataFrame(data)

    def seed_response(self) -> dict[str, Any]:
        """The seed's answer (fitbit-formats.md §2.5), plus the class names it left implicit."""
        return {
            "result": self.index.tolist(),
            "result_full": self.probabilities.astype(float).tolist(),
            "classes": list(self.classes),
        }


class WindowScorer:
    """Turns payloads into (N, T, C) windows for ``model`` and scores them."""

    def __init__(self, model: ActivityModel) -> None:
        self.model = model
        self.info = model.info
        self.T = self.info.n_time
        self.C = len(self.info.channels)
        self._columns = frame_columns(self.info)

    # -- description -------------------------------------------------------------------------
    def frame_columns(self) -> list[str]:
        return list(self._columns)

    def describe(self) -> dict[str, Any]:
        """What a client must send (served at ``/version``)."""
        info = self.info
        try:
            seed = self.seed_order()
            seed_ok: Any = [SEED_CHANNEL_NAMES[i] for i in seed]
        except ScoringInputError as exc:
            seed_ok = f"not available: {exc}"
        return {
            "name": info.name,
            "preset": info.preset,
            "classes": list(info.classes),
            "channels": list(info.channels),
            "units": list(info.units),
            "rate_hz": info.rate_hz,
            "window_s": info.window_s,
            "samples_per_window": self.T,
            "input_shape": ["N", self.T, self.C],
            "frame_columns_example": self._columns[: self.C + 1],
            "seed_channels_used": seed_ok,
            "harlab_version": info.harlab_version,
            "created_utc": info.created_utc,
        }

    # -- parsing -------------------------------------------------------------------------------
    def windows(self, value: Any, key: str = "inputs", rate_hz: float | None = None) -> np.ndarray:
        """N×T×C (or N×T×C×1, or N×(T·C)) in the model's channel order -> checked windows."""
        if isinstance(value, pd.DataFrame):
            return self.windows_from_frame(value, rate_hz)
        rate_hz = checked_rate(rate_hz, self.info.rate_hz)
        arr = _as_float_array(value, key)
        shape_txt = f"N x {self.T} x {self.C} (windows x samples x channels {', '.join(self.info.channels)})"
        if arr.ndim == 4 and arr.shape[3] == 1:
            arr = arr[..., 0]
        if arr.ndim == 2 and rate_hz in (None, self.info.rate_hz) and arr.shape[1] == self.T * self.C:
            arr = arr.reshape(len(arr), self.T, self.C)
        if arr.ndim != 3:
            raise ScoringInputError(f"got an array of shape {list(arr.shape)}", key, shape_txt)
        if arr.shape[2] != self.C:
            raise ScoringInputError(
                f"windows have {arr.shape[2]} channels, the model takes {self.C}", key, shape_txt
            )
        return self._finish(arr, key, rate_hz)

    def seed_order(self) -> list[int]:
        """For each model channel, its column in the seed's (ax, ay, az, gx, gy, gz) order."""
        kinds = self.info.stream_kinds or [""] * self.C
        order = []
        for name, kind in zip(self.info.channels, kinds, strict=True):
            stream, _, axis = name.rpartition(".")
            for j, (sk, sa) in enumerate(SEED_CHANNELS):
                if axis == sa and sk in (kind, stream):
                    order.append(j)
                    break
            else:
                raise ScoringInputError(
                    f"the model needs channel {name} ({kind or 'unknown kind'}), which the "
                    "seed's format (ax, ay, az, gx, gy, gz) does not carry",
                    "data",
                )
        return order

    def seed_windows(self, data: Any, rate_hz: float | None = None) -> np.ndarray:
        """The seed's ``data``: N×T×6×1 (or N×T×6), ax, ay, az (m/s²), gx, gy, gz (rad/s)."""
        rate_hz = checked_rate(rate_hz, self.info.rate_hz)
        arr = _as_float_array(data, "data")
        expected = f"N x {self.T} x 6 x 1: windows of {self.T} samples of [[ax],[ay],[az],[gx],[gy],[gz]]"
        if arr.ndim == 4 and arr.shape[3] == 1:
            arr = arr[..., 0]
        if arr.ndim != 3:
            raise ScoringInputError(f"got an array of shape {list(arr.shape)}", "data", expected)
        if arr.shape[2] == 7:
            raise ScoringInputError(
                "7 channels (ActivityID first) is the seed's raw-upload branch; this service "
                "only scores, send the 6 sensor channels",
                "data",
                expected,
            )
        if arr.shape[2] != 6:
            raise ScoringInputError(f"samples have {arr.shape[2]} channels", "data", expected)
        arr = np.ascontiguousarray(arr[:, :, self.seed_order()])
        return self._finish(arr, "data", rate_hz)

    def windows_from_frame(self, df: pd.DataFrame, rate_hz: float | None = None) -> np.ndarray:
        """A table of flattened windows (named or positional columns) or one column of whole windows."""
        key = "dataframe"
        rate_hz = checked_rate(rate_hz, self.info.rate_hz)
        n_flat = self.T * self.C
        cols = [str(c) for c in df.columns]
        if len(cols) == 1 and len(df) and isinstance(df.iloc[0, 0], list | tuple | np.ndarray):
            if len(df) > MAX_WINDOWS:
                raise ScoringInputError(f"{len(df)} windows in one request", key, f"at most {MAX_WINDOWS}")
            cells = [_as_float_array(v, key) for v in df.iloc[:, 0]]
            check_size(sum(c.size for c in cells), key, f"{len(cells)} windows")
            try:
                arr = np.stack(cells)
            except ValueError as exc:
                raise ScoringInputError(
                    "cells hold windows of different shapes",
                    key,
                    f"{self.T} x {self.C} or {n_flat} numbers per cell",
                ) from exc
            if arr.ndim == 2:
                if arr.shape[1] % self.C:
                    raise ScoringInputError(
                        f"cells hold {arr.shape[1]} numbers, not a multiple of {self.C} channels",
                        key,
                        f"{n_flat} numbers per cell",
                    )
                arr = arr.reshape(len(arr), -1, self.C)
            return self.windows(arr, key, rate_hz)
        if set(cols) == set(self._columns):
            values = df[list(df.columns[[cols.index(c) for c in self._columns]])]
        elif cols == [str(i) for i in range(n_flat)]:
            values = df
        else:
            missing = [c for c in self._columns if c not in set(cols)]
            raise ScoringInputError(
                f"{len(cols)} columns do not match the model's {n_flat} window columns"
                + (f"; missing e.g. {missing[:3]}" if missing else ""),
                key,
                f"columns {self._columns[0]} ... {self._columns[-1]} (time-major), or 0..{n_flat - 1}",
            )
        if len(values) > MAX_WINDOWS:
            raise ScoringInputError(f"{len(values)} windows in one request", key, f"at most {MAX_WINDOWS}")
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                flat = values.to_numpy(dtype=np.float32)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ScoringInputError(f"non-numeric values ({exc})", key, "numbers") from exc
        return self._finish(flat.reshape(len(flat), self.T, self.C), key, None)

    def _finish(self, X: np.ndarray, key: str, rate_hz: float | None) -> np.ndarray:
        if len(X) == 0:
            raise ScoringInputError("no windows", key, "at least one window")
        if len(X) > MAX_WINDOWS:
            raise ScoringInputError(f"{len(X)} windows in one request", key, f"at most {MAX_WINDOWS}")
        if not np.all(np.isfinite(X)):
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ScoringInputError(
                f"window {bad[0]}, sample {bad[1]}, channel {bad[2]} is not a finite number",
                key,
                "finite numbers",
            )
        model_rate = self.info.rate_hz
        rate_hz = checked_rate(rate_hz, model_rate)
        if rate_hz is not None and abs(rate_hz - model_rate) > 1e-6 * model_rate:
            # the resampled length and size are known from the rate: refuse before resampling
            ratio = resample_ratio(rate_hz, model_rate)
            n_out = -(-X.shape[1] * ratio.numerator // ratio.denominator)
            if abs(n_out - self.T) > 1:
                raise ScoringInputError(
                    f"windows of {X.shape[1] / rate_hz:g} s ({n_out} samples after resampling "
                    f"to {model_rate:g} Hz) do not match the model's {self.info.window_s:g} s",
                    key,
                    f"{self.info.window_s:g} s windows: {self.T} samples at {model_rate:g} Hz",
                )
            check_size(
                len(X) * max(X.shape[1], n_out) * X.shape[2],
                key,
                f"{len(X)} windows resampled from {X.shape[1]} to {n_out} samples",
            )
            X = _fit_length(resample_windows(X, rate_hz, model_rate), self.T)
        if X.shape[1] != self.T:
            raise ScoringInputError(
                f"windows have {X.shape[1]} samples; the model takes {self.T} "
                f"({self.info.window_s:g} s at {model_rate:g} Hz). Send that length, or say the rate of yours "
                "with 'rate_hz' so they are resampled",
                key,
                f"N x {self.T} x {self.C}",
            )
        return np.ascontiguousarray(X, dtype=np.float32)

    # -- scoring -------------------------------------------------------------------------------
    def score(self, X: np.ndarray) -> Scored:
        return Scored(self.model.predict_proba(X), list(self.info.classes))


def _fit_length(X: np.ndarray, T: int) -> np.ndarray:
    """Trim or repeat the last sample so a resampled window has exactly ``T`` samples."""
    if X.shape[1] > T:
        return X[:, :T]
    if X.shape[1] < T:
        pad = np.repeat(X[:, -1:], T - X.shape[1], axis=1)
        return np.concatenate([X, pad], axis=1)
    return X


def parse_payload(scorer: WindowScorer, body: Any) -> tuple[np.ndarray, str]:
    """Windows from a JSON request body and which format it used: ``"seed"`` or ``"mlflow"``.

    MLflow's keys (``inputs``, ``instances``, ``dataframe_split``, ``dataframe_records``) and the
    seed's ``data``; an optional top-level ``rate_hz`` (or ``params: {"rate_hz": ...}``) asks for
    resampling. Any other key is refused, as MLflow's own server does.
    """
    known = ", ".join(WINDOW_KEYS)
    if not isinstance(body, dict):
        raise ScoringInputError(
            f"the body is a JSON {type(body).__name__}", "", f"a JSON object with one of the keys {known}"
        )
    present = [k for k in WINDOW_KEYS if k in body]
    if len(present) != 1:
        what = f"keys {sorted(body)[:10]}" if body else "an empty object"
        raise ScoringInputError(f"got {what}", "", f"exactly one of {known} (plus optional rate_hz, params)")
    unknown = sorted(k for k in body if k not in WINDOW_KEYS + OPTION_KEYS)
    if unknown:
        raise ScoringInputError(
            f"unknown key {unknown[0][:100]!r}",
            unknown[0][:100],
            f"one of {known}, plus optional rate_hz, params",
        )
    key = present[0]
    params = body.get("params")
    if params is not None and (not isinstance(params, dict) or any(k != "rate_hz" for k in params)):
        raise ScoringInputError(
            "only rate_hz is a parameter here", "params", '{"rate_hz": samples per second}'
        )
    rate = body.get("rate_hz")
    if params and "rate_hz" in params:
        if rate is not None and rate != params["rate_hz"]:
            raise ScoringInputError("rate_hz is given twice, differently", "rate_hz", "one rate")
        rate = params["rate_hz"]
    rate = checked_rate(rate, scorer.info.rate_hz)
    value = body[key]
    if key == "data":
        return scorer.seed_windows(value, rate), "seed"
    if key in ("inputs", "instances"):
        if isinstance(value, dict):
            raise ScoringInputError("named tensors are not used by this model", key, "one N x T x C array")
        return scorer.windows(value, key, rate), "mlflow"
    if key == "dataframe_split":
        split = '{"columns": [...], "data": [[...], ...]}'
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("data"), list)
            or set(value) - {"columns", "data", "index"}
        ):
            raise ScoringInputError("not a split-oriented table", key, split)
        columns = value.get("columns")
        if columns is not None and (
            not isinstance(columns, list)
            or not all(isinstance(c, str | int) and not isinstance(c, bool) for c in columns)
        ):
            raise ScoringInputError("columns are not a list of names", key, split)
        rows = value["data"]
        width = (
            len(columns)
            if columns is not None
            else (len(rows[0]) if rows and isinstance(rows[0], list) else 1)
        )
        if len(rows) > MAX_WINDOWS:
            raise ScoringInputError(f"{len(rows)} windows in one request", key, f"at most {MAX_WINDOWS}")
        check_columns(scorer, width, key)
        if any(not isinstance(r, list) or len(r) != width for r in rows):
            raise ScoringInputError(f"rows are not lists of {width} cells", key, split)
        check_size(len(rows) * max(width, 1), key, f"{len(rows)} rows of {width} columns")
        return scorer.windows_from_frame(
            _table(lambda: pd.DataFrame(rows, columns=columns), key), rate
        ), "mlflow"
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ScoringInputError("not a list of records", key, '[{"column": value, ...}, ...]')
    if len(value) > MAX_WINDOWS:
        raise ScoringInputError(f"{len(value)} windows in one request", key, f"at most {MAX_WINDOWS}")
    check_columns(scorer, len(set().union(*value)) if value else 1, key)
    check_size(sum(len(r) for r in value), key, f"{len(value)} records")
    return scorer.windows_from_frame(_table(lambda: pd.DataFrame.from_records(value), key), rate), "mlflow"


def check_columns(scorer: WindowScorer, width: int, key: str) -> None:
    """A table has one column of whole windows or one column per sample and channel; any other
    width is refused before pandas builds it (a frame of 100 000 columns takes seconds to build)."""
    n_flat = scorer.T * scorer.C
    if width not in (1, n_flat):
        raise ScoringInputError(
            f"{width} columns; the model takes {n_flat} window columns or one column of whole windows",
            key,
            f"columns {frame_columns(scorer.info)[0]} ... (time-major), or 0..{n_flat - 1}",
        )


def _table(build: Any, key: str) -> pd.DataFrame:
    """A DataFrame from request rows; pandas' many exception types for bad rows become one 400."""
    try:
        return build()
    except Exception as exc:  # ValueError, TypeError, AssertionError, IndexError...: all the sender's
        raise ScoringInputError(
            f"cannot build a table ({type(exc).__name__}: {str(exc)[:200]})",
            key,
            "rows as long as the columns, of numbers",
        ) from exc


def windows_from_model_input(
    scorer: WindowScorer, model_input: Any, params: dict[str, Any] | None
) -> np.ndarray:
    """What MLflow hands a pyfunc's ``predict`` (ndarray, DataFrame, dict or list) -> windows."""
    rate = (params or {}).get("rate_hz")
    if isinstance(model_input, pd.DataFrame):
        return scorer.windows_from_frame(model_input, rate)
    if isinstance(model_input, dict):
        if len(model_input) == 1:
            ((key, value),) = model_input.items()
            if key == "data":
                return scorer.seed_windows(value, rate)
            return scorer.windows(value, str(key), rate)
        raise ScoringInputError(f"got named inputs {sorted(model_input)}", "inputs", "one N x T x C array")
    if isinstance(model_input, Sequence | np.ndarray):
        return scorer.windows(model_input, "inputs", rate)
    raise ScoringInputError(
        f"unsupported input type {type(model_input).__name__}",
        "inputs",
        "an N x T x C array or a table of flattened windows",
    )
