"""A corpus of crafted session files, each built from a small valid session (harlab.simulate).

Every variant is one function that edits a fresh copy of the valid file with h5py (or
its bytes), so the corpus is generated on each run and no binary is checked in. The
variants are the attacks of issue 18: files that make a reader read another file on
disk, declare more data than they hold, loop on crafted pyramid attributes, carry
header bit flips, non-UTF-8 strings or impossible sample rates.

``REFUSED_ON_OPEN`` variants must be refused by every command that opens a session;
``UNSOUND`` variants open (their problem is deep in the samples) but fail
``harlab validate``, so commands that write into session files refuse them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from harlab.simulate import make_demo_session
from harlab.storage import save_session

#: Text at the start of the "secret" file the external references point to; it must never
#: appear in anything harlab writes.
SECRET_MARKER = b"HARLAB-SECRET-DO-NOT-LEAK-"
STREAM = "/streams/accel"


def build_valid(folder: Path) -> Path:
    """A small, sound session: 2 minutes of 100 Hz accelerometer and gyroscope, heart rate, labels."""
    return save_session(make_demo_session(2.0, seed=1), folder / "valid.h5")


def build_secret(folder: Path, n_bytes: int) -> Path:
    """A file outside the session that crafted references point at (stands in for /etc/passwd)."""
    p = folder / "secret.bin"
    reps = -(-n_bytes // len(SECRET_MARKER)) + 1
    p.write_bytes((SECRET_MARKER * reps)[:n_bytes])
    return p


def _replace(f: h5py.File, path: str, **kwargs) -> None:
    del f[path]
    f.create_dataset(path, **kwargs)


# -- references to other files ------------------------------------------------------------
def external_storage(f: h5py.File, secret: Path) -> None:
    """``values`` kept in an external raw file: reading the stream reads the secret's bytes."""
    shape = f[f"{STREAM}/values"].shape
    size = int(np.prod(shape)) * 4
    _replace(f, f"{STREAM}/values", shape=shape, dtype=np.float32, external=[(str(secret), 0, size)])


def external_storage_table(f: h5py.File, secret: Path) -> None:
    """A label track whose rows (fixed-length string columns) are the secret file's bytes."""
    names = (
        "id",
        "start",
        "end",
        "label",
        "annotator",
        "source",
        "confidence",
        "note",
        "created",
        "modified",
    )
    dtype = np.dtype([(n, "S26") for n in names])
    ds = f.create_dataset(
        "/labels/leak", shape=(4,), dtype=dtype, external=[(str(secret), 0, 4 * dtype.itemsize)]
    )
    ds.attrs["policy"] = "overlapping"


def external_link(f: h5py.File, secret: Path) -> None:
    """A label track that is an external link to a table in another HDF5 file."""
    other = secret.with_suffix(".h5")
    with h5py.File(other, "w") as g:
        g.copy(f["/labels/activity"], "activity")
    del f["/labels/activity"]
    f["/labels/activity"] = h5py.ExternalLink(str(other), "/activity")


def virtual_dataset(f: h5py.File, secret: Path) -> None:
    """``time`` as a virtual dataset mapping a dataset of another HDF5 file."""
    other = secret.with_suffix(".vds.h5")
    t = f[f"{STREAM}/time"][()]
    with h5py.File(other, "w") as g:
        g.create_dataset("t", data=t)
    layout = h5py.VirtualLayout(shape=t.shape, dtype=t.dtype)
    layout[:] = h5py.VirtualSource(str(other), "t", shape=t.shape)
    del f[f"{STREAM}/time"]
    f.create_virtual_dataset(f"{STREAM}/time", layout)


def soft_link(f: h5py.File, secret: Path) -> None:
    """A stream that is a soft link to another stream (harlab writes no links)."""
    del f["/streams/gyro"]
    f["/streams/gyro"] = h5py.SoftLink(STREAM)


# -- crafted structure -----------------------------------------------------------------
def _attr(path: str, key: str, value) -> Callable[[h5py.File, Path], None]:
    def edit(f: h5py.File, secret: Path) -> None:
        f[path].attrs[key] = value

    edit.__doc__ = f"{path}@{key} = {value!r}"
    return edit


