"""A corpus of hostile model files, built from the demo model and a tiny trained ensemble.

Each :class:`Case` is one way a file can lie about itself: a LightGBM booster whose text
disagrees with its header or with itself, a truncated booster or file, a zip or ``.npy``
header that declares more than it holds, a JSON header with wrong types, absurd numbers or
deep nesting, torch weights whose shapes do not fit the architecture. ``expect`` is a
regular expression the error message must match, so each case proves the check it aims
at (not just any refusal). Nothing here is checked in as a binary: :func:`build` writes
the files into a folder from the two sound models.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harlab.simulate.batch_session import demo_model_path

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: str  #: regex the error message matches


# -- helpers ------------------------------------------------------------------------------------


def read(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write(path: Path, arrays: Arrays) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
    return path


def header(arrays: Arrays) -> dict[str, Any]:
    return json.loads(arrays["__header__"].tobytes())


def set_header_text(arrays: Arrays, text: str) -> None:
    arrays["__header__"] = np.frombuffer(text.encode(), np.uint8)


def edit_header(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Arrays], None]:
    def change(arrays: Arrays) -> None:
        h = header(arrays)
        fn(h)
        set_header_text(arrays, json.dumps(h))

    return change


def _booster_key(arrays: Arrays) -> str:
    return next(k for k in arrays if k.endswith("/booster"))


def edit_booster(fn: Callable[[bytes], bytes]) -> Callable[[Arrays], None]:
    def change(arrays: Arrays) -> None:
        key = _booster_key(arrays)
        arrays[key] = np.frombuffer(fn(arrays[key].tobytes()), np.uint8)

    return change


def replace_once(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def fn(text: bytes) -> bytes:
        assert old in text, old
        return text.replace(old, new, 1)

    return fn


def edit_tree(index: int, fn: Callable[[dict[bytes, bytes]], None]) -> Callable[[bytes], bytes]:
    """Change tree ``index``'s key=value lines and fix tree_sizes, so only the tree's content lies."""

    def change(text: bytes) -> bytes:
        start = text.index(b"\nTree=0\n") + 1
        end = text.index(b"end of trees\n")
        sizes_line = re.search(rb"^tree_sizes=(.*)$", text, re.M)
        assert sizes_line
        sizes = [int(s) for s in sizes_line.group(1).split()]
        blocks, pos = [], start
        for s in sizes:
            blocks.append(text[pos : pos + s])
            pos += s
        assert pos == end
        head, _, body = blocks[index].partition(b"\n")
        lines = body.rstrip(b"\n").split(b"\n")
        kv = dict(line.partition(b"=")[::2] for line in lines)
        fn(kv)
        blocks[index] = head + b"\n" + b"\n".join(k + b"=" + v for k, v in kv.items()) + b"\n\n\n"
        sizes[index] = len(blocks[index])
        new_sizes = b"tree_sizes=" + b" ".join(b"%d" % s for s in sizes)
        out = text[:start] + b"".join(blocks) + text[end:]
        return out.replace(sizes_line.group(0), new_sizes, 1)

    return change


def set_token(key: bytes, i: int, value: bytes) -> Callable[[dict[bytes, bytes]], None]:
    def fn(kv: dict[bytes, bytes]) -> None:
        toks = kv[key].split(b" ")
        toks[i] = value
        kv[key] = b" ".join(toks)

    return fn


def npy_bytes_declaring(shape: tuple[int, ...], dtype: str, payload: bytes) -> bytes:
    """A .npy entry whose header declares ``shape`` but that holds only ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def zip_entries(path: Path, entries: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


# -- the corpus ---------------------------------------------------------------------------------


def demo_booster_cases() -> dict[str, tuple[Callable[[Arrays], None], str]]:
    """Edits of the demo model's LightGBM member (12 classes, 1215 features, 1800 trees)."""
    eb, rt = edit_booster, replace_once
    return {
        "num_class_edited": (eb(rt(b"num_class=12\n", b"num_class=3\n")), r"num_class"),
        "num_class_and_objective_edited": (
            eb(
                lambda t: (
                    t.replace(b"num_class=12\n", b"num_class=3\n", 1)
                    .replace(b"num_tree_per_iteration=12\n", b"num_tree_per_iteration=3\n", 1)
                    .replace(b"multiclass num_class:12", b"multiclass num_class:3", 1)
                )
            ),
            r"num_class=3 classes.*has 12",
        ),
        "num_tree_per_iteration_zero": (
            eb(rt(b"num_tree_per_iteration=12\n", b"num_tree_per_iteration=0\n")),
            r"num_tree_per_iteration",
        ),
        "max_feature_idx_edited": (
            eb(rt(b"max_feature_idx=1214\n", b"max_feature_idx=100\n")),
            r"reads 101 features",
        ),
        "max_feature_idx_huge": (
            eb(rt(b"max_feature_idx=1214\n", b"max_feature_idx=2147483647\n")),
            r"max_feature_idx",
        ),
        "feature_names_short": (eb(rt(b" Column_1214\n", b"\n")), r"feature_names"),
        "objective_regression": (
            eb(rt(b"objective=multiclass num_class:12", b"objective=regression")),
            r"not a classifier",
        ),
        "split_feature_out_of_range": (
            eb(edit_tree(0, set_token(b"split_feature", 0, b"99999"))),
            r"tree 0 splits on feature 99999",
        ),
        "split_feature_negative": (
            eb(edit_tree(5, set_token(b"split_feature", 2, b"-7"))),
            r"tree 5 splits on feature -7",
        ),
        "num_leaves_more_than_arrays": (
            eb(edit_tree(1, lambda kv: kv.__setitem__(b"num_leaves", b"16"))),
            r"tree 1 .* entries; num_leaves says",
        ),
        "num_leaves_huge": (
            eb(edit_tree(1, lambda kv: kv.__setitem__(b"num_leaves", b"2147483647"))),
            r"num_leaves = 2147483647 is outside",
        ),
        "tree_child_cycle": (eb(edit_tree(2, set_token(b"left_child", 2, b"0"))), r"tree 2.*(tree|cycle)"),
        "tree_child_out_of_range": (
            eb(edit_tree(3, set_token(b"right_child", 0, b"500"))),
            r"tree 3 has a child 500",
        ),
        "leaf_value_nan": (
            eb(edit_tree(4, set_token(b"leaf_value", 0, b"nan"))),
            r"tree 4 leaf_value.*finite",
        ),
        "categorical_decision": (eb(edit_tree(0, set_token(b"decision_type", 0, b"1"))), r"decision type 1"),
        "tree_key_twice": (
            eb(edit_tree(0, lambda kv: kv.__setitem__(b"num_leaves=15\nnum_leaves", b"15"))),
            r"num_leaves twice",
        ),
        "tree_sizes_edited": (
            eb(
                lambda t: re.sub(
                    rb"tree_sizes=(\d+)", lambda m: b"tree_sizes=%d" % (int(m.group(1)) + 9), t, count=1
                )
            ),
            r"tree_sizes|Tree=",
        ),
        "tree_sizes_missing_trees": (
            eb(lambda t: re.sub(rb"(tree_sizes=[^\n]*)", rb"\1 4000", t, count=1)),
            r"multiple of|past the end",
        ),
        "booster_truncated_half": (eb(lambda t: t[: len(t) // 2]), r"truncated|past the end"),
        "booster_truncated_in_header": (eb(lambda t: t[: t.index(b"feature_infos=")]), r"no trees|lacks"),
        "booster_truncated_before_params_end": (
            eb(lambda t: t[: t.index(b"end of parameters")]),
            r"end of parameters",
        ),
        "booster_nul_byte": (eb(rt(b"num_leaves=15", b"num_leaves=1\x005")), r"NUL"),
        "booster_not_utf8": (eb(rt(b"Column_7 ", b"Column_\xff ")), r"UTF-8"),
        "booster_parameter_line_malformed": (
            eb(rt(b"[boosting: gbdt]", b"[boosting gbdt]")),
            r"parameter line",
        ),
        "booster_pandas_categorical": (
            eb(rt(b"pandas_categorical:null", b"pandas_categorical:[[1, 2]]")),
            r"pandas",
        ),
        "booster_as_floats": (
            lambda a: a.__setitem__(_booster_key(a), a[_booster_key(a)].astype(np.float32)),
            r"missing",
        ),
        "booster_missing": (lambda a: a.pop(_booster_key(a)), r"missing"),
    }


def header_cases() -> dict[str, tuple[Callable[[Arrays], None], str]]:
    """Header edits that apply to any model."""

    def info(key: str, value: Any) -> Callable[[Arrays], None]:
        return edit_header(lambda h: h["info"].__setitem__(key, value))

    def raw_info(key: str, literal: str) -> Callable[[Arrays], None]:
        def change(a: Arrays) -> None:
            h = header(a)
            h["info"][key] = "@@"
            set_header_text(a, json.dumps(h).replace('"@@"', literal, 1))

        return change

    return {
        "rate_zero": (info("rate_hz", 0), r"rate_hz = 0"),
        "rate_negative": (info("rate_hz", -1), r"rate_hz = -1"),
        "rate_inf": (raw_info("rate_hz", "Infinity"), r"rate_hz = inf"),
        "rate_nan": (raw_info("rate_hz", "NaN"), r"rate_hz = nan"),
        "rate_overflow_literal": (raw_info("rate_hz", "1e99999"), r"rate_hz = inf"),
        "rate_string": (info("rate_hz", "50"), r"rate_hz must be a number"),
        "rate_bool": (info("rate_hz", True), r"rate_hz must be a number"),
        "rate_huge_integer": (raw_info("rate_hz", "9" * 5000), r"invalid number|rate_hz"),
        "window_huge": (info("window_s", 1e6), r"samples; expected"),
        "stride_zero": (info("stride_s", 0), r"stride_s"),
        "classes_not_list": (info("classes", 5), r"classes must be a list"),
        "classes_empty": (info("classes", []), r"classes has 0 entries"),
        "classes_of_numbers": (info("classes", [1, 2, 3]), r"classes must be a list of strings"),
        "class_name_long": (
            edit_header(lambda h: h["info"]["classes"].__setitem__(0, "x" * 100_000)),
            r"info.classes holds a name of 100000 characters",
        ),
        "track_name_long": (info("track", "t" * 5000), r"info.track holds a name of 5000 characters"),
        "units_short": (edit_header(lambda h: h["info"]["units"].pop()), r"units has"),
        "stream_kinds_short": (edit_header(lambda h: h["info"]["stream_kinds"].pop()), r"stream_kinds"),
        "orientation_wrong_length": (info("orientation_upright", [1.0, 0.0]), r"orientation_upright"),
        "orientation_nan": (raw_info("orientation_upright", "[NaN, 0, 1]"), r"orientation_upright"),
        "orientation_zero": (info("orientation_upright", [0, 0, 0]), r"orientation_upright"),
        "deep_nesting_100k": (raw_info("train_config", "[" * 100_000 + "]" * 100_000), r"nests"),
        "deep_nesting_500": (raw_info("train_config", "[" * 500 + "]" * 500), r"nests more than"),
        "validation_score_string": (
            edit_header(
                lambda h: (
                    h["info"]
                    .setdefault("metrics", {})
                    .__setitem__("validation", {"accuracy": "high", "macro_f1": 0.5})
                )
            ),
            r"accuracy must be a number",
        ),
        "training_sessions_not_list": (info("training_sessions", "all of them"), r"training_sessions"),
        "info_not_object": (edit_header(lambda h: h.__setitem__("info", [1, 2])), r"info must be an object"),
        "header_is_list": (lambda a: set_header_text(a, "[1, 2, 3]"), r"format is not"),
        "header_not_json": (lambda a: set_header_text(a, "{not json"), r"JSON"),
        "header_not_utf8": (
            lambda a: a.__setitem__("__header__", np.frombuffer(b'{"a": "\xff"}', np.uint8)),
            r"JSON|UTF",
        ),
        "header_as_floats": (
            lambda a: a.__setitem__("__header__", a["__header__"].astype(np.float64)),
            r"not bytes",
        ),
        "header_missing": (lambda a: a.pop("__header__"), r"no __header__"),
        "format_version_string": (
            edit_header(lambda h: h.__setitem__("format_version", "1")),
            r"format version",
        ),
        "format_version_newer": (edit_header(lambda h: h.__setitem__("format_version", 99)), r"version 99"),
        "members_empty": (edit_header(lambda h: h.__setitem__("members", [])), r"members must be"),
        "member_kind_unknown": (
            edit_header(lambda h: h["members"][0].__setitem__("kind", "python-code")),
            r"unknown kind",
        ),
        "weights_nan": (
            lambda a: set_header_text(
                a,
                json.dumps({**header(a), "weights": "@@"}).replace(
                    '"@@"', "[NaN" + ", 1" * (len(header(a)["members"]) - 1) + "]"
                ),
            ),
            r"weights",
        ),
        "weights_wrong_length": (edit_header(lambda h: h.__setitem__("weights", [1.0] * 9)), r"weights"),
        "stray_array": (lambda a: a.__setitem__("m7/evil", np.zeros(3)), r"belong to no member"),
    }


def lightgbm_header_cases() -> dict[str, tuple[Callable[[Arrays], None], str]]:
    def member(key: str, value: Any) -> Callable[[Arrays], None]:
        def fn(h: dict[str, Any]) -> None:
            next(m for m in h["members"] if m["kind"] == "lightgbm")[key] = value

        return edit_header(fn)

    return {
        "triads_out_of_range": (member("triads", [[0, 1, 99]]), r"triads"),
        "triads_wrong_type": (member("triads", "0,1,2"), r"triads"),
        "features_version_unknown": (member("features_version", 7), r"version 7"),
        "recording_context_string": (member("recording_context", "yes"), r"recording_context"),
        "channel_added": (
            edit_header(
                lambda h: (
                    h["info"]["channels"].append("baro.p"),
                    h["info"]["units"].append("Pa"),
                    h["info"].get("stream_kinds", []).append("barometer")
                    if h["info"].get("stream_kinds")
                    else None,
                )
            ),
            r"features|shape",
        ),
        "class_dropped": (edit_header(lambda h: h["info"]["classes"].pop()), r"classes|shape"),
    }


def torch_cases() -> dict[str, tuple[Callable[[Arrays], None], str]]:
    """Edits of the tiny ensemble's network member (member 0, a cnn1d of width 8)."""

    def arch(key: str, value: Any) -> Callable[[Arrays], None]:
        return edit_header(lambda h: h["members"][0]["arch"].__setitem__(key, value))

    def conv_weight(a: Arrays) -> str:
        return next(k for k in a if k.startswith("m0/state/") and a[k].ndim == 3)

    return {
        "tensor_shape_mismatch": (
            lambda a: a.__setitem__(conv_weight(a), a[conv_weight(a)][:, :-1]),
            r"shape .*expected",
        ),
        "tensor_missing": (lambda a: a.pop(conv_weight(a)), r"missing"),
        "tensor_nan": (
            lambda a: a.__setitem__(conv_weight(a), np.full_like(a[conv_weight(a)], np.nan)),
            r"not finite",
        ),
        "tensor_as_ints": (
            lambda a: a.__setitem__(conv_weight(a), a[conv_weight(a)].astype(np.int32)),
            r"expected floats",
        ),
        "arch_width_edited": (arch("width", 4096), r"shape .*expected"),
        "arch_width_absurd": (arch("width", 10**12), r"width"),
        "arch_activations_huge": (
            edit_header(lambda h: h["members"][0]["arch"].update(width=65536, max_width=65536)),
            r"values per window",
        ),
        "arch_depth_absurd": (arch("depth", 10**9), r"depth"),
        "arch_depth_string": (arch("depth", "4"), r"depth"),
        "arch_dropout_nan": (
            lambda a: set_header_text(
                a, json.dumps(header(a)).replace('"dropout": 0.2', '"dropout": NaN', 1)
            ),
            r"dropout",
        ),
        "arch_unknown_setting": (arch("exec", "import os"), r"unknown settings"),
        "arch_context_inputs": (arch("context_inputs", 7), r"context_inputs"),
        "arch_padding_unknown": (arch("padding", "circular"), r"padding .* is unknown"),
        "arch_kind_unknown": (arch("kind", "transformer"), r"unknown network architecture"),
        "norm_std_zero": (
            lambda a: a.__setitem__("m0/norm/std", np.zeros_like(a["m0/norm/std"])),
            r"normalisation",
        ),
        "norm_missing": (lambda a: a.pop("m0/norm/mean"), r"normalisation"),
        "torch_class_dropped": (edit_header(lambda h: h["info"]["classes"].pop()), r"shape"),
        "torch_channel_dropped": (
            edit_header(
                lambda h: (
                    h["info"]["channels"].pop(),
                    h["info"]["units"].pop(),
                    h["info"]["stream_kinds"].pop(),
                )
            ),
            r"shape|triads",
        ),
    }


def container_cases(folder: Path, good: Path) -> list[Case]:
    """Files that are not sound zips of arrays, written directly."""
    data = good.read_bytes()
    out = []

    def case(name: str, expect: str, content: bytes | None = None) -> None:
        p = folder / f"{name}.harmodel"
        if content is not None:
            p.write_bytes(content)
        out.append(Case(name, p, expect))

    case("empty_file", r"not a harlab model", b"")
    case("random_bytes", r"not a harlab model", bytes(range(256)) * 8)
    case("truncated_file_half", r"truncated", data[: len(data) // 2])
    case("truncated_file_tail", r"truncated", data[:-30])
    case("pickle", r"not a harlab model", b"\x80\x04\x95" + b"\x00" * 40)
    arrays = read(good)
    entries = {f"{k}.npy": npy(v) for k, v in arrays.items()}
    # an entry that declares 7 TiB of floats but holds 64 bytes
    huge = dict(entries)
    key = next(k for k in huge if k != "__header__.npy")
    huge[key] = npy_bytes_declaring((7 << 40 >> 3,), "<f8", b"\x00" * 64)
    zip_entries(folder / "huge_declared_shape.harmodel", huge)
    out.append(
        Case(
            "huge_declared_shape",
            folder / "huge_declared_shape.harmodel",
            r"declares shape .* holds 64 bytes",
        )
    )
    many_dims = dict(entries)
    many_dims[key] = npy_bytes_declaring((1,) * 30, "<f4", b"\x00" * 4)
    zip_entries(folder / "many_dims.harmodel", many_dims)
    out.append(Case("many_dims", folder / "many_dims.harmodel", r"invalid shape"))
    objects = dict(entries)
    objects["__header__.npy"] = npy_bytes_declaring((1,), "|O", b"\x80\x04N.")
    zip_entries(folder / "object_array.harmodel", objects)
    out.append(Case("object_array", folder / "object_array.harmodel", r"pickle"))
    dtype_str = dict(entries)
    dtype_str[key] = npy_bytes_declaring((4,), "<U4", b"\x00" * 64)
    zip_entries(folder / "string_array.harmodel", dtype_str)
    out.append(Case("string_array", folder / "string_array.harmodel", r"data type"))
    zip_entries(folder / "not_npy_entry.harmodel", {**entries, "payload.py": b"import os"})
    out.append(Case("not_npy_entry", folder / "not_npy_entry.harmodel", r"not a \.npy"))
    # a deflated entry whose central directory declares 900 MB uncompressed (a zip bomb's lie)
    bomb = folder / "declared_uncompressed_size.harmodel"
    zip_entries(bomb, entries, zipfile.ZIP_DEFLATED)
    raw = bytearray(bomb.read_bytes())
    cd = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 24, 900_000_000)
    bomb.write_bytes(bytes(raw))
    out.append(Case("declared_uncompressed_size", bomb, r"declares 900000000 bytes uncompressed"))
    # an entry past the end of the file (central directory offset edited)
    past = folder / "entry_past_end.harmodel"
    zip_entries(past, entries)
    raw = bytearray(past.read_bytes())
    cd = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 42, len(raw) - 40)
    past.write_bytes(bytes(raw))
    out.append(Case("entry_past_end", past, r"past the end|corrupt"))
    # a folder named like a model, and a FIFO (opening it for reading would wait for a writer)
    (folder / "folder.harmodel").mkdir(exist_ok=True)
    out.append(Case("folder", folder / "folder.harmodel", r"folder"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.harmodel")
        out.append(Case("fifo", folder / "fifo.harmodel", r"not a regular file"))
    return out


def train_tiny(path: Path) -> Path:
    """A sound ensemble (cnn1d of width 8 + LightGBM) on the demo session's channels, trained in
    seconds on synthetic windows: still, walking-like and running-like motion."""
    from harlab.ml.modelfile import ModelInfo
    from harlab.ml.training import TrainConfig, train

    rng = np.random.default_rng(0)
    rate, window = 50.0, 2.56
    t = np.arange(int(round(rate * window))) / rate
    X, y, groups = [], [], []
    for i in range(240):
        k = i % 3
        x = rng.normal(0, 0.2, (len(t), 6))
        x[:, 2] += 9.81
        x[:, 0] += (0.0, 2.0, 6.0)[k] * np.sin(2 * np.pi * (0.0, 2.0, 3.0)[k] * t + rng.uniform(0, 6))
        x[:, 4] += (0.0, 0.6, 1.8)[k] * np.cos(2 * np.pi * 2.0 * t)
        X.append(x)
        y.append(k)
        groups.append(f"P{i % 4}")
    info = ModelInfo(
        classes=["sitting", "walking", "running"],
        channels=["accel.x", "accel.y", "accel.z", "gyro.x", "gyro.y", "gyro.z"],
        units=["m/s^2"] * 3 + ["rad/s"] * 3,
        rate_hz=rate,
        window_s=window,
        stride_s=window / 2,
        stream_kinds=["accelerometer"] * 3 + ["gyroscope"] * 3,
        name="tiny",
    )
    model = train(
        np.asarray(X, np.float32),
        np.asarray(y),
        np.asarray(groups),
        info,
        TrainConfig(
            preset="ensemble",
            epochs=1,
            arch={"depth": 2, "width": 8, "max_width": 8},
            gbm_rounds=5,
            gbm_min_rounds=5,
            seed=0,
        ),
    )
    return model.save(path)


def build(folder: Path, tiny: Path) -> list[Case]:
    """Write the whole corpus into ``folder``; ``tiny`` is a sound ensemble (cnn1d + LightGBM)."""
    folder.mkdir(parents=True, exist_ok=True)
    demo = demo_model_path()
    cases = container_cases(folder, demo)
    sources = [
        ("demo", demo, {**demo_booster_cases(), **header_cases(), **lightgbm_header_cases()}),
        (
            "tiny",
            tiny,
            {**torch_cases(), **{k: v for k, v in header_cases().items() if k.startswith("rate")}},
        ),
    ]
    for prefix, src, edits in sources:
        base = read(src)
        for name, (change, expect) in edits.items():
            arrays = dict(base)
            change(arrays)
            path = write(folder / f"{prefix}-{name}.harmodel", arrays)
            cases.append(Case(f"{prefix}-{name}", path, expect))
    return cases
