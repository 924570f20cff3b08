"""The container of a model file: a zip of ``.npy`` arrays, read without trusting what it declares.

``numpy.load`` believes an array's header: an entry of a few bytes that declares a shape of
7 TiB makes it allocate 7 TiB before it finds out, and a zip entry that declares a huge
uncompressed size is inflated until memory runs out. :func:`read_arrays` checks every size
against what the file really holds before it allocates anything:

* the file is a regular file of at most :data:`MAX_FILE_BYTES` (a FIFO or device is refused,
  never opened for a blocking read);
* each zip entry lies inside the file, is stored or deflated (what ``numpy.savez`` writes),
  declares an uncompressed size that deflate can reach from its compressed size
  (:data:`MAX_DEFLATE_RATIO`), and all entries together hold at most :data:`MAX_ARRAY_BYTES`;
* each entry is a ``.npy`` array (format 1.0 or 2.0) of booleans, integers or floats (never
  objects, which only pickle can read), of at most 8 dimensions, whose shape times item size
  is exactly the number of bytes the entry holds after its header;
* the data are read into the array allocated for them, and the zip's CRC-32 is checked.

Names are unique; the result maps an entry's name without ``.npy`` to a writable array in the
machine's byte order. Problems raise :class:`~harlab.core.errors.HarlabError` with a message
that says what was wrong; the caller adds the file name.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO, cast

import numpy as np

from harlab.core.errors import HarlabError

#: the suffix of harlab's model files (``harlab train -o walk.harmodel``, the dialog's save, the registry)
MODEL_SUFFIX = ".harmodel"
MAX_FILE_BYTES = 1 << 31  #: 2 GiB; the demo model is 1 MB, a large ensemble a few MB
MAX_ARRAY_BYTES = 1 << 30  #: all arrays of one model together, uncompressed
MAX_ENTRIES = 10_000
MAX_DIMS = 8
#: deflate cannot compress by more than about 1032:1; a larger declared ratio is a lie (or a bomb)
MAX_DEFLATE_RATIO = 1100
_NPY_HEADER_MAX = 100_000  #: bytes of an array's header (numpy writes about 128)
_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}
_CHUNK = 1 << 20


def open_regular(path: Path) -> IO[bytes]:
    """Open ``path`` for reading only when it is a regular file of at most :data:`MAX_FILE_BYTES`
    (a FIFO is opened without blocking and refused; a directory or device is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as exc:
        raise HarlabError("no such model file") from exc
    except IsADirectoryError as exc:
        raise HarlabError("is a folder, not a model file") from exc
    except OSError as exc:
        raise HarlabError(f"cannot open: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise HarlabError(f"is {kind}; a model file is a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise HarlabError(f"is {st.st_size} bytes; a model file is at most {MAX_FILE_BYTES} bytes")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the model file at ``path``, each size checked before it is read (see the module)."""
    with open_regular(Path(path)) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        f.seek(0)
        try:
            is_zip = zipfile.is_zipfile(f)
        except OSError:
            is_zip = False
        if not is_zip and head.startswith(b"PK\x03\x04"):
            raise HarlabError(f"a zip archive without its directory at the end (truncated at {size} bytes?)")
        if not is_zip:
            raise HarlabError(f"not a harlab model file (expected a zip archive, first bytes {head!r})")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as z:
                infos = _checked_entries(z.infolist(), size)
                return {name: _read_npy(z, info, name) for name, info in infos}
        except HarlabError:
            raise
        except MemoryError as exc:
            raise HarlabError("the arrays do not fit in memory") from exc
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise HarlabError(f"corrupt model file: {exc}") from exc


def _checked_entries(infos: list[zipfile.ZipInfo], file_size: int) -> list[tuple[str, zipfile.ZipInfo]]:
    if len(infos) > MAX_ENTRIES:
        raise HarlabError(f"the archive lists {len(infos)} entries; a model file has at most {MAX_ENTRIES}")
    seen: set[str] = set()
    total = 0
    out = []
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise HarlabError(f"entry {name!r} is not a .npy array")
        key = name[: -len(".npy")]
        if key in seen:
            raise HarlabError(f"entry {name!r} appears twice")
        seen.add(key)
        if info.flag_bits & 0x1:
            raise HarlabError(f"entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise HarlabError(
                f"entry {name!r} uses compression method {info.compress_type}; "
                "a model file is stored or deflated"
            )
        if info.header_offset + info.compress_size > file_size:
            raise HarlabError(
                f"entry {name!r} declares {info.compress_size} bytes at offset {info.header_offset}, "
                f"past the end of the {file_size}-byte file (truncated?)"
            )
        limit = (
            info.compress_size
            if info.compress_type == zipfile.ZIP_STORED
            else info.compress_size * MAX_DEFLATE_RATIO + 4096
        )
        if info.file_size > limit:
            raise HarlabError(
                f"entry {name!r} declares {info.file_size} bytes uncompressed from "
                f"{info.compress_size} compressed, more than the data can hold"
            )
        total += info.file_size
        if total > MAX_ARRAY_BYTES:
            raise HarlabError(
                f"the arrays declare more than {MAX_ARRAY_BYTES} bytes; a model file holds at most that"
            )
        out.append((key, info))
    return out


def _read_npy(z: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    fmt = np.lib.format
    with cast(zipfile.ZipExtFile, z.open(info)) as fp:  # reading: a ZipExtFile, which has readinto
        try:
            version = fmt.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=_NPY_HEADER_MAX)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=_NPY_HEADER_MAX)
            else:
                raise HarlabError(f"array {key!r} is in .npy format {version}; a model file uses 1.0 or 2.0")
        except HarlabError:
            raise
        except (ValueError, SyntaxError, TypeError) as exc:
            raise HarlabError(f"array {key!r} has an invalid .npy header: {exc}") from exc
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise HarlabError(
                f"refusing to load array {key!r}: it holds Python objects, which only pickle can "
                "read (a model file never does)"
            )
        if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in _KINDS:
            raise HarlabError(
                f"array {key!r} has data type {dtype}; a model file holds booleans, integers or floats"
            )
        if len(shape) > MAX_DIMS or any(not isinstance(n, int) or n < 0 for n in shape):
            raise HarlabError(f"array {key!r} has an invalid shape {shape}")
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dtype.itemsize
        held = info.file_size - fp.tell()
        if nbytes != held:
            raise HarlabError(
                f"array {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) but its entry "
                f"holds {held} bytes"
            )
        arr = np.empty(count, dtype)
        view = arr.data.cast("B")
        pos = 0
        while pos < nbytes:
            got = fp.readinto(view[pos : pos + _CHUNK])
            if not got:
                raise HarlabError(f"array {key!r} ends after {pos} of {nbytes} bytes (truncated)")
            pos += got
        if fp.read(1):  # also makes zipfile check the CRC-32 at the end of the entry
            raise HarlabError(f"array {key!r} holds more bytes than its shape")
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr.reshape(shape, order="F" if fortran else "C")