def huge_extent(f: h5py.File, secret: Path) -> None:
    """10**11 samples declared over the few chunks actually stored (levels patched to match)."""
    n = 10**11
    for key in ("time", "values", "flags"):
        f[f"{STREAM}/{key}"].resize(n, axis=0)
    pyr = f[f"{STREAM}/pyramid"]
    rows, k = n, 0
    while rows > 256:
        k += 1
        rows = -(-rows // 16)
        if str(k) not in pyr:
            lv = pyr.create_group(str(k))
            for key, shape in (("time", (0,)), ("lo", (0, 3)), ("hi", (0, 3))):
                lv.create_dataset(
                    key,
                    shape=shape,
                    maxshape=(None,) * len(shape),
                    dtype=np.float32,
                    chunks=(1024,) + shape[1:],
                    compression="gzip",
                )
        for key in ("time", "lo", "hi"):
            pyr[f"{k}/{key}"].resize(rows, axis=0)
    pyr.attrs["levels"] = k


def huge_table_extent(f: h5py.File, secret: Path) -> None:
    """A label table declaring 10**9 segments in a few stored bytes."""
    table = f["/labels/activity"][()]
    del f["/labels/activity"]
    ds = f.create_dataset("/labels/activity", data=table, maxshape=(None,), chunks=(64,), compression="gzip")
    ds.attrs["policy"] = "exclusive"
    ds.resize(10**9, axis=0)


def huge_chunk(f: h5py.File, secret: Path) -> None:
    """``flags`` in one chunk of 100 M rows: reading one sample decodes 100 MB (the issue's 3.5 GB, scaled)."""
    n = f[f"{STREAM}/flags"].shape[0]
    _replace(
        f,
        f"{STREAM}/flags",
        data=np.zeros(n, np.uint8),
        maxshape=(None,),
        chunks=(100_000_000,),
        compression="gzip",
    )


def scaleoffset_filter(f: h5py.File, secret: Path) -> None:
    """``flags`` through HDF5's scale-offset filter (unbounded expansion)."""
    n = f[f"{STREAM}/flags"].shape[0]
    _replace(f, f"{STREAM}/flags", data=np.zeros(n, np.uint8), chunks=(4096,), scaleoffset=0)


def values_compound(f: h5py.File, secret: Path) -> None:
    """``values`` of a compound type instead of numbers."""
    n = f[f"{STREAM}/values"].shape[0]
    _replace(f, f"{STREAM}/values", data=np.zeros((n, 3), dtype=[("a", "f4"), ("b", "i4")]))


def non_utf8_channels(f: h5py.File, secret: Path) -> None:
    """Channel names whose bytes are not UTF-8 although stored as UTF-8 strings."""
    f[STREAM].attrs.create("channels", [b"x\xff", b"y\xfe", b"z"], dtype=h5py.string_dtype("utf-8"))


def non_utf8_label(f: h5py.File, secret: Path) -> None:
    """A segment label whose bytes are not UTF-8."""
    ds = f["/labels/activity"]
    table = ds[()]
    table["label"][0] = b"walk\xff"
    ds[0] = table[0]


def long_channel_name(f: h5py.File, secret: Path) -> None:
    """A channel name of 2 MB (predict's "no channel" error quoted it whole)."""
    f[STREAM].attrs["channels"] = np.array(["x" * 2_000_000, "y", "z"], dtype=object)


def bad_channel_count(f: h5py.File, secret: Path) -> None:
    f[STREAM].attrs["channels"] = np.array(["x", "y"], dtype=object)


def _byte_patch(old: bytes, new: bytes) -> Callable[[Path], None]:
    """Replace the first occurrence of ``old`` in the file's bytes (an attribute or link name in a header)."""

    def patch(path: Path) -> None:
        data = bytearray(path.read_bytes())
        i = data.find(old)
        assert i >= 0, old
        data[i : i + len(new)] = new
        path.write_bytes(bytes(data))

    patch.__doc__ = f"header bytes {old!r} -> {new!r}"
    return patch


def _bit_flips(seed: int, n: int, span: int | None = 4096) -> Callable[[Path], None]:
    """Flip ``n`` random bits in the first ``span`` bytes (superblock and root headers;
    None: anywhere, chunks of compressed data included)."""

    def patch(path: Path) -> None:
        rng = np.random.default_rng(seed)
        data = bytearray(path.read_bytes())
        for off in rng.integers(0, len(data) if span is None else min(span, len(data)), n):
            data[off] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(data))

    patch.__doc__ = f"{n} random bit flips in the first {span} bytes (seed {seed})"
    return patch


