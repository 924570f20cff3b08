"""Where commands may write, with which mode, and what ``-q`` means (issues 17 and 18)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harlab import storage
from harlab.cli import build_parser, main
from harlab.cli.shared_options import QUIET_HELP, leaf_parsers
from harlab.core.files import mkstemp
from harlab.core.labels import Segment
from tests.exporters.export_sessions import ten_second_session

REPO = Path(__file__).resolve().parents[2]


def harlab(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "harlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=lambda: os.umask(umask),
    )


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_exports_follow_the_umask(tmp_path: Path, saved_session: Path, umask: int) -> None:
    for fmt, out in (("segments", "seg.csv"), ("csv", "csv"), ("eaf", "rec.eaf")):
        r = harlab("export", str(saved_session), "--to", fmt, "-o", str(tmp_path / out), umask=umask)
        assert r.returncode == 0, r.stderr
        target = tmp_path / out
        files = [target] if target.is_file() else list(target.iterdir())
        assert files and all(mode(f) == 0o666 & ~umask for f in files), [oct(mode(f)) for f in files]


@pytest.mark.slow
def test_every_file_a_command_writes_follows_the_umask(tmp_path: Path) -> None:
    """Sessions (import), models and their run records (train), reports and images (evaluate,
    explore), CSV coordinates and ONNX files: 0666 less the umask, like any program's files (the
    temporary-file machinery made exports and models 0600)."""
    umask = 0o002
    rows = [
        f"7,{code},{1_000_000_000 + (k * 600 + i) * 50_000_000},{0.3 * k + 0.1 * (i % 7)},{0.2 * (i % 3)},9.81;\n"
        for k, code in enumerate("AD")
        for i in range(600)
    ]
    src = tmp_path / "data_7_accel_watch.txt"
    src.write_text("".join(rows))
    sessions = tmp_path / "sessions"

    def run(*args: str) -> None:
        r = harlab(*args, "-q", umask=umask)
        assert r.returncode == 0, (args, r.stderr)

    run("import", str(src), "-o", str(sessions))
    (session,) = sessions.glob("*.h5")
    model = tmp_path / "m.harmodel"
    tiny = ("--preset", "cnn1d", "--epochs", "1", "--depth", "1", "--width", "8", "--no-refit")
    run("train", str(session), "-o", str(model), *tiny, "--no-track")
    run(
        "evaluate",
        str(model),
        str(session),
        "--report",
        str(tmp_path / "r.json"),
        "--confusion",
        str(tmp_path / "c.png"),
        "--no-track",
    )
    run("explore", str(session), "-o", str(tmp_path / "e.png"), "--coords", str(tmp_path / "e.csv"))
    run("models", "export-onnx", str(model), "-o", str(tmp_path / "m.onnx"))
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != src)
    names = {p.name for p in written}
    assert {session.name, "m.harmodel", "m.harmodel.run.json", "r.json", "r.run.json", "c.png"} <= names
    assert {"e.png", "e.csv"} <= names and any(n.endswith(".onnx") for n in names), names
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(0o666 & ~umask) for p in written}


def test_atomic_temp_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fd, name = mkstemp(prefix=".x.", suffix=".tmp", dir=tmp_path)
        os.close(fd)
    finally:
        os.umask(old)
    assert mode(Path(name)) == 0o640


def test_quiet_means_the_same_in_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    seen = 0
    for name, p in sub.choices.items():
        for leaf in leaf_parsers(p):
            opt = next((a for a in leaf._actions if "--quiet" in a.option_strings), None)
            assert opt is not None, f"{leaf.prog} has no --quiet"
            assert opt.option_strings == ["-q", "--quiet"], leaf.prog
            assert opt.help.startswith(QUIET_HELP), (name, opt.help)
            seen += 1
    assert seen >= 14


def test_every_required_option_shows_as_required_in_usage_and_help() -> None:
    """``-o`` of import read as optional in the usage line while the command refused to run
    without it; no command's usage may bracket an option it requires, and its help says so."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    required = 0
    for p in sub.choices.values():
        for leaf in leaf_parsers(p):
            usage = leaf.format_usage()
            for a in leaf._actions:
                if a.option_strings and a.required:
                    required += 1
                    short = min(a.option_strings, key=len)
                    assert f"[{short}" not in usage, (leaf.prog, usage)
                    assert short in usage, (leaf.prog, usage)
    assert required >= 6


