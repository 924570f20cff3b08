"""The generic CSV importer reads its table in chunks and streams them into the session file: any
chunking gives the same session, what crosses a chunk boundary (a label run, a gap, the time
order) is judged as if the table were whole, and a problem found late writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_GAP_BEFORE, FLAG_SUSPECT
from harlab.importers import ImportOptions, get_importer
from harlab.importers.run import import_one
from harlab.storage import read_session, validate_file

HEADER = "time_s,accelerometer.x [m/s^2],accelerometer.y [m/s^2],accelerometer.z [m/s^2],heart_rate.bpm,label.activity"


def _rows(n: int = 103) -> list[str]:
    """50 Hz rows with a 2 s gap after row 40, heart rate every 10th row, a row with an empty
    channel, and label runs that cross every chunk boundary of chunk sizes 1..n."""
    rows = []
    t = 0.0
    for i in range(n):
        t = i / 50 + (2.0 if i > 40 else 0.0)
        y = "" if i == 77 else f"{np.cos(i / 9):.4f}"
        hr = f"{60 + i % 7}" if i % 10 == 0 else ""
        label = "walking" if i < 30 else ("" if i < 35 else ("sitting" if i < 90 else "walking"))
        rows.append(f"{t:.2f},{np.sin(i / 7):.4f},{y},9.81,{hr},{label}")
    return rows


def _read(path: Path, chunk_rows: int | None = None):
    extra = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
    (session,) = get_importer("csv").read(path, ImportOptions(extra=extra))
    return session


def _same(a, b) -> None:
    assert list(a.streams) == list(b.streams)
    for name in a.streams:
        sa, sb = a.streams[name], b.streams[name]
        ta, va = sa.data.read()
        tb, vb = sb.data.read()
        assert np.array_equal(ta, tb) and np.array_equal(va, vb, equal_nan=True), name
        assert np.array_equal(sa.data.read_flags(), sb.data.read_flags()), name
        assert sa.rate_hz == sb.rate_hz
    assert {k: [(s.start, s.end, s.label, s.note) for s in t] for k, t in a.label_tracks.items()} == {
        k: [(s.start, s.end, s.label, s.note) for s in t] for k, t in b.label_tracks.items()
    }
    assert a.metadata.extra == b.metadata.extra


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 40, 41, 102])
def test_any_chunking_gives_the_whole_tables_session(tmp_path: Path, chunk_rows: int) -> None:
    src = tmp_path / "wrist.csv"
    src.write_text("\n".join([HEADER, *_rows()]) + "\n")
    whole = _read(src)
    _same(_read(src, chunk_rows), whole)
    acc = whole.streams["accelerometer"]
    assert list(np.flatnonzero(acc.data.read_flags() & FLAG_GAP_BEFORE)) == [41]
    assert list(np.flatnonzero(acc.data.read_flags() & FLAG_SUSPECT)) == [77]
    assert len(whole.streams["heart_rate"].data.read()[0]) == 11
    segs = [(s.label, s.note) for s in whole.label_tracks["activity"]]
    assert segs == [
        ("walking", "wrist.csv lines 2-31"),
        ("sitting", "wrist.csv lines 37-91"),
        ("walking", "wrist.csv lines 92-104"),
    ]


def test_epoch_and_iso_times_keep_the_first_chunks_origin(tmp_path: Path) -> None:
    ns0 = 1_714_557_600_123_456_789
    ns = ns0 + np.arange(30, dtype=np.int64) * 20_000_000
    epoch = tmp_path / "epoch.csv"
    epoch.write_text(
        "time_ns,accelerometer.x,accelerometer.y,accelerometer.z\n"
        + "".join(f"{v},{i % 3},1,9.8\n" for i, v in enumerate(ns))
    )
    a, b = _read(epoch), _read(epoch, 4)
    _same(a, b)
    assert b.metadata.start_utc == a.metadata.start_utc
    assert np.allclose(b.streams["accelerometer"].data.read()[0], np.arange(30) * 0.02, atol=1e-9)
    iso = tmp_path / "iso.csv"
    iso.write_text(
        "timestamp,accelerometer.x,accelerometer.y,accelerometer.z\n"
        + "".join(f"2024-05-01T12:00:{i // 10:02d}.{i % 10}00+02:00,{i},1,9.8\n" for i in range(30))
    )
    a, b = _read(iso), _read(iso, 7)
    _same(a, b)
    assert b.metadata.start_utc.isoformat() == "2024-05-01T10:00:00+00:00"


def test_time_going_back_across_a_chunk_boundary_names_the_line(tmp_path: Path) -> None:
    rows = _rows()
    rows[50] = rows[50].replace(rows[50].split(",")[0], "0.50", 1)  # back to 0.5 s on line 52
    src = tmp_path / "back.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n")
    for chunk_rows in (None, 50):  # the bad row in the middle of a chunk, then first of its chunk
        with pytest.raises(ImportFormatError, match="time goes backwards") as err:
            _read(src, chunk_rows)
        assert "line 52" in str(err.value)


def test_a_problem_in_a_late_chunk_leaves_the_old_file(tmp_path: Path) -> None:
    """A cell that is no number 10 000 rows in, after several chunks went into the temporary
    file: the import fails with the line, the session file it would replace stays as it was."""
    src = tmp_path / "long.csv"
    rows = [
        f"{i / 50:.2f},{np.sin(i / 7):.4f},0.5,9.81,{'' if i % 50 else 70},walking" for i in range(12_000)
    ]
    src.write_text("\n".join([HEADER, *rows]) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    first = import_one(src, out, ImportOptions(extra={"chunk_rows": 1000}))
    assert first.ok, first.reason
    target = first.outputs[0]
    assert validate_file(target) == []
    before = target.read_bytes()
    rows[10_000] = rows[10_000].replace("0.5,", "half,", 1)
    src.write_text("\n".join([HEADER, *rows]) + "\n")
    report = import_one(src, out, ImportOptions(extra={"chunk_rows": 1000}), overwrite=True)
    assert (
        not report.ok and "'half' is not a finite number" in report.reason and "line 10002" in report.reason
    )
    assert target.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [target.name]  # no temporary file left


def test_the_streamed_file_equals_the_in_memory_session(tmp_path: Path) -> None:
    src = tmp_path / "wrist.csv"
    src.write_text("\n".join([HEADER, *_rows()]) + "\n")
    report = import_one(src, tmp_path, ImportOptions(extra={"chunk_rows": 9}))
    assert report.ok and report.importer == "csv"
    streamed = read_session(report.outputs[0])
    _same(streamed, _read(src))
    assert all(c.hotkey for c in streamed.schema)  # the classes of the label column are keyed


def test_a_nul_byte_deep_in_the_file_is_refused_with_its_offset(tmp_path: Path) -> None:
    src = tmp_path / "nul.csv"
    text = "\n".join([HEADER, *_rows()]) + "\n"
    at = len(text) - 20
    src.write_bytes(text[:at].encode() + b"\0" + text[at + 1 :].encode())
    with pytest.raises(ImportFormatError, match="NUL character") as err:
        _read(src, 5)
    assert f"byte {at}" in str(err.value)
