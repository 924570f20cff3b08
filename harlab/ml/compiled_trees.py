"""LightGBM's trees compiled for inference several times faster than ``Booster.predict``.

LightGBM's own ``Booster.predict`` walks every tree for every row through a general
interpreter (the default preset holds 800 rounds of 12 classes: 9,600 trees), which is
most of the time a day's prediction takes. Two engines evaluate the same trees faster:

* a small native kernel (:data:`_KERNEL_SOURCE`, C, the same for every model): the trees
  go in as flat arrays, and each tree is applied to a block of 64 rows at once, the block's
  features laid out feature by feature (a tree's few features are a few cache lines). A tree
  of at most 64 leaves (every preset's) is evaluated through leaf sets: each of its splits is
  tested for the 64 rows at once (independent, vectorised comparisons of a contiguous run),
  a row going right drops the leaves of the split's left subtree from its set, and the
  leftmost leaf left is the exit leaf (QuickScorer's idea); a bigger tree is walked level by
  level without a branch per node. It compares float32 features with float32 thresholds
  that take the very branches of LightGBM's double ones (below) and sums the leaves in
  double, in LightGBM's tree order, so its raw scores equal LightGBM's exactly. The kernel
  is built once per machine with the C compiler (``$CC``, ``cc``, ``gcc`` or ``clang``)
  into the user's cache directory (:func:`cache_dir`), named by the hash of its source and
  flags, tuned to the CPU (``-march=native``) under a name that carries the CPU's identity
  where it can be read (Linux), else portable; a sidecar file holds the SHA-256 of the
  built library, checked before every load (a library that does not match is built
  again). With no compiler, or ``HARLAB_NATIVE_TREES=0``, onnxruntime serves;
* onnxruntime's ``TreeEnsembleClassifier`` from flat arrays, 2-4 times faster than
  LightGBM on one thread; it sums in single precision (about 2e-6 from LightGBM).

Measured on the default preset's 9,600 trees (4,096 windows, one thread, a loaded
machine): LightGBM 1.08 s, onnxruntime 0.43 s, the native kernel 0.22 s (tl2cgen's
generated code 1.06 s after a 48 s build; treelite's GTIL 60 s on 4,000; lleaves had not
finished compiling the trees to machine code after seven minutes, which no model load can
wait for). ``benchmarks/predict_day.py`` measures them in the same run. The leaf sets then
took a day's 67,499 rows from 3.78 to 1.25 CPU seconds (the level walk with double
thresholds in the same run; ``benchmarks/trees_real.py``: UCI HAPT's real model 0.278 to
0.089, WISDM's 14,400 trees 3.45 to 1.03), with the very raw scores; of that, the float32 thresholds, the feature-major block
and ``-march=native`` gave about 15 %, an AVX-512 gather walk nothing more: the walk wastes
a third of its levels on rows already at a leaf (mean path 2.0 of 2.9 levels).

The trees are read from the booster's own tree dump (never from a model file's text:
the booster exists only after :func:`harlab.ml.booster_text.check_booster_text` accepted
the text and LightGBM parsed it), so what is compiled is what was validated. For both
engines every threshold is turned into the largest float32 not above it: the features
are float32, and for a float32 ``x``, ``x <= t`` (LightGBM compares in double) holds
exactly when ``x <= float32_down(t)``, so every row takes the same path as in LightGBM.
Missing values take LightGBM's routes in both: a split that learnt where NaN goes sends
it there, one that saw no missing values treats NaN as 0.

Boosters this cannot reproduce exactly (categorical splits, zero-as-missing splits, an
objective other than ``multiclass``) are not compiled: :func:`compile_booster` returns
None and the member keeps LightGBM's predict.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import inspect
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harlab.core.errors import HarlabError
from harlab.core.files import atomic_open

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


def _float32_down_all(t: np.ndarray) -> np.ndarray:
    """:func:`_float32_down` of every value of ``t`` (float64; ±inf stay, NaN is not expected)."""
    with np.errstate(over="ignore"):
        f = t.astype(np.float32)
    up = np.isfinite(t) & (f.astype(np.float64) > t)
    f[up] = np.nextafter(f[up], np.float32(-np.inf))
    return f


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
        """Class probabilities (N, K) float32 of feature rows ``F`` (N, n_features), in the layout
        given (each engine takes what it reads from there)."""
        F = np.asarray(F, dtype=np.float32)
        if F.ndim != 2 or F.shape[1] != self.n_features:
            raise HarlabError(f"the trees take {self.n_features} feature columns, got shape {F.shape}")
        if len(F) == 0:
            return np.zeros((0, self.n_classes), np.float32)
        return self._predict(F)

    def _predict(self, F: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def element_strides(F: np.ndarray) -> tuple[int, int] | None:
    """The steps between rows and between features of float32 rows ``F`` (N, n_features) in
    elements, when the native kernel can read them where they lie (both positive, whole
    elements: a C-contiguous matrix, a transposed one, or a slice of either); else None."""
    if F.ndim != 2 or F.dtype != np.float32 or not F.flags.aligned:
        return None
    rs, cs = F.strides
    if rs <= 0 or cs <= 0 or rs % 4 or cs % 4:
        return None
    return rs // 4, cs // 4


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
        F = np.ascontiguousarray(F)
        return np.asarray(self._session.run(["probabilities"], {"features": F})[0], np.float32)


#: one node of the native kernel: its threshold as the largest float32 not above LightGBM's
#: double one (:func:`_float32_down`: for a float32 feature the same comparison), feature, and its
#: left child times two plus whether NaN goes left (the right child is the left one plus one); a
#: leaf points to itself with an infinite threshold, so a row that reached it stays there for the
#: tree's other levels
_NODE = np.dtype([("thr", "<f4"), ("feat", "<i4"), ("left2", "<i4")])

_KERNEL_SOURCE = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float thr;
    int32_t feat;
    int32_t left2;
} node_t;

#define BLOCK 64

/* The buffer of one block of rows laid out feature by feature (zeroed: rows past the last one of a
   partial block hold zeros or an earlier block's rows, never uninitialised memory); NULL when it
   cannot be had. */
static float *block_buffer(int64_t n_feat) {
    return (float *)calloc((size_t)BLOCK * (size_t)(n_feat > 0 ? n_feat : 1), sizeof(float));
}

/* Rows r0 ... r0 + BLOCK (fewer at the end) of X copied into xt feature by feature, so that one
   feature's values for the block's rows lie side by side; row r's feature f is X[r * rs + f * cs]
   (rows one after the other: cs 1; features one after the other, as a session's prediction keeps
   them: rs 1, each feature's run a plain copy). Returns how many rows were copied. */
static int64_t load_block(float *xt, const float *X, int64_t r0, int64_t n_rows, int64_t n_feat,
                          int64_t rs, int64_t cs) {
    int64_t nb = n_rows - r0 < BLOCK ? n_rows - r0 : BLOCK;
    const float *xb = X + r0 * rs;
    if (rs == 1) {
        for (int64_t f = 0; f < n_feat; ++f) memcpy(xt + f * BLOCK, xb + f * cs, sizeof(float) * (size_t)nb);
    } else if (cs == 1) {
        for (int64_t r = 0; r < nb; ++r)
            for (int64_t f = 0; f < n_feat; ++f) xt[f * BLOCK + r] = xb[r * rs + f];
    } else {
        for (int64_t r = 0; r < nb; ++r)
            for (int64_t f = 0; f < n_feat; ++f) xt[f * BLOCK + r] = xb[r * rs + f * cs];
    }
    return nb;
}

/* The sums of one block, class by class (acc[k * BLOCK + r]: a class's sums for the block's rows
   side by side, so adding a tree's leaves to them is one contiguous run, not a store every
   n_classes doubles); zeroed, or NULL when they cannot be had. */
static double *class_sums(int64_t n_classes) {
    return (double *)calloc((size_t)BLOCK * (size_t)(n_classes > 0 ? n_classes : 1), sizeof(double));
}

/* What a kernel works in: one block of rows feature by feature (block_buffer) and its sums class by
   class (class_sums). */
typedef struct {
    float *xt;
    double *acc;
} scratch_t;

static void scratch_free(scratch_t *buf) {
    free(buf->xt);
    free(buf->acc);
}

/* Both buffers, or -1 (nothing held) when either cannot be had. */
static int scratch_alloc(scratch_t *buf, int64_t n_feat, int64_t n_classes) {
    buf->xt = block_buffer(n_feat);
    buf->acc = class_sums(n_classes);
    if (buf->xt && buf->acc) return 0;
    scratch_free(buf);
    return -1;
}

/* The block's nb rows of sums written to ob (row by row, as out holds them) and acc zeroed again. */
static void store_block(double *ob, double *acc, int64_t nb, int64_t n_classes) {
    for (int64_t r = 0; r < nb; ++r)
        for (int64_t k = 0; k < n_classes; ++k) ob[r * n_classes + k] = acc[k * BLOCK + r];
    memset(acc, 0, sizeof(double) * (size_t)(BLOCK * n_classes));
}

/* out (n_rows, n_classes): for each row the sum of its leaf values over the trees of each class.
   The rows go BLOCK at a time, copied feature by feature into xt (the BLOCK values of one feature
   side by side: a tree's few features are a few cache lines, its root's a contiguous run); the
   trees are applied in order to the block, every row of it one level at a time. Returns 0, or -1
   when the block's buffer cannot be had. */
int harlab_trees_sum(const node_t *nodes, const double *leaf, const int32_t *root, const int32_t *depth,
                     const int32_t *cls, int64_t n_trees, int64_t n_classes, const float *X,
                     int64_t n_rows, int64_t n_feat, int64_t rs, int64_t cs, double *out) {
    int32_t cur[BLOCK];
    scratch_t buf;
    if (scratch_alloc(&buf, n_feat, n_classes)) return -1;
    float *xt = buf.xt;
    double *acc = buf.acc;
    for (int64_t r0 = 0; r0 < n_rows; r0 += BLOCK) {
        int64_t nb = load_block(xt, X, r0, n_rows, n_feat, rs, cs);
        double *ob = out + r0 * n_classes;
        for (int64_t t = 0; t < n_trees; ++t) {
            int32_t rt = root[t], d = depth[t];
            if (d > 0) { /* every row starts at the root: one node, read once */
                const node_t nd = nodes[rt];
                const float *xf = xt + (int64_t)nd.feat * BLOCK;
                int32_t right = (nd.left2 >> 1) + 1, nan_left = nd.left2 & 1;
                for (int64_t r = 0; r < nb; ++r) {
                    float v = xf[r];
                    cur[r] = right - ((v <= nd.thr) | (nan_left & (v != v)));
                }
            } else {
                for (int64_t r = 0; r < nb; ++r) cur[r] = rt;
            }
            for (int32_t l = 1; l < d; ++l) {
                for (int64_t r = 0; r < nb; ++r) {
                    const node_t *nd = nodes + cur[r];
                    float v = xt[(int64_t)nd->feat * BLOCK + r];
                    int32_t l2 = nd->left2;
                    int32_t go_left = (v <= nd->thr) | ((l2 & 1) & (v != v));
                    cur[r] = (l2 >> 1) + 1 - go_left;
                }
            }
            double *ak = acc + (int64_t)cls[t] * BLOCK;
            for (int64_t r = 0; r < nb; ++r) ak[r] += leaf[cur[r]];
        }
        store_block(ob, acc, nb, n_classes);
    }
    scratch_free(&buf);
    return 0;
}

/* The same sums for trees of at most 64 leaves, numbered left to right, without walking them:
   every split of a tree is tested for the BLOCK rows at once (a contiguous run of xt), and a
   row that goes right at a split drops the leaves of its left subtree from its set (keep &=
   mask); the leftmost leaf left is the one the walk from the root reaches (QuickScorer, Lucchese
   et al. 2015). The tests are independent of each other, so they vectorise, and a row makes no
   dependent loads. leaf holds 64 values past the last tree's, so no set reads outside it.
   Returns 0, or -1 when the block's buffer cannot be had. */
int harlab_trees_masks(const float *thr, const int32_t *feat, const int32_t *nan_left, const uint64_t *mask,
                       const int64_t *node_off, const double *leaf, const int64_t *leaf_off,
                       const int32_t *cls, int64_t n_trees, int64_t n_classes, const float *X,
                       int64_t n_rows, int64_t n_feat, int64_t rs, int64_t cs, double *out) {
    uint64_t keep[BLOCK];
    scratch_t buf;
    if (scratch_alloc(&buf, n_feat, n_classes)) return -1;
    float *xt = buf.xt;
    double *acc = buf.acc;
    for (int64_t r0 = 0; r0 < n_rows; r0 += BLOCK) {
        int64_t nb = load_block(xt, X, r0, n_rows, n_feat, rs, cs);
        double *ob = out + r0 * n_classes;
        for (int64_t t = 0; t < n_trees; ++t) {
            for (int r = 0; r < BLOCK; ++r) keep[r] = ~(uint64_t)0;
            for (int64_t j = node_off[t]; j < node_off[t + 1]; ++j) {
                const float *xf = xt + (int64_t)feat[j] * BLOCK;
                const float th = thr[j];
                const uint64_t m = mask[j];
                const int nl = nan_left[j];
                for (int r = 0; r < BLOCK; ++r) {
                    float v = xf[r];
                    int left = (v <= th) | (nl & (v != v));
                    keep[r] &= left ? ~(uint64_t)0 : m;
                }
            }
            /* every row of the block, those past nb too (their sets come from xt's earlier or
               zeroed rows and are never stored): a run without a bound to check. The leftmost
               leaf is the set's lowest bit, found as 63 minus the leading zeros of that bit
               alone, which vectorises (AVX-512 counts leading zeros, not trailing ones) */
            const double *lv = leaf + leaf_off[t];
            double *ak = acc + (int64_t)cls[t] * BLOCK;
            for (int r = 0; r < BLOCK; ++r) {
                uint64_t set = keep[r] | ((uint64_t)1 << 63);
                ak[r] += lv[63 - __builtin_clzll(set & (0 - set))];
            }
        }
        store_block(ob, acc, nb, n_classes);
    }
    scratch_free(&buf);
    return 0;
}

/* The forward steps of the sticky HMM (harlab.ml.smoothing.StickyViterbi.feed, whose Python loop
   this is, operation for operation: the same doubles in the same order, so the same path). For
   steps t = first ... n - 1 of the log emissions log_e (n x k): the best state b before the step
   (the first of the largest, or the first NaN, as numpy's argmax), whether each state stayed
   (its score plus log_stay at least the best's plus log_move), and the new scores in delta. */
void harlab_sticky_forward(const double *log_e, int64_t n, int64_t k, int64_t first, double log_stay,
                           double log_move, double *delta, uint8_t *keep, int64_t *best) {
    for (int64_t t = first; t < n; ++t) {
        int64_t b = 0;
        for (int64_t j = 0; j < k; ++j) {
            if (delta[j] != delta[j]) { b = j; break; }
            if (delta[j] > delta[b]) b = j;
        }
        best[t] = b;
        const double move = delta[b] + log_move;
        const double *e = log_e + t * k;
        uint8_t *kt = keep + t * k;
        for (int64_t j = 0; j < k; ++j) {
            const double stay = delta[j] + log_stay;
            kt[j] = stay >= move;
            delta[j] = (kt[j] ? stay : move) + e[j];
        }
    }
}
"""
_KERNEL_FLAGS = ("-O3", "-shared", "-fPIC")
#: tuned for the CPU that builds it (AVX-512 on the machine measured: 12 % less time); the
#: library's name then carries that CPU's identity (:func:`_cpu_identity`), so a cache directory
#: shared with another kind of CPU never loads it there; without a way to tell, or when the
#: compiler refuses the flag, the portable build serves
_NATIVE_FLAGS = ("-march=native",)


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


