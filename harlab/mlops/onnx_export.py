"""ONNX export of a model's network, checked against PyTorch on real windows.

The exported graph takes raw windows in SI units, N×T×C float32 (input ``windows``,
any N), and returns class probabilities (output ``probabilities``, N×K): the
per-channel normalisation and the softmax are part of the graph, so an ONNX runtime
needs nothing from harlab. Class names, channels, units, rate and window length are
stored in the ONNX metadata.

Only the torch member is exported. For the ``ensemble`` preset that is the 1-D CNN
alone (the LightGBM half works on hand-computed window features, which are numpy code,
not a graph), so the ONNX model's probabilities are the CNN's, not the ensemble's mean;
the metadata says so (``harlab.exported_member``). The ``features`` preset has no network
and cannot be exported.

A network that takes the recording context (the default 1-D CNN) has a second input,
``context`` (N×3 float32): each window against its recording, as
``harlab.ml.context.network_context`` computes it from the recording's reference
(``harlab.context`` in the metadata says how). A caller without a recording at hand
computes the reference from the windows it scores, as harlab does for bare windows.
A model trained with the wearing-orientation mapping expects windows already mapped
(``harlab.orientation`` gives the canonical upright; the graph itself takes them as given).

Export uses ``torch.onnx.export(..., dynamo=True)`` (torch's current exporter, which
needs ``onnxscript``); the parity check runs onnxruntime and PyTorch on the same windows
and fails when the largest probability difference reaches ``tolerance`` (1e-4).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harlab.core import files
from harlab.core.errors import HarlabError
from harlab.ml.modelfile import ActivityModel, TorchMember
from harlab.mlops.paths import MlopsUnavailable

TOLERANCE = 1e-4


class _Normalised(nn.Module):
    """Raw windows -> normalisation -> network -> softmax, one traceable module."""

    mean: torch.Tensor  # buffers, registered below
    std: torch.Tensor

    def __init__(self, member: TorchMember) -> None:
        super().__init__()
        self.net = member.net
        self.register_buffer("mean", torch.from_numpy(np.asarray(member.mean, np.float32)))
        self.register_buffer("std", torch.from_numpy(np.asarray(member.std, np.float32)))

    def forward(self, windows: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return torch.softmax(self.net((windows - self.mean) / self.std, context), dim=1)


@dataclass
class ExportResult:
    path: Path
    member: str
    max_abs_diff: float
    n_checked: int
    opset: int


def torch_member(model: ActivityModel) -> tuple[int, TorchMember]:
    for i, m in enumerate(model.members):
        if isinstance(m, TorchMember):
            return i, m
    raise HarlabError(
        f"model {model.info.name!r} (preset {model.info.preset}) has no neural network to export; "
        "ONNX export covers the cnn1d and seed2d networks (and the CNN half of an ensemble)"
    )


def _require_onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise MlopsUnavailable(
            "ONNX export needs onnx, onnxruntime and onnxscript: pip install 'harlab[mlops]'"
        ) from exc
    return onnx, onnxruntime


def check_parity(
    onnx_path: str | Path, member: TorchMember, X: np.ndarray, tolerance: float = TOLERANCE
) -> float:
    """Largest |Δprob| between onnxruntime and PyTorch on ``X``; raises when it reaches ``tolerance``."""
    _, ort = _require_onnx()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.ascontiguousarray(X, np.float32)}
    ctx = member.context_inputs(X)  # the windows as one recording, as predict_proba takes them
    if ctx is not None:
        feed[sess.get_inputs()[1].name] = ctx
    got = sess.run(None, feed)[0]
    want = member.predict_proba(X)
    if got.shape != want.shape:
        raise HarlabError(f"ONNX output shape {got.shape} differs from PyTorch's {want.shape}")
    diff = float(np.max(np.abs(got - want))) if len(X) else 0.0
    if not diff < tolerance:
        raise HarlabError(
            f"ONNX parity check failed: max |Δprob| {diff:.3g} >= {tolerance:g} on {len(X)} windows"
        )
    return diff


def export_onnx(
    model: ActivityModel,
    path: str | Path,
    sample: np.ndarray | None = None,
    tolerance: float = TOLERANCE,
    opset: int = 18,
) -> ExportResult:
    """Write the network of ``model`` to ``path`` (atomically) after checking parity on ``sample``
    windows (default: 64 random windows with the training data's per-channel mean and spread)."""
    onnx, _ = _require_onnx()
    idx, member = torch_member(model)
    info = model.info
    if sample is None:
        rng = np.random.default_rng(0)
        sample = rng.normal(size=(64, info.n_time, len(info.channels))) * member.std + member.mean
    sample = np.ascontiguousarray(sample, np.float32)
    if sample.ndim != 3 or sample.shape[1:] != (info.n_time, len(info.channels)):
        raise HarlabError(
            f"sample windows must be N x {info.n_time} x {len(info.channels)}, got {sample.shape}"
        )
    wrapper = _Normalised(member).eval()
    example = torch.from_numpy(sample[: max(2, min(len(sample), 8))])
    args: tuple[torch.Tensor, ...] = (example,)
    names = ["windows"]
    ctx_example = member.context_inputs(sample)
    if ctx_example is not None:
        args = (example, torch.from_numpy(ctx_example[: len(example)]))
        names.append("context")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    diff = 0.0

    def write(tmp: Path) -> None:
        nonlocal diff
        reg_log = logging.getLogger("torch.onnx._internal.exporter._registration")
        level = reg_log.level
        reg_log.setLevel(logging.ERROR)  # "torchvision is not installed" notes: irrelevant here
        with warnings.catch_warnings(), torch.inference_mode(False):
            warnings.simplefilter("ignore")
            batch = torch.export.Dim("batch", min=1)
            shapes = {n: {0: batch} for n in names}
            program = torch.onnx.export(
                wrapper,
                args,
                None,
                dynamo=True,
                opset_version=opset,
                input_names=names,
                output_names=["probabilities"],
                dynamic_shapes=shapes,
                verbose=False,
            )
        reg_log.setLevel(level)
        assert program is not None  # the dynamo exporter always returns its program
        program.save(str(tmp))
        proto = onnx.load(str(tmp))
        meta = {
            "harlab.classes": json.dumps(info.classes),
            "harlab.channels": json.dumps(info.channels),
            "harlab.units": json.dumps(info.units),
            "harlab.rate_hz": f"{info.rate_hz:g}",
            "harlab.window_s": f"{info.window_s:g}",
            "harlab.samples_per_window": str(info.n_time),
            "harlab.preset": info.preset,
            "harlab.name": info.name,
            "harlab.created_utc": info.created_utc,
            "harlab.exported_member": f"{idx}:{member.arch.kind}"
            + (
                " (the CNN half of an ensemble; the LightGBM half is not exported)"
                if len(model.members) > 1
                else ""
            ),
            "harlab.input": "windows: N x T x C float32 in SI units (normalisation inside the graph)",
            "harlab.output": "probabilities: N x K softmax over harlab.classes",
            **(
                {
                    "harlab.context": "context: N x 3 float32, harlab.ml.context.network_context of each window "
                    "against its recording's reference (tilt from upright / 90 degrees, log motion "
                    "over the recording's walking, log motion over its median; 0 when unknown)"
                }
                if ctx_example is not None
                else {}
            ),
            **(
                {
                    "harlab.orientation": "windows in the training wearing orientation: map each recording first "
                    "(harlab.ml.orientation.canonicalise, a sign per axis) with upright "
                    + json.dumps(info.orientation_upright)
                }
                if info.orientation_upright is not None
                else {}
            ),
        }
        onnx.helper.set_model_props(proto, meta)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        diff = check_parity(str(tmp), member, sample, tolerance)

    try:
        files.atomic_write(path, write, suffix=".onnx")
    except HarlabError:
        raise
    except Exception as exc:
        raise HarlabError(f"ONNX export of {info.name!r} failed: {type(exc).__name__}: {exc}") from exc
    return ExportResult(path, member.arch.kind, diff, len(sample), opset)
