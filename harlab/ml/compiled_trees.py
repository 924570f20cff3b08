"""LightGBM's trees compiled for inference several times faster than ``Booster.predict``.

LightGBM's own ``Booster.predict`` walks every tree for every row through a general
interpreter (the default preset holds 800 rounds of 12 classes: 9,600 trees), which is
most of the time a day's prediction takes. Two engines evaluate the same trees faster:

* a small native kernel (:data:`_KERNEL_SOURCE`, C, the same for every model): the trees
  go in as flat arrays, and each tree is applied to a block of 64 rows at once, level by
  level without a branch per node, so the tree stays in the cache and the rows run in
  parallel in the CPU. It compares in double precision and sums the leaves in double, in
  LightGBM's tree order, so its raw scores equal LightGBM's exactly. The kernel is built
  once per machine with the C compiler (``$CC``, ``cc``, ``gcc`` or ``clang``) into the
  user's cache directory (:func:`cache_dir`), named by the hash of its source and flags;
  a sidecar file holds the SHA-256 of the built library, checked before every load (a
  library that does not match is built again). With no compiler, or
  ``HARLAB_NATIVE_TREES=0``, onnxruntime serves;
* onnxruntime's ``TreeEnsembleClassifier`` from flat arrays, 2-4 times faster than
  LightGBM on one thread; it sums in single precision (about 2e-6 from LightGBM).

Measured on the default preset's 9,600 trees (4,096 windows, one thread, a loaded
machine): LightGBM 1.08 s, onnxruntime 0.43 s, the native kernel 0.22 s (tl2cgen's
generated code 1.06 s after a 48 s build; treelite's GTIL 60 s on 4,000; lleaves had not
finished compiling the trees to machine code after seven minutes, which no model load can
wait for). ``benchmarks/predict_day.py`` measures them in the same run.

The trees are read from the booster's own tree dump (never from a model file's text:
the booster exists only after :func:`harlab.ml.booster_text.check_booster_text` accepted
the text and LightGBM parsed it), so what is compiled is what was validated. For
onnxruntime every threshold is turned into the largest float32 not above it: the features
are float32, and for a float32 ``x``, ``x <= t`` (LightGBM compares in double) holds
exactly when ``x <= float32_down(t)``, so every row takes the same path as in LightGBM.
Missing values take LightGBM's routes in both: a split that learnt where NaN goes sends
it there, one that saw no missing values treats NaN as 0.

Boosters this cannot reproduce exactly (categorical splits, zero-as-missing splits, an
objective other than ``multiclass``) are not compiled: :func:`compile_booster` returns
None and the member keeps LightGBM's predict.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError

__all__ = ["CompiledTrees", "cache_dir", "compile_booster", "native_kernel"]

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
        threshold, nan_left = _split(node)
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
    """A booster's trees ready for inference; :meth:`predict` matches ``Booster.predict`` for a
    ``multiclass`` booster on float32 features. ``engine`` says which evaluates them
    (``"native"`` or ``"onnxruntime"``).

    One object serves every thread; each call runs on the calling thread (the native kernel
    and onnxruntime release the GIL), so the prediction workers' batches are the parallelism."""

    engine = ""

    def __init__(self, n_features: int, n_classes: int) -> None:
        self.n_features = n_features
        self.n_classes = n_classes

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) float32 of feature rows ``F`` (N, n_features)."""
        F = np.ascontiguousarray(F, dtype=np.float32)
        if F.ndim != 2 or F.shape[1] != self.n_features:
            raise HarlabError(f"the trees take {self.n_features} feature columns, got shape {F.shape}")
        if len(F) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        return self._predict(F)

    def _predict(self, F: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _OnnxTrees(CompiledTrees):
    """An onnxruntime session holding the trees (onnxruntime's ``run`` is thread-safe)."""

    engine = "onnxruntime"

    def __init__(self, model_bytes: bytes, n_features: int, n_classes: int) -> None:
        import onnxruntime as ort

        super().__init__(n_features, n_classes)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])

    def _predict(self, F: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(["probabilities"], {"features": F})[0], np.float32)


