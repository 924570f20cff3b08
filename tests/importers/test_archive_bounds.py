"""Decompression bombs and huge inputs: ``harlab import`` refuses them by size before memory runs out.

Each bomb is built small (a few MB on disk) and imported by a ``harlab import`` subprocess whose
address space is capped (``RLIMIT_AS``), so reading the bomb whole would end in a MemoryError
or a signal; the bounded read of :mod:`harlab.importers.import_support` must refuse it first, with a
message naming the file (and member) and the limit, exit code 1, and nothing in the output folder.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from harlab.cli import main
from harlab.importers import import_support

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")

#: Address space of the import subprocess: room for numpy, pandas and pyarrow, not for a bomb.
MEMORY_CAP = int(2.5 * 2**30)
MiB = 2**20
HR_JSON = json.dumps(
    [
        {"dateTime": "01/25/23 13:00:07", "value": {"bpm": 54, "confidence": 2}},
        {"dateTime": "01/25/23 13:00:22", "value": {"bpm": 55, "confidence": 2}},
    ]
)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_import(
    tmp_path: Path, src: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``harlab import src -o tmp_path/out`` in a memory-capped subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "HARLAB_IMPORT_MAX_BYTES"}
    full_env |= {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harlab", "import", str(src), "-o", str(tmp_path / "out"), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=full_env,
        preexec_fn=_cap_memory,
        check=False,
    )


def assert_refused(
    tmp_path: Path, proc: subprocess.CompletedProcess[str], *needles: str, codes: tuple[int, ...] = (1,)
) -> str:
    """Exit code 1 with a clear reason, no traceback, no signal, nothing written."""
    text = proc.stdout + proc.stderr
    assert proc.returncode in codes, text  # a negative code is a signal
    assert "Traceback" not in text and "MemoryError" not in text, text
    for needle in needles:
        assert needle in text, text
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())
    return text


def gzip_of_zeros(path: Path, size: int, prefix: bytes = b"") -> Path:
    """A gzip file inflating to ``prefix`` and ``size`` zero bytes: one member of 1 MiB of zeros
    (compressed once, ~1 KB) repeated, as multi-member gzip allows; 2 GiB take ~2 MB on disk."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    member = comp.compress(bytes(MiB)) + comp.flush()
    with open(path, "wb") as f:
        f.write(_gzip(prefix))
        for _ in range(size // MiB):
            f.write(member)
    return path


def zip_with(path: Path, members: dict[str, bytes | int]) -> Path:
    """A zip of the given members; an int member is that many zero bytes, written in 1 MiB steps."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            if isinstance(content, int):
                with zf.open(name, "w", force_zip64=True) as w:
                    for _ in range(content // MiB):
                        w.write(bytes(MiB))
            else:
                zf.writestr(name, content)
    return path


def test_gzip_bomb_is_refused_by_ratio(tmp_path: Path) -> None:
    """2 GiB of zeros in a 2 MB WISDM .gz: refused at the 100:1 ratio, not inflated into memory."""
    bomb = gzip_of_zeros(
        tmp_path / "data_1600_accel_phone.txt.gz",
        2 * 2**30,
        prefix=b"1600,A,252207666810782,-0.36,8.59,2.45;\n",
    )
    assert bomb.stat().st_size < 4 * MiB
    text = assert_refused(tmp_path, run_import(tmp_path, bomb, "--format", "wisdm"), str(bomb), "100:1 ratio")
    assert "decompression bomb" in text


def test_gzip_bomb_without_format_only_sniffs_a_prefix(tmp_path: Path) -> None:
    """Detection reads a bounded prefix of each candidate: the bomb is never inflated whole."""
    bomb = gzip_of_zeros(tmp_path / "acc_exp01_user01.txt.gz", 2 * 2**30, prefix=b"0.1 0.2 0.3\n")
    assert_refused(tmp_path, run_import(tmp_path, bomb), bomb.name, codes=(1, 2))


def test_total_size_limit_is_configurable(tmp_path: Path) -> None:
    """Past HARLAB_IMPORT_MAX_BYTES (here 1 MB) decompressed bytes, refused: text that compresses only ~5:1."""
    lines = b"".join(
        b"1600,A,%d,-0.%04d,8.59,2.45;\n" % (252207666810782 + i * 50_000_000, i % 9973)
        for i in range(100_000)
    )
    src = tmp_path / "data_1600_accel_phone.txt.gz"
    src.write_bytes(_gzip(lines))
    proc = run_import(tmp_path, src, "--format", "wisdm", env={"HARLAB_IMPORT_MAX_BYTES": "1000000"})
    text = assert_refused(tmp_path, proc, str(src), "1,000,000 bytes", "HARLAB_IMPORT_MAX_BYTES")
    assert "ratio" not in text
    # the same file imports under the default limit
    ok = run_import(tmp_path, src, "--format", "wisdm")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def _gzip(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("big.csv", "csv"), ("data_1600_gyro_watch.txt", "wisdm"), ("acc_exp01_user01.txt", "uci_hapt")],
)
def test_huge_plain_file_is_refused_by_its_size(tmp_path: Path, name: str, fmt: str) -> None:
    """A sparse 5 GiB text file (past the 4 GiB default) costs a stat, not 5 GiB of memory."""
    src = tmp_path / name
    with open(src, "wb") as f:
        f.write(b"1,2,3\n")
        f.truncate(5 * 2**30)
    assert_refused(
        tmp_path,
        run_import(tmp_path, src, "--format", fmt),
        str(src),
        "5,368,709,120 bytes",
        "4,294,967,296 bytes",
    )


def test_zip_member_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    """A Fitbit export zip whose heart-rate member inflates 1000:1 (512 MiB from ~0.5 MB)."""
    z = zip_with(
        tmp_path / "takeout.zip",
        {
            "Takeout/Fitbit/Global Export Data/heart_rate-2023-01-25.json": HR_JSON.encode(),
            "Takeout/Fitbit/Global Export Data/heart_rate-2023-01-26.json": 512 * MiB,
        },
    )
    assert z.stat().st_size < 2 * MiB
    assert_refused(
        tmp_path,
        run_import(tmp_path, z, "--format", "fitbit_takeout"),
        f"{z}:Takeout/Fitbit/Global Export Data/heart_rate-2023-01-26.json",
        "100:1 ratio",
    )


def test_sensor_logger_zip_bomb(tmp_path: Path) -> None:
    z = zip_with(
        tmp_path / "recording.zip", {"Metadata.csv": b"version,device\n1,x\n", "Accelerometer.csv": 512 * MiB}
    )
    assert_refused(
        tmp_path,
        run_import(tmp_path, z, "--format", "sensor_logger"),
        f"{z}!Accelerometer.csv",
        "100:1 ratio",
    )


def test_zip_members_share_one_budget(tmp_path: Path) -> None:
    """Many members each under the limit are refused together: the limit is per input, not per member."""
    members: dict[str, bytes | int] = {
        f"Takeout/Fitbit/Global Export Data/heart_rate-2023-01-{d:02d}.json": HR_JSON.encode() + b" " * 40_000
        for d in range(1, 29)
    }
    z = zip_with(tmp_path / "takeout.zip", members)
    proc = run_import(tmp_path, z, "--format", "fitbit_takeout", env={"HARLAB_IMPORT_MAX_BYTES": "500000"})
    assert_refused(
        tmp_path, proc, f"{z}:Takeout/Fitbit/Global Export Data/heart_rate-2023-01-", "500,000 bytes"
    )


def test_zip_whose_header_understates_a_member(tmp_path: Path) -> None:
    """Declared 40 bytes, holds 64 MiB: read no further than declared, refused as corrupt."""
    name = "Takeout/Fitbit/Global Export Data/heart_rate-2023-01-26.json"
    z = zip_with(tmp_path / "takeout.zip", {name: bytes(64 * MiB)})
    data = bytearray(z.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    assert int.from_bytes(data[central + 24 : central + 28], "little") == 64 * MiB
    data[local + 22 : local + 26] = data[central + 24 : central + 28] = (40).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    with zipfile.ZipFile(z) as zf:
        assert zf.getinfo(name).file_size == 40
    assert_refused(tmp_path, run_import(tmp_path, z, "--format", "fitbit_takeout"), f"{z}:{name}", "CRC")


def test_zip_with_too_many_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The member count is read from the end record and refused before the listing is parsed."""
    monkeypatch.setattr(import_support, "MAX_ZIP_MEMBERS", 50)
    z = zip_with(
        tmp_path / "takeout.zip",
        {f"Takeout/Fitbit/Global Export Data/steps-2023-01-{i:04d}.json": b"[]" for i in range(51)},
    )
    assert main(["import", str(z), "-o", str(tmp_path / "out"), "--format", "fitbit_takeout", "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "zip lists 51 members, more than the 50" in text and str(z) in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("bad", ["../../heart_rate-2023-01-26.json", "/etc/heart_rate-2023-01-26.json"])
def test_zip_member_names_outside_the_archive(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    z = zip_with(
        tmp_path / "takeout.zip",
        {"Takeout/heart_rate-2023-01-25.json": HR_JSON.encode(), bad: HR_JSON.encode()},
    )
    assert main(["import", str(z), "-o", str(tmp_path / "out"), "--format", "fitbit_takeout", "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "absolute or climbs out of the archive" in text and bad in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_nested_zip_bomb_is_never_opened(tmp_path: Path) -> None:
    """A zip inside the export is no export file: it is not read, and the rest imports."""
    inner = zip_with(tmp_path / "inner.zip", {"heart_rate-2023-01-27.json": 512 * MiB})
    z = zip_with(
        tmp_path / "takeout.zip",
        {
            "Takeout/Fitbit/Global Export Data/heart_rate-2023-01-26.json": HR_JSON.encode(),
            "Takeout/nested.zip": inner.read_bytes(),
        },
    )
    proc = run_import(tmp_path, z, "--format", "fitbit_takeout", "--timezone", "UTC")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list((tmp_path / "out").glob("*.h5"))) == 1


def test_bad_limit_setting_is_named(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    src.write_text("a,b\n1,2\n")
    proc = run_import(tmp_path, src, "--format", "csv", env={"HARLAB_IMPORT_MAX_BYTES": "lots"})
    assert proc.returncode in (1, 2) and "HARLAB_IMPORT_MAX_BYTES='lots'" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
