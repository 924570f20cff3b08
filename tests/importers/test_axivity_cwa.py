"""Axivity .cwa: scikit-digital-health's reference output, gaps from missing blocks, corrupt files refused."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.plausibility import G
from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.axivity_cwa import BLOCK, HEADER_BYTES, BlockState, iter_blocks, parse_header
from harlab.importers.import_support import ReadBudget
from harlab.importers.run import import_one
from harlab.storage import read_session, validate_file


@pytest.fixture
def axivity(shared_data: Path) -> Path:
    p = shared_data / "axivity"
    if not (p / "ax3_sample.cwa").is_file():
        pytest.skip("../shared/data/axivity not present")
    return p


def read(path: Path, **kw: object):
    (session,) = get_importer("axivity_cwa").read(path, ImportOptions(**kw))  # type: ignore[arg-type]
    return session


def test_matches_the_reference_output(axivity: Path, tmp_path: Path) -> None:
    report = import_one(axivity / "ax3_sample.cwa", tmp_path, ImportOptions(timezone="Europe/London"))
    assert report.ok, report.reason
    (out,) = report.outputs
    assert validate_file(out) == []
    session = read_session(out)
    ref = np.load(axivity / "ax3_data.npz")
    t, v = session.streams["accelerometer"].data.read()
    assert len(t) == len(ref["time"]) == 58_800
    assert session.streams["accelerometer"].units == ["m/s^2"] * 3
    assert np.abs(v / G - ref["accel"]).max() < 1e-5  # float32 of exact multiples of 1/256 g
    assert np.abs(t - (ref["time"] - ref["time"][0])).max() < 1e-4  # 1/50 of a sample at 200 Hz
    # the device clock read as London time (GMT in February): the reference's clock exactly
    assert session.metadata.start_utc.timestamp() == pytest.approx(ref["time"][0], abs=1e-6)
    tt, temp = session.streams["temperature"].data.read()
    block_of_sample = np.searchsorted(tt, t, side="right") - 1
    # the reference gives each block's temperature to its samples (and the next block's first)
    agree = np.isclose(temp[block_of_sample, 0], ref["temperature"], atol=1e-4)
    assert agree.mean() > 0.99
    assert session.metadata.device.model == "Axivity AX3" and session.metadata.extra["fs_nominal"] == "200"
    assert detect(axivity / "ax3_sample.cwa").name == "axivity_cwa"


def test_reading_in_pieces_equals_one_piece(axivity: Path) -> None:
    path = axivity / "ax3_sample.cwa"
    data = path.read_bytes()
    header = parse_header(path, data[:HEADER_BYTES])

    def decode(piece: int) -> list:
        f = io.BytesIO(data)
        f.seek(HEADER_BYTES)
        return list(iter_blocks(path, f, header, BlockState(), ReadBudget(), [], piece_bytes=piece))

    whole, pieces = decode(len(data)), decode(7 * BLOCK)
    assert len(whole) == 1 and len(pieces) == 70
    assert np.array_equal(np.concatenate([c.time for c in pieces]), whole[0].time)
    assert np.array_equal(np.concatenate([c.values for c in pieces]), whole[0].values)


def test_missing_blocks_are_a_gap_not_filled(axivity: Path, tmp_path: Path) -> None:
    """Blocks 100..139 cut out (24 s at 200 Hz): the sample after the hole is flagged, nothing is invented."""
    data = (axivity / "ax3_sample.cwa").read_bytes()
    cut = data[: HEADER_BYTES + 100 * BLOCK] + data[HEADER_BYTES + 140 * BLOCK :]
    p = tmp_path / "holed.cwa"
    p.write_bytes(cut)
    session = read(p)
    t, _ = session.streams["accelerometer"].data.read()
    flags = session.streams["accelerometer"].data.read_flags()
    assert len(t) == 58_800 - 40 * 120
    (gap,) = np.flatnonzero(flags & FLAG_GAP_BEFORE)
    assert gap == 100 * 120
    assert 23 < t[gap] - t[gap - 1] < 25


def test_corrupt_files_name_the_byte_and_write_nothing(axivity: Path, tmp_path: Path) -> None:
    data = bytearray((axivity / "ax3_sample.cwa").read_bytes())
    cases = {}
    flipped = bytearray(data)
    flipped[HEADER_BYTES + 3 * BLOCK + 100] ^= 0x10
    for b in range(0, 490, 10):  # every tenth block: far past a stray few
        flipped[HEADER_BYTES + b * BLOCK + 100] ^= 0x10
    cases["flip.cwa"] = (
        bytes(flipped),
        "50 of the first 490 data blocks have a wrong checksum",
        HEADER_BYTES + 510,
    )
    cases["cut.cwa"] = (bytes(data[:-100]), "ends inside a data block", len(data) - BLOCK)
    cases["head.cwa"] = (bytes(data[:600]), "shorter than the header", 600)
    notax = bytearray(data)
    notax[HEADER_BYTES + 5 * BLOCK : HEADER_BYTES + 5 * BLOCK + 2] = b"ZZ"
    block = bytearray(notax[HEADER_BYTES + 5 * BLOCK : HEADER_BYTES + 6 * BLOCK])
    _fix_checksum(block)  # a sound checksum over a block that is no data block
    notax[HEADER_BYTES + 5 * BLOCK : HEADER_BYTES + 6 * BLOCK] = block
    cases["notax.cwa"] = (bytes(notax), "not a data block", HEADER_BYTES + 5 * BLOCK)
    out = tmp_path / "out"
    out.mkdir()
    for name, (content, match, offset) in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(ImportFormatError, match=match) as err:
            read(p)
        assert err.value.offset == offset and str(p) in str(err.value)
        report = import_one(p, out, ImportOptions())
        assert not report.ok
    assert list(out.iterdir()) == []


def test_a_stray_damaged_block_is_skipped_as_a_gap(axivity: Path, tmp_path: Path) -> None:
    """One flipped bit in block 3 (0.6 s at 200 Hz, shorter than the 1 s that makes a gap by time):
    the block is skipped, the next block starts a gap rather than stretching over the hole, the
    import warns with the byte, and the rest matches the file read whole."""
    data = bytearray((axivity / "ax3_sample.cwa").read_bytes())
    data[HEADER_BYTES + 3 * BLOCK + 100] ^= 0x10
    p = tmp_path / "flip.cwa"
    p.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    report = import_one(p, out, ImportOptions(timezone="UTC"))
    assert report.ok, report.reason
    (warning,) = [w for w in report.warnings if "checksum" in w]
    assert (
        f"1 data block of 490 had a wrong checksum (the first at byte {HEADER_BYTES + 3 * BLOCK + 510})"
        in warning
    )
    session = read_session(report.outputs[0])
    t, v = session.streams["accelerometer"].data.read()
    flags = session.streams["accelerometer"].data.read_flags()
    assert len(t) == 58_800 - 120
    assert list(np.flatnonzero(flags & FLAG_GAP_BEFORE)) == [3 * 120]
    assert 0.55 < t[360] - t[359] < 0.65  # the skipped block's 0.6 s is a hole, not spread out
    whole = read(axivity / "ax3_sample.cwa")
    tw, vw = whole.streams["accelerometer"].data.read()
    assert np.array_equal(v[360:], vw[480:])
    # the block after the hole starts at its own timestamp (within a block's clock rounding of where
    # the whole file placed it); from the next block on the times are the whole file's
    assert abs(t[360] - tw[480]) < 0.05 and np.allclose(t[480:], tw[600:], atol=1e-6)


def test_every_block_damaged_is_refused(axivity: Path, tmp_path: Path) -> None:
    data = bytearray((axivity / "ax3_sample.cwa").read_bytes()[: HEADER_BYTES + 5 * BLOCK])
    for b in range(5):
        data[HEADER_BYTES + b * BLOCK + 100] ^= 0x10
    p = tmp_path / "bad.cwa"
    p.write_bytes(bytes(data))
    with pytest.raises(ImportFormatError, match="wrong checksum") as err:
        read(p)
    assert str(HEADER_BYTES + 510) in str(err.value)


def _fix_checksum(block: bytearray) -> None:
    words = np.frombuffer(bytes(block[:510]), "<u2")
    struct.pack_into("<H", block, 510, (-int(words.sum())) & 0xFFFF)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_forged_blocks_give_a_session_or_a_clear_error(axivity: Path, tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    """Random bytes written into block headers and samples, with checksums made right again (so the
    values and times themselves are hostile): a sound session or an ImportFormatError, nothing written."""
    raw = bytearray((axivity / "ax3_sample.cwa").read_bytes())
    n_blocks = (len(raw) - HEADER_BYTES) // BLOCK
    for _ in range(data.draw(st.integers(1, 4))):
        b = data.draw(st.integers(0, n_blocks - 1))
        at = data.draw(st.integers(4, 509))
        start = HEADER_BYTES + b * BLOCK
        raw[start + at] = data.draw(st.integers(0, 255))
        block = bytearray(raw[start : start + BLOCK])
        _fix_checksum(block)
        raw[start : start + BLOCK] = block
    work = tmp_path_factory.mktemp("fuzz")
    p = work / "forged.cwa"
    p.write_bytes(bytes(raw))
    try:
        read(p)
        failed = False
    except ImportFormatError as exc:
        failed = True
        assert str(p) in str(exc)
    out = work / "out"
    out.mkdir()
    report = import_one(p, out, ImportOptions())
    assert report.ok != failed
    if report.ok:
        t, v = read_session(report.outputs[0]).streams["accelerometer"].data.read()
        assert np.all(np.diff(t) >= 0) and np.isfinite(t).all()
    else:
        assert list(out.iterdir()) == []


def _packed_time(second: int) -> int:
    """Open Movement's packed timestamp of 2024-03-01 08:00:00 plus ``second`` (within the hour)."""
    return (24 << 26) | (3 << 22) | (1 << 17) | (8 << 12) | ((second // 60) << 6) | (second % 60)


def make_ax6(path: Path, gyro: np.ndarray, accel: np.ndarray, accel_n: int = 3, gyro_m: int = 2) -> None:
    """A 100 Hz, ±8 g AX6 file of int16 blocks (40 samples of gx gy gz ax ay az) built by the format's layout."""
    header = bytearray(HEADER_BYTES)
    header[0:4] = b"MD" + struct.pack("<H", 1020)
    header[4] = 0x64
    struct.pack_into("<HI", header, 5, 4321, 77)
    struct.pack_into("<H", header, 11, 0xFFFF)
    header[35] = 0x01  # gyroscope on, no magnetometer
    header[36] = 0x4A  # 100 Hz (code 10), range 16 >> 1 = 8 g
    blocks = []
    for k in range(len(gyro) // 40):
        first = k * 40  # sample index; 100 Hz
        whole = -(-first // 100)
        block = bytearray(BLOCK)
        light = (accel_n << 13) | (gyro_m << 10) | 5
        struct.pack_into(
            "<2sHHIIIHHBBBBhH",
            block,
            0,
            b"AX",
            508,
            0,
            77,
            k,
            _packed_time(whole),
            light,
            300,
            0,
            200,
            0x4A,
            0x62,
            whole * 100 - first,
            40,
        )
        samples = np.concatenate([gyro[first : first + 40], accel[first : first + 40]], axis=1).astype("<i2")
        block[30 : 30 + 480] = samples.tobytes()
        _fix_checksum(block)
        blocks.append(bytes(block))
    path.write_bytes(bytes(header) + b"".join(blocks))


def test_ax6_gyroscope_and_scales(tmp_path: Path) -> None:
    """An AX6 file built from the format description: accelerometer counts / 2**(8+3) g, gyroscope counts
    * (8000 / 2**2) / 32768 °/s, samples every 10 ms across blocks."""
    rng = np.random.default_rng(1)
    n = 40 * 25
    gyro = rng.integers(-20000, 20000, (n, 3))
    accel = rng.integers(-4000, 4000, (n, 3))
    accel[:, 2] += 2048  # gravity, so no sample is 0 on every axis
    p = tmp_path / "ax6.cwa"
    make_ax6(p, gyro, accel)
    assert detect(p).name == "axivity_cwa"
    session = read(p)
    t, a = session.streams["accelerometer"].data.read()
    tg, g = session.streams["gyroscope"].data.read()
    assert np.allclose(t, np.arange(n) / 100, atol=1e-9) and np.array_equal(t, tg)
    assert np.allclose(a, accel / 2048 * G, rtol=1e-6)
    assert np.allclose(g, gyro * (2000 / 32768) * np.pi / 180, rtol=1e-6)
    assert session.streams["gyroscope"].units == ["rad/s"] * 3
    assert session.metadata.device.model == "Axivity AX6" and session.metadata.extra["device_id"] == "4321"
    _, temp = session.streams["temperature"].data.read()
    assert np.allclose(temp[:, 0], (300 - 171) / 3.142)
