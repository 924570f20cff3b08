"""The guided-protocol prompt: large, high-contrast instructions with a countdown.

The participant may be several metres from the screen, mid-activity, so the text is
big, the contrast high (white on near-black, amber while getting ready) and the
numbers change once a second, not faster.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from harlab.recording.protocol import Protocol

READY_BG, ACTIVE_BG, DONE_BG = "#3a2a00", "#0d1b2a", "#0b2e13"
READY_FG, ACTIVE_FG, DONE_FG = "#ffd54f", "#ffffff", "#a5f3b4"


def pretty(activity: str) -> str:
    s = activity.replace("_", " ").strip()
    return s[:1].upper() + s[1:]


def prompt_texts(
    protocol: Protocol, index: int | None, phase: str, remaining_s: float
) -> tuple[str, str, str]:
    """(headline, instruction, step line) for a protocol state; pure, so tests can check wording."""
    if index is None:
        return (
            "Protocol complete",
            "Well done. The recording can be stopped and saved now.",
            f"{len(protocol.steps)} of {len(protocol.steps)} steps done",
        )
    step = protocol.steps[index]
    secs = max(0, math.ceil(remaining_s - 1e-6))
    step_line = f"Step {index + 1} of {len(protocol.steps)}"
    if phase == "countdown":
        return (
            f"Get ready: {step.activity.replace('_', ' ')} — {secs}",
            step.instruction or "Starts in a moment",
            step_line,
        )
    return f"{pretty(step.activity)} — {secs} s left", step.prompt, step_line


class ProtocolView(QFrame):
    """Headline (countdown), instruction, step and overall progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("protocolView")
        self.headline = QLabel()
        self.headline.setObjectName("protocolHeadline")
        self.instruction = QLabel()
        self.instruction.setObjectName("protocolInstruction")
        self.step_line = QLabel()
        self.step_line.setObjectName("protocolStep")
        for lab, size, bold in (
            (self.headline, 40, True),
            (self.instruction, 22, False),
            (self.step_line, 13, False),
        ):
            f = QFont()
            f.setPointSize(size)
            f.setBold(bold)
            lab.setFont(f)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.progress.setRange(0, 1000)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 16, 24, 14)
        lay.addWidget(self.headline)
        lay.addWidget(self.instruction)
        lay.addWidget(self.step_line)
        lay.addWidget(self.progress)
        self.protocol: Protocol | None = None
        self._phase = ""

    def set_protocol(self, protocol: Protocol | None) -> None:
        self.protocol = protocol
        self.setVisible(protocol is not None)
        if protocol is not None:
            self.show_state(0, "countdown", protocol.countdown_s, 0.0)

    def show_state(
        self, index: int | None, phase: str, remaining_s: float, elapsed_in_protocol_s: float
    ) -> None:
        if self.protocol is None:
            return
        head, instr, step = prompt_texts(self.protocol, index, phase, remaining_s)
        self.headline.setText(head)
        self.instruction.setText(instr)
        self.step_line.setText(step)
        total = self.protocol.duration_s
        frac = 1.0 if index is None else min(1.0, elapsed_in_protocol_s / total) if total else 1.0
        self.progress.setValue(int(frac * 1000))
        kind = "done" if index is None else phase
        if kind != self._phase:
            self._phase = kind
            bg, fg = {"countdown": (READY_BG, READY_FG), "done": (DONE_BG, DONE_FG)}.get(
                kind, (ACTIVE_BG, ACTIVE_FG)
            )
            self.setStyleSheet(
                f"QFrame#protocolView {{ background: {bg}; border-radius: 10px; }}"
                f"QFrame#protocolView QLabel {{ color: {fg}; background: transparent; }}"
                f"QFrame#protocolView QProgressBar {{ background: rgba(255, 255, 255, 50); border: none; border-radius: 5px; }}"
                f"QFrame#protocolView QProgressBar::chunk {{ background: {fg}; border-radius: 5px; }}"
            )
