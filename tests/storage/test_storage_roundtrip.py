"""Every field of the model survives save_session -> read_session / open_session."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from harlab.core import Session
from harlab.storage import (
    FORMAT_VERSION,
    H5StreamData,
    open_session,
    read_session,
    save_session,
    validate_file,
)


def assert_sessions_equal(a: Session, b: Session) -> None:
    assert asdict(a.metadata) == asdict(b.metadata)
    assert a.schema.to_list() == b.schema.to_list()
    assert list(a.label_tracks) == list(b.label_tracks)
    for name, ta in a.label_tracks.items():
        tb = b.label_tracks[name]
        assert (ta.policy, ta.description, ta.next_id) == (tb.policy, tb.description, tb.next_id)
        assert list(ta) == list(tb)  # Segment equality covers every field, ids included
    assert list(a.prediction_tracks) == list(b.prediction_tracks)
    for name, pa in a.prediction_tracks.items():
        pb = b.prediction_tracks[name]
        for field in ("model_name", "model_version", "classes", "segments", "created", "params"):
            assert getattr(pa, field) == getattr(pb, field), field
        np.testing.assert_array_equal(pa.window_start, pb.window_start)
        np.testing.assert_array_equal(pa.window_end, pb.window_end)
        np.testing.assert_array_equal(pa.probabilities, pb.probabilities)
    assert list(a.streams) == list(b.streams)
    for name, sa in a.streams.items():
        sb = b.streams[name]
        for field in ("channels", "units", "rate_hz", "kind", "device", "attrs"):
            assert getattr(sa, field) == getattr(sb, field), (name, field)
        ta, va = sa.read()
        tb, vb = sb.read()
        assert tb.dtype == np.float64 and vb.dtype == np.float32
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vb)  # NaN compares equal here
        np.testing.assert_array_equal(sa.data.read_flags(), sb.data.read_flags())


def test_read_session_round_trip(full_session, tmp_path):
    path = save_session(full_session, tmp_path / "s.h5")
    assert path == tmp_path / "s.h5"
    back = read_session(path)
    assert_sessions_equal(full_session, back)
    assert back.label_tracks["activity"][4].confidence == 0.0
    assert back.label_tracks["activity"][1].confidence is None
    assert back.streams["rr"].n_samples == 0 and back.streams["rr"].rate_hz is None
    assert validate_file(path) == []
    assert not any(p.name.endswith(".tmp") or p.name.endswith(".lock") for p in tmp_path.iterdir())


def test_open_session_is_lazy_and_equal(full_session, tmp_path):
    save_session(full_session, tmp_path / "s.h5")
    with open_session(tmp_path / "s.h5") as sf:
        assert not sf.writable
        assert isinstance(sf.session.streams["acc"].data, H5StreamData)
        assert_sessions_equal(full_session, sf.session)
    assert sf.closed


def test_save_edits_then_reopen_and_save_as(full_session, tmp_path):
    path = save_session(full_session, tmp_path / "s.h5")
    with open_session(path, writable=True) as sf:
        track = sf.session.label_tracks["activity"]
        track.update(1, label="sitting", note="fixed")
        sf.session.metadata.notes = "edited"
        acc = sf.session.streams["acc"]
        sf.save()
        # the lazy stream now reads from the new file and still works
        t, v = acc.read(10, 20)
        np.testing.assert_array_equal(v, full_session.streams["acc"].read(10, 20)[1])
        sf.save_as(tmp_path / "copy.h5")
        assert sf.path == tmp_path / "copy.h5" and sf.writable
    for p in (path, tmp_path / "copy.h5"):
        back = read_session(p)
        assert back.metadata.notes == "edited"
        assert back.label_tracks["activity"][1].note == "fixed"
        np.testing.assert_array_equal(back.streams["acc"].read()[1], full_session.streams["acc"].read()[1])
        assert validate_file(p) == []


def test_root_attributes(full_session, tmp_path):
    import h5py

    path = save_session(full_session, tmp_path / "s.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "harlab-session"
        assert f.attrs["format_version"] == FORMAT_VERSION
        assert f["streams/acc/values"].chunks is not None
        assert f["streams/acc/values"].compression == "gzip"
        assert f["streams/acc/values"].maxshape == (None, 3)
