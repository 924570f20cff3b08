"""Fuzzing every importer with mutated real files: a clear error or a sound session, never a traceback.

Each seed is a small real input (the first lines or bytes of a file in ../shared/data, or for
formats with no shared data the files the format's own tests build). Hypothesis mutates one
of its files: truncation, bit flips, zero-filled stretches, non-finite and huge numbers,
implausible values, non-UTF-8 and non-ASCII bytes, and timestamps that go backwards. The
outcome must be one of:

* an :class:`ImportFormatError` whose message names a file of the input, and the batch
  import (``import_one``) writes nothing into its output folder; or
* sessions whose streams hold no infinity, whose NaN values sit only on samples flagged
  suspect (the plausibility rule of docs/FORMAT.md), and whose files ``validate_file``
  accepts.

Any other exception, and a RuntimeWarning (numpy overflowing into infinity), fails the test.
``HARLAB_FUZZ_EXAMPLES`` raises the number of examples per importer (25) for a longer hunt.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_SUSPECT
from harlab.importers import ImportOptions, get_importer
from harlab.importers.run import import_one
from harlab.storage import read_session, validate_file
from tests.importers.test_fitbit_fetcher import EXAMPLE
from tests.importers.test_fitbit_takeout import make_export
from tests.importers.test_sensor_logger import export_files, make_folder

# -- seeds ---------------------------------------------------------------------------------


@dataclass
class Seed:
    """A small input in ``folder``: ``target`` is what gets imported, ``files`` what may be mutated."""

    fmt: str
    target: Path
    files: list[Path]
    binary: bool
    options: ImportOptions


def _head_lines(src: Path, n: int) -> bytes:
    raw = gzip.decompress(src.read_bytes()) if src.name.endswith(".gz") else src.read_bytes()
    return b"".join(raw.splitlines(keepends=True)[:n])


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def seed_fitbit_bin(folder: Path, data: Path | None) -> Seed:
    src = _need(data, "fitbit-seed/watch-bin/Walking_20200421155113.bin")
    p = _write(folder / src.name, src.read_bytes()[: 20 * 130])
    return Seed("fitbit_bin", p, [p], True, ImportOptions(timezone="Europe/Madrid"))


def seed_fitbit_bin_unlabelled_gz(folder: Path, data: Path | None) -> Seed:
    """The GuessMe variant (120-byte batches, no codes), gzip-compressed."""
    src = _need(data, "fitbit-seed/watch-bin/Running_20200421200520.bin")
    batches = np.frombuffer(src.read_bytes()[: 20 * 130], np.uint8).reshape(20, 130)[:, :120]
    p = _write(folder / "sensor_20200421200520.bin.gz", gzip.compress(batches.tobytes()))
    return Seed("fitbit_bin", p, [p], True, ImportOptions())


def seed_fitbit_csv(folder: Path, data: Path | None) -> Seed:
    src = _need(data, "fitbit-seed/azure/fitbit/raw_input/20200421/sensor_raw_20200421155113.csv")
    p = _write(folder / src.name, _head_lines(src, 41))
    return Seed("fitbit_csv", p, [p], False, ImportOptions())


def _fetcher_rows() -> list[tuple[int, int, int]]:
    # the reference's three real records, repeated: (x, y, z) in int16 counts of 1/500 m/s²
    real = [(8, -47, 4865), (-2, -51, 4862), (10, -59, 4860)]
    return [real[i % 3] for i in range(30)]


def seed_fetcher_csv(folder: Path, data: Path | None) -> Seed:
    lines = [
        f"{885987 + 30 * i},{x / 500:g},{y / 500:g},{z / 500:g}"
        for i, (x, y, z) in enumerate(_fetcher_rows())
    ]
    p = _write(folder / "17.csv", "\r\n".join(lines) + "\r\n")
    return Seed("fitbit_fetcher_csv", p, [p], False, ImportOptions())


def seed_fetcher_bin(folder: Path, data: Path | None) -> Seed:
    body = b"".join(struct.pack("<4h", 0 if i == 0 else 30, *r) for i, r in enumerate(_fetcher_rows()))
    assert body[:24] == EXAMPLE[4:]  # the reference's bytes, then more of the same
    p = _write(folder / "1", EXAMPLE[:4] + body)
    return Seed("fitbit_fetcher_bin", p, [p], True, ImportOptions())


def seed_takeout(folder: Path, data: Path | None) -> Seed:
    root = make_export(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("calories"))
    return Seed("fitbit_takeout", root, files, False, ImportOptions(timezone="Australia/Sydney"))


def seed_webapi_hr(folder: Path, data: Path | None) -> Seed:
    text = (
        '{"activities-heart": [{"dateTime": "2024-03-01", "value": {}}],\n'
        '"activities-heart-intraday": {"datasetType": "second", "dataset": [\n'
        + ",\n".join(f'{{"time": "23:59:{s:02d}", "value": {60 + s % 7}}}' for s in range(40, 60))
        + ',\n{"time": "00:00:01", "value": 64}\n]}}\n'
    )
    p = _write(folder / "heart_intraday_2024-03-01.json", text)
    return Seed("fitbit_webapi_hr", p, [p], False, ImportOptions(timezone="Europe/Berlin"))


def seed_wisdm(folder: Path, data: Path | None) -> Seed:
    acc = _need(data, "wisdm2019/wisdm-dataset/raw/watch/accel/data_1600_accel_watch.txt")
    gyro = _need(data, "wisdm2019/wisdm-dataset/raw/watch/gyro/data_1600_gyro_watch.txt")
    a = _write(folder / "watch" / "accel" / acc.name, _head_lines(acc, 60))
    g = _write(folder / "watch" / "gyro" / gyro.name, _head_lines(gyro, 60))
    return Seed("wisdm", a, [a, g], False, ImportOptions())


def seed_uci(folder: Path, data: Path | None) -> Seed:
    raw = _need(data, "uci-hapt/RawData")
    a = _write(folder / "RawData" / "acc_exp02_user01.txt", _head_lines(raw / "acc_exp02_user01.txt", 60))
    g = _write(folder / "RawData" / "gyro_exp02_user01.txt", _head_lines(raw / "gyro_exp02_user01.txt", 60))
    labels = _write(folder / "RawData" / "labels.txt", "1 1 5 1 20\n2 1 5 5 30\n2 1 7 31 50\n")
    names = _write(folder / "activity_labels.txt", (raw.parent / "activity_labels.txt").read_bytes())
    return Seed("uci_hapt", a, [a, g, labels, names], False, ImportOptions())


def seed_csv_spec(folder: Path, data: Path | None) -> Seed:
    """ActiLife's calibrated CSV (10 header lines, then X,Y,Z in g at 32 Hz) read with a spec."""
    src = _need(data, "actigraph/WRIST_rawCalibrated_032Hz.csv")
    p = _write(folder / src.name, _head_lines(src, 60))
    spec = {
        "skip_rows": 10,
        "rate_hz": 32.0,
        "streams": [
            {
                "name": "accelerometer",
                "columns": ["Accelerometer X", "Accelerometer Y", "Accelerometer Z"],
                "channels": ["x", "y", "z"],
                "units": "m/s^2",
                "scale": 9.80665,
                "kind": "accelerometer",
            }
        ],
    }
    return Seed("csv", p, [p], False, ImportOptions(extra={"spec": spec}))


