"""Checkpoint directories (DESIGN §7): config.yaml + model.safetensors + metrics.json. Loading never unpickles.

config.yaml holds ``format``, the registered ``model`` name and its ``config`` (which includes the MelConfig and
any normalisation statistics the model needs), so the model can be rebuilt from the directory alone.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import from_dict, to_dict
from .errors import CheckpointError, ConfigError
from .registry import MODELS

FORMAT = "diffs2st-checkpoint-v1"
CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE = "config.yaml", "model.safetensors", "metrics.json"

# Modules that register models; imported on demand by `load_checkpoint` so that importing diffs2st stays light.
MODEL_MODULES: list[str] = [
    "diffs2st.training.toy",
    "diffs2st.digits.model",
    "diffs2st.digits.classifier",
    "diffs2st.nets.classifier",
    "diffs2st.nets.mlp",
    "diffs2st.nets.unet1d",
    "diffs2st.nets.unet2d",
    "diffs2st.vocoders.hifigan",
    "diffs2st.vocoders.istft",
    "diffs2st.translation.model",
    "diffs2st.speaker.encoder",
    "diffs2st.s2st.synthesizer",
    "diffs2st.translation.text",
    "diffs2st.enhancement.score",
]


def import_model_modules() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode), its config and its recorded metrics."""

    model: torch.nn.Module
    config: Any
    metrics: dict = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(directory: str | os.PathLike, model: torch.nn.Module, metrics: dict | None = None,
                    half: bool = False, state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``model`` (a registered model with a ``config`` attribute) as a checkpoint directory.

    The directory is assembled in a temporary sibling and renamed into place, so an interrupted save never
    leaves a half-written checkpoint. ``half`` stores floating tensors as fp16; ``state_dict`` overrides the
    weights (e.g. EMA weights).
    """
    directory = Path(directory)
    if not directory.parent.is_dir():
        raise CheckpointError(f"cannot save checkpoint: folder {directory.parent} does not exist")
    name = MODELS.name_of(type(model))
    weights = state_dict if state_dict is not None else model.state_dict()
    tensors = {}
    for key, value in weights.items():
        value = value.detach().to("cpu").contiguous()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.clone()
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    try:
        config = {"format": FORMAT, "model": name, "config": to_dict(model.config)}
        (staging / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"format": FORMAT, "model": name})
        (staging / METRICS_FILE).write_text(json.dumps(metrics or {}, indent=2, sort_keys=True) + "\n")
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.replace(directory, old)
            os.replace(staging, directory)
            shutil.rmtree(old)
        else:
            os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return directory


def read_checkpoint_config(directory: str | os.PathLike) -> tuple[type, Any]:
    """The registered model class and its validated config, from ``directory/config.yaml``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoint directory at {directory}")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: {CONFIG_FILE} is missing")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    for key in ("format", "model", "config"):
        if key not in raw:
            raise ConfigError(f"{path}: missing key {key!r}")
    extra = sorted(set(raw) - {"format", "model", "config"})
    if extra:
        raise ConfigError(f"{path}: unknown key {extra[0]!r}")
    if raw["format"] != FORMAT:
        raise CheckpointError(f"{path}: format {raw['format']!r} is not {FORMAT!r}")
    import_model_modules()
    model_class = MODELS.get(raw["model"])
    return model_class, from_dict(model_class.config_class, raw["config"], f"{path}: config", require_all=True)


def load_checkpoint(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model of a checkpoint directory and load its weights strictly (safetensors only)."""
    directory = Path(directory)
    model_class, config = read_checkpoint_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: {WEIGHTS_FILE} is missing")
    try:
        tensors = load_file(str(weights_path), device=str(map_location))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {weights_path}: {exc}") from None
    model = model_class(config)
    _load_fitting(model, tensors, weights_path, "its config")
    model.eval()
    metrics_path = directory / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Checkpoint(model=model, config=config, metrics=metrics, path=directory)


def training_record(directory: str | os.PathLike) -> dict:
    """How a checkpoint was trained, from its metrics.json: ``steps``, ``command`` and (when written by hand for a
    run made of several stages) ``recipe``, whichever it records; {} when it records none."""
    path = Path(directory) / METRICS_FILE
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    return {key: metrics[key] for key in ("steps", "command", "recipe") if key in metrics}


def load_model(directory: str | os.PathLike, kind: type, what: str | None = None) -> torch.nn.Module:
    """The model of a checkpoint directory, in eval mode, required to be a ``kind``; otherwise one clear
    `CheckpointError` ("DIR holds a X, not a WHAT")."""
    model = load_checkpoint(directory).model
    if not isinstance(model, kind):
        raise CheckpointError(f"{directory} holds a {type(model).__name__}, not a {what or kind.__name__}")
    return model.eval()


def part_state_dict(state_dict: dict[str, torch.Tensor], part: str) -> dict[str, torch.Tensor]:
    """The tensors of sub-module ``part`` of a training wrapper, named as in that sub-module (what ``export``
    ships)."""
    prefix = part + "."
    return {name[len(prefix):]: value for name, value in state_dict.items() if name.startswith(prefix)}


def initialize_from(model: torch.nn.Module, directory: str | os.PathLike) -> torch.nn.Module:
    """Copy the weights of a checkpoint directory into ``model`` (fine-tuning) and return the module that took them.

    The checkpoint holds what a run exports — the model itself, or a part of a training wrapper (a vocoder inside
    its GAN) — so the target is ``model`` when the classes match, else its only sub-module of the checkpoint's
    class. Every tensor must match in name and shape (one clear `CheckpointError` otherwise); fp16 weights are
    cast to the model's dtype. The config (and any statistics in it) stays the run's own.
    """
    source = load_checkpoint(directory).model
    kind = type(source)
    targets = [model] if type(model) is kind else [m for m in model.modules() if type(m) is kind]
    if len(targets) != 1:
        where = "no" if not targets else f"{len(targets)}"
        raise CheckpointError(f"{directory} holds a {kind.__name__}; the {type(model).__name__} being trained has "
                              f"{where} part of that kind to initialise")
    _load_fitting(targets[0], source.state_dict(), directory, "the run's config")
    return targets[0]


def _load_fitting(module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Any, owner: str) -> None:
    """Load ``tensors`` into ``module`` strictly: the same names and shapes, or one `CheckpointError` naming
    ``source`` and what built ``module`` (``owner``); floating tensors are cast to the module's dtype."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        parts = ([f"missing tensor {missing[0]!r}"] if missing else []) + (
            [f"unexpected tensor {unexpected[0]!r}"] if unexpected else [])
        raise CheckpointError(f"{source} does not fit {owner}: {', '.join(parts)}")
    fitted = {}
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(f"{source}: tensor {key!r} has shape {tuple(value.shape)}, {owner} builds "
                                  f"{tuple(expected[key].shape)}")
        fitted[key] = value.to(expected[key].dtype) if expected[key].is_floating_point() else value
    module.load_state_dict(fitted, strict=True)
