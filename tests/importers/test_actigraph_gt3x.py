"""ActiGraph .gt3x: ActiLife's own export as the reference, idle sleep mode as gaps, corrupt files refused."""

from __future__ import annotations

import json
import struct
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.plausibility import G
from harlab.core.streams import FLAG_GAP_BEFORE
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.actigraph_gt3x import Gt3xInfo, LogState, iter_activity_bin, iter_log, parse_info
from harlab.importers.run import import_one
from harlab.storage import read_session, validate_file


@pytest.fixture
def actigraph(shared_data: Path) -> Path:
    p = shared_data / "actigraph"
    if not (p / "neo.gt3x").is_file():
        pytest.skip("../shared/data/actigraph not present")
    return p


def read(path: Path, **kw: object):
    (session,) = get_importer("actigraph_gt3x").read(path, ImportOptions(**kw))  # type: ignore[arg-type]
    return session


def actilife_reference(csv: Path) -> tuple[datetime, float, np.ndarray]:
    """(naive local start, rate, x/y/z in g) of ActiLife's export, read by hand from its header."""
    lines = csv.read_text().splitlines()
    rate = float(lines[0].split(" at ")[1].split(" Hz")[0])
    start = datetime.strptime(lines[3].split()[-1] + " " + lines[2].split()[-1], "%m/%d/%Y %H:%M:%S")
    return start, rate, np.loadtxt(csv, delimiter=",", skiprows=11)


