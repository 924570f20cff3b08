"""LightGBM's text model, checked line by line before LightGBM reads it.

LightGBM trusts its model text: it takes the class count from one line and the softmax size
from another, jumps to each tree by the byte sizes in ``tree_sizes``, reads each tree's arrays
by the count ``num_leaves`` promises, follows ``left_child``/``right_child`` and indexes a
window's features by ``split_feature`` without checking any of them against the others.
An edited or truncated booster therefore corrupts the heap (``num_class=12`` edited to 3:
"free(): invalid next size"), reads past the end of the text, or loops forever on a tree
whose children point back up. :func:`check_booster_text` parses the same lines the way
LightGBM 4 does (``GBDT::LoadModelFromString``, ``Tree::Tree``) and refuses the text unless:

* the header has each key once: ``num_class`` = ``num_tree_per_iteration`` = the model's class
  count (1 for a ``binary`` objective with two classes), the objective is ``multiclass`` or
  ``multiclassova`` with the same ``num_class`` (or ``binary``), ``max_feature_idx`` + 1 =
  the number of feature columns the member computes, as many ``feature_names`` and
  ``feature_infos`` (and ``monotone_constraints``);
* ``tree_sizes`` has one size per tree, at least one iteration of ``num_class`` trees, and
  each size ends exactly where the next ``Tree=i`` starts, the last at ``end of trees``;
* each tree has its keys once (at most 22, all known), 1..131072 leaves, no categorical or
  linear splits, exactly ``num_leaves - 1`` entries in every per-split array and
  ``num_leaves`` in every per-leaf one, integers and numbers where they belong, finite leaf
  values, ``split_feature`` within ``0..max_feature_idx``, decision types LightGBM knows,
  and children that form one binary tree (every split and leaf reached exactly once from
  the root);
* the parameters are ``[key: value]`` lines (no ``linear_tree``), and a ``pandas_categorical``
  line, if any, is ``null``;
* there is no NUL byte or carriage return anywhere.

Problems raise :class:`~harlab.core.errors.HarlabError` saying where (the tree and key).
"""

from __future__ import annotations

import re

from harlab.core.errors import HarlabError

MAX_LEAVES = 131_072  #: LightGBM's own limit on num_leaves
MAX_TREES = 1_000_000
_INT_TXT = rb"-?[0-9]{1,10}"
_FINITE_TXT = rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?"
_FLOAT_TXT = rb"(?:" + _FINITE_TXT + rb"|[-+]?(?:inf|nan))"
_INT = re.compile(_INT_TXT)
_INTS = re.compile(
    _INT_TXT + rb"(?: " + _INT_TXT + rb")*"
)  #: a whole line at once (a booster has 100k+ numbers)
_FLOATS = re.compile(_FLOAT_TXT + rb"(?: " + _FLOAT_TXT + rb")*", re.IGNORECASE)
_FINITES = re.compile(_FINITE_TXT + rb"(?: " + _FINITE_TXT + rb")*")
_HEADER_KEY = re.compile(rb"[a-z_]+")
_PARAM = re.compile(rb"\[[A-Za-z0-9_]+: [^\"\\\[\]\x00-\x1f]*\]")
_MULTI_VALUE_KEYS = (b"feature_names", b"monotone_constraints")
_REQUIRED = (
    b"version",
    b"num_class",
    b"num_tree_per_iteration",
    b"label_index",
    b"max_feature_idx",
    b"objective",
    b"feature_names",
    b"feature_infos",
    b"tree_sizes",
)
_SPLIT_INTS = (b"split_feature", b"decision_type", b"left_child", b"right_child", b"internal_count")
_SPLIT_FLOATS = (b"split_gain", b"threshold", b"internal_value", b"internal_weight")
_LEAF_INTS = (b"leaf_count",)
_LEAF_FLOATS = (b"leaf_value", b"leaf_weight")
_TREE_KEYS = frozenset(
    (
        b"num_leaves",
        b"num_cat",
        b"shrinkage",
        b"is_linear",
        b"cat_boundaries",
        b"cat_threshold",
        b"leaf_const",
        b"num_features",
        b"leaf_features",
        b"leaf_coeff",
    )
    + _SPLIT_INTS
    + _SPLIT_FLOATS
    + _LEAF_INTS
    + _LEAF_FLOATS
)
#: numerical splits: bit 1 = default left, bits 2-3 = missing type (none, zero, NaN); bit 0 would be categorical
_DECISION_TYPES = frozenset((0, 2, 4, 6, 8, 10))