def _metadata_bit_flips(seed: int, n: int) -> Callable[[Path], None]:
    """Flip ``n`` random bits among the bytes that are not dataset storage (chunks or contiguous
    data): object headers, B-trees, heaps and free space, where a flip reaches HDF5 itself."""

    def patch(path: Path) -> None:
        data = bytearray(path.read_bytes())
        is_meta = np.ones(len(data), bool)
        with h5py.File(path, "r") as f:

            def storage(name: str, obj: object) -> None:
                if not isinstance(obj, h5py.Dataset):
                    return
                if obj.chunks:
                    for i in range(obj.id.get_num_chunks()):
                        c = obj.id.get_chunk_info(i)
                        is_meta[c.byte_offset : c.byte_offset + c.size] = False
                elif obj.id.get_offset() is not None:
                    is_meta[obj.id.get_offset() : obj.id.get_offset() + obj.id.get_storage_size()] = False

            f.visititems(storage)
        meta = np.flatnonzero(is_meta)
        rng = np.random.default_rng(seed)
        for off in meta[rng.integers(0, len(meta), n)]:
            data[off] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(data))

    patch.__doc__ = f"{n} random bit flips in the metadata bytes (seed {seed})"
    return patch


def heap_free_space_zero(path: Path) -> None:
    """The free-space object of the first global heap (variable-length strings) declares 0 bytes:
    HDF5 2.0 loops forever on it when a string attribute is read."""
    data = bytearray(path.read_bytes())
    at = data.find(b"GCOL\x01\x00\x00\x00")
    while at >= 0:
        end, p = at + int.from_bytes(data[at + 8 : at + 16], "little"), at + 16
        while p + 16 <= end:
            idx, size = (
                int.from_bytes(data[p : p + 2], "little"),
                int.from_bytes(data[p + 8 : p + 16], "little"),
            )
            if idx == 0:
                data[p + 8 : p + 16] = bytes(8)
                path.write_bytes(bytes(data))
                return
            p += 16 + -(-size // 8) * 8
        at = data.find(b"GCOL\x01\x00\x00\x00", at + 8)
    raise AssertionError("no global heap with free space")


#: The 8 bytes that start a variable-length UTF-8 string datatype in an HDF5 header: class 9
#: version 1, class bits 0x01 (a string, not a sequence), 0x01 (UTF-8), size 16.
_VLEN_STRING = b"\x19\x01\x01\x00\x10\x00\x00\x00"


def _vlen_kind_3(pattern: bytes, what: str) -> Callable[[Path], None]:
    """Set the variable-length kind of the string type that ``pattern`` locates (group 1) to 3,
    neither sequence (0) nor string (1). HDF5 2.0 does not check the kind and dies with SIGSEGV
    when the value is read. Found by bit-flip fuzzing (seed 101250 of flips in the metadata
    bytes flipped bit 1 of this byte in the schema table's type); every string type of a session
    file kept in a header without a checksum crashes the same way."""

    def patch(path: Path) -> None:
        data = bytearray(path.read_bytes())
        m = re.search(pattern, bytes(data), re.S)
        assert m, what
        at = m.start(1) + 1
        assert data[at] == 0x01, what
        data[at] = 0x03
        path.write_bytes(bytes(data))

    patch.__doc__ = f"the {what} has variable-length kind 3 (HDF5 2.0 crashes reading it)"
    return patch


vlen_kind_3_attribute = _vlen_kind_3(
    b"kind\x00\x00\x00\x00(" + re.escape(_VLEN_STRING) + b")", "text attribute /streams/accel kind"
)
vlen_kind_3_table = _vlen_kind_3(
    b"name\x00\x00\x00\x00.{0,40}?(" + re.escape(_VLEN_STRING) + b").{0,16}?color\x00",
    "column 'name' of the /schema table",
)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


# -- deep problems (the file opens; validate fails) ---------------------------------------
def infinite_values(f: h5py.File, secret: Path) -> None:
    """Two infinite samples in the values."""
    v = f[f"{STREAM}/values"]
    v[5000, 1] = np.inf
    v[7000, 2] = -np.inf


def time_backwards_deep(f: h5py.File, secret: Path) -> None:
    f[f"{STREAM}/time"][5001] = 1.0


def pyramid_disagrees(f: h5py.File, secret: Path) -> None:
    f[f"{STREAM}/pyramid/1/hi"][3, 0] = 1e9


# -- videos -------------------------------------------------------------------------------
def _video_entry(f: h5py.File, index: str, reference: str) -> None:
    e = f.require_group("videos").create_group(index)
    e.attrs["name"] = f"camera {index}"
    e.attrs["reference"] = reference
    e.attrs["offset_s"] = 0.0
    e.attrs["drift_ppm"] = 0.0


def video_entries_too_many(f: h5py.File, secret: Path) -> None:
    """Thousands of /videos entries: refused by counting, before any is read."""
    for i in range(5000):
        f.require_group("videos").create_group(str(i))


def video_reference_to_secret(f: h5py.File, secret: Path) -> None:
    """A reference whose fingerprint is not hex and whose size is negative, pointing at the secret."""
    ref = f'{{"path": "{secret}", "name": "{secret.name}", "size": -1, "sha256_head": "../../etc", '
    ref += '"duration_s": 1e300, "frame_rate": 30, "frame_count": 1, "start_s": 0}'
    _video_entry(f, "0", ref)


H5Edit = Callable[[h5py.File, Path], None]
ByteEdit = Callable[[Path], None]

REFUSED_ON_OPEN: dict[str, H5Edit | ByteEdit] = {
    "external_storage": external_storage,
    "external_storage_table": external_storage_table,
    "external_link": external_link,
    "virtual_dataset": virtual_dataset,
    "soft_link": soft_link,
    "pyramid_factor_0": _attr(f"{STREAM}/pyramid", "factor", 0),
    "pyramid_factor_1": _attr(f"{STREAM}/pyramid", "factor", 1),
    "pyramid_factor_negative": _attr(f"{STREAM}/pyramid", "factor", -16),
    "pyramid_factor_float": _attr(f"{STREAM}/pyramid", "factor", 16.5),
    "pyramid_factor_string": _attr(f"{STREAM}/pyramid", "factor", "16"),
    "pyramid_levels_huge": _attr(f"{STREAM}/pyramid", "levels", 10**9),
    "pyramid_levels_negative": _attr(f"{STREAM}/pyramid", "levels", -1),
    "huge_extent": huge_extent,
    "huge_table_extent": huge_table_extent,
    "huge_chunk": huge_chunk,
    "scaleoffset_filter": scaleoffset_filter,
    "values_compound": values_compound,
    "non_utf8_channels": non_utf8_channels,
    "non_utf8_label": non_utf8_label,
    "bad_channel_count": bad_channel_count,
    "long_channel_name": long_channel_name,
    "rate_zero": _attr(STREAM, "rate_hz", 0.0),
    "rate_negative": _attr(STREAM, "rate_hz", -100.0),
    "rate_inf": _attr(STREAM, "rate_hz", np.inf),
    "rate_string": _attr(STREAM, "rate_hz", "100"),
    "rate_array": _attr(STREAM, "rate_hz", np.array([100.0, 50.0])),
    "format_version_inf": _attr("/", "format_version", np.inf),
    "flip_attr_factor": _byte_patch(b"factor", b"fadtor"),
    "flip_attr_levels": _byte_patch(b"levels", b"lemels"),
    "flip_attr_channels": _byte_patch(b"channels", b"chaNnels"),
    "flip_link_values": _byte_patch(b"values", b"valuer"),
    "truncated": truncated,
    "heap_free_space_zero": heap_free_space_zero,
    "vlen_kind_3_attribute": vlen_kind_3_attribute,
    "vlen_kind_3_table": vlen_kind_3_table,
    "video_entries_too_many": video_entries_too_many,
    "video_reference_to_secret": video_reference_to_secret,
}
# Random bit flips: some leave the file sound (a flip in padding), so they are checked for a
# clean outcome only (exit 0, 1 or 2, no traceback), not for refusal.
BIT_FLIPS: dict[str, ByteEdit] = {
    **{f"bit_flips_{seed}": _bit_flips(seed, 4) for seed in range(12)},
    **{f"bit_flips_anywhere_{seed}": _bit_flips(seed, 6, None) for seed in range(75, 81)},
    # seed 101250 crashed HDF5 2.0 with SIGSEGV on the file layout of 2026-12-03 (found by a run of
    # 1250 seeds); with today's layout it is refused cleanly: vlen_kind_3_table is the lasting crash case
    **{f"bit_flips_metadata_{seed}": _metadata_bit_flips(seed, 6) for seed in (101250, 101251, 101252)},
}

UNSOUND: dict[str, H5Edit] = {
    "infinite_values": infinite_values,
    "time_backwards_deep": time_backwards_deep,
    "pyramid_disagrees": pyramid_disagrees,
}


def build(name: str, valid: Path, folder: Path, secret: Path) -> Path:
    """The variant ``name`` as a new file in ``folder``, made from a copy of ``valid``."""
    edit = {**REFUSED_ON_OPEN, **BIT_FLIPS, **UNSOUND}[name]
    path = folder / f"{name}.h5"
    shutil.copyfile(valid, path)
    if edit in (truncated, heap_free_space_zero) or getattr(edit, "__name__", "") == "patch":
        edit(path)  # type: ignore[call-arg]
    else:
        with h5py.File(path, "r+") as f:
            edit(f, secret)  # type: ignore[call-arg]
    return path
