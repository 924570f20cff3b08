"""Streamed imports (Importer.read_into through harlab import): the file equals an in-memory
import, problems found late still write nothing, implausible values are judged on the whole input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from harlab.core.streams import FLAG_SUSPECT
from harlab.importers.fitbit_bin import FitbitBinImporter
from harlab.importers.importer import ImportOptions
from harlab.importers.run import import_paths
from harlab.storage import read_session, save_session, validate_file


def _bin(path: Path, hours: float, seed: int = 0) -> tuple[Path, np.ndarray, np.ndarray]:
    """A labelled watch file of ``hours`` (130-byte batches), label runs crossing the hour blocks
    the importer reads; returns the path, the (N, 6) values as float16 and the N codes."""
    rng = np.random.default_rng(seed)
    n_b = int(hours * 3600)
    n = n_b * 10
    t = np.arange(n) / 10.0
    v = np.empty((n, 6))
    v[:, 0] = -9.6 + 0.5 * np.sin(t)
    v[:, 1] = 1.0 + 0.3 * np.cos(0.7 * t)
    v[:, 2] = 2.0 + rng.normal(0, 0.2, n)
    v[:, 3:] = rng.normal(0, 0.3, (n, 3))
    v16 = v.astype("<f2")
    codes = np.zeros(n, np.uint8)
    edges = np.sort(rng.choice(np.arange(1, n), 25, replace=False))
    for k, (a, b) in enumerate(zip(np.r_[0, edges], np.r_[edges, n], strict=True)):
        codes[a:b] = k % 10
    codes[35_990:36_020] = 4  # a run across the first block boundary (batch 3600 = sample 36000)
    raw = np.empty((n_b, 130), np.uint8)
    planar = v16.reshape(n_b, 10, 6).transpose(0, 2, 1).copy()
    raw[:, :120] = planar.view(np.uint8).reshape(n_b, 120)
    raw[:, 120:] = codes.reshape(n_b, 10)
    path.write_bytes(raw.tobytes())
    return path, v16, codes


def _without_created(md):
    return dataclasses.replace(
        md, session_id="", provenance=dataclasses.replace(md.provenance, created_utc=None)
    )


def test_a_streamed_import_equals_the_in_memory_import(tmp_path: Path) -> None:
    src, v16, codes = _bin(tmp_path / "Walking_20240422080000.bin", 2.5)
    out = tmp_path / "out"
    (report,) = import_paths([src], out, ImportOptions(timezone="Europe/Berlin"))
    assert report.ok, report.reason
    assert report.stream_samples == {"accelerometer": len(codes), "gyroscope": len(codes)}
    assert [p.name for p in out.iterdir()] == ["Walking_20240422080000.h5"]
    streamed = read_session(report.outputs[0])
    assert validate_file(report.outputs[0]) == []

    (mem,) = FitbitBinImporter().read(src, ImportOptions(timezone="Europe/Berlin"))
    once = read_session(save_session(mem, tmp_path / "once.h5"))
    assert _without_created(streamed.metadata) == _without_created(once.metadata)
    assert streamed.schema.to_list() == once.schema.to_list()
    for name in ("accelerometer", "gyroscope"):
        ta, va = streamed.streams[name].data.read()
        tb, vb = once.streams[name].data.read()
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(
            streamed.streams[name].data.read_flags(), once.streams[name].data.read_flags()
        )
    np.testing.assert_array_equal(va, v16[:, 3:].astype(np.float32))
    sa, sb = streamed.label_tracks["activity"], once.label_tracks["activity"]
    assert [(s.start, s.end, s.label) for s in sa] == [(s.start, s.end, s.label) for s in sb]
    assert sa.description == sb.description
    assert len(sa) == len(np.flatnonzero(np.diff(codes))) + 1


def test_a_problem_in_the_last_block_writes_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    src, _, _ = _bin(tmp_path / "Walking_20240422080000.bin", 1.5)
    raw = bytearray(src.read_bytes())
    last = len(raw) - 130
    raw[last + 2 : last + 4] = np.array([np.inf], "<f2").tobytes()  # ax of the last batch's 2nd sample
    src.write_bytes(bytes(raw))
    out = tmp_path / "out"
    (report,) = import_paths([src], out)
    assert not report.ok and str(last + 2) in report.reason and "not" not in report.reason.split(":")[0]
    assert list(out.iterdir()) == []

    (tmp_path / "good").mkdir()
    good, _, _ = _bin(tmp_path / "good" / "Walking_20240422080000.bin", 0.1)
    (ok,) = import_paths([good], out)
    assert ok.ok
    before = ok.outputs[0].read_bytes()
    (again,) = import_paths([src], out, overwrite=True)
    assert not again.ok
    assert ok.outputs[0].read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".lock")) == [ok.outputs[0].name]


def test_implausible_values_are_marked_in_any_block_and_refused_when_too_many_overall(tmp_path: Path) -> None:
    src, v16, _ = _bin(tmp_path / "Walking_20240422080000.bin", 1.5)
    raw = np.frombuffer(src.read_bytes(), np.uint8).reshape(-1, 130).copy()
    flipped = 4000  # a batch in the second hour: ax of its first sample reads 868 m/s²
    raw[flipped, 0:2] = np.frombuffer(np.array([868.0], "<f2").tobytes(), np.uint8)
    src.write_bytes(raw.tobytes())
    (report,) = import_paths([src], tmp_path / "out")
    assert report.ok, report.reason
    s = read_session(report.outputs[0])
    _, v = s.streams["accelerometer"].data.read()
    fl = s.streams["accelerometer"].data.read_flags()
    assert np.isnan(v[flipped * 10, 0]) and fl[flipped * 10] & FLAG_SUSPECT
    assert int(np.isnan(v).any(axis=1).sum()) == 1
    assert any("1 of 54000 accelerometer samples" in w for w in report.warnings)

    raw[:, :120] = 0  # zero-filled: every accelerometer sample implausible
    zero = tmp_path / "Walking_20240422090000.bin"
    zero.write_bytes(raw.tobytes())
    (bad,) = import_paths([zero], tmp_path / "out2")
    assert not bad.ok and "implausible" in bad.reason
    assert not (tmp_path / "out2").exists() or list((tmp_path / "out2").iterdir()) == []


@pytest.mark.parametrize("gz", [False, True])
def test_an_unnamed_or_compressed_file_streams_through_a_first_pass(tmp_path: Path, gz: bool) -> None:
    import gzip

    src, _, codes = _bin(tmp_path / "recording.bin", 1.2)
    if gz:
        gzipped = tmp_path / "recording.bin.gz"
        gzipped.write_bytes(gzip.compress(src.read_bytes()))
        src.unlink()
        src = gzipped
    (report,) = import_paths([src], tmp_path / "out", fmt="fitbit_bin")
    assert report.ok, report.reason
    s = read_session(report.outputs[0])
    assert s.metadata.extra["bytes_per_batch"] == "130"
    assert s.streams["gyroscope"].n_samples == len(codes)
    assert any("no <Activity>_YYYYMMDDhhmmss stamp" in w for w in report.warnings)


def test_a_cancel_in_the_middle_of_a_streamed_import_writes_nothing(tmp_path: Path) -> None:
    from harlab.importers.run import ImportCancelled

    src, _, _ = _bin(tmp_path / "Walking_20240422080000.bin", 2.5)
    seen: list[float] = []

    def progress(index: int, total: int, fraction: float, message: str) -> None:
        seen.append(fraction)
        if 0 < fraction < 1:
            raise ImportCancelled()

    out = tmp_path / "out"
    assert import_paths([src], out, progress=progress) == []
    assert any(0 < f < 1 for f in seen)  # stopped after a block was written into the temporary file
    assert [p.name for p in out.iterdir() if not p.name.endswith(".lock")] == []
