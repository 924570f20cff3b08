"""Exporters: one module per output format, all found through :mod:`harlab.exporters.exporter`.

Training windows are cut by :func:`harlab.signal.labelled_windows.cut_windows`, below both
the exporters and the models, which share it.
"""

from harlab.exporters.exporter import (
    Exporter,
    ExportError,
    ExportOptions,
    exporters,
    get_exporter,
    register,
)

__all__ = ["ExportError", "ExportOptions", "Exporter", "exporters", "get_exporter", "register"]