def repack(src: Path, dst: Path, member: str, data: bytes) -> Path:
    """``src`` with ``member`` replaced by ``data`` (the other members as they were)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, data if info.filename == member else zin.read(info.filename))
    return dst


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def records(log: bytes) -> list[tuple[int, int, int, bytes]]:
    """(offset, type, timestamp, payload) of every record, by the format's layout (for the tests' own checks)."""
    out, pos = [], 0
    while pos < len(log) and log[pos] == 0x1E:
        typ, ts, size = struct.unpack_from("<BIH", log, pos + 1)
        out.append((pos, typ, ts, log[pos + 8 : pos + 8 + size]))
        pos += 9 + size
    return out


def test_neo_matches_actilifes_own_export(actigraph: Path, tmp_path: Path) -> None:
    report = import_one(actigraph / "neo.gt3x", tmp_path, ImportOptions())
    assert report.ok, report.reason
    (out,) = report.outputs
    assert validate_file(out) == []
    session = read_session(out)
    stream = session.streams["accelerometer"]
    assert stream.units == ["m/s^2"] * 3 and stream.rate_hz == 30
    t, v = stream.data.read()
    start, rate, ref = actilife_reference(actigraph / "neo.csv")
    assert len(t) == len(ref) == 18004
    assert np.abs(v / G - ref).max() <= 1e-3  # ActiLife prints 3 decimals
    # every timestamp to the sample: info.txt's zone (-06:00) places ActiLife's local start
    local = timezone(timedelta(hours=-6))
    assert session.metadata.start_utc == start.replace(tzinfo=local)
    assert np.array_equal(np.round(t * rate), np.arange(len(ref)))
    assert np.abs(t - np.arange(len(ref)) / rate).max() < 1e-9
    dev = session.metadata.device
    assert (dev.address, dev.firmware, dev.model) == ("NEO1C04110003", "2.5.0", "ActiGraph GT3XPlus")
    assert session.metadata.timezone == "Etc/GMT+6"


def test_idle_sleep_mode_is_a_gap_never_filled(actigraph: Path) -> None:
    path = actigraph / "ISM_Enabled.gt3x"
    log = member(path, "log.bin")
    recs = records(log)
    info = parse_info(path, member(path, "info.txt").decode())
    activity = [(ts, len(p) // 6) for _, typ, ts, p in recs if typ == 0x1A and len(p) > 1]
    events = [(ts, p[0]) for _, typ, ts, p in recs if typ == 0x03]
    assert [c for _, c in events] == [8, 9, 8, 9, 8]  # three sleeps, the last one to the end

    session = read(path)
    t, v = session.streams["accelerometer"].data.read()
    flags = session.streams["accelerometer"].data.read_flags()
    # exactly the samples the records hold: nothing filled (a filled file would hold 300 s x 30)
    assert len(t) == sum(n for _, n in activity) == 2190
    starts = sorted({ts for ts, _ in activity})
    assert np.array_equal(np.unique(np.floor(t + info.start_local).astype(np.int64)), starts)
    # no sample while the device slept
    enter = [ts - info.start_local for ts, c in events if c == 8]
    stop = (int(info.fields["Stop Date"]) - int(info.fields["Start Date"])) / 1e7
    leave = [ts - info.start_local for ts, c in events if c == 9] + [stop]
    for a, b in zip(enter, leave, strict=True):
        assert not np.any((t > a) & (t < b - 1))
    # the sample after each interior sleep carries the gap flag, and only those
    gap_rows = np.flatnonzero(flags & FLAG_GAP_BEFORE)
    assert len(gap_rows) == 2
    assert np.all(np.diff(t)[gap_rows - 1] > 30)
    gaps = json.loads(session.metadata.extra["gaps"])
    assert [g["reason"] for g in gaps] == ["idle sleep mode"] * 3
    assert [(g["start"], g["end"]) for g in gaps] == [(24.0, 92.0), (117.0, 155.0), (179.0, 300.0)]


def test_a_long_recording_reads_in_pieces_the_same_as_whole(actigraph: Path) -> None:
    """small.gt3x (24 h, 810,270 samples, 492 sleeps) decoded from 1000-byte pieces equals one piece:
    records, checksums and idle sleep mode carry across piece boundaries."""
    path = actigraph / "small.gt3x"
    log = member(path, "log.bin")
    info = parse_info(path, member(path, "info.txt").decode())
    whole_state, piece_state = LogState(), LogState()
    whole = list(iter_log(path, iter([log]), info, whole_state))
    step = 100_003
    pieces = list(iter_log(path, (log[i : i + step] for i in range(0, len(log), step)), info, piece_state))
    assert len(whole) == 1 and len(pieces) > 50
    t = np.concatenate([c.time for c in pieces])
    assert np.array_equal(t, whole[0].time)
    assert np.array_equal(np.concatenate([c.values for c in pieces]), whole[0].values)
    assert piece_state.gaps == whole_state.gaps and len(whole_state.gaps) == 492
    assert all(g.reason == "idle sleep mode" for g in whole_state.gaps)
    n_recorded = sum(len(p) // 6 for _, typ, _, p in records(log) if typ == 0x1A and len(p) > 1)
    assert len(t) == n_recorded == 810_270


def test_old_activity_bin_reads_in_pieces_the_same_as_whole(actigraph: Path) -> None:
    path = actigraph / "neo.gt3x"
    data = member(path, "activity.bin")
    info = parse_info(path, member(path, "info.txt").decode())
    whole = np.concatenate([c.values for c in iter_activity_bin(path, iter([data]), info)])
    pieces = iter_activity_bin(path, (data[i : i + 1001] for i in range(0, len(data), 1001)), info)
    assert np.array_equal(np.concatenate([c.values for c in pieces]), whole)


def test_detected_by_content(actigraph: Path, tmp_path: Path) -> None:
    for name in ("neo.gt3x", "small.gt3x", "ISM_Enabled.gt3x"):
        assert detect(actigraph / name).name == "actigraph_gt3x"
    renamed = tmp_path / "recording.zip"
    renamed.write_bytes((actigraph / "ISM_Enabled.gt3x").read_bytes())
    assert detect(renamed).name == "actigraph_gt3x"


def _refused(path: Path, tmp_path: Path, match: str) -> ImportFormatError:
    with pytest.raises(ImportFormatError, match=match) as err:
        read(path)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    report = import_one(path, out, ImportOptions())
    assert not report.ok and list(out.iterdir()) == []
    return err.value


def test_truncated_log_names_the_byte(actigraph: Path, tmp_path: Path) -> None:
    src = actigraph / "ISM_Enabled.gt3x"
    log = member(src, "log.bin")
    bad = repack(src, tmp_path / "cut.gt3x", "log.bin", log[:-5])
    err = _refused(bad, tmp_path, "ends inside a record")
    assert err.offset == records(log)[-1][0] and str(bad) in str(err)


def test_flipped_byte_fails_the_checksum(actigraph: Path, tmp_path: Path) -> None:
    src = actigraph / "ISM_Enabled.gt3x"
    log = bytearray(member(src, "log.bin"))
    off, typ, _, payload = next(r for r in records(bytes(log)) if r[1] == 0x1A)
    log[off + 8 + 10] ^= 0x40
    err = _refused(repack(src, tmp_path / "flip.gt3x", "log.bin", bytes(log)), tmp_path, "checksum")
    assert err.offset == off + 8 + len(payload)


def test_truncated_zip_and_bad_info_are_refused(actigraph: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gt3x"
    cut.write_bytes((actigraph / "ISM_Enabled.gt3x").read_bytes()[:4000])
    _refused(cut, tmp_path, "zip")
    info = member(actigraph / "ISM_Enabled.gt3x", "info.txt").decode()
    no_rate = repack(
        actigraph / "ISM_Enabled.gt3x",
        tmp_path / "rate.gt3x",
        "info.txt",
        info.replace("Sample Rate: 30", "").encode(),
    )
    _refused(no_rate, tmp_path, "Sample Rate")
    wild = repack(
        actigraph / "ISM_Enabled.gt3x",
        tmp_path / "wild.gt3x",
        "info.txt",
        info.replace("Sample Rate: 30", "Sample Rate: 1e9").encode(),
    )
    _refused(wild, tmp_path, "Sample Rate")


def test_a_gt3x_cut_short_is_named_as_such_not_unknown(actigraph: Path, tmp_path: Path) -> None:
    """A copy cut short loses the zip directory at the end; detection by content must still
    send it to this importer, whose error says the file was cut short."""
    cut = tmp_path / "cut.gt3x"
    cut.write_bytes((actigraph / "small.gt3x").read_bytes()[:1_000_000])
    assert detect(cut).name == "actigraph_gt3x"
    out = tmp_path / "out"
    out.mkdir()
    report = import_one(cut, out, ImportOptions())
    assert not report.ok and "cut short" in report.reason and "no importer" not in report.reason
    assert list(out.iterdir()) == []


def test_info_without_scale_or_zone() -> None:
    info = parse_info(Path("x.gt3x"), "Sample Rate: 30\nStart Date: 637755981000000000\n")
    assert isinstance(info, Gt3xInfo)
    assert (
        info.scale == 341
        and info.tz_offset_s is None
        and info.range_g == pytest.approx((-2048 / 341, 2048 / 341))
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_log_gives_a_session_or_a_clear_error(actigraph: Path, tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    """Random byte flips, cuts and insertions in log.bin: a sound session or an ImportFormatError
    naming the file, never another exception, and nothing written on error."""
    src = actigraph / "ISM_Enabled.gt3x"
    log = bytearray(member(src, "log.bin"))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    pos = data.draw(st.integers(0, len(log) - 1))
    if kind == "flip":
        log[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del log[pos : pos + data.draw(st.integers(1, 400))]
    else:
        log[pos:pos] = data.draw(st.binary(min_size=1, max_size=20))
    work = tmp_path_factory.mktemp("fuzz")
    path = repack(src, work / "m.gt3x", "log.bin", bytes(log))
    out = work / "out"
    out.mkdir()
    try:
        read(path)
        failed = False
    except ImportFormatError as exc:  # any other exception fails the test
        failed = True
        assert str(path) in str(exc)
    report = import_one(path, out, ImportOptions())
    assert report.ok != failed
    if report.ok:
        session = read_session(report.outputs[0])
        t, v = session.streams["accelerometer"].data.read()
        assert np.all(np.diff(t) > 0) and v.dtype == np.float32
    else:
        assert list(out.iterdir()) == []


def test_zip_bytes_are_bounded(actigraph: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-input import limit holds for the log read piece by piece."""
    monkeypatch.setenv("HARLAB_IMPORT_MAX_BYTES", "10000")
    with pytest.raises(ImportFormatError, match="import limit"):
        read(actigraph / "ISM_Enabled.gt3x")


