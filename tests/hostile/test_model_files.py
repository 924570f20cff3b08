"""Hostile model files: every lie in the corpus is a clear error naming the file, from loading and
from every command that reads a model; never a crash, signal, traceback, hang or huge allocation.

Before these checks, the demo model with ``num_class=12`` edited to 3 killed ``harlab predict``
with "free(): invalid next size" (rc 134), a truncated booster read past its text, and an array
entry declaring 7 TiB was allocated before it was read.
"""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harlab.cli import main
from harlab.core.metadata import sha256_of
from harlab.ml.modelfile import ActivityModel, ModelFileError
from harlab.simulate.batch_session import demo_model_path, make_demo_session
from harlab.storage import save_session

from .model_corpus import read, write

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
MEMORY_BYTES = 3 << 30  #: address space of a child (harlab with torch and LightGBM needs under 2 GiB)


@pytest.fixture(scope="module")
def session_file(tmp_path_factory):
    """A labelled demo session at 50 Hz (the models' rate), 30 s."""
    return save_session(
        make_demo_session(0.5, seed=1, rate_hz=50.0), tmp_path_factory.mktemp("session") / "s.h5"
    )


def test_every_corpus_file_is_refused_with_its_problem(model_corpus):
    wrong = []
    for case in model_corpus:
        try:
            ActivityModel.load(case.path)
            wrong.append(f"{case.name}: loaded")
        except ModelFileError as exc:
            msg = str(exc)
            if not msg.startswith(f"{case.path}: ") or not re.search(case.expect, msg):
                wrong.append(f"{case.name}: {msg[:300]}  (expected /{case.expect}/)")
    assert not wrong, "\n".join(wrong)
    assert len(model_corpus) > 100


def test_sound_models_load_and_predict_as_before(tiny_model, tmp_path):
    demo = ActivityModel.load(demo_model_path())
    tiny = ActivityModel.load(tiny_model)
    X = np.random.default_rng(0).normal(0, 1, (20, tiny.info.n_time, 6)).astype(np.float32)
    X[:, :, 2] += 9.81
    for model in (demo, tiny):
        p = model.predict_proba(X)
        assert p.shape == (20, len(model.classes)) and np.allclose(p.sum(1), 1, atol=1e-4)
    # an array stored big-endian or in Fortran order is the same array
    arrays = read(tiny_model)
    arrays = {
        k: (v.astype(v.dtype.newbyteorder(">")) if v.dtype.kind == "f" else v) for k, v in arrays.items()
    }
    arrays = {k: (np.asfortranarray(v) if v.ndim > 1 else v) for k, v in arrays.items()}
    again = ActivityModel.load(write(tmp_path / "swapped.harmodel", arrays))
    np.testing.assert_array_equal(again.predict_proba(X), tiny.predict_proba(X))


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port already in use, so a ``harlab serve`` whose model wrongly loaded fails to listen
    (exit 2 without the model file named) instead of serving for ever."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


@pytest.mark.parametrize("command", ["predict", "evaluate", "register", "export-onnx", "serve"])
def test_commands_refuse_every_corpus_file(model_corpus, session_file, tmp_path, capsys, taken_port, command):
    """In process (fast), every file through the command's own code: exit 2, the file named."""
    wrong = []
    for case in model_corpus:
        argv = {
            "predict": ["predict", str(case.path), str(session_file)],
            "evaluate": ["evaluate", str(case.path), str(session_file)],
            "register": ["models", "register", str(case.path), "--name", "hostile"],
            "export-onnx": ["models", "export-onnx", str(case.path), "-o", str(tmp_path / "x.onnx")],
            "serve": ["serve", "-m", str(case.path), "--port", str(taken_port), "-q"],
        }[command]
        rc = main(argv)
        err = capsys.readouterr().err
        if rc != 2 or str(case.path) not in err:
            wrong.append(f"{case.name}: rc {rc}: {err[-300:]}")
    assert not wrong, "\n".join(wrong)


#: one file per kind of check, for the commands run as real processes
SUBPROCESS_CASES = [
    "demo-num_class_edited",
    "demo-max_feature_idx_edited",
    "demo-split_feature_out_of_range",
    "demo-tree_child_cycle",
    "demo-booster_truncated_half",
    "truncated_file_half",
    "huge_declared_shape",
    "declared_uncompressed_size",
    "demo-deep_nesting_100k",
    "demo-rate_nan",
    "demo-orientation_wrong_length",
    "tiny-tensor_shape_mismatch",
    "tiny-arch_width_edited",
    "fifo",
]