#: one node of the native kernel: its threshold, feature, and its left child times two plus
#: whether NaN goes left (the right child is the left one plus one); a leaf points to itself
#: with an infinite threshold, so a row that reached it stays there for the tree's other levels
_NODE = np.dtype([("thr", "<f8"), ("feat", "<i4"), ("left2", "<i4")])

_KERNEL_SOURCE = r"""
#include <stdint.h>
#include <string.h>

typedef struct {
    double thr;
    int32_t feat;
    int32_t left2;
} node_t;

#define BLOCK 64

/* out (n_rows, n_classes): for each row the sum of its leaf values over the trees of each class,
   the trees applied in order to blocks of BLOCK rows, every row of a block one level at a time */
void harlab_trees_sum(const node_t *nodes, const double *leaf, const int32_t *root, const int32_t *depth,
                      const int32_t *cls, int64_t n_trees, int64_t n_classes, const float *X,
                      int64_t n_rows, int64_t stride, double *out) {
    int32_t cur[BLOCK];
    memset(out, 0, sizeof(double) * (size_t)(n_rows * n_classes));
    for (int64_t r0 = 0; r0 < n_rows; r0 += BLOCK) {
        int64_t nb = n_rows - r0 < BLOCK ? n_rows - r0 : BLOCK;
        const float *xb = X + r0 * stride;
        double *ob = out + r0 * n_classes;
        for (int64_t t = 0; t < n_trees; ++t) {
            int32_t rt = root[t], d = depth[t];
            if (d > 0) { /* every row starts at the root: one node, read once */
                const node_t nd = nodes[rt];
                const float *xf = xb + nd.feat;
                int32_t right = (nd.left2 >> 1) + 1, nan_left = nd.left2 & 1;
                for (int64_t r = 0; r < nb; ++r) {
                    double v = (double)xf[r * stride];
                    cur[r] = right - ((v <= nd.thr) | (nan_left & (v != v)));
                }
            } else {
                for (int64_t r = 0; r < nb; ++r) cur[r] = rt;
            }
            for (int32_t l = 1; l < d; ++l) {
                for (int64_t r = 0; r < nb; ++r) {
                    const node_t *nd = nodes + cur[r];
                    double v = (double)xb[r * stride + nd->feat];
                    int32_t l2 = nd->left2;
                    int32_t go_left = (v <= nd->thr) | ((l2 & 1) & (v != v));
                    cur[r] = (l2 >> 1) + 1 - go_left;
                }
            }
            int32_t k = cls[t];
            for (int64_t r = 0; r < nb; ++r) ob[r * n_classes + k] += leaf[cur[r]];
        }
    }
}
"""
_KERNEL_FLAGS = ("-O2", "-shared", "-fPIC")


def cache_dir() -> Path:
    """Where harlab keeps what it builds for this machine: ``$HARLAB_CACHE_DIR``, else the
    platform's user cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%``,
    ``~/Library/Caches``) under ``harlab``."""
    env = os.environ.get("HARLAB_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "harlab"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compiler() -> str | None:
    for cand in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cand and shutil.which(cand):
            return cand
    return None


def _build_kernel(cc: str, lib: Path) -> None:
    """Compile the kernel to ``lib`` (written beside it, then moved into place, so another
    process never loads half a file) and record its SHA-256 in ``lib`` + ``.sha256``."""
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib.parent, prefix=".build-") as tmp:
        src = Path(tmp) / "trees.c"
        src.write_text(_KERNEL_SOURCE)
        out = Path(tmp) / lib.name
        subprocess.run(
            [cc, *_KERNEL_FLAGS, "-o", str(out), str(src)], check=True, capture_output=True, timeout=120
        )
        digest = _file_sha256(out)
        os.replace(out, lib)
        side = Path(tmp) / "sha256"
        side.write_text(digest)
        os.replace(side, lib.with_name(lib.name + ".sha256"))


