"""``harlab import`` on the first hour of real use and on hostile input (issues 17 and 18).

Companion files named beside their main file are one session, -o may name one file,
overwriting is all or nothing per input, special files are refused at once, and an
error quotes only a bounded part of the offending input. CLI tests go through the
real entry point (:func:`harlab.cli.main`, or ``python -m harlab`` in a subprocess
where a limit or a hang must be contained).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harlab.cli import main
from harlab.importers import ImportOptions
from harlab.importers.run import expand_inputs, import_one
from harlab.storage import FileLock, read_session

REPO = Path(__file__).resolve().parents[2]


def harlab(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "harlab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kw,
    )


def hapt_folder(root: Path, rows: dict[int, int], seed: int = 0) -> Path:
    """A small HAPT RawData folder: one acc and gyro file per experiment, and labels.txt."""
    rng = np.random.default_rng(seed)
    raw = root / "RawData"
    raw.mkdir(parents=True)
    labels = []
    for exp, n in rows.items():
        for kind in ("acc", "gyro"):
            data = rng.normal(size=(n, 3))
            np.savetxt(raw / f"{kind}_exp{exp:02d}_user01.txt", data, fmt="%.17g", delimiter=" ")
        labels.append(f"{exp} 1 1 1 {n // 2}")
    (raw / "labels.txt").write_text("\n".join(labels) + "\n")
    return raw


def sha(path: Path) -> bytes:
    return path.read_bytes()


# -- companions ------------------------------------------------------------------------------


def test_hapt_pair_and_labels_named_are_one_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = hapt_folder(tmp_path / "in", {3: 300, 4: 300})
    names = ["acc_exp03_user01.txt", "gyro_exp03_user01.txt", "labels.txt"]
    out = tmp_path / "out"
    assert main(["import", *(str(raw / n) for n in names), "-o", str(out), "-q"]) == 0
    assert [p.name for p in out.glob("*.h5")] == ["acc_exp03_user01.h5"]
    s = read_session(out / "acc_exp03_user01.h5")
    assert set(s.streams) == {"accelerometer", "gyroscope"} and len(s.label_tracks["activity"]) == 1
    # order does not matter, and the same file spelled two ways counts once
    assert expand_inputs(
        [raw / "labels.txt", raw / "gyro_exp03_user01.txt", raw / "." / "acc_exp03_user01.txt"]
    ) == [raw / "acc_exp03_user01.txt"]


def test_companion_named_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = hapt_folder(tmp_path / "in", {3: 300, 4: 300})
    out = tmp_path / "out"
    # a gyro file alone is imported with its acc file
    assert main(["import", str(raw / "gyro_exp04_user01.txt"), "-o", str(out), "-q"]) == 0
    assert [p.name for p in out.glob("*.h5")] == ["acc_exp04_user01.h5"]
    capsys.readouterr()
    # labels.txt alone, with two recordings beside it: refused with the reason
    assert main(["import", str(raw / "labels.txt"), "-o", str(out), "-q"]) == 1
    text = capsys.readouterr().out
    assert "companion file of the uci_hapt format" in text
    assert (
        "acc_exp03_user01.txt, acc_exp04_user01.txt" in text and "import those files or their folder" in text
    )


@pytest.fixture
def wisdm_watch(shared_data: Path) -> Path:
    p = shared_data / "wisdm2019" / "wisdm-dataset" / "raw" / "watch"
    if not (p / "accel" / "data_1600_accel_watch.txt").is_file():
        pytest.skip("wisdm2019 raw/watch not present")
    return p


@pytest.mark.slow
def test_wisdm_real_pair_named_explicitly(
    wisdm_watch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc = wisdm_watch / "accel" / "data_1600_accel_watch.txt"
    gyro = wisdm_watch / "gyro" / "data_1600_gyro_watch.txt"
    out = tmp_path / "out"
    assert main(["import", str(acc), str(gyro), "-o", str(out), "-q"]) == 0
    assert [p.name for p in out.glob("*.h5")] == ["data_1600_accel_watch.h5"]
    assert "1 of 1 input imported, 1 session file written" in capsys.readouterr().out
    s = read_session(out / "data_1600_accel_watch.h5")
    assert set(s.streams) == {"accelerometer", "gyroscope"}


@pytest.fixture
def hapt_real(shared_data: Path) -> Path:
    p = shared_data / "uci-hapt" / "RawData"
    if not (p / "acc_exp01_user01.txt").is_file():
        pytest.skip("uci-hapt RawData not present")
    return p


def test_hapt_real_files_named_explicitly(
    hapt_real: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["acc_exp01_user01.txt", "gyro_exp01_user01.txt", "labels.txt"]
    out = tmp_path / "one.h5"
    assert main(["import", *(str(hapt_real / n) for n in names), "-o", str(out), "-q"]) == 0
    s = read_session(out)
    assert set(s.streams) == {"accelerometer", "gyroscope"}
    assert len(s.label_tracks["activity"]) > 10
    assert main(["import", str(hapt_real / "labels.txt"), "-o", str(tmp_path / "o"), "-q"]) == 1
    assert "read together with the 42 recordings beside it" in capsys.readouterr().out


# -- -o --------------------------------------------------------------------------------------


def test_output_names_one_file_or_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = hapt_folder(tmp_path / "in", {3: 300, 4: 300})
    one = tmp_path / "new" / "walk.h5"
    assert main(["import", str(raw / "acc_exp03_user01.txt"), "-o", str(one), "-q"]) == 0
    assert one.is_file() and read_session(one).streams
    capsys.readouterr()
    # several inputs into one file: refused before anything is read or written
    two = tmp_path / "two.h5"
    assert (
        main(
            [
                "import",
                str(raw / "acc_exp03_user01.txt"),
                str(raw / "acc_exp04_user01.txt"),
                "-o",
                str(two),
                "-q",
            ]
        )
        == 2
    )
    assert "names one session file but the paths hold 2 inputs" in capsys.readouterr().err
    assert not two.exists()
    # one input that yields several sessions into one file: refused, nothing written
    report = import_one(raw, tmp_path, ImportOptions(), out_file=two)
    assert not report.ok and "holds 2 sessions but -o names one file" in report.reason and not two.exists()
    # an existing file that is not a session is only replaced with --force
    notes = tmp_path / "notes.h5"
    notes.write_text("my notes")
    assert main(["import", str(raw / "acc_exp03_user01.txt"), "-o", str(notes), "--overwrite", "-q"]) == 2
    assert "is not a harlab session file; pass --force" in capsys.readouterr().err
    assert notes.read_text() == "my notes"
    # a file given where a folder is meant
    assert main(["import", str(raw), "-o", str(notes), "-q"]) == 2


@pytest.mark.parametrize("command", ["import", "export"])
def test_help_shows_output_as_required(command: str) -> None:
    r = harlab(command, "--help")
    usage = r.stdout.split("\n\n")[0]
    assert "-o OUT" in usage and "[-o OUT]" not in usage


def test_import_output_is_never_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = hapt_folder(tmp_path / "in", {3: 300})
    src = raw / "acc_exp03_user01.txt"
    before = src.read_bytes()
    link = tmp_path / "acc.h5"
    os.link(src, link)  # the same file under a session name
    assert main(["import", str(src), "-o", str(link), "--overwrite", "--force", "-q"]) == 2
    assert "also an input of this command" in capsys.readouterr().err
    assert src.read_bytes() == before


# -- overwrite is all or nothing per input -----------------------------------------------------


@pytest.fixture
def two_sessions(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """A HAPT folder read as one input (two sessions) and its two existing outputs."""
    raw = hapt_folder(tmp_path / "in", {1: 300, 2: 300})
    out = tmp_path / "out"
    out.mkdir()
    first = import_one(raw, out, ImportOptions())
    assert first.ok, first.reason
    raw2 = hapt_folder(tmp_path / "in2", {1: 400, 2: 60_000}, seed=1)  # new data, a big second file
    return raw2, out, first.outputs


def test_overwrite_with_a_locked_target_keeps_every_old_file(two_sessions) -> None:
    raw, out, targets = two_sessions
    old = [sha(t) for t in targets]
    with FileLock(targets[1]):  # open in the workbench
        report = import_one(raw, out, ImportOptions(), overwrite=True)
    assert not report.ok and "open for writing by another harlab process" in report.reason
    assert [sha(t) for t in targets] == old
    assert sorted(p.name for p in out.iterdir()) == sorted(t.name for t in targets)  # no temp left


def test_overwrite_with_a_folder_target_keeps_every_old_file(two_sessions) -> None:
    raw, out, targets = two_sessions
    old = sha(targets[0])
    targets[1].unlink()
    targets[1].mkdir()
    report = import_one(raw, out, ImportOptions(), overwrite=True)
    assert not report.ok and "is a folder" in report.reason
    assert sha(targets[0]) == old and targets[1].is_dir()


def test_overwrite_on_a_full_disk_keeps_every_old_file(two_sessions) -> None:
    """The file size limit makes the second session's write fail as a full disk would."""
    raw, out, targets = two_sessions
    old = [sha(t) for t in targets]
    # a folder given to ``harlab import`` is split per experiment, so read it as one input here
    code = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from harlab.importers.run import ImportOptions, import_one\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))\n"
        f"r = import_one(Path({str(raw)!r}), Path({str(out)!r}), ImportOptions(), overwrite=True)\n"
        "print(r.reason)\n"
        "sys.exit(0 if r.ok else 1)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "could not save" in r.stdout and len(r.stdout) < 400, r.stdout
    assert [sha(t) for t in targets] == old
    assert sorted(p.name for p in out.iterdir()) == sorted(t.name for t in targets)


