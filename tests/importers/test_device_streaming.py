"""The research-accelerometer importers stream: ``harlab import`` of a .gt3x, ActiLife CSV, .cwa or
GENEActiv .bin writes the same file as saving the in-memory read, in any chunking; a problem found in
the last chunk (or by the whole-input rule at the end) writes nothing; memory stays flat in the length."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harlab.core.session import Session
from harlab.importers import ImportOptions, get_importer
from harlab.importers.importer import import_warnings
from harlab.importers.run import import_one
from harlab.storage import read_session, save_session, validate_file

#: (folder, file, importer) of the real samples in ``../shared/data``.
REAL_FILES = [
    ("actigraph", "neo.gt3x", "actigraph_gt3x"),
    ("actigraph", "ISM_Enabled.gt3x", "actigraph_gt3x"),
    ("actigraph", "small.gt3x", "actigraph_gt3x"),
    ("actigraph", "neo.csv", "actilife_csv"),
    ("actigraph", "WRIST_rawCalibrated_032Hz.csv", "actilife_csv"),
    ("axivity", "ax3_sample.cwa", "axivity_cwa"),
    ("geneactiv", "gnactv_sample.bin", "geneactiv_bin"),
]


def _without_created(md):  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        md, session_id="", provenance=dataclasses.replace(md.provenance, created_utc=None)
    )


def assert_same_session(streamed: Path, mem: Session, tmp_path: Path) -> None:
    """The streamed file reads back equal to the in-memory session saved in one go, stream by stream."""
    assert validate_file(streamed) == []
    got = read_session(streamed)
    once = read_session(save_session(mem, tmp_path / "once.h5"))
    assert _without_created(got.metadata) == _without_created(once.metadata)
    assert list(got.streams) == list(once.streams)
    for name, a in got.streams.items():
        b = once.streams[name]
        assert (a.channels, a.units, a.rate_hz, a.kind, a.device) == (
            b.channels,
            b.units,
            b.rate_hz,
            b.kind,
            b.device,
        ), name
        ta, va = a.data.read()
        tb, vb = b.data.read()
        np.testing.assert_array_equal(ta, tb, err_msg=name)
        np.testing.assert_array_equal(va, vb, err_msg=name)
        np.testing.assert_array_equal(a.data.read_flags(), b.data.read_flags(), err_msg=name)


@pytest.mark.parametrize("chunk", [None, 1031], ids=["default-chunks", "1031-byte-chunks"])
@pytest.mark.parametrize(("folder", "name", "fmt"), REAL_FILES, ids=[f[1] for f in REAL_FILES])
def test_a_streamed_import_equals_the_in_memory_read(
    shared_data: Path, tmp_path: Path, folder: str, name: str, fmt: str, chunk: int | None
) -> None:
    src = shared_data / folder / name
    if not src.is_file():
        pytest.skip(f"../shared/data/{folder}/{name} not present")
    importer = get_importer(fmt)
    assert importer.streaming
    extra: dict[str, object] = {} if chunk is None else {"chunk_bytes": chunk}
    report = import_one(src, tmp_path, ImportOptions(timezone="Europe/London", extra=extra), fmt=fmt)
    assert report.ok, report.reason
    (mem,) = importer.read(src, ImportOptions(timezone="Europe/London"))
    assert report.stream_samples == {k: s.n_samples for k, s in mem.streams.items()}
    assert report.warnings == import_warnings(mem)
    assert_same_session(report.outputs[0], mem, tmp_path)


def test_idle_sleep_gaps_keep_their_flags_and_list_across_small_chunks(
    shared_data: Path, tmp_path: Path
) -> None:
    src = shared_data / "actigraph" / "ISM_Enabled.gt3x"
    if not src.is_file():
        pytest.skip("../shared/data/actigraph not present")
    report = import_one(src, tmp_path, ImportOptions(extra={"chunk_bytes": 64}))
    assert report.ok, report.reason
    s = read_session(report.outputs[0])
    gaps = json.loads(s.metadata.extra["gaps"])
    assert gaps and {g["reason"] for g in gaps} >= {"idle sleep mode"}
    t, _ = s.streams["accelerometer"].data.read()
    flagged = t[(s.streams["accelerometer"].data.read_flags() & 1) == 1]
    inner = [g for g in gaps if g["end"] <= t[-1]]  # a stretch at the very end has no sample after it
    assert inner
    for g in inner:  # the sample after each listed stretch carries the gap flag
        assert np.any(np.isclose(flagged, g["end"], atol=0.011)), g


# -- .cwa files built from Open Movement's format description ------------------------------------

RATE_HZ = 100
PER_BLOCK = 80  # int16 x, y, z: 480 bytes of samples in a 512-byte block


def _stamp(seconds: np.ndarray) -> np.ndarray:
    """Packed device timestamps of Unix ``seconds``."""
    t = seconds.astype("datetime64[s]")
    days = t.astype("datetime64[D]")
    months = t.astype("datetime64[M]")
    years = t.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    sec = (t - days).astype(np.int64)
    return (
        ((year - 2000) << 26)
        | (month << 22)
        | (day << 17)
        | ((sec // 3600) << 12)
        | ((sec // 60 % 60) << 6)
        | sec % 60
    ).astype(np.uint32)


def write_cwa(path: Path, hours: float, zero_from: float | None = None) -> int:
    """An AX3 recording at 100 Hz, ±8 g, int16 samples (256 counts/g), one block per 0.8 s, written a
    day at a time (the test process stays small too); samples from ``zero_from`` (0..1 of the
    blocks) on are exactly 0 on every axis. Returns the sample count."""
    header = bytearray(1024)
    header[0:4] = b"MD\xfc\x03"
    header[5:7] = (4242).to_bytes(2, "little")
    header[11:13] = b"\xff\xff"
    header[35] = 0  # accelerometer only
    header[36] = 0x40 | 10  # ±8 g, 3200 / 2**5 = 100 Hz
    n_blocks = int(hours * 3600 * RATE_HZ / PER_BLOCK)
    t0 = 1_709_280_000  # 2024-03-01 08:00:00
    with open(path, "wb") as f:
        f.write(bytes(header))
        step = 100_000
        for b0 in range(0, n_blocks, step):
            k = np.arange(b0, min(n_blocks, b0 + step), dtype=np.int64)
            blocks = np.zeros((len(k), 512), np.uint8)
            hdr = blocks[:, :30].view(np.uint8)
            first = k * PER_BLOCK
            whole = -(-first // RATE_HZ)  # the whole second each block's timestamp names
            fields = np.zeros(len(k), np.dtype([("id", "<u2"), ("length", "<u2"), ("fraction", "<u2"),
                                                 ("session", "<u4"), ("sequence", "<u4"), ("timestamp", "<u4"),
                                                 ("light", "<u2"), ("temperature", "<u2"), ("events", "u1"),
                                                 ("battery", "u1"), ("rate", "u1"), ("axes_bps", "u1"),
                                                 ("offset", "<i2"), ("count", "<u2")]))  # fmt: skip
            fields["id"], fields["length"] = 0x5841, 508
            fields["sequence"] = k
            fields["timestamp"] = _stamp(t0 + whole)
            fields["temperature"] = 171 + 75  # about 24 °C
            fields["rate"], fields["axes_bps"] = 0x4A, 0x32
            fields["offset"] = whole * RATE_HZ - first
            fields["count"] = PER_BLOCK
            hdr[:] = fields.view(np.uint8).reshape(len(k), 30)
            i = first[:, None] + np.arange(PER_BLOCK)[None, :]
            xyz = np.stack(
                [60 * np.sin(i / 50.0), 40 * np.cos(i / 70.0), -256 + 30 * np.sin(i / 13.0)], axis=-1
            ).astype("<i2")
            if zero_from is not None:
                xyz[k >= int(zero_from * n_blocks)] = 0
            blocks[:, 30:510] = np.ascontiguousarray(xyz).reshape(len(k), 240).view(np.uint8)
            words = blocks.view("<u2")
            words[:, 255] = (-words[:, :255].sum(axis=1, dtype=np.uint16)).astype(np.uint16)
            f.write(blocks.tobytes())
    return n_blocks * PER_BLOCK


def test_a_cwa_built_from_the_format_streams_like_the_in_memory_read(tmp_path: Path) -> None:
    src = tmp_path / "built.cwa"
    n = write_cwa(src, 0.25)
    imp = get_importer("axivity_cwa")
    (mem,) = imp.read(src, ImportOptions())
    assert mem.streams["accelerometer"].n_samples == n
    report = import_one(src, tmp_path, ImportOptions(extra={"chunk_bytes": 5000}))
    assert report.ok, report.reason
    assert_same_session(report.outputs[0], mem, tmp_path)


def _old_target(tmp_path: Path, src: Path) -> Path:
    """An earlier import's file where the refused import would write."""
    out = tmp_path / "out"
    out.mkdir()
    first = import_one(src, out, ImportOptions())
    assert first.ok, first.reason
    return first.outputs[0]


