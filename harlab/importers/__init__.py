"""Importers: one module per input format, all found through :mod:`harlab.importers.importer`."""

from harlab.importers.importer import (
    Importer,
    ImportOptions,
    detect,
    get_importer,
    importers,
    register,
)

__all__ = ["ImportOptions", "Importer", "detect", "get_importer", "importers", "register"]
