"""Quality tracks (non-wear) in the session file: saved in /quality, read back exactly, hostile
tables refused on open and by validate; training windows and edits respect them."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from harlab.core.errors import SessionError, SessionFileError
from harlab.core.quality_tracks import MAX_QUALITY_TRACKS, QualityTrack
from harlab.labeling.commands import SetQualityTrack, command_from_dict
from harlab.labeling.history import EditHistory
from harlab.signal.labelled_windows import cut_windows
from harlab.simulate import synthetic_session
from harlab.storage import open_session, read_session, save_session
from harlab.storage.validate import validate_file


def nonwear(spans=((100.0, 250.0), (400.0, 430.5))):
    a = np.array(spans, dtype=np.float64).reshape(-1, 2)
    return QualityTrack("nonwear", "nonwear", a[:, 0], a[:, 1], "test method", {"std_mg": "13"})


def walk():
    return synthetic_session(600.0, rate_hz=20.0, streams=["accel"], segments=[(0.0, 600.0, "walking")])


def with_quality():
    s = walk()
    s.set_quality_track(nonwear())
    return s


@pytest.fixture
def saved(tmp_path):
    return save_session(with_quality(), tmp_path / "q.h5")


def test_quality_round_trips_and_validates(saved, tmp_path):
    back = read_session(saved).quality_tracks["nonwear"]
    want = nonwear()
    assert back.spans() == want.spans() and back.method == want.method and back.params == want.params
    assert validate_file(saved) == []
    with open_session(saved, writable=True) as sf:  # a save keeps it
        sf.save()
    assert read_session(saved).quality_tracks["nonwear"].spans() == want.spans()
    plain = save_session(synthetic_session(10.0), tmp_path / "plain.h5")
    with h5py.File(plain) as f:
        assert "quality" not in f


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


def _table(rows, dtype=None, **attrs):
    def fn(f):
        del f["quality/nonwear"]
        dt = dtype or np.dtype([("start", "f8"), ("end", "f8")])
        ds = f["quality"].create_dataset("nonwear", data=np.array(rows, dtype=dt))
        for k, v in {"kind": "nonwear", "method": "", "params": "{}", **attrs}.items():
            ds.attrs[k] = v

    return fn


def _too_many(f):
    for i in range(MAX_QUALITY_TRACKS + 1):
        f["quality"].create_dataset(f"t{i}", data=np.zeros(0, dtype=[("start", "f8"), ("end", "f8")]))


HOSTILE = {
    "quality is a dataset": lambda f: (f.__delitem__("quality"), f.create_dataset("quality", data=[1])),
    "table is a group": lambda f: (f["quality"].__delitem__("nonwear"), f["quality"].create_group("nonwear")),
    "text columns": _table([("a", "b")], dtype=np.dtype([("start", "S1"), ("end", "S1")])),
    "extra column": _table([(1.0, 2.0, 3.0)], dtype=np.dtype([("start", "f8"), ("end", "f8"), ("x", "f8")])),
    "unknown kind": _table([(1.0, 2.0)], kind="sleep"),
    "kind is a number": _table([(1.0, 2.0)], kind=3),
    "unknown attribute": _table([(1.0, 2.0)], payload="x"),
    "huge method": _table([(1.0, 2.0)], method="x" * (100 << 10)),
    "params not json": _table([(1.0, 2.0)], params="{oops"),
    "span ends first": _table([(5.0, 2.0)]),
    "spans overlap": _table([(1.0, 5.0), (4.0, 6.0)]),
    "span is nan": _table([(np.nan, 2.0)]),
    "span is infinite": _table([(1.0, np.inf)]),
    "missing kind": lambda f: f["quality/nonwear"].attrs.__delitem__("kind"),
    "too many tracks": _too_many,
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_quality_tables_are_refused_on_open_and_by_validate(saved, case):
    path = _edit(saved, HOSTILE[case])
    with pytest.raises(SessionFileError) as info:
        read_session(path)
    assert "quality" in str(info.value)
    problems = validate_file(path)
    assert problems and any("quality" in p for p in problems)


def test_quality_track_refuses_bad_spans():
    with pytest.raises(SessionError, match="sorted and disjoint"):
        nonwear(((1.0, 5.0), (3.0, 6.0)))
    with pytest.raises(SessionError, match="unknown kind"):
        QualityTrack("x", "clipping", np.zeros(0), np.zeros(0))
    assert list(nonwear().covers(np.array([99.9, 100.0, 249.9, 250.0, 420.0]))) == [
        False,
        True,
        True,
        False,
        True,
    ]


def test_training_windows_never_touch_nonwear():
    s = with_quality()
    all_windows = cut_windows([walk()], "activity", 10.0)
    ws = cut_windows([s], "activity", 10.0)
    starts = ws.start_s
    for a, b in nonwear().spans():
        assert not np.any((starts < b) & (starts + 10.0 > a)), (a, b)
    assert ws.dropped["nonwear"] == len(all_windows) - len(ws) > 0


def test_storing_nonwear_is_an_undoable_journalled_edit():
    s = synthetic_session(600.0, rate_hz=20.0)
    history = EditHistory(s)
    history.push(SetQualityTrack(nonwear()))
    assert s.quality_tracks["nonwear"].spans() == nonwear().spans()
    history.undo()
    assert s.quality_tracks == {}
    history.redo()
    replayed = command_from_dict(history.done[-1].to_dict())
    fresh = synthetic_session(600.0, rate_hz=20.0)
    replayed.do(fresh)
    assert fresh.quality_tracks["nonwear"].spans() == nonwear().spans()


def test_format_doc_states_the_quality_limits_the_code_enforces():
    from pathlib import Path

    from harlab.core.quality_tracks import QUALITY_KINDS
    from harlab.storage import layout

    text = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
    section = text[text.index("## What opening and `validate` refuse") : text.index("## Versions")]
    assert f"at most {MAX_QUALITY_TRACKS} tables" in section
    assert f"one of {', '.join(f'`{k}`' for k in QUALITY_KINDS)}" in section
    assert f"{layout.MAX_VIDEO_ATTR_BYTES >> 10} KiB" in section
    assert "/quality/<name>" in text and "van Hees" in text