def _only_old_file(target: Path, before: bytes) -> None:
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left


def test_damaged_blocks_at_the_end_refuse_the_file_and_write_nothing(tmp_path: Path) -> None:
    """The last 2 % of the blocks have wrong checksums: more than the stray few that are skipped,
    found only after every other block was streamed into the temporary file."""
    src = tmp_path / "rec.cwa"
    write_cwa(src, 0.2)
    target = _old_target(tmp_path, src)
    before = target.read_bytes()
    data = bytearray(src.read_bytes())
    n_blocks = (len(data) - 1024) // 512
    first = n_blocks - n_blocks // 50
    for b in range(first, n_blocks):
        data[1024 + b * 512 + 100] ^= 0x55  # a sample of the block: its checksum no longer holds
    src.write_bytes(bytes(data))
    report = import_one(src, target.parent, ImportOptions(extra={"chunk_bytes": 4096}), overwrite=True)
    assert not report.ok
    assert "wrong checksum" in report.reason and f"byte {1024 + first * 512 + 510}" in report.reason
    _only_old_file(target, before)


def test_a_damaged_last_block_is_skipped_with_a_warning(tmp_path: Path) -> None:
    src = tmp_path / "rec.cwa"
    write_cwa(src, 0.2)
    data = bytearray(src.read_bytes())
    data[-100] ^= 0x55
    src.write_bytes(bytes(data))
    (tmp_path / "out").mkdir()
    report = import_one(src, tmp_path / "out", ImportOptions(extra={"chunk_bytes": 4096}))
    assert report.ok, report.reason
    assert any(f"wrong checksum (the first at byte {len(data) - 2})" in w for w in report.warnings)


