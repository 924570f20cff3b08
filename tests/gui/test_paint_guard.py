"""Painting overrides never raise into Qt (PySide6 6.11 segfaults reporting a numpy-set error)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsObject, QGraphicsScene, QGraphicsView

import harlab.gui
from harlab.gui.paint_guard import never_raises

pytestmark = pytest.mark.gui


def is_qt_painting(fn: ast.FunctionDef) -> bool:
    """``paintEvent(event)``, or ``paint(painter, *args)`` / ``paint(painter, option, widget)`` as
    QGraphicsItem declares it (a helper named paint with other parameters is not called by Qt)."""
    params = [a.arg for a in fn.args.args[1:]]
    if fn.name == "paintEvent":
        return True
    return fn.name == "paint" and (fn.args.vararg is not None or params[1:2] in (["option"], ["opt"]))


class Broken(QGraphicsObject):
    painted = 0

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, 10, 10)

    @never_raises
    def paint(self, p, *args) -> None:  # noqa: ANN001 (Qt API)
        Broken.painted += 1
        np.zeros(0).reshape(0, -1)  # the error numpy sets from C, which crashes an unguarded override


def test_a_failing_paint_is_logged_once_and_the_view_survives(qtbot, caplog) -> None:
    scene = QGraphicsScene()
    scene.addItem(Broken())
    view = QGraphicsView(scene)
    qtbot.addWidget(view)
    view.resize(60, 60)
    view.show()
    with caplog.at_level(logging.ERROR, logger="harlab.gui.paint_guard"):
        for _ in range(3):
            assert not view.grab().isNull()
    assert Broken.painted >= 3
    assert len([r for r in caplog.records if "Broken.paint" in r.getMessage()]) == 1


def test_every_painting_override_in_the_gui_is_guarded() -> None:
    unguarded = []
    for path in sorted(Path(harlab.gui.__file__).parent.rglob("*.py")):
        for cls in ast.walk(ast.parse(path.read_text())):
            if not isinstance(cls, ast.ClassDef):
                continue
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and is_qt_painting(fn):
                    names = {d.id for d in fn.decorator_list if isinstance(d, ast.Name)}
                    if "never_raises" not in names:
                        unguarded.append(f"{path.name}:{cls.name}.{fn.name}")
    assert unguarded == []