_kernel_lock = threading.Lock()
_kernel: list[Any] = []  #: the loaded kernel function, or None when it cannot be had, once known


def native_kernel() -> Any:
    """The native kernel's function (ctypes), built into :func:`cache_dir` on first use and
    loaded only when the library's SHA-256 matches the one recorded when it was built (and then
    from a private copy of the bytes checked); None
    when ``HARLAB_NATIVE_TREES=0``, on a platform other than Linux and macOS, or when no C
    compiler builds it."""
    if os.environ.get("HARLAB_NATIVE_TREES", "1") == "0" or sys.platform not in ("linux", "darwin"):
        return None
    with _kernel_lock:
        if not _kernel:
            _kernel.append(_load_kernel())
        return _kernel[0]


def kernel_path() -> Path:
    """Where the native kernel is built: named by the hash of its source, flags and platform."""
    key = hashlib.sha256(
        "\0".join([_KERNEL_SOURCE, *_KERNEL_FLAGS, sys.platform, platform.machine()]).encode()
    ).hexdigest()[:24]
    return cache_dir() / "compiled-trees" / f"trees-{key}.so"


def _verified_bytes(lib: Path) -> bytes | None:
    """The library's bytes when their SHA-256 is the one recorded beside it at build time."""
    side = lib.with_name(lib.name + ".sha256")
    if not (lib.is_file() and side.is_file()):
        return None
    data = lib.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == side.read_text().strip() else None


def _load_kernel() -> Any:
    lib = kernel_path()
    try:
        data = _verified_bytes(lib)
        if data is None:
            cc = _compiler()
            if cc is None:
                return None
            _build_kernel(cc, lib)
            data = _verified_bytes(lib)
            if data is None:
                return None
        # the very bytes that were checked are loaded, from a private copy (not the cache's file,
        # which could change between the check and the load)
        with tempfile.TemporaryDirectory(prefix="harlab-trees-") as tmp:
            private = Path(tmp) / lib.name
            private.write_bytes(data)
            fn = ctypes.CDLL(str(private)).harlab_trees_sum
    except (OSError, subprocess.SubprocessError, AttributeError):
        return None
    ptr = ctypes.c_void_p
    i64 = ctypes.c_int64
    fn.argtypes = [ptr, ptr, ptr, ptr, ptr, i64, i64, ptr, i64, i64, ptr]
    fn.restype = None
    return fn


class _NativeTrees(CompiledTrees):
    """The trees as flat arrays for the native kernel (:data:`_KERNEL_SOURCE`)."""

    engine = "native"

    def __init__(self, kernel: Any, dump: dict[str, Any]) -> None:
        k = int(dump["num_class"])
        super().__init__(int(dump["max_feature_idx"]) + 1, k)
        self._kernel = kernel
        thr: list[float] = []
        feat: list[int] = []
        left2: list[int] = []
        leaf: list[float] = []
        roots: list[int] = []
        depths: list[int] = []
        for tree in dump["tree_info"]:
            roots.append(len(thr))
            depths.append(_flat_tree(tree["tree_structure"], thr, feat, left2, leaf, self.n_features))
        if len(thr) >= 2**30:
            raise _NotCompilable(f"{len(thr)} nodes")
        self._nodes = np.zeros(len(thr), _NODE)
        self._nodes["thr"] = thr
        self._nodes["feat"] = feat
        self._nodes["left2"] = left2
        self._leaf = np.asarray(leaf, np.float64)
        self._root = np.asarray(roots, np.int32)
        self._depth = np.asarray(depths, np.int32)
        self._cls = np.arange(len(roots), dtype=np.int32) % k

    def raw_scores(self, F: np.ndarray) -> np.ndarray:
        """The sum of the leaf values of each class (N, K) float64: LightGBM's ``raw_score``.
        ``F`` must be C-contiguous float32 (N, n_features)."""
        out = np.empty((len(F), self.n_classes), np.float64)
        self._kernel(
            self._nodes.ctypes.data,
            self._leaf.ctypes.data,
            self._root.ctypes.data,
            self._depth.ctypes.data,
            self._cls.ctypes.data,
            len(self._root),
            self.n_classes,
            F.ctypes.data,
            len(F),
            F.shape[1],
            out.ctypes.data,
        )
        return out

    def _predict(self, F: np.ndarray) -> np.ndarray:
        s = self.raw_scores(F)
        s -= s.max(axis=1, keepdims=True)  # LightGBM's softmax, in double
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        return s.astype(np.float32)


