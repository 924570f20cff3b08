"""``harlab serve`` on 127.0.0.1: the seed's JSON format from its real recordings, MLflow's formats, errors.

And (slow) ``mlflow models serve --env-manager local`` answering an MLflow-format request.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from harlab.ml.modelfile import ActivityModel
from harlab.mlops.scoring import frame_columns

from .conftest import seed_request_windows

pytestmark = pytest.mark.slow  # shares the tracked training (about 20 s once per session)


def _post(url: str, body, ctype: str = "application/json", raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: q.put(proc.stdout.readline()), daemon=True).start()
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"the server did not start within {timeout} s: {proc.stderr.read()}") from None


@pytest.fixture(scope="module")
def server(trained):
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained["store"]}
    env.pop("HARLAB_TRACKING", None)
    from harlab.mlops.registry import set_alias

    set_alias("seed-activity", "1", "production", trained["store"])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harlab",
            "serve",
            "-m",
            "models:/seed-activity@production",
            "--port",
            "0",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = _first_line(proc, 90)
        url = json.loads(line)["listening"]
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_seed_format_from_real_recordings(server, trained):
    X4, ids = seed_request_windows()
    model = ActivityModel.load(trained["model_path"])
    for path in ("/score", "/invocations"):
        status, ans = _post(server + path, {"data": X4.tolist()})
        assert status == 200, ans
        assert ans["classes"] == model.classes and len(ans["result"]) == len(X4) == 593
        probs = np.array(ans["result_full"])
        np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
        direct = model.predict_proba(X4[..., 0])
        np.testing.assert_allclose(probs, direct, atol=1e-5)
        assert ans["result"] == direct.argmax(1).tolist()
    # the seed's Azure ML wrapping: a JSON string that holds the JSON answer
    status, wrapped = _post(server + "/score?compat=azureml", {"data": X4[:3].tolist()})
    assert status == 200 and isinstance(wrapped, str) and json.loads(wrapped)["result"] == ans["result"][:3]


def test_mlflow_formats_and_info(server, trained):
    model = ActivityModel.load(trained["model_path"])
    X = seed_request_windows(2)[0][:20, :, :, 0]
    want = model.predict_proba(X)
    status, ans = _post(server + "/invocations", {"inputs": X.tolist()})
    assert status == 200
    got = np.array([[r[f"p_{c}"] for c in model.classes] for r in ans["predictions"]])
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert [r["class"] for r in ans["predictions"]] == [model.classes[i] for i in want.argmax(1)]
    cols = frame_columns(model.info)
    status, ans2 = _post(
        server + "/invocations",
        {"dataframe_split": {"columns": cols, "data": X.reshape(len(X), -1).tolist()}},
    )
    assert status == 200 and ans2 == ans
    status, ans3 = _post(server + "/invocations", {"instances": X.reshape(len(X), -1).tolist()})
    assert status == 200 and ans3 == ans
    # 20 Hz windows of 1 s are resampled to the model's 10 Hz when the rate is given
    X20 = np.repeat(X, 2, axis=1)
    status, ans4 = _post(server + "/invocations", {"inputs": X20.tolist(), "rate_hz": 20})
    assert status == 200 and len(ans4["predictions"]) == len(X)
    assert _get(server + "/health")[1]["status"] == "ok"
    status, info = _get(server + "/version")
    assert status == 200 and info["model_uri"] == "models:/seed-activity/1" and info["model_version"] == "1"
    assert info["input_shape"] == ["N", 10, 6] and info["seed_channels_used"] == [
        "ax",
        "ay",
        "az",
        "gx",
        "gy",
        "gz",
    ]


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b"{not json", 400, ["not valid JSON"]),
        ({"windows": [[1]]}, 400, ["exactly one of", "data", "inputs"]),
        ({"data": [[[[1.0]] * 5] * 10]}, 400, ["'data'", "5 channels", "N x 10 x 6 x 1"]),
        ({"data": [[[[1.0]] * 7] * 10]}, 400, ["ActivityID"]),
        ({"data": [[[[1.0]] * 6] * 12]}, 400, ["12 samples", "takes 10", "rate_hz"]),
        ({"data": [[[[1.0]] * 6] * 10, [[[1.0]] * 6] * 9]}, 400, ["rectangular"]),
        ({"data": []}, 400, ["'data'"]),
        ({"inputs": [[["a"] * 6] * 10]}, 400, ["'inputs'", "numbers"]),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}},
            400,
            ["columns", "accelerometer_x_t000"],
        ),
        ({"data": [[[[1.0]] * 6] * 20], "rate_hz": 10}, 400, ["20 samples"]),
        ({"data": [[[[1.0]] * 6] * 10], "rate_hz": -3}, 400, ["'rate_hz'"]),
    ],
)
def test_malformed_requests_get_4xx_with_a_clear_message(server, body, status, words):
    raw = body if isinstance(body, bytes) else None
    code, ans = _post(server + "/score", body, raw=raw)
    assert code == status, ans
    for w in words:
        assert w in ans["error"], (w, ans["error"])


def test_protocol_errors(server):
    assert _post(server + "/score", None, ctype="text/csv", raw=b"1,2,3")[0] == 415
    assert _get(server + "/nope")[0] == 404
    assert _get(server + "/invocations")[0] == 405
    code, ans = _post(server + "/score", {"data": "NaN"}, raw=b'{"data": [[[[NaN],[1],[1],[1],[1],[1]]]]}')
    assert code == 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mlflow_models_serve_answers_mlflow_requests(trained):
    """MLflow's own scoring server, local environment (no network), the registered pyfunc."""
    import shutil

    mlflow_bin = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or shutil.which("mlflow")
    if not mlflow_bin:
        pytest.skip("the mlflow command is not on PATH")
    port = _free_port()
    # mlflow runs uvicorn by name: the environment's bin folder must be on PATH
    path = os.pathsep.join([os.path.dirname(mlflow_bin), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained["store"], "PATH": path}
    proc = subprocess.Popen(
        [
            mlflow_bin,
            "models",
            "serve",
            "-m",
            "models:/seed-activity/1",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/ping", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(
                        f"mlflow models serve did not come up: {proc.stderr.read()[-2000:]}"
                    ) from None
                time.sleep(0.5)
        model = ActivityModel.load(trained["model_path"])
        X = seed_request_windows(1)[0][:8, :, :, 0]
        status, ans = _post(url + "/invocations", {"inputs": X.tolist()})
        assert status == 200, ans
        got = np.array([[r[f"p_{c}"] for c in model.classes] for r in ans["predictions"]])
        np.testing.assert_allclose(got, model.predict_proba(X), atol=1e-5)
        # a malformed window is refused with harlab's message, as a 400
        status, err = _post(url + "/invocations", {"inputs": X[:, :7].tolist()})
        assert status == 400 and "takes 10" in err["message"]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
