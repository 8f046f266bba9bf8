"""Small registries for component families that really vary (models, processes, samplers, vocoders, judges)."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a config name to a component; unknown names are errors that list the known ones."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return decorator

    def get(self, name: str) -> T:
        if name not in self._entries:
            known = ", ".join(sorted(self._entries)) or "none registered"
            raise ConfigError(f"unknown {self.family} {name!r} (known: {known})")
        return self._entries[name]

    def name_of(self, entry: T) -> str:
        for name, registered in self._entries.items():
            if registered is entry:
                return name
        raise ConfigError(f"{entry!r} is not a registered {self.family}")

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


# Every model a checkpoint can hold. A model class has a dataclass `config_class` and `__init__(self, config)`.
MODELS: Registry[type] = Registry("model")