def seed_csv_time(folder: Path, data: Path | None) -> Seed:
    """A spec with a time column in ms and a label column, over the seed's real values."""
    src = _need(data, "fitbit-seed/azure/fitbit/raw_input/20200421/sensor_raw_20200421155113.csv")
    rows = _head_lines(src, 41).decode().splitlines()[1:]
    lines = ["stamp_ms,ax,ay,az,gx,gy,gz,activity"]
    for i, r in enumerate(rows):
        code, *vals = r.split(",")
        lines.append(f"{1714557600000 + 100 * i}," + ",".join(vals) + f",{'walk' if i < 25 else 'stand'}")
    p = _write(folder / "lab.csv", "\n".join(lines) + "\n")
    spec = {
        "time_column": "stamp_ms",
        "time_unit": "ms",
        "labels": {"activity": "activity"},
        "streams": [
            {
                "name": "accelerometer",
                "columns": ["ax", "ay", "az"],
                "units": "m/s^2",
                "kind": "accelerometer",
            },
            {"name": "gyroscope", "columns": ["gx", "gy", "gz"], "units": "rad/s", "kind": "gyroscope"},
        ],
    }
    return Seed("csv", p, [p], False, ImportOptions(extra={"spec": spec}))


def seed_sensor_logger_folder(folder: Path, data: Path | None) -> Seed:
    files = {k: v for k, v in export_files().items() if k != "Orientation.csv"}
    root = make_folder(folder / "2023-10-28_13-52-24", files)
    return Seed("sensor_logger", root, sorted(root.glob("*.csv")), False, ImportOptions())


