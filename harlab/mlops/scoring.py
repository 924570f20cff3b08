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
"""

from __future__ import annotations

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
    ("accelerometer", "x"), ("accelerometer", "y"), ("accelerometer", "z"),
    ("gyroscope", "x"), ("gyroscope", "y"), ("gyroscope", "z"),
)
SEED_CHANNEL_NAMES = ("ax", "ay", "az", "gx", "gy", "gz")
#: most windows one request may carry (a day at 1 s windows is 86 400)
MAX_WINDOWS = 200_000


class ScoringInputError(HarlabError):
    """A request's windows cannot be scored; ``key`` is the part of the request at fault."""

    def __init__(self, message: str, key: str = "", expected: str = "") -> None:
        self.key = key
        self.expected = expected
        where = f"{key!r}: " if key else ""
        tail = f" (expected {expected})" if expected else ""
        super().__init__(f"{where}{message}{tail}")

    def as_json(self) -> dict[str, Any]:
        return {"error": str(self), "error_code": "BAD_REQUEST", "message": str(self), "key": self.key,
                "expected": self.expected}


def frame_columns(info: ModelInfo) -> list[str]:
    """Names of the flattened columns, time-major: ``<stream>_<channel>_t<sample>``.

    Dots become underscores so the names are plain Spark and SQL identifiers.
    """
    width = max(3, len(str(info.n_time - 1)))
    chans = [c.replace(".", "_") for c in info.channels]
    return [f"{c}_t{t:0{width}d}" for t in range(info.n_time) for c in chans]