def check_booster_text(data: bytes, n_features: int, n_classes: int) -> str:
    """Check LightGBM model text (bytes as stored) for a member that computes ``n_features``
    columns and predicts ``n_classes`` classes; returns the text for ``lightgbm.Booster``."""
    if b"\x00" in data or b"\r" in data:
        raise HarlabError("the LightGBM model text holds a NUL byte or carriage return")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HarlabError(f"the LightGBM model text is not UTF-8 (byte {exc.start})") from exc
    header, trees_at = _header(data)
    num_class = _int_of(header, b"num_class", 1, 10_000)
    per_iteration = _int_of(header, b"num_tree_per_iteration", 1, 10_000)
    _int_of(header, b"label_index", 0, 1 << 30)
    max_feature = _int_of(header, b"max_feature_idx", 0, 1 << 30)
    _check_objective(header[b"objective"], num_class, n_classes)
    if per_iteration != num_class:
        raise HarlabError(
            f"the LightGBM model has num_tree_per_iteration={per_iteration} but num_class={num_class}"
        )
    if max_feature + 1 != n_features:
        raise HarlabError(
            f"the LightGBM model reads {max_feature + 1} features (max_feature_idx={max_feature}); "
            f"the model's header makes {n_features}"
        )
    for key in (b"feature_names", b"feature_infos", b"monotone_constraints"):
        listed = len([t for t in header.get(key, b"").split(b" ") if t])  # as LightGBM's Split counts
        if key in header and listed != n_features:
            raise HarlabError(f"the LightGBM model lists {listed} {key.decode()} for {n_features} features")
    sizes = [_int(tok, "tree_sizes", 1, 1 << 40) for tok in _tokens(header[b"tree_sizes"], "tree_sizes")]
    if not sizes or len(sizes) > MAX_TREES or len(sizes) % num_class:
        raise HarlabError(
            f"the LightGBM model has {len(sizes)} trees; expected a positive multiple of "
            f"num_class={num_class}"
        )
    pos = trees_at
    for i, size in enumerate(sizes):
        if pos + size > len(data):
            raise HarlabError(
                f"LightGBM tree {i} would end at byte {pos + size}, past the end of the "
                f"{len(data)}-byte model text (truncated?)"
            )
        _check_tree(data[pos : pos + size], i, n_features)
        pos += size
    if not data.startswith(b"end of trees\n", pos):
        raise HarlabError(
            "the LightGBM model text does not say 'end of trees' after its last tree "
            "(truncated, or tree_sizes edited)"
        )
    _check_tail(data[pos:], text)
    return text


def _header(data: bytes) -> tuple[dict[bytes, bytes], int]:
    """The ``key=value`` lines before the first ``Tree=`` line, and that line's offset."""
    out: dict[bytes, bytes] = {}
    pos = 0
    first = True
    while True:
        if pos >= len(data):
            raise HarlabError("the LightGBM model text holds no trees (truncated?)")
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end]
        if line.startswith(b"Tree="):
            break
        if first:
            if line != b"tree":
                raise HarlabError(f"the LightGBM model text starts with {line[:40]!r}, not 'tree'")
            first = False
        elif line:
            key, eq, value = line.partition(b"=")
            if not _HEADER_KEY.fullmatch(key) or (b"=" in value and key not in _MULTI_VALUE_KEYS):
                raise HarlabError(f"the LightGBM model has a malformed line {line[:60]!r}")
            if key in out:
                raise HarlabError(f"the LightGBM model sets {key.decode()} twice")
            out[key] = value
        pos = end + 1
    missing = [k.decode() for k in _REQUIRED if k not in out]
    if missing:
        raise HarlabError(f"the LightGBM model text lacks {', '.join(missing)}")
    return out, pos