def _cpu_identity() -> str | None:
    """What tells this machine's CPU from another's for a build tuned to it (Linux: the model
    name and feature flags of ``/proc/cpuinfo``), or None when unknown (then no tuned build)."""
    if sys.platform != "linux":
        return None
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return None
    keep = [ln for ln in lines if ln.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part")]
    return "\n".join(sorted(set(keep))) or None


def _build_kernel(cc: str, lib: Path, native: bool = False) -> None:
    """Compile the kernel to ``lib`` (written beside it, then moved into place, so another
    process never loads half a file) and record its SHA-256 in ``lib`` + ``.sha256``;
    ``native``: tuned to this CPU (:data:`_NATIVE_FLAGS`)."""
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib.parent, prefix=".build-") as tmp:
        src = Path(tmp) / "trees.c"
        src.write_text(_KERNEL_SOURCE)
        out = Path(tmp) / lib.name
        subprocess.run(
            [cc, *_KERNEL_FLAGS, *(_NATIVE_FLAGS if native else ()), "-o", str(out), str(src)],
            check=True,
            capture_output=True,
            timeout=120,
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


def kernel_path(native: bool = False) -> Path:
    """Where the native kernel is built: named by the hash of its source, flags and platform,
    and for a build tuned to the CPU (``native``), of the CPU's identity (:func:`_cpu_identity`)."""
    parts = [_KERNEL_SOURCE, *_KERNEL_FLAGS, sys.platform, platform.machine()]
    if native:
        parts += [*_NATIVE_FLAGS, _cpu_identity() or ""]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
    return cache_dir() / "compiled-trees" / f"trees-{key}{'-native' if native else ''}.so"


def _verified_bytes(lib: Path) -> bytes | None:
    """The library's bytes when their SHA-256 is the one recorded beside it at build time."""
    side = lib.with_name(lib.name + ".sha256")
    if not (lib.is_file() and side.is_file()):
        return None
    data = lib.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == side.read_text().strip() else None


def _kernel_bytes(native: bool) -> tuple[Path, bytes] | None:
    """The checked bytes of the kernel's library (built first when missing or not matching its
    hash) and its path; None when it cannot be built."""
    lib = kernel_path(native)
    data = _verified_bytes(lib)
    if data is None:
        cc = _compiler()
        if cc is None:
            return None
        try:
            _build_kernel(cc, lib, native)
        except (OSError, subprocess.SubprocessError):
            return None
        data = _verified_bytes(lib)
    return None if data is None else (lib, data)


def _load_kernel() -> Any:
    try:
        # tuned to this CPU where it can be told from others, else (or when that build fails) portable
        found = (_kernel_bytes(True) if _cpu_identity() else None) or _kernel_bytes(False)
        if found is None:
            return None
        lib, data = found
        # the very bytes that were checked are loaded, from a private copy (not the cache's file,
        # which could change between the check and the load)
        with tempfile.TemporaryDirectory(prefix="harlab-trees-") as tmp:
            private = Path(tmp) / lib.name
            private.write_bytes(data)
            cdll = ctypes.CDLL(str(private))
            levels, masks, sticky = cdll.harlab_trees_sum, cdll.harlab_trees_masks, cdll.harlab_sticky_forward
    except (OSError, subprocess.SubprocessError, AttributeError):
        return None
    ptr = ctypes.c_void_p
    i64 = ctypes.c_int64
    levels.argtypes = [ptr, ptr, ptr, ptr, ptr, i64, i64, ptr, i64, i64, i64, i64, ptr]
    levels.restype = ctypes.c_int
    masks.argtypes = [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, i64, i64, ptr, i64, i64, i64, i64, ptr]
    masks.restype = ctypes.c_int
    sticky.argtypes = [ptr, i64, i64, i64, ctypes.c_double, ctypes.c_double, ptr, ptr, ptr]
    sticky.restype = None
    return _Kernel(levels, masks, sticky)


@dataclass(frozen=True)
class _Kernel:
    """The native kernel's functions (ctypes): trees walked level by level, trees of at most 64
    leaves through leaf sets, and the sticky HMM's forward steps (:data:`_KERNEL_SOURCE`)."""

    levels: Any
    masks: Any
    sticky_forward: Any


class _NativeTrees(CompiledTrees):
    """The trees as flat arrays for the native kernel (:data:`_KERNEL_SOURCE`): as leaf sets when
    every tree has at most 64 leaves (:func:`_mask_tree`), else as nodes walked level by level."""

    engine = "native"

    def __init__(
        self, kernel: _Kernel, dump: dict[str, Any], masks: dict[str, np.ndarray] | None = None
    ) -> None:
        """From LightGBM's tree dump, or (``masks``) from leaf-set arrays built from it before
        (:func:`_cached_masks`; ``dump`` then holds only ``num_class`` and ``max_feature_idx``)."""
        k = int(dump["num_class"])
        super().__init__(int(dump["max_feature_idx"]) + 1, k)
        self._kernel = kernel
        self._masks = masks
        if masks is not None:
            self._cls = np.arange(len(masks["leaf_off"]), dtype=np.int32) % k
            return
        trees = [tree["tree_structure"] for tree in dump["tree_info"]]
        self._cls = np.arange(len(trees), dtype=np.int32) % k
        with contextlib.suppress(_TooManyLeaves):  # then walked level by level
            self._masks = _mask_arrays(trees, self.n_features)
        if self._masks is not None:
            return
        thr: list[float] = []
        feat: list[int] = []
        left2: list[int] = []
        leaf: list[float] = []
        roots: list[int] = []
        depths: list[int] = []
        for tree in trees:
            roots.append(len(thr))
            depths.append(_flat_tree(tree, thr, feat, left2, leaf, self.n_features))
        if len(thr) >= 2**30:
            raise _NotCompilable(f"{len(thr)} nodes")
        self._nodes = np.zeros(len(thr), _NODE)
        self._nodes["thr"] = _float32_down_all(np.asarray(thr, np.float64))
        self._nodes["feat"] = feat
        self._nodes["left2"] = left2
        self._leaf = np.asarray(leaf, np.float64)
        self._root = np.asarray(roots, np.int32)
        self._depth = np.asarray(depths, np.int32)

    @property
    def layout(self) -> str:
        """``"masks"`` (leaf sets) or ``"levels"`` (nodes walked level by level)."""
        return "masks" if self._masks is not None else "levels"

    def raw_scores(self, F: np.ndarray) -> np.ndarray:
        """The sum of the leaf values of each class (N, K) float64: LightGBM's ``raw_score``.
        ``F``: float32 (N, n_features), C-contiguous or in any layout :func:`element_strides`
        reads (a session's prediction keeps its features feature by feature: each feature's
        run of rows is then one copy into the kernel's block, not a gather)."""
        steps = element_strides(F)
        if steps is None or F.shape[1] != self.n_features:
            F = np.ascontiguousarray(F, np.float32)
            if F.ndim != 2 or F.shape[1] != self.n_features:
                raise HarlabError(f"the trees take {self.n_features} feature columns, got shape {F.shape}")
            steps = element_strides(F) or (F.shape[1], 1)
        out = np.empty((len(F), self.n_classes), np.float64)
        if len(F) == 0:
            return out
        tail = (len(self._cls), self.n_classes, F.ctypes.data, len(F), F.shape[1], *steps, out.ctypes.data)
        if self._masks is not None:
            a = self._masks
            failed = self._kernel.masks(
                a["thr"].ctypes.data,
                a["feat"].ctypes.data,
                a["nan_left"].ctypes.data,
                a["mask"].ctypes.data,
                a["node_off"].ctypes.data,
                a["leaf"].ctypes.data,
                a["leaf_off"].ctypes.data,
                self._cls.ctypes.data,
                *tail,
            )
        else:
            failed = self._kernel.levels(
                self._nodes.ctypes.data,
                self._leaf.ctypes.data,
                self._root.ctypes.data,
                self._depth.ctypes.data,
                self._cls.ctypes.data,
                *tail,
            )
        if failed:
            raise MemoryError("no memory for the compiled trees' block of rows")
        return out

    def _predict(self, F: np.ndarray) -> np.ndarray:
        s = self.raw_scores(F)
        s -= s.max(axis=1, keepdims=True)  # LightGBM's softmax, in double
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        return s.astype(np.float32)


class _TooManyLeaves(Exception):
    """A tree has more leaves than a leaf set holds (64)."""


#: leaves a leaf set (one bit each, a uint64) holds
_MASK_LEAVES = 64


def _mask_arrays(trees: list[dict[str, Any]], n_features: int) -> dict[str, np.ndarray]:
    """The native kernel's leaf-set arrays of all ``trees`` (:func:`_mask_tree` each): per split
    its threshold (float32, :func:`_float32_down`), feature, whether NaN goes left and the leaf set
    kept when a row goes right; per tree where its splits and leaves start. Raises
    ``_TooManyLeaves`` for a tree of more than 64 leaves."""
    thr: list[float] = []
    feat: list[int] = []
    nan_left: list[int] = []
    mask: list[int] = []
    leaf: list[float] = []
    node_off = [0]
    leaf_off: list[int] = []
    for tree in trees:
        leaf_off.append(len(leaf))
        _mask_tree(tree, thr, feat, nan_left, mask, leaf, n_features)
        node_off.append(len(thr))
    leaf += [0.0] * _MASK_LEAVES  # a set's lowest bit past a tree's leaves still reads inside
    return {
        "thr": _float32_down_all(np.asarray(thr, np.float64)),
        "feat": np.asarray(feat, np.int32),
        "nan_left": np.asarray(nan_left, np.int32),
        "mask": np.asarray(mask, np.uint64),
        "node_off": np.asarray(node_off, np.int64),
        "leaf": np.asarray(leaf, np.float64),
        "leaf_off": np.asarray(leaf_off, np.int64),
    }


def _mask_tree(
    root: dict[str, Any],
    thr: list[float],
    feat: list[int],
    nan_left: list[int],
    mask: list[int],
    leaf: list[float],
    n_features: int,
) -> None:
    """Append one tree of LightGBM's dump as leaf sets: its leaves numbered left to right, and for
    each split the set of all leaves but those of its left subtree (what a row going right can
    still reach). Iterative (a deep tree must not exhaust Python's recursion)."""
    first = len(leaf)
    splits: list[tuple[int, dict[str, Any]]] = []  # each split's index and its node
    start: dict[int, int] = {}  # id(node) -> its subtree's first leaf (numbered in this tree)
    stack = [root]
    while stack:  # pre-order, left before right: the leaves come left to right
        node = stack.pop()
        start[id(node)] = len(leaf) - first
        if "split_feature" not in node:
            if len(leaf) - first >= _MASK_LEAVES:
                raise _TooManyLeaves
            leaf.append(float(node["leaf_value"]))
            continue
        threshold, goes_left = _split(node)
        f = int(node["split_feature"])
        if not 0 <= f < n_features:
            raise _NotCompilable(f"a split on feature {f} of {n_features}")
        splits.append((len(thr), node))
        thr.append(threshold)
        feat.append(f)
        nan_left.append(int(goes_left))
        mask.append(0)
        stack.append(node["right_child"])
        stack.append(node["left_child"])
    everything = (1 << _MASK_LEAVES) - 1
    for i, node in splits:
        # the left subtree's leaves are those from the split's first to its right child's first
        lo, hi = start[id(node)], start[id(node["right_child"])]
        mask[i] = everything & ~((1 << hi) - (1 << lo))


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


def compile_booster(booster: Any, engine: str = "auto", key: str | None = None) -> CompiledTrees | None:
    """The compiled trees of a (validated, parsed) LightGBM booster, or None when they use what
    the engines cannot reproduce exactly. ``engine``: ``"native"`` (None without the kernel),
    ``"onnxruntime"`` (None when it is not installed), or ``"auto"``: the native kernel where
    it can be built (:func:`native_kernel`), else onnxruntime.

    ``key``: what names the booster's trees across processes, the SHA-256 of the validated model
    text it was parsed from. The native kernel's leaf sets are then kept in :func:`cache_dir`
    under it (:func:`_cached_masks`) and read from there the next time: building them from the
    tree dump is most of a model's compile time (0.8 CPU s for the default preset's 9,600 trees,
    holding the GIL while a session's first pass computes features)."""
    if engine not in ("auto", "native", "onnxruntime"):
        raise HarlabError(f"unknown engine for compiled trees: {engine!r}")
    kernel = native_kernel() if engine != "onnxruntime" else None
    if kernel is None and engine == "native":
        return None
    if key is not None and kernel is not None and getattr(booster, "best_iteration", 0) <= 0:
        # (a booster with a best iteration predicts with fewer trees than it holds: not cached)
        n_features, k = booster.num_feature(), booster.num_model_per_iteration()
        masks = _cached_masks(key, n_features, booster.num_trees())
        if masks is not None and k >= 2:
            return _NativeTrees(kernel, {"num_class": k, "max_feature_idx": n_features - 1}, masks)
    else:
        key = None
    with _lock:  # dump_model is not documented as thread-safe
        dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split()[0] if dump.get("objective") else ""
    k = int(dump.get("num_class", 0))
    if objective != "multiclass" or k < 2 or int(dump.get("num_tree_per_iteration", 0)) != k:
        return None
    try:
        if kernel is not None:
            trees = _NativeTrees(kernel, dump)
            if key is not None and trees._masks is not None and len(dump["tree_info"]) == booster.num_trees():
                _store_masks(key, trees._masks)
            return trees
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            return None
        return _OnnxTrees(ensemble_model(dump), int(dump["max_feature_idx"]) + 1, k)
    except _NotCompilable:
        return None


#: leaf-set files kept in the cache (the least recently used go first)
CACHED_MODELS = 32
#: a leaf-set file larger than this is not read (the default preset's is 4 MB)
_MAX_CACHED_BYTES = 1 << 30
_MASK_DTYPES = {
    "thr": np.float32,
    "feat": np.int32,
    "nan_left": np.int32,
    "mask": np.uint64,
    "node_off": np.int64,
    "leaf": np.float64,
    "leaf_off": np.int64,
}


@functools.cache
def _mask_code() -> tuple[str, ...]:
    """The code that builds leaf sets, read once per process: a leaf-set file's name carries it."""
    try:
        return tuple(
            inspect.getsource(f) for f in (_mask_arrays, _mask_tree, _split, _float32_down, _float32_down_all)
        )
    except (OSError, TypeError):  # no source at hand (a frozen build): the release names it
        from harlab import __version__

        return (__version__,)


def _masks_path(key: str) -> Path:
    """The leaf-set file of the trees named ``key``: its name also carries the code that builds
    leaf sets (a change to it never reads sets built by the previous code)."""
    parts = [key, str(_MASK_LEAVES), *_mask_code()]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return cache_dir() / "compiled-trees" / f"masks-{digest}.npz"


def _cached_masks(key: str, n_features: int, n_trees: int) -> dict[str, np.ndarray] | None:
    """The leaf sets kept for the trees named ``key`` when they are there and fit a booster of
    ``n_features`` features and ``n_trees`` trees (:func:`_check_masks`: an index out of range
    would make the kernel read outside its arrays); None otherwise, and they are built again."""
    path = _masks_path(key)
    try:
        if not path.is_file() or path.stat().st_size > _MAX_CACHED_BYTES:
            return None
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in _MASK_DTYPES if name in z.files}
        os.utime(path)  # recently used: kept when the cache is pruned
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    return arrays if _check_masks(arrays, n_features, n_trees) else None