def _as_float_array(value: Any, key: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise ScoringInputError(f"not a rectangular array of numbers ({exc})", key,
                                "nested lists of numbers, every window the same shape") from exc
    return arr


def resample_windows(X: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """Resample every window (axis 1) from ``from_hz`` to ``to_hz`` (polyphase, anti-aliased)."""
    from scipy.signal import resample_poly

    ratio = Fraction(to_hz / from_hz).limit_denominator(1000)
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
        return {"result": self.index.tolist(), "result_full": self.probabilities.astype(float).tolist(),
                "classes": list(self.classes)}


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
            "name": info.name, "preset": info.preset, "classes": list(info.classes),
            "channels": list(info.channels), "units": list(info.units), "rate_hz": info.rate_hz,
            "window_s": info.window_s, "samples_per_window": self.T,
            "input_shape": ["N", self.T, self.C], "frame_columns_example": self._columns[: self.C + 1],
            "seed_channels_used": seed_ok, "harlab_version": info.harlab_version, "created_utc": info.created_utc,
        }

    # -- parsing -------------------------------------------------------------------------------
    def windows(self, value: Any, key: str = "inputs", rate_hz: float | None = None) -> np.ndarray:
        """N×T×C (or N×T×C×1, or N×(T·C)) in the model's channel order -> checked windows."""
        if isinstance(value, pd.DataFrame):
            return self.windows_from_frame(value, rate_hz)
        arr = _as_float_array(value, key)
        shape_txt = f"N x {self.T} x {self.C} (windows x samples x channels {', '.join(self.info.channels)})"
        if arr.ndim == 4 and arr.shape[3] == 1:
            arr = arr[..., 0]
        if arr.ndim == 2 and rate_hz in (None, self.info.rate_hz) and arr.shape[1] == self.T * self.C:
            arr = arr.reshape(len(arr), self.T, self.C)
        if arr.ndim != 3:
            raise ScoringInputError(f"got an array of shape {list(arr.shape)}", key, shape_txt)
        if arr.shape[2] != self.C:
            raise ScoringInputError(f"windows have {arr.shape[2]} channels, the model takes {self.C}", key,
                                    shape_txt)
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
                raise ScoringInputError(f"the model needs channel {name} ({kind or 'unknown kind'}), which the "
                                        "seed's format (ax, ay, az, gx, gy, gz) does not carry", "data")
        return order

    def seed_windows(self, data: Any, rate_hz: float | None = None) -> np.ndarray:
        """The seed's ``data``: N×T×6×1 (or N×T×6), ax, ay, az (m/s²), gx, gy, gz (rad/s)."""
        arr = _as_float_array(data, "data")
        expected = f"N x {self.T} x 6 x 1: windows of {self.T} samples of [[ax],[ay],[az],[gx],[gy],[gz]]"
        if arr.ndim == 4 and arr.shape[3] == 1:
            arr = arr[..., 0]
        if arr.ndim != 3:
            raise ScoringInputError(f"got an array of shape {list(arr.shape)}", "data", expected)
        if arr.shape[2] == 7:
            raise ScoringInputError("7 channels (ActivityID first) is the seed's raw-upload branch; this service "
                                    "only scores, send the 6 sensor channels", "data", expected)
        if arr.shape[2] != 6:
            raise ScoringInputError(f"samples have {arr.shape[2]} channels", "data", expected)
        arr = np.ascontiguousarray(arr[:, :, self.seed_order()])
        return self._finish(arr, "data", rate_hz)

    def windows_from_frame(self, df: pd.DataFrame, rate_hz: float | None = None) -> np.ndarray:
        """A table of flattened windows (named or positional columns) or one column of whole windows."""
        key = "dataframe"
        n_flat = self.T * self.C
        cols = [str(c) for c in df.columns]
        if len(cols) == 1 and len(df) and isinstance(df.iloc[0, 0], list | tuple | np.ndarray):
            cells = [np.asarray(v, np.float32) for v in df.iloc[:, 0]]
            try:
                arr = np.stack(cells)
            except ValueError as exc:
                raise ScoringInputError("cells hold windows of different shapes", key,
                                        f"{self.T} x {self.C} or {n_flat} numbers per cell") from exc
            if arr.ndim == 2:
                if arr.shape[1] % self.C:
                    raise ScoringInputError(f"cells hold {arr.shape[1]} numbers, not a multiple of {self.C} "
                                            "channels", key, f"{n_flat} numbers per cell")
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
                key, f"columns {self._columns[0]} ... {self._columns[-1]} (time-major), or 0..{n_flat - 1}")
        try:
            flat = values.to_numpy(dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise ScoringInputError(f"non-numeric values ({exc})", key, "numbers") from exc
        return self._finish(flat.reshape(len(flat), self.T, self.C), key, None)

    def _finish(self, X: np.ndarray, key: str, rate_hz: float | None) -> np.ndarray:
        if len(X) == 0:
            raise ScoringInputError("no windows", key, "at least one window")
        if len(X) > MAX_WINDOWS:
            raise ScoringInputError(f"{len(X)} windows in one request", key, f"at most {MAX_WINDOWS}")
        if not np.all(np.isfinite(X)):
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ScoringInputError(f"window {bad[0]}, sample {bad[1]}, channel {bad[2]} is not a finite number",
                                    key, "finite numbers")
        model_rate = self.info.rate_hz
        if rate_hz is not None:
            if not (isinstance(rate_hz, int | float) and np.isfinite(rate_hz) and rate_hz > 0):
                raise ScoringInputError(f"{rate_hz!r} is not a positive rate", "rate_hz", "samples per second")
            if abs(rate_hz - model_rate) > 1e-6 * model_rate:
                got_s = X.shape[1] / rate_hz
                X = resample_windows(X, float(rate_hz), model_rate)
                if abs(X.shape[1] - self.T) > 1:
                    raise ScoringInputError(
                        f"windows of {got_s:g} s ({X.shape[1]} samples after resampling "
                        f"to {model_rate:g} Hz) do not match the model's {self.info.window_s:g} s",
                        key, f"{self.info.window_s:g} s windows: {self.T} samples at {model_rate:g} Hz")
                X = _fit_length(X, self.T)
        if X.shape[1] != self.T:
            raise ScoringInputError(
                f"windows have {X.shape[1]} samples; the model takes {self.T} "
                f"({self.info.window_s:g} s at {model_rate:g} Hz). Send that length, or say the rate of yours "
                "with 'rate_hz' so they are resampled", key, f"N x {self.T} x {self.C}")
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
    seed's ``data``; an optional top-level ``rate_hz`` asks for resampling.
    """
    if not isinstance(body, dict):
        raise ScoringInputError(f"the body is a JSON {type(body).__name__}", "", "a JSON object with one of the "
                                "keys data, inputs, instances, dataframe_split, dataframe_records")
    known = ("data", "inputs", "instances", "dataframe_split", "dataframe_records")
    present = [k for k in known if k in body]
    if len(present) != 1:
        what = f"keys {sorted(body)}" if body else "an empty object"
        raise ScoringInputError(f"got {what}", "", f"exactly one of {', '.join(known)} "
                                "(plus optional rate_hz, params)")
    key = present[0]
    rate = body.get("rate_hz", (body.get("params") or {}).get("rate_hz") if isinstance(body.get("params"), dict)
                    else None)
    if rate is not None and not isinstance(rate, int | float):
        raise ScoringInputError(f"{rate!r} is not a number", "rate_hz", "samples per second")
    value = body[key]
    if key == "data":
        return scorer.seed_windows(value, rate), "seed"
    if key in ("inputs", "instances"):
        if isinstance(value, dict):
            raise ScoringInputError("named tensors are not used by this model", key, "one N x T x C array")
        return scorer.windows(value, key, rate), "mlflow"
    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value:
            raise ScoringInputError("not a split-oriented table", key, '{"columns": [...], "data": [[...], ...]}')
        try:
            df = pd.DataFrame(value["data"], columns=value.get("columns"))
        except (ValueError, TypeError) as exc:
            raise ScoringInputError(f"cannot build a table ({exc})", key, "rows as long as the columns") from exc
        return scorer.windows_from_frame(df, rate), "mlflow"
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise ScoringInputError("not a list of records", key, '[{"column": value, ...}, ...]')
    return scorer.windows_from_frame(pd.DataFrame.from_records(value), rate), "mlflow"


def windows_from_model_input(scorer: WindowScorer, model_input: Any, params: dict[str, Any] | None) -> np.ndarray:
    """What MLflow hands a pyfunc's ``predict`` (ndarray, DataFrame, dict or list) -> windows."""
    rate = (params or {}).get("rate_hz")
    if isinstance(model_input, pd.DataFrame):
        return scorer.windows_from_frame(model_input, rate)
    if isinstance(model_input, dict):
        if len(model_input) == 1:
            (key, value), = model_input.items()
            if key == "data":
                return scorer.seed_windows(value, rate)
            return scorer.windows(value, str(key), rate)
        raise ScoringInputError(f"got named inputs {sorted(model_input)}", "inputs", "one N x T x C array")
    if isinstance(model_input, Sequence | np.ndarray):
        return scorer.windows(model_input, "inputs", rate)
    raise ScoringInputError(f"unsupported input type {type(model_input).__name__}", "inputs",
                            "an N x T x C array or a table of flattened windows")