def _check_objective(value: bytes, num_class: int, n_classes: int) -> None:
    tokens = value.split(b" ")
    name, params = tokens[0], {}
    for tok in tokens[1:]:
        key, colon, val = tok.partition(b":")
        if not colon or not key:
            raise HarlabError(f"the LightGBM objective {value[:60]!r} is malformed")
        params[key] = val
    if name in (b"multiclass", b"multiclassova"):
        declared = params.get(b"num_class", b"")
        if not _INT.fullmatch(declared) or int(declared) != num_class:
            raise HarlabError(
                f"the LightGBM objective says num_class:{declared.decode(errors='replace')} but the "
                f"model says num_class={num_class}"
            )
        expected = n_classes
    elif name == b"binary":
        if n_classes != 2:
            raise HarlabError(f"the LightGBM objective is binary but the model has {n_classes} classes")
        expected = 1
    else:
        raise HarlabError(
            f"the LightGBM objective {name.decode(errors='replace')[:40]!r} is not a classifier "
            "harlab applies (multiclass, multiclassova or binary)"
        )
    if num_class != expected:
        raise HarlabError(
            f"the LightGBM model predicts num_class={num_class} classes; the model file's header "
            f"has {n_classes}"
        )


def _int_of(header: dict[bytes, bytes], key: bytes, lo: int, hi: int) -> int:
    return _int(header[key], key.decode(), lo, hi)


def _int(tok: bytes, where: str, lo: int, hi: int) -> int:
    if not _INT.fullmatch(tok):
        raise HarlabError(f"the LightGBM model's {where} {tok[:30]!r} is not an integer")
    v = int(tok)
    if not lo <= v <= hi:
        raise HarlabError(f"the LightGBM model's {where} = {v} is outside {lo}..{hi}")
    return v


def _tokens(value: bytes, where: str) -> list[bytes]:
    """Space-separated tokens, refusing empty ones (LightGBM would skip them and misalign the rest)."""
    if not value:
        return []
    toks = value.split(b" ")
    if not all(toks):
        raise HarlabError(f"the LightGBM model's {where} has empty entries")
    return toks


def _check_tree(block: bytes, i: int, n_features: int) -> None:
    where = f"LightGBM tree {i}"
    head = b"Tree=%d\n" % i
    if not block.startswith(head) or not block.endswith(b"\n\n"):
        raise HarlabError(
            f"{where} does not start with 'Tree={i}' and end with a blank line "
            "(tree_sizes do not match the trees, or the text is truncated)"
        )
    lines = block[len(head) :].rstrip(b"\n").split(b"\n")  # LightGBM ends a tree with blank lines
    if len(lines) > len(_TREE_KEYS):
        raise HarlabError(f"{where} has {len(lines)} lines; LightGBM reads at most {len(_TREE_KEYS)}")
    kv: dict[bytes, bytes] = {}
    for line in lines:
        key, eq, value = line.partition(b"=")
        if not eq or key not in _TREE_KEYS:
            raise HarlabError(f"{where} has an unknown or malformed line {line[:60]!r}")
        if key in kv:
            raise HarlabError(f"{where} sets {key.decode()} twice")
        kv[key] = value
    for key in (b"num_leaves", b"num_cat", b"leaf_value"):
        if key not in kv:
            raise HarlabError(f"{where} lacks {key.decode()}")
    n = _int(kv[b"num_leaves"], f"tree {i} num_leaves", 1, MAX_LEAVES)
    if (
        _int(kv[b"num_cat"], f"tree {i} num_cat", 0, MAX_LEAVES)
        or b"cat_boundaries" in kv
        or b"cat_threshold" in kv
    ):
        raise HarlabError(f"{where} has categorical splits; harlab's window features are all numeric")
    if kv.get(b"is_linear", b"0") != b"0" or any(
        k in kv for k in (b"leaf_const", b"num_features", b"leaf_features", b"leaf_coeff")
    ):
        raise HarlabError(f"{where} is a linear tree; harlab trains none")
    if b"shrinkage" in kv:
        _counted(kv[b"shrinkage"], f"tree {i} shrinkage", 1, _FINITES)
    values: dict[bytes, list[int]] = {}
    for keys, count, is_int in (
        (_SPLIT_INTS, n - 1, True),
        (_SPLIT_FLOATS, n - 1, False),
        (_LEAF_INTS, n, True),
        (_LEAF_FLOATS, n, False),
    ):
        for key in keys:
            if key not in kv:
                if n > 1 and key in (b"split_feature", b"threshold", b"left_child", b"right_child"):
                    raise HarlabError(f"{where} lacks {key.decode()}")
                continue
            if n == 1 and key == b"leaf_weight" and not kv[key]:
                continue  # LightGBM writes a one-leaf tree (nothing left to split) with no leaf weight
            label = f"tree {i} {key.decode()}"
            if is_int:
                values[key] = _ints(kv[key], label, count)
            else:  # a leaf value of inf or NaN makes every probability NaN
                _counted(kv[key], label, count, _FINITES if key == b"leaf_value" else _FLOATS)
    if n == 1:
        return
    if any(not 0 <= f < n_features for f in values[b"split_feature"]):
        bad = next(f for f in values[b"split_feature"] if not 0 <= f < n_features)
        raise HarlabError(f"{where} splits on feature {bad}; the model has features 0..{n_features - 1}")
    if any(d not in _DECISION_TYPES for d in values.get(b"decision_type", [])):
        bad = next(d for d in values[b"decision_type"] if d not in _DECISION_TYPES)
        raise HarlabError(f"{where} has decision type {bad}; harlab's trees split numbers only")
    _check_structure(values[b"left_child"], values[b"right_child"], n, where)


