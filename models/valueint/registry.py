"""One registry pattern for everything valueint finds by name: environments, trial
models, paradigm models and reproductions.

>>> WORLDS = Registry("environment")
>>> WORLDS.register("gridworld", build_gridworld)
>>> WORLDS.get("gridworld")

An unknown name is a ``KeyError`` (or the ``error`` given at construction, such as
``ConfigError``) that lists the known names, so a typo in a config or on the command
line says what would have worked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator


class Registry[T]:
    """Named entries of one kind, in the order they were registered."""

    def __init__(
        self,
        kind: str,
        error: Callable[[str], Exception] = KeyError,
        defined_in: str | tuple[str, ...] | None = None,
    ) -> None:
        """``defined_in`` names the module (or modules) whose import registers the shipped
        entries; they are imported on the first lookup, so a lookup never misses them
        whatever the caller imported first."""
        self.kind = kind
        self._error = error
        self._defined_in = (defined_in,) if isinstance(defined_in, str) else defined_in
        self._entries: dict[str, T] = {}

    @property
    def _loaded(self) -> dict[str, T]:
        if self._defined_in is not None:
            modules, self._defined_in = self._defined_in, None
            for module in modules:
                importlib.import_module(module)
        return self._entries

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; a name may be registered once."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string; got {name!r}")
        if name in self._entries:
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str, where: str | None = None) -> T:
        """The entry called ``name``; ``where`` (a config key, an option) prefixes the error."""
        if isinstance(name, str) and name in self._loaded:
            return self._entries[name]
        prefix = f"{where} = {name!r}" if where else f"{name!r}"
        raise self._error(
            f"{prefix} is not a known {self.kind}; known: {', '.join(sorted(self._entries))}"
        )

    def names(self) -> tuple[str, ...]:
        """Registered names, sorted."""
        return tuple(sorted(self._loaded))

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded)

    def __len__(self) -> int:
        return len(self._loaded)

    def items(self):
        return self._loaded.items()

    def values(self):
        return self._loaded.values()
