"""The accel-fetcher importers: the reference's 28-byte example, its CSV rows, the clock quirks, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harlab.core.errors import ImportFormatError
from harlab.core.streams import FLAG_GAP_BEFORE, FLAG_SUSPECT
from harlab.importers import ImportOptions, detect, get_importer
from harlab.importers.importer import import_warnings

# §5a: header 885987, then (0, 8, -47, 4865), (30, -2, -51, 4862), (30, 10, -59, 4860)
EXAMPLE = bytes.fromhex("e3840d00 00000800d1ff0113 1e00feffcdfffe12 1e000a00c5fffc12")
ROWS = ["885987,0.016,-0.094,9.73", "886017,-0.004,-0.102,9.724", "886047,0.02,-0.118,9.72"]


def test_binary_example(tmp_path: Path) -> None:
    p = tmp_path / "1"
    p.write_bytes(EXAMPLE)
    assert detect(p).name == "fitbit_fetcher_bin"
    (s,) = get_importer("fitbit_fetcher_bin").read(p, ImportOptions())
    t, v = s.streams["accelerometer"].read()
    assert t.tolist() == pytest.approx([0.0, 0.03, 0.06])
    np.testing.assert_allclose(
        v, [[0.016, -0.094, 9.73], [-0.004, -0.102, 9.724], [0.02, -0.118, 9.72]], atol=1e-6
    )
    assert s.streams["accelerometer"].rate_hz == pytest.approx(1000 / 30)
    assert s.metadata.start_utc is None
    assert s.metadata.extra["clock_origin_ms"] == "885987"


def test_csv_rows_match_the_binary(tmp_path: Path) -> None:
    p = tmp_path / "17.csv"
    p.write_bytes(("\r\n".join(ROWS) + "\r\n").encode())
    assert detect(p).name == "fitbit_fetcher_csv"
    (s,) = get_importer("fitbit_fetcher_csv").read(p, ImportOptions())
    b = tmp_path / "1"
    b.write_bytes(EXAMPLE)
    (sb,) = get_importer("fitbit_fetcher_bin").read(b, ImportOptions())
    np.testing.assert_allclose(
        s.streams["accelerometer"].read()[1], sb.streams["accelerometer"].read()[1], atol=1e-6
    )


def test_wrap_artefact_gap_and_backward_step(tmp_path: Path) -> None:
    # 30 ms samples; a 101 ms gap; then +32768 + 30 ms (the old 15-bit artefact); then a 10 ms step back
    stamps = [1000, 1030, 1060, 1161, 1191 + 32768, 1221 + 32768, 1211 + 32768, 1251 + 32768]
    p = tmp_path / "17.csv"
    p.write_text("\n".join(f"{t},0.0,0.0,9.8" for t in stamps) + "\n")
    (s,) = get_importer("fitbit_fetcher_csv").read(p, ImportOptions())
    acc = s.streams["accelerometer"]
    t, _ = acc.read()
    assert (t * 1000).round().tolist() == [0, 30, 60, 161, 191, 221, 221, 251]
    flags = acc.data.read_flags()
    assert flags[3] & FLAG_GAP_BEFORE and flags[6] & FLAG_SUSPECT
    warnings = " ".join(import_warnings(s))
    assert "32768" in warnings and "backwards" in warnings and "gaps" in warnings


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("885987,0.016,-0.094\n", 1, "3 fields"),
        (ROWS[0] + "\n886017,x,-0.1,9.7\n", 2, "'x' is not a number"),
        (ROWS[0] + "\n886017,nan,-0.1,9.7\n", 2, "is 'nan'"),
        (ROWS[0] + "\n886017,0.1,-inf,9.7\n", 2, "is '-inf'"),
        ("timestamp,x,y,z\n" + ROWS[0] + "\n", 1, "not an integer"),
        ("", 1, "no samples"),
    ],
    ids=["truncated", "non-numeric", "nan", "inf", "header", "empty"],
)
def test_bad_csv(tmp_path: Path, body: str, line: int, needle: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(ImportFormatError) as err:
        get_importer("fitbit_fetcher_csv").read(p, ImportOptions())
    assert err.value.line == line and needle in str(err.value) and str(p) in str(err.value)


@pytest.mark.parametrize(
    ("data", "offset", "needle"),
    [
        (EXAMPLE[:-3], 20, "ends inside a record"),
        (EXAMPLE[:2], 0, "2 bytes long"),
        (EXAMPLE[:4], 4, "no records"),
        (EXAMPLE[:4] + b"\x05\x00" + EXAMPLE[6:], 4, "first record"),
        (EXAMPLE[:20] + b"\xff\xff" + EXAMPLE[22:], 20, "negative"),
    ],
    ids=["truncated", "short", "header-only", "first-dt", "negative-dt"],
)
def test_bad_binary(tmp_path: Path, data: bytes, offset: int, needle: str) -> None:
    p = tmp_path / "2"
    p.write_bytes(data)
    with pytest.raises(ImportFormatError) as err:
        get_importer("fitbit_fetcher_bin").read(p, ImportOptions())
    assert err.value.offset == offset and needle in str(err.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    for name, imp in (("3", "fitbit_fetcher_bin"), ("r.csv", "fitbit_fetcher_csv")):
        p = tmp_path / name
        p.write_bytes(data)
        try:
            (s,) = get_importer(imp).read(p, ImportOptions())
        except ImportFormatError as exc:
            assert str(p) in str(exc)
            continue
        t, v = s.streams["accelerometer"].read()
        assert np.all(np.diff(t) >= 0) and np.isfinite(v).all()