def _deflated_zip(path: Path, files: dict[str, bytes]) -> Path:
    """Compressed, so that flipped bits also reach the decompressor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def seed_sensor_logger_zip(folder: Path, data: Path | None) -> Seed:
    keep = ("Metadata.csv", "Accelerometer.csv", "HeartRate.csv", "Annotation.csv")
    files = {f"2023-10-28_13-52-24/{k}": v.encode() for k, v in export_files().items() if k in keep}
    p = _deflated_zip(folder / "export.zip", files)
    return Seed("sensor_logger", p, [p], True, ImportOptions())


def seed_takeout_zip(folder: Path, data: Path | None) -> Seed:
    root = make_export(folder / "unpacked")
    files = {str(f.relative_to(root.parent)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}
    shutil.rmtree(folder / "unpacked")
    p = _deflated_zip(folder / "takeout-20230127T000000Z-001.zip", files)
    return Seed("fitbit_takeout", p, [p], True, ImportOptions(timezone="Australia/Sydney"))


def _need(data: Path | None, rel: str) -> Path:
    if data is None:
        pytest.skip("../shared/data not present")
    p = data / rel
    if not p.exists():
        pytest.skip(f"../shared/data/{rel} not present")
    return p


SEEDS: dict[str, Callable[[Path, Path | None], Seed]] = {
    "fitbit_bin": seed_fitbit_bin,
    "fitbit_bin_unlabelled_gz": seed_fitbit_bin_unlabelled_gz,
    "fitbit_csv": seed_fitbit_csv,
    "fitbit_fetcher_csv": seed_fetcher_csv,
    "fitbit_fetcher_bin": seed_fetcher_bin,
    "fitbit_takeout": seed_takeout,
    "fitbit_takeout_zip": seed_takeout_zip,
    "fitbit_webapi_hr": seed_webapi_hr,
    "wisdm": seed_wisdm,
    "uci_hapt": seed_uci,
    "csv_spec_rate": seed_csv_spec,
    "csv_spec_time": seed_csv_time,
    "sensor_logger_folder": seed_sensor_logger_folder,
    "sensor_logger_zip": seed_sensor_logger_zip,
}

# -- mutations -----------------------------------------------------------------------------

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
#: what a number may become: non-finite, past float32, past any sensor's range, exact zeros, odd forms
WILD_NUMBERS = [
    b"nan",
    b"NaN",
    b"inf",
    b"-Infinity",
    b"1e39",
    b"-3.5e38",
    b"1e308",
    b"1e-320",
    b"868",
    b"-868.5",
    b"0",
    b"-0",
    b"0.0",
    b"99999999999999999999999",
    b"4e9",
    b"1_000",
    b"",
    b"\xc2\xb2",
]
#: float16 / int16 patterns for the binary formats: inf, NaN, the largest half, a 868 m/s² flip, 0, int16 ends
WILD_WORDS = [
    b"\x00\x7c",
    b"\x00\xfe",
    b"\xff\x7b",
    np.float16(868).tobytes(),
    b"\x00\x00",
    b"\xff\x7f",
    b"\x00\x80",
]

MUTATIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(
        st.just("bitflip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)), min_size=1, max_size=6)
    ),
    st.tuples(st.just("zero_fill"), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("number"), st.integers(0, 10_000), st.sampled_from(WILD_NUMBERS)),
    st.tuples(st.just("word"), st.floats(0, 1), st.sampled_from(WILD_WORDS)),
    st.tuples(
        st.just("bytes"),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=4).map(lambda b: bytes(x | 0x80 for x in b)),
    ),
    st.tuples(
        st.just("unicode"), st.floats(0, 1), st.sampled_from(["²", "٣", "é", "\u2028", "\ufeff", "\x00"])
    ),
    st.tuples(st.just("swap_lines"), st.integers(0, 10_000), st.integers(0, 10_000)),
    st.tuples(st.just("smaller_time"), st.integers(0, 10_000)),
)


def mutate(data: bytes, m: tuple, binary: bool) -> bytes:
    kind = m[0]
    pos = (lambda f: min(len(data), int(f * len(data)))) if data else (lambda f: 0)
    if kind == "truncate":
        return data[: pos(m[1])]
    if kind == "bitflip":
        out = bytearray(data)
        for f, bit in m[1]:
            if out:
                out[min(len(out) - 1, pos(f))] ^= 1 << bit
        return bytes(out)
    if kind == "zero_fill":
        a, b = sorted((pos(m[1]), pos(m[2])))
        return data[:a] + bytes(b - a) + data[b:]
    if kind == "word":  # a whole value in a binary file (2-byte aligned); appended bytes in text
        at = pos(m[1]) & ~1
        return data[:at] + m[2] + data[at + 2 :] if binary else data[:at] + m[2] + data[at:]
    if kind == "bytes":
        at = pos(m[1])
        return data[:at] + m[2] + data[at:]
    if kind == "unicode":
        at = pos(m[1])
        return data[:at] + m[2].encode() + data[at:]
    if kind == "number":
        found = list(_NUMBER.finditer(data))
        if not found:
            return data
        hit = found[m[1] % len(found)]
        return data[: hit.start()] + m[2] + data[hit.end() :]
    lines = data.splitlines(keepends=True)
    if len(lines) < 3:
        return data
    if kind == "swap_lines":  # rows out of order: timestamps that go backwards
        i, j = 1 + m[1] % (len(lines) - 1), 1 + m[2] % (len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if kind == "smaller_time":  # the first number of a row becomes smaller than the row before's
        i = 2 + m[1] % (len(lines) - 2)
        first = _NUMBER.search(lines[i])
        if first is not None:
            lines[i] = lines[i][: first.start()] + b"1" + lines[i][first.end() :]
        return b"".join(lines)
    raise AssertionError(kind)


# -- the property ----------------------------------------------------------------------------


def check_sessions(sessions: list) -> None:
    assert sessions
    for s in sessions:
        for name, stream in s.streams.items():
            _, v = stream.read()
            flags = stream.data.read_flags()
            assert not np.isinf(v).any(), f"infinity in stream {name}"
            nan_rows = np.isnan(v).any(axis=1)
            assert np.all(flags[nan_rows] & FLAG_SUSPECT), f"NaN without the suspect flag in stream {name}"


def import_outcome(seed: Seed, work: Path) -> str:
    """Read, then import with the batch driver; assert the all-or-nothing contract. Returns 'ok' or 'error'."""
    imp = get_importer(seed.fmt)
    error: ImportFormatError | None = None
    try:
        sessions = imp.read(seed.target, seed.options)
    except ImportFormatError as exc:
        error = exc
    out = work / "out"
    out.mkdir()
    report = import_one(seed.target, out, seed.options, seed.fmt)
    if error is not None:
        assert str(work) in str(error), f"the message names no file of the input: {error}"
        assert not report.ok
        assert sorted(out.iterdir()) == [], "a failed import left files behind"
        return "error"
    check_sessions(sessions)
    assert report.ok, report.reason
    assert report.outputs
    for p in report.outputs:
        assert validate_file(p) == [], validate_file(p)
        check_sessions([read_session(p)])  # what was stored, read back
    return "ok"


@pytest.fixture
def shared_or_none(request: pytest.FixtureRequest) -> Path | None:
    """The real data folder, or None (seeds that need it skip; the others run)."""
    try:
        return request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        return None


@pytest.mark.parametrize("seed_name", sorted(SEEDS))
def test_unmutated_seed_imports(tmp_path: Path, shared_or_none: Path | None, seed_name: str) -> None:
    seed = SEEDS[seed_name](tmp_path / "in", shared_or_none)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert import_outcome(seed, tmp_path) == "ok"


@pytest.mark.parametrize("seed_name", sorted(SEEDS))
@settings(
    max_examples=int(os.environ.get("HARLAB_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=MUTATIONS, pick=st.integers(0, 100))
def test_mutated_input(
    tmp_path: Path, shared_or_none: Path | None, seed_name: str, mutation: tuple, pick: int
) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        seed = SEEDS[seed_name](work / "in", shared_or_none)
        victim = seed.files[pick % len(seed.files)]
        victim.write_bytes(mutate(victim.read_bytes(), mutation, seed.binary))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            import_outcome(seed, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