def _limits() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _harlab(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HARLAB_TRACKING": "off",
        "HARLAB_DATA_DIR": str(tmp / "data"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "harlab", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_S,
        preexec_fn=_limits,
        cwd=tmp,
    )


@pytest.mark.slow
def test_commands_as_processes_exit_cleanly_within_bounds(model_corpus, session_file, tiny_model, tmp_path):
    """Real processes under a memory limit and a timeout: exit 1 or 2 naming the file (``demo --model``:
    a warning naming it), never a signal or a traceback; the sound tiny model goes through the same
    command line (exit 0)."""
    by_name = {c.name: c for c in model_corpus}
    runs = [(name, ["predict", str(by_name[name].path), str(session_file)]) for name in SUBPROCESS_CASES]
    for name in SUBPROCESS_CASES[::5]:
        path = str(by_name[name].path)
        runs += [
            (name, ["evaluate", path, str(session_file)]),
            (name, ["models", "register", path, "--name", "hostile"]),
            (
                name,
                [
                    "demo",
                    "--model",
                    path,
                    "-o",
                    str(tmp_path / "demo.h5"),
                    "--duration",
                    "0.2",
                    "--no-open",
                    "--force",
                ],
            ),
        ]
    wrong = []
    for name, args in runs:
        r = _harlab(args, tmp_path)
        path = str(by_name[name].path)
        # 'harlab demo --model' still writes its session without predictions and warns (exit 0)
        codes = (0,) if args[0] == "demo" else (1, 2)
        if r.returncode not in codes or path not in r.stderr or "Traceback" in r.stderr:
            wrong.append(f"{args[0]} {name}: rc {r.returncode}: {r.stderr[-400:]}")
    assert not wrong, "\n".join(wrong)
    ok = _harlab(["predict", str(tiny_model), str(session_file)], tmp_path)
    assert ok.returncode == 0, ok.stderr[-500:]


def test_registering_validates_the_file_it_logs(tiny_model, tmp_path, monkeypatch):
    """``models register`` (and every pyfunc log) loads the exact bytes it logs with the loader's own
    checks: a sound file is registered with its sha256, a file swapped for a bad one after the
    caller loaded it is refused naming the file, and nothing is registered."""
    pytest.importorskip("mlflow", reason="MLflow not installed (pip install 'harlab[mlops]')")
    from mlflow import MlflowClient

    from harlab.mlops.registry import log_pyfunc

    monkeypatch.delenv("HARLAB_TRACKING", raising=False)
    monkeypatch.setenv("HARLAB_DATA_DIR", str(tmp_path / "data"))
    store = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    model_file = tmp_path / "tiny.harmodel"
    model_file.write_bytes(tiny_model.read_bytes())
    assert main(["models", "--tracking-uri", store, "register", str(model_file), "--name", "tiny"]) == 0
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    (version,) = client.search_model_versions("name='tiny'")
    assert version.tags["harlab.model_sha256"] == sha256_of(model_file)

    model = ActivityModel.load(model_file)
    arrays = read(model_file)
    arrays["m0/norm/std"] = np.zeros_like(arrays["m0/norm/std"])
    write(model_file, arrays)  # swapped after the caller's load
    import mlflow

    mlflow.set_tracking_uri(store)
    with (
        mlflow.start_run(),
        pytest.raises(ModelFileError, match=re.escape(f"{model_file}: ") + ".*normalisation"),
    ):
        log_pyfunc(model, model_file, "tiny")
    assert len(client.search_model_versions("name='tiny'")) == 1


def test_format_doc_states_the_limits_the_code_enforces():
    from harlab.core.streams import MAX_NAME_CHARS
    from harlab.ml.booster_text import MAX_LEAVES
    from harlab.ml.model_archive import MAX_ARRAY_BYTES, MAX_DEFLATE_RATIO, MAX_FILE_BYTES
    from harlab.ml.model_header import LIMITS, MAX_DEPTH
    from harlab.ml.model_presets import MAX_GBM_NEIGHBOURS

    doc = (REPO / "docs" / "ML.md").read_text(encoding="utf-8")
    section = doc[doc.index("## The model file") :]
    section = section[: section.index("\n## ", 5)]
    for text in (
        f"{MAX_FILE_BYTES >> 30} GiB",
        f"{MAX_ARRAY_BYTES >> 30} GiB of arrays",
        f"({MAX_DEFLATE_RATIO}:1)",
        f"depth ≤ {LIMITS['depth']}",
        f"width ≤ {LIMITS['width']:,}".replace(",", " "),
        f"channels (1..{LIMITS['channels']})",
        f"of at most {MAX_NAME_CHARS} characters",
        f"{LIMITS['window_samples']:,} samples".replace(",", " "),
        f"at most {MAX_DEPTH} levels",
        f"{LIMITS['activations']:,} values per window".replace(",", " "),
        f"1..{MAX_LEAVES:,} leaves".replace(",", " "),
        f"`neighbours` (temporal context) are an integer 0..{MAX_GBM_NEIGHBOURS}",
    ):
        assert text in section, text