def _flat_tree(
    root: dict[str, Any],
    thr: list[float],
    feat: list[int],
    left2: list[int],
    leaf: list[float],
    n_features: int,
) -> int:
    """Append one tree of LightGBM's dump to the native kernel's node lists (children side by
    side; iteratively: a deep tree must not exhaust Python's recursion); its depth."""

    def new() -> int:
        thr.append(math.inf)
        feat.append(0)
        left2.append(0)
        leaf.append(0.0)
        return len(thr) - 1

    stack: list[tuple[dict[str, Any], int, int]] = [(root, new(), 0)]
    depth = 0
    while stack:
        node, i, d = stack.pop()
        depth = max(depth, d)
        if "split_feature" not in node:
            left2[i] = 2 * i + 1  # itself, NaN included
            leaf[i] = float(node["leaf_value"])
            continue
        threshold, nan_left = _split(node)
        f = int(node["split_feature"])
        if not 0 <= f < n_features:
            raise _NotCompilable(f"a split on feature {f} of {n_features}")
        left = new()
        new()
        thr[i] = threshold
        feat[i] = f
        left2[i] = 2 * left + int(nan_left)
        stack.append((node["right_child"], left + 1, d + 1))
        stack.append((node["left_child"], left, d + 1))
    return depth


def _split(node: dict[str, Any]) -> tuple[float, bool]:
    """A split's threshold and whether NaN goes left, as LightGBM decides; raises
    ``_NotCompilable`` for what neither engine reproduces exactly."""
    if node.get("decision_type") != "<=":
        raise _NotCompilable(f"a {node.get('decision_type')!r} split")
    missing = node.get("missing_type")
    threshold = float(node["threshold"])
    if missing == "NaN":
        return threshold, bool(node["default_left"])
    if missing == "None":  # LightGBM reads NaN as 0 here
        return threshold, threshold >= 0.0
    raise _NotCompilable(f"a split with missing type {missing!r}")


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


def compile_booster(booster: Any, engine: str = "auto") -> CompiledTrees | None:
    """The compiled trees of a (validated, parsed) LightGBM booster, or None when they use what
    the engines cannot reproduce exactly. ``engine``: ``"native"`` (None without the kernel),
    ``"onnxruntime"`` (None when it is not installed), or ``"auto"``: the native kernel where
    it can be built (:func:`native_kernel`), else onnxruntime."""
    if engine not in ("auto", "native", "onnxruntime"):
        raise HarlabError(f"unknown engine for compiled trees: {engine!r}")
    kernel = native_kernel() if engine != "onnxruntime" else None
    if kernel is None and engine == "native":
        return None
    with _lock:  # dump_model is not documented as thread-safe
        dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split()[0] if dump.get("objective") else ""
    k = int(dump.get("num_class", 0))
    if objective != "multiclass" or k < 2 or int(dump.get("num_tree_per_iteration", 0)) != k:
        return None
    try:
        if kernel is not None:
            return _NativeTrees(kernel, dump)
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            return None
        return _OnnxTrees(ensemble_model(dump), int(dump["max_feature_idx"]) + 1, k)
    except _NotCompilable:
        return None