def _record(typ: int, ts: int, payload: bytes) -> bytes:
    body = struct.pack("<BBIH", 0x1E, typ, ts, len(payload)) + payload
    x = 0
    for b in body:
        x ^= b
    return body + bytes([~x & 0xFF])


def _pack12_yxz(xyz: np.ndarray) -> bytes:
    """Samples as the format's packed 12-bit y, x, z, most significant bit first."""
    bits, n = 0, 0
    for x, y, z in xyz.tolist():
        for v in (y, x, z):
            bits = (bits << 12) | (v & 0xFFF)
            n += 12
    if n % 8:
        bits <<= 8 - n % 8
        n += 8 - n % 8
    return bits.to_bytes(n // 8, "big")


def test_a_log_built_from_the_format_description(tmp_path: Path) -> None:
    """ACTIVITY2 seconds, then idle sleep mode (enter/exit events, no records), then packed ACTIVITY
    seconds, then flash padding: every sample where the format puts it, the sleep a gap."""
    rng = np.random.default_rng(3)
    start = 1_700_000_000
    first = rng.integers(-800, 800, (10 * 30, 3))
    second = rng.integers(-2000, 2000, (5 * 30, 3))
    first[:, 2] += 256
    log = b"".join(
        _record(0x1A, start + s, first[s * 30 : s * 30 + 30].astype("<i2").tobytes()) for s in range(10)
    )
    log += _record(0x03, start + 10, b"\x08") + _record(0x02, start + 15, b"\x10\x10")
    log += _record(0x03, start + 20, b"\x09")
    log += b"".join(
        _record(0x00, start + 20 + s, _pack12_yxz(second[s * 30 : s * 30 + 30])) for s in range(5)
    )
    log += bytes(7)  # zero padding after the last record
    ticks = 621_355_968_000_000_000 + start * 10**7
    info = f"Sample Rate: 30\nStart Date: {ticks}\nTimeZone: 02:00:00\nAcceleration Scale: 256\nSerial Number: X1\n"
    p = tmp_path / "built.gt3x"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("info.txt", info)
        zf.writestr("log.bin", log)
    session = read(p)
    t, v = session.streams["accelerometer"].data.read()
    flags = session.streams["accelerometer"].data.read_flags()
    expected_t = np.r_[np.arange(300) / 30, 20 + np.arange(150) / 30]
    assert np.allclose(t, expected_t, atol=1e-9)
    assert np.allclose(v[:300], first / 256 * G, rtol=1e-6)
    assert np.allclose(v[300:], second / 256 * G, rtol=1e-6)
    assert list(np.flatnonzero(flags & FLAG_GAP_BEFORE)) == [300]
    assert json.loads(session.metadata.extra["gaps"]) == [
        {"start": 10.0, "end": 20.0, "reason": "idle sleep mode"}
    ]
    assert session.metadata.timezone == "Etc/GMT-2"
    assert session.metadata.start_utc.timestamp() == start - 7200
