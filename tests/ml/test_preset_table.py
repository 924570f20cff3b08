"""The preset table is the one source: ``harlab train --help`` lists its presets and descriptions, and
training refuses a name it does not hold."""

from __future__ import annotations

import pytest

from harlab.cli import build_parser
from harlab.core.errors import HarlabError
from harlab.ml.model_presets import DEFAULT_PRESET, OPTIONS, PRESET_TABLE, PRESETS, preset


def _train_action(option: str):
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    return next(a for a in train._actions if option in a.option_strings)


def test_cli_preset_choices_and_help_come_from_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    action = _train_action("--preset")
    assert list(action.choices) == [p.name for p in PRESET_TABLE]
    assert action.default == DEFAULT_PRESET == PRESET_TABLE[0].name
    from harlab.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, also at hyphens
    for p in PRESET_TABLE:
        assert f"{p.name}:" + "".join(p.description.split()) in text


def test_every_preset_is_consistent() -> None:
    for p in PRESET_TABLE:
        assert p.members and p.options <= set(OPTIONS)
        assert (p.network is not None) == p.supports("epochs"), p.name  # epochs are a network's
        assert p.supports("architecture") <= (p.network == "cnn1d"), p.name
    assert preset("features").network is None and preset("features").boosted
    assert list(PRESETS) == [p.name for p in PRESET_TABLE]


def test_unknown_preset_is_refused_by_training_config() -> None:
    from harlab.ml.training import TrainConfig

    with pytest.raises(HarlabError, match="unknown preset 'bogus'; one of ensemble, cnn1d"):
        TrainConfig(preset="bogus")
    with pytest.raises(KeyError):
        preset("ensemble").supports("no-such-option")
