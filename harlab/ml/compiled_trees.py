"""LightGBM's trees compiled into one ONNX tree ensemble, for inference several times faster.

LightGBM's own ``Booster.predict`` walks every tree for every row through a general
interpreter (the default preset holds 800 rounds of 12 classes: 9,600 trees), which is
most of the time a day's prediction takes. onnxruntime's ``TreeEnsembleClassifier``
evaluates the same trees from flat arrays 2-4 times faster on one thread
(``benchmarks/predict_day.py`` measures both in the same run). Candidates measured on
the default preset's 9,600 trees (4,000 windows, one thread, a loaded machine):
LightGBM 4.8 s, onnxruntime 1.5 s after a build of a few seconds, treelite's GTIL 60 s,
and lleaves had not finished compiling the trees to machine code after seven minutes,
which no model load can wait for.

The ensemble is built here from the booster's own tree dump (never from a model file's
text: the booster exists only after :func:`harlab.ml.booster_text.check_booster_text`
accepted the text and LightGBM parsed it), so what is compiled is what was validated.
Every threshold is turned into the largest float32 not above it: the features are
float32, and for a float32 ``x``, ``x <= t`` (LightGBM compares in double) holds exactly
when ``x <= float32_down(t)``, so every row takes the same path as in LightGBM. Missing
values take LightGBM's routes: a split that learnt where NaN goes sends it there, one
that saw no missing values treats NaN as 0. onnxruntime sums the leaf values in
single rather than double precision, so the probabilities agree with LightGBM's to
about 2e-6 (the tests hold them to it).

Boosters this cannot reproduce exactly (categorical splits, zero-as-missing splits, an
objective other than ``multiclass``) are not compiled: :func:`compile_booster` returns
None and the member keeps LightGBM's predict.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError

__all__ = ["CompiledTrees", "compile_booster"]

_ML_OPSET = 3
_ONNX_OPSET = 15


class _NotCompilable(Exception):
    """A tree uses something the ONNX ensemble cannot reproduce exactly."""


def _float32_down(t: float) -> float:
    """The largest float32 ``f`` with ``f <= t``: for float32 x, ``x <= t`` iff ``x <= f``."""
    with np.errstate(over="ignore"):  # past float32's range: ±inf, then moved to the largest finite below
        f = np.float32(t)
    if math.isfinite(t) and float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def _tree_arrays(tree_id: int, class_id: int, root: dict[str, Any], a: dict[str, list[Any]]) -> None:
    """Append one tree of LightGBM's dump to the ensemble's attribute lists (iteratively: a
    deep tree must not exhaust Python's recursion)."""
    stack: list[tuple[dict[str, Any], int]] = [(root, 0)]
    next_id = 1
    while stack:
        node, node_id = stack.pop()
        a["nodes_treeids"].append(tree_id)
        a["nodes_nodeids"].append(node_id)
        if "split_feature" not in node:
            a["nodes_featureids"].append(0)
            a["nodes_modes"].append("LEAF")
            a["nodes_values"].append(0.0)
            a["nodes_truenodeids"].append(0)
            a["nodes_falsenodeids"].append(0)
            a["nodes_missing_value_tracks_true"].append(0)
            a["class_treeids"].append(tree_id)
            a["class_nodeids"].append(node_id)
            a["class_ids"].append(class_id)
            a["class_weights"].append(float(node["leaf_value"]))
            continue
        if node.get("decision_type") != "<=":
            raise _NotCompilable(f"a {node.get('decision_type')!r} split")
        missing = node.get("missing_type")
        threshold = float(node["threshold"])
        if missing == "NaN":
            nan_left = bool(node["default_left"])
        elif missing == "None":  # LightGBM reads NaN as 0 here
            nan_left = threshold >= 0.0
        else:
            raise _NotCompilable(f"a split with missing type {missing!r}")
        left, right = next_id, next_id + 1
        next_id += 2
        a["nodes_featureids"].append(int(node["split_feature"]))
        a["nodes_modes"].append("BRANCH_LEQ")
        a["nodes_values"].append(_float32_down(threshold))
        a["nodes_truenodeids"].append(left)
        a["nodes_falsenodeids"].append(right)
        a["nodes_missing_value_tracks_true"].append(int(nan_left))
        stack.append((node["right_child"], right))
        stack.append((node["left_child"], left))


class CompiledTrees:
    """An onnxruntime session holding a booster's trees; :meth:`predict` matches
    ``Booster.predict`` for a ``multiclass`` booster on float32 features.

    One session serves every thread (onnxruntime's ``run`` is thread-safe); each call runs
    on one thread, so the prediction workers' batches are the parallelism."""

    def __init__(self, model_bytes: bytes, n_features: int, n_classes: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.n_features = n_features
        self.n_classes = n_classes
        self._session = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) float32 of feature rows ``F`` (N, n_features)."""
        F = np.ascontiguousarray(F, dtype=np.float32)
        if F.ndim != 2 or F.shape[1] != self.n_features:
            raise HarlabError(f"the trees take {self.n_features} feature columns, got shape {F.shape}")
        if len(F) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        return np.asarray(self._session.run(["probabilities"], {"features": F})[0], np.float32)


def ensemble_model(dump: dict[str, Any]) -> bytes:
    """The ONNX model (serialised) of LightGBM's ``dump_model()`` of a multiclass booster;
    raises ``_NotCompilable`` for what the ensemble cannot reproduce exactly."""
    from onnx import TensorProto, helper

    objective = str(dump.get("objective", "")).split()[0] if dump.get("objective") else ""
    k = int(dump.get("num_class", 0))
    if objective != "multiclass" or k < 2 or int(dump.get("num_tree_per_iteration", 0)) != k:
        raise _NotCompilable(f"objective {objective!r} with {k} classes")
    n_features = int(dump["max_feature_idx"]) + 1
    keys = [
        "nodes_treeids",
        "nodes_nodeids",
        "nodes_featureids",
        "nodes_modes",
        "nodes_values",
        "nodes_truenodeids",
        "nodes_falsenodeids",
        "nodes_missing_value_tracks_true",
        "class_treeids",
        "class_nodeids",
        "class_ids",
        "class_weights",
    ]
    a: dict[str, list[Any]] = {key: [] for key in keys}
    for i, tree in enumerate(dump["tree_info"]):
        _tree_arrays(i, i % k, tree["tree_structure"], a)
    attrs: dict[str, Any] = {**a, "classlabels_int64s": list(range(k)), "post_transform": "SOFTMAX"}
    node = helper.make_node(
        "TreeEnsembleClassifier", ["features"], ["label", "probabilities"], None, None, "ai.onnx.ml", **attrs
    )
    graph = helper.make_graph(
        [node],
        "lightgbm",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, n_features])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, k]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", _ML_OPSET)],
        producer_name="harlab",
    )
    model.ir_version = 8
    return bytes(model.SerializeToString())


_lock = threading.Lock()


def compile_booster(booster: Any) -> CompiledTrees | None:
    """The compiled ensemble of a (validated, parsed) LightGBM booster, or None when its trees
    use what the ensemble cannot reproduce exactly or onnxruntime is not installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    with _lock:  # dump_model is not documented as thread-safe
        dump = booster.dump_model()
    try:
        model = ensemble_model(dump)
    except _NotCompilable:
        return None
    return CompiledTrees(model, int(dump["max_feature_idx"]) + 1, int(dump["num_class"]))