def _check_masks(a: dict[str, np.ndarray], n_features: int, n_trees: int) -> bool:
    """Whether leaf-set arrays are what :func:`_mask_arrays` builds for ``n_trees`` trees on
    ``n_features`` features: every array there with its dtype, one dimension, the splits' arrays
    of one length, each tree's splits a run of them, its features in range, and each tree's 64
    leaves inside the leaf values."""
    if set(a) != set(_MASK_DTYPES) or any(a[n].dtype != t or a[n].ndim != 1 for n, t in _MASK_DTYPES.items()):
        return False
    n_splits = len(a["thr"])
    if any(len(a[n]) != n_splits for n in ("feat", "nan_left", "mask")):
        return False
    off, leaf_off = a["node_off"], a["leaf_off"]
    if len(off) != n_trees + 1 or len(leaf_off) != n_trees or n_trees == 0:
        return False
    if off[0] != 0 or off[-1] != n_splits or (np.diff(off) < 0).any():
        return False
    if n_splits and (a["feat"].min() < 0 or a["feat"].max() >= n_features):
        return False
    return bool(leaf_off.min() >= 0 and leaf_off.max() <= len(a["leaf"]) - _MASK_LEAVES)


def _store_masks(key: str, masks: dict[str, np.ndarray]) -> None:
    """Keep leaf sets for the next process (written beside, then moved into place), and drop
    the least recently used files past :data:`CACHED_MODELS`. A cache that cannot be written
    costs only the next build."""
    path = _masks_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb", suffix=".npz", durable=False) as f:
            np.savez(f, allow_pickle=False, **masks)
        kept = sorted(path.parent.glob("masks-*.npz"), key=lambda q: q.stat().st_mtime, reverse=True)
        for old in kept[CACHED_MODELS:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
