"""Format registries: one module per format, found by importing the package's modules.

Importers and exporters both work this way (adding a format is adding one module);
this class holds what they share: registration by a unique name, loading every
module of the package once, and remembering modules that failed to import so one
broken format never takes the others down.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar, Generic, Protocol, TypeVar


class _Named(Protocol):
    name: ClassVar[str]  # read from the class: the registry holds classes


T = TypeVar("T", bound=_Named)


class PluginRegistry(Generic[T]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind  #: "importer" or "exporter", for messages
        self.package = package
        self._classes: dict[str, type[T]] = {}
        self._errors: dict[str, str] = {}
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: add ``cls`` under its ``name``."""
        if not cls.name:
            raise ValueError(f"{cls.__name__} needs a name")
        if cls.name in self._classes and self._classes[cls.name] is not cls:
            raise ValueError(f"two {self.kind}s are called {cls.name!r}")
        self._classes[cls.name] = cls
        return cls

    def load(self) -> None:
        """Import every public module of the package once (``base`` excluded)."""
        if self._loaded:
            return
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_") or info.name == "base":
                continue
            try:
                importlib.import_module(f"{self.package}.{info.name}")
            except Exception as exc:  # one broken format must not take the others down
                self._errors[info.name] = f"{type(exc).__name__}: {exc}"
        self._loaded = True

    def classes(self) -> dict[str, type[T]]:
        self.load()
        return dict(sorted(self._classes.items()))

    def load_errors(self) -> dict[str, str]:
        """Modules that failed to import, with the reason (empty when all loaded)."""
        self.load()
        return dict(self._errors)
