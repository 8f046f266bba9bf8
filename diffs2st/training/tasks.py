"""Training tasks: what `diffs2st train CONFIG` can train. A task names its model and data schemas and builds
(model, dataset, collate_fn) from them; run configs are YAML files under configs/ with sections
``task``, ``model``, ``data``, ``trainer``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

import torch
from torch.utils.data import Dataset

from ..config import apply_override, from_dict, load_yaml
from ..errors import ConfigError
from ..registry import Registry

if TYPE_CHECKING:  # the harness imports Lightning (seconds); registering a task must not
    from .harness import TrainerConfig


class Task(Protocol):
    model_config: type
    data_config: type

    def build(self, model: Any, data: Any) -> tuple[torch.nn.Module, Dataset, Callable | None]: ...


# Every training task, with the module that registers it: a run config imports only its task's module. This module
# imports no training machinery, so a model module may also register its task (translation/text.py). A new task
# adds its name and module here (tests/test_cold_start.py checks the table against the classes).
TASKS: Registry[type] = Registry("training task", modules={
    "toy": "diffs2st.training.toy",
    "digits": "diffs2st.digits.task",
    "digit-classifier": "diffs2st.digits.task",
    "vocoder": "diffs2st.vocoders.task",
    "speech-translation": "diffs2st.translation.task",
    "st-target-distillation": "diffs2st.translation.distill",
    "speaker-encoder": "diffs2st.speaker.task",
    "acoustic-synthesizer": "diffs2st.s2st.task",
    "text-translation": "diffs2st.translation.text",
    "score-enhancer": "diffs2st.enhancement.task",
    "enhancement-classifier": "diffs2st.enhancement.task",
})

RUN_SECTIONS = ("task", "model", "data", "trainer")


@dataclass(frozen=True)
class RunConfig:
    task: str
    model: Any
    data: Any
    trainer: TrainerConfig


def load_run_config(path: str | os.PathLike, overrides: list[str] | None = None) -> RunConfig:
    """Read and validate a run config; ``overrides`` are ``section.key=value`` strings."""
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a run config is a mapping with sections {', '.join(RUN_SECTIONS)}")
    for item in overrides or []:
        apply_override(raw, item)
    unknown = sorted(set(raw) - set(RUN_SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(RUN_SECTIONS)})")
    if "task" not in raw:
        raise ConfigError(f"{path}: missing key 'task'")
    from .harness import TrainerConfig

    task = TASKS.get(raw["task"])  # imports the task's module
    return RunConfig(
        task=raw["task"],
        model=from_dict(task.model_config, raw.get("model", {}), f"{path}: model"),
        data=from_dict(task.data_config, raw.get("data", {}), f"{path}: data"),
        trainer=from_dict(TrainerConfig, raw.get("trainer", {}), f"{path}: trainer"),
    )


def build_run(config: RunConfig) -> tuple[torch.nn.Module, Dataset, Callable | None]:
    """(model, dataset, collate_fn) of the run; the initial weights are seeded by ``trainer.seed``, and the caller's
    random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.trainer.seed)
        return TASKS.get(config.task)().build(config.model, config.data)
