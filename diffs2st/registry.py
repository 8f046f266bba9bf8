"""Small registries for component families that really vary (models, processes, samplers, vocoders, judges)."""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a config name to a component; unknown names are errors that list the known ones.

    ``modules`` names, for entries registered in modules that are costly to import (torch, models), the module that
    registers each: such a module is imported only when its entry is asked for, while `names` lists it at once.
    """

    def __init__(self, family: str, modules: dict[str, str] | None = None) -> None:
        self.family = family
        self._entries: dict[str, T] = {}
        self._modules = dict(modules or {})

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return decorator

    def get(self, name: str) -> T:
        if name not in self._entries and name in self._modules:
            importlib.import_module(self._modules[name])
        if name not in self._entries:
            known = ", ".join(self.names()) or "none registered"
            raise ConfigError(f"unknown {self.family} {name!r} (known: {known})")
        return self._entries[name]

    def import_all(self) -> None:
        """Import every module named in ``modules`` (all entries registered)."""
        for module in dict.fromkeys(self._modules.values()):
            importlib.import_module(module)

    def name_of(self, entry: T) -> str:
        for name, registered in self._entries.items():
            if registered is entry:
                return name
        raise ConfigError(f"{entry!r} is not a registered {self.family}")

    def names(self) -> list[str]:
        return sorted(set(self._entries) | set(self._modules))

    def __contains__(self, name: str) -> bool:
        return name in self._entries or name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


# Every model a checkpoint can hold. A model class has a dataclass `config_class` and `__init__(self, config)`.
# Loading a checkpoint imports only the module of its model (no training machinery); a new model class adds its
# name and module here (tests/test_cold_start.py checks the table against the classes).
MODELS: Registry[type] = Registry("model", modules={
    "toy-regressor": "diffs2st.training.toy",
    "digit-diffusion": "diffs2st.digits.model",
    "digit-classifier": "diffs2st.digits.classifier",
    "noise-aware-classifier": "diffs2st.nets.classifier",
    "mlp-denoiser": "diffs2st.nets.mlp",
    "unet1d": "diffs2st.nets.unet1d",
    "unet2d": "diffs2st.nets.unet2d",
    "hifigan": "diffs2st.vocoders.hifigan",
    "istft-vocoder": "diffs2st.vocoders.istft",
    "speech-translator": "diffs2st.translation.model",
    "speaker-encoder": "diffs2st.speaker.encoder",
    "acoustic-synthesizer": "diffs2st.s2st.synthesizer",
    "text-translator": "diffs2st.translation.text",
    "score-enhancer": "diffs2st.enhancement.score",
    "enhancement-speaker-classifier": "diffs2st.enhancement.score",
})