def test_quiet_stderr_passes_warnings_whole_and_drops_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from harlab.cli.shared_options import quiet_stderr

    with quiet_stderr(True):
        sys.stderr.write("reading a.h5 (1/2)\n  lightgbm round 25/800\r")
        sys.stderr.write("warn")  # a warning may arrive in pieces
        sys.stderr.write("ing: no validation windows of running\nharlab: warning: model has no")
        sys.stderr.write(" context\nWarning: Capitalised\nwrote m.harmodel\nwarning: last, no newline")
    assert capsys.readouterr().err.splitlines() == [
        "warning: no validation windows of running",
        "harlab: warning: model has no context",
        "Warning: Capitalised",
        "warning: last, no newline",
    ]


def test_quiet_silences_notes_but_not_results(tmp_path: Path, saved_session: Path) -> None:
    r = harlab("info", str(saved_session), "-q")
    assert r.returncode == 0 and "file:" in r.stdout and r.stderr == ""
    r = harlab("export", str(saved_session), "--to", "segments", "-o", str(tmp_path / "s.csv"), "-q")
    assert r.returncode == 0 and "wrote 1 file" in r.stdout  # the result is still said
    r = harlab("train", str(saved_session), "-o", str(saved_session), "-q")
    assert r.returncode == 2 and "also an input" in r.stderr  # errors are never silenced


def test_segment_durations_without_float_noise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = ten_second_session()
    s.add_segments("steps", [Segment(1.1, 4.3, "walk"), Segment(0.1, 0.3, "sit")])
    path = tmp_path / "noise.h5"
    storage.save_session(s, path)
    assert (
        main(["export", str(path), "--to", "segments", "--track", "steps", "-o", str(tmp_path / "s.csv")])
        == 0
    )
    text = (tmp_path / "s.csv").read_text()
    df = pd.read_csv(tmp_path / "s.csv", dtype=str)
    assert sorted(df["duration_s"]) == ["0.2", "3.2"], text
    assert "3.1999999" not in text


def test_durations_of_noisy_times_are_rounded_to_the_nanosecond() -> None:
    """Times computed from sample indices carry float noise of their own (0.1 + 0.2); their
    difference is still written as the length a person measured."""
    from harlab.exporters.exporter import fmt_difference

    assert fmt_difference(0.1 + 0.2, 1.1 + 3.2) == "4.0"
    assert fmt_difference(5.1, 5.1 + 3.2) == "3.2"
    assert fmt_difference(17 * 0.02, 1017 * 0.02) == "20.0"
    assert fmt_difference(1.1, 4.3) == "3.2"  # clean times: exact decimal difference
    assert fmt_difference(0.0, 1.000000005) == "1.000000005"  # a nanosecond length stays
    assert fmt_difference(1e-05, 3e-05) == "2e-05"


def test_no_command_writes_over_its_input(
    tmp_path: Path, saved_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = saved_session.read_bytes()
    cases = [
        ["train", str(saved_session), "-o", str(saved_session)],
        ["train", str(saved_session), "-o", str(saved_session), "--force"],
        [
            "export",
            str(saved_session),
            "--to",
            "windows",
            "--track",
            "activity",
            "-o",
            str(saved_session),
            "--force",
        ],
        ["explore", str(saved_session), "-o", str(saved_session), "--force"],
        ["evaluate", "--cv", "2", str(saved_session), "--report", str(saved_session), "--force"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        assert "also an input of this command" in capsys.readouterr().err, argv
        assert saved_session.read_bytes() == before, argv
    # a symlink to the input is the input
    link = tmp_path / "link.h5"
    link.symlink_to(saved_session)
    assert (
        main(
            [
                "export",
                str(saved_session),
                "--to",
                "windows",
                "--track",
                "activity",
                "-o",
                str(link),
                "--force",
                "-q",
            ]
        )
        == 2
    )
    assert saved_session.read_bytes() == before


def test_writing_over_a_file_of_another_kind_needs_force(
    tmp_path: Path, saved_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.h5"
    storage.save_session(ten_second_session("sess-b"), other)
    before = other.read_bytes()
    assert main(["train", str(saved_session), "-o", str(other)]) == 2
    assert "is not a model file; pass --force" in capsys.readouterr().err
    assert main(["models", "export-onnx", str(saved_session), "-o", str(other)]) == 2
    assert "is not an ONNX file; pass --force" in capsys.readouterr().err
    assert other.read_bytes() == before
    folder = tmp_path / "d"
    folder.mkdir()
    assert main(["train", str(saved_session), "-o", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
