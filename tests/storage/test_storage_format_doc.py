"""The h5py + pandas example in docs/FORMAT.md runs and reads what harlab wrote."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from harlab.storage import read_session, save_session

DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"


def test_format_doc_example_reads_every_part(full_session, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    path = save_session(full_session, tmp_path / "s.h5")
    ns: dict = {"path": str(path)}
    exec(compile(blocks[0], str(DOC), "exec"), ns)
    s = read_session(path)
    md = s.metadata
    assert ns["meta"]["participant_id"] == md.participant_id and ns["meta"]["timezone"] == md.timezone
    assert ns["meta"]["start_utc"] == md.start_utc.isoformat(timespec="microseconds")
    assert ns["extra"] == md.extra
    assert ns["devices"]["placement"].str.decode("utf-8").tolist() == [d.placement for d in md.devices]
    assert ns["sources"]["sha256"].str.decode("utf-8").tolist() == [x.sha256 for x in md.provenance.sources]
    assert ns["schema"]["hotkey"].str.decode("utf-8").tolist() == [c.hotkey or "" for c in s.schema]
    df, policy = ns["labels"]["activity"]
    track = s.label_tracks["activity"]
    assert policy == track.policy
    segs = sorted(track, key=lambda x: x.id)
    assert sorted(df["id"].tolist()) == [x.id for x in segs]
    by_id = df.set_index("id")
    for seg in segs:
        row = by_id.loc[seg.id]
        assert (row["start"], row["end"], row["label"], row["source"]) == (
            seg.start,
            seg.end,
            seg.label,
            seg.source,
        )
        assert (np.isnan(row["confidence"]) and seg.confidence is None) or row["confidence"] == seg.confidence
        assert row["created"].to_pydatetime() == seg.created
    assert ns["labels"]["context"][1] == "overlapping"
    p = s.prediction_tracks["cnn"]
    np.testing.assert_array_equal(ns["probs"][p.classes].to_numpy(), p.probabilities)
    np.testing.assert_array_equal(ns["probs"]["window_end"].to_numpy(), p.window_end)
    t, v = s.streams["acc"].read(10.0, 20.0)
    np.testing.assert_array_equal(ns["acc"]["time"].to_numpy(), t)
    np.testing.assert_array_equal(ns["acc"][["x", "y", "z"]].to_numpy(), v)
    assert ns["units"] == s.streams["acc"].units
    t_all, v_all = s.streams["acc"].read()
    ov = ns["overview"]
    np.testing.assert_array_equal(ov["time"].to_numpy(), t_all[::256])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(
            ov["x_min"].to_numpy(), np.fmin.reduceat(v_all[:, 0], np.arange(0, len(v_all), 256))
        )


def test_format_doc_states_the_limits_the_code_enforces():
    from harlab.core.streams import MAX_TIME_S
    from harlab.storage import layout

    text = DOC.read_text()
    section = text[text.index("## What opening and `validate` refuse") : text.index("## Versions")]
    stated = [
        f"at most {layout.MAX_EXPANSION} bytes per byte",
        f"{layout.SIZE_SLACK >> 20} MiB.",
        f"at most {layout.MAX_CHUNK_BYTES >> 20} MiB",
        f"at most {layout.MAX_TABLE_BYTES >> 20} MiB",
        f"at most {layout.MAX_ATTR_BYTES >> 20} MiB",
        f"at most {layout.MAX_CHANNELS} channels",
        f"at most {layout.MAX_TRACKS} members each",
        f"at most {layout.MAX_OBJECTS} objects",
        f"are at most {layout.MAX_NAME_CHARS} characters",
        "within " + f"{MAX_TIME_S:.1e}".replace("e+0", "e") + " s",
        f"(0, {layout.MAX_RATE_HZ:.0f}] Hz",
        f"integer in {layout.PYRAMID_FACTOR_RANGE[0]}..{layout.PYRAMID_FACTOR_RANGE[1]}",
        ", ".join(list(layout.ALLOWED_FILTERS.values())[:-1])
        + f" and {list(layout.ALLOWED_FILTERS.values())[-1]}",
    ]
    for phrase in stated:
        assert phrase in section, phrase
