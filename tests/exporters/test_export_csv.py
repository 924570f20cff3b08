"""Wide CSV export: parsed back with pandas and compared with the session sample by sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harlab.core import Segment, Session, Stream
from harlab.exporters import ExportError, ExportOptions, get_exporter
from tests.exporters.export_sessions import START, ten_second_session


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in ()}, dtype=str)


def export(sessions, out, **opts):
    return get_exporter("csv").export(sessions, out, ExportOptions(**opts))


def test_per_stream_files_hold_exact_times_values_and_labels(tmp_path, session):
    files = export([session], tmp_path / "out", names=["rec"])
    assert [f.name for f in files] == ["rec.accel.csv", "rec.gyro.csv"]
    df = read(files[0])
    assert list(df.columns) == [
        "time_s",
        "time_utc",
        "accel.x",
        "accel.y",
        "accel.z",
        "label.activity",
        "label.posture",
    ]
    t, v = session.streams["accel"].read()
    assert np.array_equal(df["time_s"].astype(float).to_numpy(), t)  # bit-exact float64
    got = df[["accel.x", "accel.y", "accel.z"]].astype(float).to_numpy().astype(np.float32)
    assert np.array_equal(got, v)  # bit-exact float32
    assert df["time_utc"][0] == "2024-03-01T12:00:00.000000Z"
    assert df["time_utc"][37] == "2024-03-01T12:00:03.700000Z"
    # activity: walk [0,4) sit [4,7) nothing [7,8) walk [8,10); half-open at boundaries
    expected = ["walk"] * 40 + ["sit"] * 30 + [""] * 10 + ["walk"] * 20
    assert df["label.activity"].tolist() == expected
    # posture overlaps: upright [0,6), moving [5,10); the zero-length tap labels no sample
    post = df["label.posture"].tolist()
    assert post[24] == post[25] == "upright"
    assert post[50] == "upright|moving" and post[59] == "upright|moving"
    assert post[60] == "moving"


def test_nan_is_an_empty_field_and_unknown_start_has_no_utc_column(tmp_path):
    s = ten_second_session(start_utc=None, nan_at=3)
    (f,) = export([s], tmp_path / "one.csv", streams=["accel"], tracks=["activity"])
    lines = f.read_text().splitlines()
    assert lines[0] == "time_s,accel.x,accel.y,accel.z,label.activity"
    assert lines[4] == "0.3,,3.0,-3.0,walk"
    df = pd.read_csv(f)
    assert np.isnan(df["accel.x"][3]) and np.float32(df["accel.x"][4]) == np.float32(0.4)


def test_chunked_writing_gives_the_same_bytes(tmp_path, session):
    (a,) = export([session], tmp_path / "a.csv", streams=["accel"])
    (b,) = export([session], tmp_path / "b.csv", streams=["accel"], chunk_samples=7)
    assert a.read_bytes() == b.read_bytes()


def test_full_precision_of_irregular_times(tmp_path):
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.009, 0.011, 500)) + 12345.678
    v = rng.normal(size=(500, 2)).astype(np.float32)
    s = Session()
    s.add_stream(Stream.from_arrays("ppg", t, v, ["a", "b"], "au", rate_hz=100.0))
    (f,) = export([s], tmp_path / "ppg.csv", chunk_samples=64)
    df = pd.read_csv(f)
    assert np.array_equal(df["time_s"].to_numpy(), t)
    assert np.array_equal(df[["ppg.a", "ppg.b"]].to_numpy().astype(np.float32), v)


def test_merged_on_common_rate_interpolates_linearly(tmp_path, session):
    (f,) = export([session], tmp_path / "m.csv", rate_hz=20.0, tracks=["activity"])
    df = pd.read_csv(f, keep_default_na=False)
    # grid k/20 from 0 to 9.9 s
    assert np.array_equal(df["time_s"].to_numpy(), np.arange(199) / 20.0)
    # x = t and y = 10 t are linear in time, so linear interpolation is exact (to float32)
    np.testing.assert_allclose(df["accel.x"].to_numpy(), df["time_s"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(df["accel.y"].to_numpy(), 10 * df["time_s"].to_numpy(), atol=1e-4)
    np.testing.assert_allclose(df["gyro.z"].to_numpy(), 1.0)
    assert df["label.activity"][df["time_s"] == 7.5].item() == ""
    assert df["label.activity"][df["time_s"] == 3.95].item() == "walk"


def test_merged_leaves_gaps_empty_instead_of_bridging(tmp_path):
    t = np.concatenate([np.arange(0, 20) / 10, np.arange(50, 70) / 10])  # gap 1.9 -> 5.0 s
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, t[:, None], ["x"], "u", rate_hz=10.0))
    s.add_stream(Stream.from_arrays("b", np.arange(70) / 10, np.ones(70), ["x"], "u", rate_hz=10.0))
    (f,) = export([s], tmp_path / "g.csv", rate_hz=10.0)
    df = pd.read_csv(f)
    inside_gap = (df["time_s"] > 1.9) & (df["time_s"] < 5.0)
    assert inside_gap.sum() == 30
    assert df["a.x"][inside_gap].isna().all()
    assert (df["b.x"][inside_gap] == 1.0).all()
    np.testing.assert_allclose(df["a.x"][~inside_gap], df["time_s"][~inside_gap], atol=1e-6)


def test_merged_drops_rows_where_no_stream_has_data(tmp_path):
    t = np.concatenate([np.arange(0, 10) / 10, np.arange(40, 50) / 10])
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, t, ["x"], "u", rate_hz=10.0))
    (f,) = export([s], tmp_path / "g.csv", rate_hz=10.0)
    assert len(pd.read_csv(f)) == 20


def test_several_files_need_a_folder(tmp_path, session):
    with pytest.raises(ExportError, match="writes 2 files"):
        export([session], tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_existing_output_is_refused_unless_overwrite(tmp_path, session):
    export([session], tmp_path / "x.csv", streams=["gyro"])
    with pytest.raises(ExportError, match="already exists"):
        export([session], tmp_path / "x.csv", streams=["gyro"])
    export([session], tmp_path / "x.csv", streams=["gyro"], overwrite=True)


def test_failure_leaves_nothing_behind(tmp_path, session):
    other = ten_second_session("sess-b")
    other.remove_stream("gyro")
    with pytest.raises(ExportError, match="no stream or channel 'gyro'"):
        export([session, other], tmp_path / "out", streams=["gyro"])
    assert not (tmp_path / "out").exists()


def test_options_of_other_formats_are_refused(tmp_path, session):
    with pytest.raises(ExportError, match="--window does not apply to the 'csv' format"):
        export([session], tmp_path / "o", window_s=2.0)


def test_bad_rate_and_missing_track(tmp_path, session):
    with pytest.raises(ExportError, match="positive"):
        export([session], tmp_path / "o", rate_hz=-5.0)
    with pytest.raises(ExportError, match="no label track 'nope'"):
        export([session], tmp_path / "o", tracks=["nope"])


def test_lazy_session_file_exports_the_same_bytes(tmp_path, saved_session, session):
    from harlab.storage import open_session

    (a,) = export([session], tmp_path / "mem.csv", streams=["accel"], chunk_samples=16)
    with open_session(saved_session) as sf:
        (b,) = export([sf.session], tmp_path / "file.csv", streams=["accel"], chunk_samples=16)
    assert a.read_bytes() == b.read_bytes()


def test_round_trip_through_the_generic_csv_importer(tmp_path, session):
    from harlab.importers import ImportOptions, importers

    (f,) = export([session], tmp_path / "rt.csv", streams=["accel"], tracks=["activity"])
    (imp,) = [i for i in importers().values() if type(i).__module__ == "harlab.importers.generic_csv"]
    assert imp.sniff(f) > 0
    (back,) = imp.read(f, ImportOptions())
    stream = back.streams["accel"]
    assert stream.channels == ["x", "y", "z"]
    t0, v0 = session.streams["accel"].read()
    t1, v1 = stream.read()
    np.testing.assert_array_equal(t1, t0)
    np.testing.assert_array_equal(v1.astype(np.float32), v0)
    if back.metadata.start_utc is not None:
        assert back.metadata.start_utc == START
    segs = [(s.start, s.end, s.label) for s in back.label_tracks["activity"]]
    # per-sample labels come back as segments spanning the labelled samples (within one period)
    assert [s[2] for s in segs] == ["walk", "sit", "walk"]
    for (a, b, _), (ea, eb) in zip(segs, [(0.0, 4.0), (4.0, 7.0), (8.0, 10.0)], strict=True):
        assert abs(a - ea) <= 0.1 + 1e-9 and abs(b - eb) <= 0.1 + 1e-9


def test_labels_with_commas_and_quotes_are_quoted(tmp_path, session):
    session.label_tracks["activity"].add(Segment(7.0, 7.5, 'say "hi", then sit'))
    (f,) = export([session], tmp_path / "q.csv", streams=["accel.x"], tracks=["activity"])
    df = pd.read_csv(f, keep_default_na=False)
    assert df["label.activity"][72] == 'say "hi", then sit' and df["label.activity"][75] == ""
    assert list(df.columns) == ["time_s", "time_utc", "accel.x", "label.activity"]


@pytest.mark.parametrize(
    ("fmt", "out", "opts"),
    [
        ("csv", "p", {}),
        ("csv", "m.csv", {"rate_hz": 10.0}),
        ("windows", "w.npz", {"tracks": ["activity"], "window_s": 1.0}),
    ],
)
def test_progress_is_reported_up_to_one(tmp_path, session, fmt, out, opts):
    seen: list[float] = []
    get_exporter(fmt).export(
        [session],
        tmp_path / out,
        ExportOptions(chunk_samples=30, **opts),
        progress=lambda f, _msg: seen.append(f),
    )
    assert len(seen) >= 2 and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)


def test_merged_export_round_trips_through_the_generic_csv_importer(tmp_path):
    from harlab.importers import ImportOptions, importers

    t = np.concatenate([np.arange(0, 20) / 10, np.arange(50, 70) / 10])  # stream a has a gap
    s = Session()
    s.add_stream(Stream.from_arrays("a", t, t[:, None], ["x"], "u", rate_hz=10.0))
    s.add_stream(Stream.from_arrays("b", np.arange(70) / 10, np.ones(70), ["x"], "u", rate_hz=10.0))
    (f,) = export([s], tmp_path / "g.csv", rate_hz=10.0)  # the grid is both streams' own clock
    (imp,) = [i for i in importers().values() if type(i).__module__ == "harlab.importers.generic_csv"]
    (back,) = imp.read(f, ImportOptions())
    for name in ("a", "b"):
        t0, v0 = s.streams[name].read()
        t1, v1 = back.streams[name].read()
        np.testing.assert_array_equal(t1, t0)  # empty cells are not samples: the gap stays a gap
        np.testing.assert_array_equal(v1, v0)