def test_a_failed_input_leaves_earlier_inputs_new_and_its_own_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three inputs re-imported with --overwrite while the second's session is open in the
    workbench: the first is replaced, the second keeps its old file, the third is imported."""

    def csv(name: str, offset: float) -> Path:
        p = tmp_path / "in" / name
        p.parent.mkdir(exist_ok=True)
        rows = "".join(f"{i / 10},{i + offset}\n" for i in range(50))
        p.write_text("time_s,accelerometer.x [m/s^2]\n" + rows)
        return p

    out = tmp_path / "out"
    inputs = [csv(n, 0) for n in ("a.csv", "b.csv", "c.csv")]
    assert main(["import", *map(str, inputs), "--format", "csv", "-o", str(out), "-q"]) == 0
    targets = [out / f"{p.stem}.h5" for p in inputs]
    old = [sha(t) for t in targets]
    inputs = [csv(n, 1) for n in ("a.csv", "b.csv", "c.csv")]
    with FileLock(targets[1]):
        rc = main(["import", *map(str, inputs), "--format", "csv", "-o", str(out), "--overwrite", "-q"])
    assert rc == 1 and "open for writing by another harlab process" in capsys.readouterr().out
    new = [sha(t) for t in targets]
    assert new[0] != old[0] and new[1] == old[1] and new[2] != old[2]
    assert read_session(targets[0]).streams  # the new file is whole
    assert sorted(p.name for p in out.iterdir()) == ["a.h5", "b.h5", "c.h5"]  # no temp left


# -- special files and bounded messages ------------------------------------------------------


def test_special_files_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for args in (
        ["info", str(fifo)],
        ["validate", str(fifo)],
        ["info", "/dev/zero"],
        ["validate", "/dev/zero"],
    ):
        r = harlab(*args, timeout=30)
        assert r.returncode == 2 and "not a regular file" in r.stderr, (args, r.stderr)
    for path in (fifo, Path("/dev/zero")):
        r = harlab("import", str(path), "-o", str(tmp_path / "o"), "-q", timeout=30)
        assert r.returncode == 1 and "not a regular file" in r.stdout, r.stdout
    for args in (["info", "."], ["validate", "/"]):
        r = harlab(*args, cwd=tmp_path, timeout=30)
        assert r.returncode == 2 and "is a folder" in r.stderr and "empty name" not in r.stderr


def test_an_error_quotes_a_bounded_part_of_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.csv"
    big.write_text("time,x,y,z\n0,1,2,3\n0.02," + "9" * 5_000_000 + "x,2,3\n")
    assert main(["import", str(big), "-o", str(tmp_path / "o"), "-q"]) == 1
    text = capsys.readouterr().out
    assert "line 3" in text and "more characters" in text
    assert len(text) < 2000


def test_a_table_of_200000_columns_is_refused_before_parsing(tmp_path: Path) -> None:
    """pandas needed minutes for the 2 MB header; the width is checked on the first line."""
    from harlab.core.errors import ImportFormatError
    from harlab.importers import get_importer
    from harlab.importers.import_support import MAX_COLUMNS

    wide = ",".join(f"c{i}" for i in range(200_000))
    csv = tmp_path / "wide.csv"
    csv.write_text(f"time_s,{wide}\n0," + ",".join("1" * 200_000) + "\n")
    logger = tmp_path / "2023-10-28_13-52-24"
    logger.mkdir()
    (logger / "Accelerometer.csv").write_text(
        f"time,seconds_elapsed,z,y,x,{wide}\n1698501144401773000,0.2,1,2,3\n"
    )
    for fmt, path in (("csv", csv), ("sensor_logger", logger)):
        with pytest.raises(ImportFormatError, match=f"20000[15] columns .*at most {MAX_COLUMNS}") as err:
            get_importer(fmt).read(path, ImportOptions())
        assert err.value.line == 1 and len(str(err.value)) < 500


def test_json_nested_200000_deep_is_a_clear_error(tmp_path: Path) -> None:
    """The Web API and Takeout JSON readers raised RecursionError with a traceback."""
    from harlab.core.errors import ImportFormatError
    from harlab.importers import get_importer

    p = tmp_path / "heart_intraday_2024-03-01.json"
    p.write_text('{"activities-heart-intraday": {"dataset": ' + "[" * 200_000 + "]" * 200_000 + "}}")
    with pytest.raises(ImportFormatError, match="nested too deeply"):
        get_importer("fitbit_webapi_hr").read(p, ImportOptions())


# -- the report ----------------------------------------------------------------------------------


def test_a_warning_shared_by_inputs_is_said_once(
    fitbit_seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bins = [fitbit_seed / "watch-bin" / n for n in ("Walking_20200421155113.bin", "Squad_20200421180451.bin")]
    assert main(["import", *map(str, bins), "-o", str(tmp_path / "o"), "-q"]) == 0
    text = capsys.readouterr().out
    assert text.count("no timezone given") == 1
    assert (
        "warning (2 inputs: Walking_20200421155113.bin, Squad_20200421180451.bin): no timezone given" in text
    )


def test_info_takes_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = hapt_folder(tmp_path / "in", {3: 300, 4: 300})
    out = tmp_path / "out"
    assert main(["import", str(raw), "-o", str(out), "-q"]) == 0
    files = sorted(out.glob("*.h5"))
    capsys.readouterr()
    assert main(["info", *map(str, files)]) == 0
    text = capsys.readouterr().out
    assert text.count("file:") == 2
    assert main(["info", "--json", *map(str, files), str(tmp_path / "missing.h5")]) == 1
    cap = capsys.readouterr()
    import json

    assert [d["file"] for d in json.loads(cap.out)] == [str(f) for f in files]
    assert "missing.h5: no such file" in cap.err


def test_the_folder_import_needs_no_copy(tmp_path: Path) -> None:
    """Sanity: the synthetic HAPT folder imports as the real one does (one session per experiment)."""
    raw = hapt_folder(tmp_path / "in", {3: 300, 4: 300})
    shutil.copy(raw / "labels.txt", tmp_path / "labels.txt")  # a lone labels.txt without recordings
    assert expand_inputs([raw]) == [raw / "acc_exp03_user01.txt", raw / "acc_exp04_user01.txt"]
    assert expand_inputs([tmp_path / "labels.txt"]) == [
        tmp_path / "labels.txt"
    ]  # not HAPT's: not a companion


def test_an_import_never_replaces_its_own_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV that happens to be called ``rec.h5``, imported into its own folder with --overwrite."""
    src = tmp_path / "rec.h5"
    src.write_text("time_s,accelerometer.x [m/s^2]\n" + "".join(f"{i / 10},{i}\n" for i in range(50)))
    before = src.read_bytes()
    assert main(["import", str(src), "--format", "csv", "-o", str(tmp_path), "--overwrite", "-q"]) == 1
    assert "is also an input of this import" in capsys.readouterr().out
    assert src.read_bytes() == before


def test_export_refuses_special_files_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "s.h5"
    os.mkfifo(fifo)
    r = harlab("export", str(fifo), "--to", "segments", "-o", str(tmp_path / "s.csv"), timeout=30)
    assert r.returncode == 2 and "not a regular file" in r.stderr


def test_ml_commands_name_a_special_file_or_folder_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """train, evaluate and predict said 'no such session file' of a FIFO, /dev/zero or '.'."""
    from harlab.simulate import demo_model_path

    fifo = tmp_path / "s.h5"
    os.mkfifo(fifo)
    model = str(demo_model_path())
    for path, words in ((str(fifo), "is a FIFO"), ("/dev/zero", "is a device")):
        for argv in (
            ["train", path, "-o", str(tmp_path / "m.harmodel")],
            ["evaluate", model, path],
            ["predict", model, path],
        ):
            assert main(argv) == 2
            assert words in capsys.readouterr().err, argv
    assert main(["predict", model, str(tmp_path)]) == 2
    assert "is a folder, not a session file" in capsys.readouterr().err
    assert not (tmp_path / "m.harmodel").exists()
