"""``harlab train --help`` and ``evaluate --help`` say what every option does and its default, and the
network defaults they state are the ones training uses."""

from __future__ import annotations

import re

import pytest

from harlab.cli import main
from harlab.ml.model_presets import PRESETS
from harlab.ml.models import CNN1DConfig


@pytest.mark.parametrize(
    "command",
    [
        ["train"],
        ["evaluate"],
        ["explore"],
        ["predict"],
        ["export"],
        ["import"],
        ["info"],
        ["validate"],
        ["demo"],
        ["record"],
        ["models", "list"],
        ["models", "show"],
        ["models", "promote"],
        ["models", "register"],
        ["models", "export-onnx"],
        ["agreement"],
        ["consensus"],
    ],
)
def test_every_option_is_explained(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    positionals = (
        text.split("positional arguments:", 1)[1].split("options:", 1)[0] if "positional" in text else ""
    )
    unexplained = [line.strip() for line in positionals.splitlines() if re.fullmatch(r"  \w+", line)]
    assert not unexplained, f"arguments without help: {unexplained}"
    options = text.split("options:", 1)[1]
    # an option line with nothing after its name and metavar, and no help on the next line, has no help
    lines = options.splitlines() + [""]
    bare = [
        line.strip()
        for line, after in zip(lines, lines[1:], strict=False)
        if re.fullmatch(r"\s+(-\w \S+, |-\w, )?--[\w-]+( [A-Z_]+)?", line)
        and not re.match(r"\s{6,}[^\s-]", after)
    ]
    assert not bare, f"options without help: {bare}"
    if command[0] in ("train", "evaluate"):
        for opt, default in (("--epochs", "40"), ("--batch-size", "64"), ("--lr", "0.002"), ("--seed", "0")):
            assert re.search(rf"{opt} \S+\s+[^\n]*\({re.escape(default)}\)", text), opt


def test_stated_network_defaults_are_the_real_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    cfg = CNN1DConfig()
    for opt, value in (
        ("depth", cfg.depth),
        ("width", cfg.width),
        ("kernel", cfg.kernel),
        ("dropout", cfg.dropout),
    ):
        assert re.search(rf"--{opt} \S+ cnn1d [^()]*\({value:g}[;)]", text), opt
    ens = PRESETS["ensemble"].network_defaults
    for opt, value in (("width", ens["width"]), ("max-width", ens["max_width"])):
        assert re.search(rf"--{opt} \S+ cnn1d [^()]*\(\d+; the ensemble's network {value}\)", text), opt
    assert f"(same; the ensemble's network {ens['padding']})" in text
    assert "-o MODEL, --output MODEL required:" in text
