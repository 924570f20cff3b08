"""GENEActiv .bin: scikit-digital-health's reference output, the header's zone, corrupt pages refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.plausibility import G
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.run import import_one
from harlab.storage import read_session, validate_file


@pytest.fixture
def geneactiv(shared_data: Path) -> Path:
    p = shared_data / "geneactiv"
    if not (p / "gnactv_sample.bin").is_file():
        pytest.skip("../shared/data/geneactiv not present")
    return p


def read(path: Path, **kw: object):
    (session,) = get_importer("geneactiv_bin").read(path, ImportOptions(**kw))  # type: ignore[arg-type]
    return session


def test_matches_the_reference_output(geneactiv: Path, tmp_path: Path) -> None:
    path = geneactiv / "gnactv_sample.bin"
    assert detect(path).name == "geneactiv_bin"
    report = import_one(path, tmp_path, ImportOptions())
    assert report.ok, report.reason
    assert validate_file(report.outputs[0]) == []
    session = read_session(report.outputs[0])
    ref = np.load(geneactiv / "gnactv_data.npz")
    t, v = session.streams["accelerometer"].data.read()
    assert len(t) == len(ref["time"]) == 900
    assert np.abs(v / G - ref["accel"]).max() < 5e-5 + 1e-6  # the reference is rounded to 1e-4 g
    assert np.abs(t - (ref["time"] - ref["time"][0])).max() < 1e-6
    # page time 16:16:43.500 in the header's "GMT -04:00"
    assert session.metadata.start_utc == datetime(2019, 5, 21, 20, 16, 43, 500000, tzinfo=UTC)
    tt, temp = session.streams["temperature"].data.read()
    page_of_sample = np.searchsorted(tt, t, side="right") - 1
    assert np.allclose(temp[page_of_sample, 0], ref["temperature"])
    assert session.metadata.device.address == "051386"


@pytest.mark.parametrize(
    ("edit", "match", "page", "offset"),
    [
        (lambda lines, i: lines.__setitem__(i + 9, lines[i + 9][:-7]), "3593 characters", 1, 9),
        (lambda lines, i: lines.__setitem__(i + 9, "G" + lines[i + 9][1:]), "not hex", 1, 9),
        (lambda lines, i: lines.__setitem__(i + 3, "Page Time:2019-13-45 99:00:00:000"), "page time", 1, 3),
        (
            lambda lines, i: lines.__setitem__(i + 3, "Page Time:2019-05-21 16:16:40:000"),
            "does not increase",
            1,
            3,
        ),
    ],
)
def test_corrupt_pages_name_the_line(
    geneactiv: Path,
    tmp_path: Path,
    edit: Callable[[list[str], int], None],
    match: str,
    page: int,
    offset: int,
) -> None:
    text = (geneactiv / "gnactv_sample.bin").read_bytes().decode("latin-1")
    lines = text.split("\n")
    first = lines.index("Recorded Data")
    edit(lines, first + page * 10)
    p = tmp_path / "bad.bin"
    p.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(ImportFormatError, match=match) as err:
        read(p)
    assert err.value.line == first + 1 + page * 10 + offset
    out = tmp_path / "out"
    out.mkdir()
    assert not import_one(p, out, ImportOptions()).ok and list(out.iterdir()) == []


def test_truncated_file_is_refused(geneactiv: Path, tmp_path: Path) -> None:
    data = (geneactiv / "gnactv_sample.bin").read_bytes()
    p = tmp_path / "cut.bin"
    p.write_bytes(data[: len(data) - 5000])
    with pytest.raises(ImportFormatError, match="characters|lines"):
        read(p)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_file_gives_a_session_or_a_clear_error(geneactiv: Path, tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    """Byte flips, cuts and insertions anywhere: a session or an ImportFormatError naming the file."""
    raw = bytearray((geneactiv / "gnactv_sample.bin").read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "digit"]))
    if kind == "flip":
        raw[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del raw[pos : pos + data.draw(st.integers(1, 300))]
    elif kind == "insert":
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=12))
    else:
        raw[pos] = ord(data.draw(st.sampled_from("0123456789ABCDEF:-\n")))
    work = tmp_path_factory.mktemp("fuzz")
    p = work / "m.bin"
    p.write_bytes(bytes(raw))
    try:
        read(p)
        failed = False
    except ImportFormatError as exc:
        failed = True
        assert str(p) in str(exc)
    out = work / "out"
    out.mkdir()
    report = import_one(p, out, ImportOptions(), fmt="geneactiv_bin")
    assert report.ok != failed
    if failed:
        assert list(out.iterdir()) == []
