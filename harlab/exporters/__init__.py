"""Exporters: one module per output format, all found through :mod:`harlab.exporters.exporter`.

:func:`harlab.exporters.windows.cut_windows` (training windows without files) is
reusable on its own, e.g. by the ML code.
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