def _counted(value: bytes, label: str, count: int, pattern: re.Pattern[bytes]) -> list[bytes]:
    """The ``count`` space-separated entries of ``value``, each matching ``pattern``'s element."""
    found = value.count(b" ") + 1 if value else 0
    if found != count:
        raise HarlabError(f"the LightGBM model's {label} has {found} entries; num_leaves says {count}")
    if count and not pattern.fullmatch(value):
        kind = "integers" if pattern is _INTS else "finite numbers" if pattern is _FINITES else "numbers"
        raise HarlabError(f"the LightGBM model's {label} holds entries that are not {kind} (or empty ones)")
    return value.split(b" ") if count else []


def _ints(value: bytes, label: str, count: int) -> list[int]:
    out = [int(t) for t in _counted(value, label, count, _INTS)]
    if out and not -(1 << 31) <= min(out) <= max(out) < 1 << 31:
        raise HarlabError(f"the LightGBM model's {label} holds an integer outside 32 bits")
    return out


def _check_structure(left: list[int], right: list[int], n_leaves: int, where: str) -> None:
    """Children form one binary tree rooted at split 0: every other split and every leaf
    (``~leaf``) has exactly one parent, and all splits are reached from the root (no cycles)."""
    n_splits = n_leaves - 1
    split_parents = [0] * n_splits
    leaf_parents = [0] * n_leaves
    for child in left + right:
        if 0 <= child < n_splits:
            split_parents[child] += 1
        elif -n_leaves <= child < 0:
            leaf_parents[~child] += 1
        else:
            raise HarlabError(
                f"{where} has a child {child} outside its {n_splits} splits and {n_leaves} leaves"
            )
    if split_parents[0] or any(c != 1 for c in split_parents[1:]) or any(c != 1 for c in leaf_parents):
        raise HarlabError(
            f"{where}: its children do not form a tree (a node with no parent, two parents, "
            "or the root as a child)"
        )
    seen, stack = 1, [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                seen += 1
                stack.append(child)
    if seen != n_splits:
        raise HarlabError(f"{where}: its children form a cycle")


def _check_tail(tail: bytes, text: str) -> None:
    """Parameters (read by LightGBM's GetLoadedParam, which splits each line at ':') and the
    pandas line the Python package reads as JSON."""
    lines = tail.split(b"\n")
    if b"parameters:" in lines:
        start = lines.index(b"parameters:") + 1
        if b"end of parameters" not in lines[start:]:
            raise HarlabError("the LightGBM parameters have no 'end of parameters' (truncated?)")
        for line in lines[start : lines.index(b"end of parameters", start)]:
            if line and not _PARAM.fullmatch(line):
                raise HarlabError(f"the LightGBM model has a malformed parameter line {line[:60]!r}")
            if line.startswith(b"[linear_tree: ") and line != b"[linear_tree: 0]":
                raise HarlabError("the LightGBM model uses linear trees; harlab trains none")
    key = "pandas_categorical:"
    idx = text.rfind("\n", 0, len(text) - len(key))
    last = text[idx:].strip()
    if last.startswith(key) and last != "pandas_categorical:null":
        raise HarlabError("the LightGBM model declares pandas categories; harlab's features are all numeric")