def test_implausible_values_under_the_whole_input_limit_are_marked_in_any_chunking(tmp_path: Path) -> None:
    """Chunks of zeros only (every sample implausible) do not refuse a file whose whole is 5 % zeros."""
    ok = tmp_path / "ok.cwa"
    write_cwa(ok, 0.2, zero_from=0.95)
    (mem,) = get_importer("axivity_cwa").read(ok, ImportOptions())
    streamed = import_one(ok, tmp_path, ImportOptions(extra={"chunk_bytes": 2048}))
    assert streamed.ok, streamed.reason
    assert any("flagged suspect" in w for w in streamed.warnings)
    assert_same_session(streamed.outputs[0], mem, tmp_path)


def test_a_refused_whole_input_rule_writes_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    src = tmp_path / "rec.cwa"
    write_cwa(src, 0.2)
    target = _old_target(tmp_path, src)
    before = target.read_bytes()
    write_cwa(src, 0.2, zero_from=0.8)
    report = import_one(src, target.parent, ImportOptions(extra={"chunk_bytes": 4096}), overwrite=True)
    assert not report.ok
    assert "implausible" in report.reason
    _only_old_file(target, before)


def test_a_bad_record_late_in_a_gt3x_writes_nothing(shared_data: Path, tmp_path: Path) -> None:
    import zipfile

    src = shared_data / "actigraph" / "small.gt3x"
    if not src.is_file():
        pytest.skip("../shared/data/actigraph not present")
    copy = tmp_path / "small.gt3x"
    copy.write_bytes(src.read_bytes())
    target = _old_target(tmp_path, copy)
    before = target.read_bytes()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "log.bin":  # a byte of the last records: a checksum no longer holds
                data = bytearray(data)
                data[len(data) * 99 // 100] ^= 0x5A
            zout.writestr(info, bytes(data))
    report = import_one(copy, target.parent, ImportOptions(extra={"chunk_bytes": 65536}), overwrite=True)
    assert not report.ok
    assert "log.bin" in report.reason
    _only_old_file(target, before)


# -- memory stays flat in the recording's length ---------------------------------------------------

_RSS_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from harlab.importers import ImportOptions
    from harlab.importers.run import import_one

    def peak():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    warm, big, out = (Path(p) for p in sys.argv[1:4])
    first = import_one(warm, out, ImportOptions())  # every module and code path loaded
    before = peak()
    report = import_one(big, out, ImportOptions())
    print(json.dumps({"ok": first.ok and report.ok, "reason": report.reason,
                      "samples": report.samples, "before": before, "after": peak()}))
    """
)


def test_streaming_a_long_cwa_keeps_peak_memory_flat(tmp_path: Path) -> None:
    """A 24-hour recording (8.6 M samples: 181 MB as times, values and flags in memory) imports with
    the peak RSS growing by a fraction of that: the chunk being decoded, the writer's block and
    HDF5's caches (bounded), whatever the length."""
    warm = tmp_path / "warm.cwa"
    big = tmp_path / "big.cwa"
    write_cwa(warm, 0.05)
    n = write_cwa(big, 24.0)
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(warm), str(big), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(run.stdout.strip().splitlines()[-1])
    assert r["ok"], r["reason"]
    assert r["samples"] == n + n // PER_BLOCK  # accelerometer and one temperature per block
    in_memory = n * (8 + 12 + 1)
    growth = r["after"] - r["before"]
    assert growth < in_memory / 3, (growth / 2**20, in_memory / 2**20)


@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "a-page-per-chunk"])
def test_a_page_time_going_back_is_refused_across_chunks_too(
    shared_data: Path, tmp_path: Path, chunk: int | None
) -> None:
    """GENEActiv page times must increase, also from the last page of one chunk to the first of the next."""
    src = shared_data / "geneactiv" / "gnactv_sample.bin"
    if not src.is_file():
        pytest.skip("../shared/data/geneactiv not present")
    data = src.read_bytes()
    bad = tmp_path / "back.bin"
    bad.write_bytes(data.replace(b"Page Time:2019-05-21 16:16:56:000", b"Page Time:2019-05-21 16:16:49:000"))
    extra: dict[str, object] = {} if chunk is None else {"chunk_bytes": chunk}
    report = import_one(bad, tmp_path, ImportOptions(extra=extra))
    assert not report.ok
    assert "page time does not increase" in report.reason and "line 83" in report.reason
    assert not list(tmp_path.glob("*.h5")) and sorted(p.name for p in tmp_path.iterdir()) == ["back.bin"]
