"""Sans-IO protocol codecs: bytes in, samples out (and the reverse for simulators).

Decoders are pure functions or small stateful parsers with no asyncio and no
bleak, so they are tested against published byte vectors and reused unchanged by
the live device sessions, the simulated peripherals and file replay. Each decoder
returns values in harlab's canonical units: acceleration in m/s² (gravity
included), angular rate in rad/s, heart rate in bpm, intervals in ms.
"""

from harlab.devices.protocols.units import DEG_TO_RAD, G

__all__ = ["DEG_TO_RAD", "G"]
