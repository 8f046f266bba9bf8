"""Checkpoint directories (DESIGN §7): config.yaml + model.safetensors + metrics.json. Loading never unpickles.

config.yaml holds ``format``, the registered ``model`` name and its ``config`` (which includes the MelConfig and
any normalisation statistics the model needs), so the model can be rebuilt from the directory alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch.overrides import TorchFunctionMode

from .config import from_dict, to_dict
from .errors import CheckpointError, ConfigError
from .registry import MODELS

FORMAT = "diffs2st-checkpoint-v1"
CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE = "config.yaml", "model.safetensors", "metrics.json"


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
        write_architecture(staging / CONFIG_FILE, model)
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


def write_architecture(path: str | os.PathLike, model: torch.nn.Module) -> None:
    """What rebuilds ``model`` (a registered model with a ``config`` attribute), as a checkpoint's config.yaml: its
    ``format``, registered ``model`` name and ``config``."""
    name = MODELS.name_of(type(model))
    record = {"format": FORMAT, "model": name, "config": to_dict(model.config)}
    Path(path).write_text(yaml.safe_dump(record, sort_keys=False))


def read_checkpoint_config(directory: str | os.PathLike) -> tuple[type, Any]:
    """The registered model class and its validated config, from ``directory/config.yaml``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"no checkpoint directory at {directory}")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: {CONFIG_FILE} is missing")
    return read_architecture(path)


def read_architecture(path: str | os.PathLike) -> tuple[type, Any]:
    """The registered model class and its validated config, from a file `write_architecture` wrote."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_YAML_LOADER) or {}
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
    kind = MODELS.get(raw["model"])  # imports the model's module
    return kind, from_dict(kind.config_class, raw["config"], f"{path}: config", require_all=True)


def load_checkpoint(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model of a checkpoint directory and load its weights strictly (safetensors only).

    The model is built without its random initialisation (every parameter and persistent buffer is then
    overwritten from the file, and the caller's random state is left as it was), and each stored tensor is read
    from the file straight into the built module's own tensor, fp16 -> fp32 cast in that one copy.
    """
    directory = Path(directory)
    model_class, config = read_checkpoint_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"{directory} is not a checkpoint: {WEIGHTS_FILE} is missing")
    try:
        with safe_open(str(weights_path), framework="pt", device="cpu") as weights:
            shapes = {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}
            model = build_untrained(model_class, config)
            targets = _fitting_targets(model, shapes, weights_path, "its config")
            with torch.no_grad():
                for key, target in targets.items():
                    target.copy_(weights.get_tensor(key))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {weights_path}: {exc}") from None
    model.to(map_location).eval()
    metrics_path = directory / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Checkpoint(model=model, config=config, metrics=metrics, path=directory)


def build_untrained(model_class: type, config: Any) -> torch.nn.Module:
    """``model_class(config)`` built only to be overwritten: no random initialisation (`_NoRandomInit`) and the
    caller's random state left as it was."""
    with torch.random.fork_rng(devices=[]), _NoRandomInit():
        return model_class(config)


def training_record(directory: str | os.PathLike) -> dict:
    """How a checkpoint was trained, from its metrics.json: ``steps``, ``command`` and (when written by hand for a
    run made of several stages) ``recipe``, whichever it records; {} when it records none."""
    path = Path(directory) / METRICS_FILE
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    return {key: metrics[key] for key in ("steps", "command", "recipe") if key in metrics}


def recipe_of(record: dict, missing: str = "unknown") -> str:
    """A `training_record`'s account of how the model was made: its hand-written ``recipe``, else the ``command``,
    else ``missing``."""
    return record.get("recipe") or record.get("command") or missing


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


def initialize_from(model: torch.nn.Module, directory: str | os.PathLike,
                    fresh: Sequence[str] = ()) -> torch.nn.Module:
    """Copy the weights of a checkpoint directory into ``model`` (fine-tuning) and return the module that took them.

    The checkpoint holds what a run exports — the model itself, or a part of a training wrapper (a vocoder inside
    its GAN) — so the target is ``model`` when the classes match, else its only sub-module of the checkpoint's
    class. Every tensor must match in name and shape (one clear `CheckpointError` otherwise), except that parts the
    model names in ``fine_tune_additions`` (prefixes of tensor names, e.g. a new predictor) may be absent from the
    checkpoint, each as a whole (a part it holds in half is an error): they keep their fresh initialisation. fp16
    weights are cast to the model's dtype. The config (and any statistics in it) stays the run's own.

    ``fresh`` names parts (prefixes of tensor names, e.g. ``decoder.``) to leave at their fresh initialisation
    whatever the checkpoint holds for them, in any shape: a wider decoder trained on top of an encoder that already
    knows its job. A prefix that names no tensor of the model is an error.
    """
    source = load_checkpoint(directory).model
    kind = type(source)
    targets = [model] if type(model) is kind else [m for m in model.modules() if type(m) is kind]
    if len(targets) != 1:
        where = "no" if not targets else f"{len(targets)}"
        raise CheckpointError(f"{directory} holds a {kind.__name__}; the {type(model).__name__} being trained has "
                              f"{where} part of that kind to initialise")
    tensors = source.state_dict()
    own = targets[0].state_dict()
    kept = {}
    for prefix in fresh:
        part = [key for key in own if key.startswith(prefix)]
        if not part:
            raise CheckpointError(f"fresh part {prefix!r}: the {type(targets[0]).__name__} being trained has no "
                                  f"tensor named so (its parts: {', '.join(_top_level_parts(own))})")
        tensors = {key: value for key, value in tensors.items() if not key.startswith(prefix)}
        kept.update({key: own[key] for key in part})
        print(f"{prefix}* ({len(part)} tensors) keeps its fresh initialisation", file=sys.stderr)
    for prefix in getattr(targets[0], "fine_tune_additions", ()):
        part = [key for key in own if key.startswith(prefix) and key not in kept]
        if part and not any(key in tensors for key in part):  # a part the checkpoint lacks as a whole
            kept.update({key: own[key] for key in part})
            print(f"{directory} has no {prefix}*: its {len(part)} tensors keep their fresh initialisation",
                  file=sys.stderr)
    _load_fitting(targets[0], {**tensors, **kept}, directory, "the run's config")
    return targets[0]


def _top_level_parts(tensors: dict[str, Any]) -> list[str]:
    """The first name component of each tensor name, in order, once each (``decoder.``, ``encoder.``, ...)."""
    return list(dict.fromkeys(key.split(".")[0] + "." for key in tensors))


def _load_fitting(module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Any, owner: str) -> None:
    """Load ``tensors`` into ``module`` strictly: the same names and shapes, or one `CheckpointError` naming
    ``source`` and what built ``module`` (``owner``); floating tensors are cast to the module's dtype."""
    targets = _fitting_targets(module, {key: tuple(value.shape) for key, value in tensors.items()}, source, owner)
    with torch.no_grad():
        for key, target in targets.items():
            target.copy_(tensors[key])


def _fitting_targets(module: torch.nn.Module, shapes: dict[str, tuple[int, ...]], source: Any,
                     owner: str) -> dict[str, torch.Tensor]:
    """The tensors of ``module``'s state dict (its own storage, to be written in place) for stored tensors of
    ``shapes``: the same names and shapes, or one `CheckpointError` naming ``source`` and ``owner``."""
    expected = module.state_dict(keep_vars=True)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        parts = ([f"missing tensor {missing[0]!r}"] if missing else []) + (
            [f"unexpected tensor {unexpected[0]!r}"] if unexpected else [])
        raise CheckpointError(f"{source} does not fit {owner}: {', '.join(parts)}")
    for key, shape in shapes.items():
        if shape != tuple(expected[key].shape):
            raise CheckpointError(f"{source}: tensor {key!r} has shape {shape}, {owner} builds "
                                  f"{tuple(expected[key].shape)}")
    return expected


# The C YAML parser when PyYAML has it (5-10x faster on the long symbol lists of a config), else the Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoRandomInit(TorchFunctionMode):
    """While a model is built only to be overwritten by a checkpoint, its random initialisers (the `torch.nn.init`
    functions and the ``Tensor.uniform_`` / ``normal_`` fills under them) zero the tensor instead: a model is built
    several times faster. Everything else runs as usual, so deterministic buffers (windows, tables) are built as
    always; tests/test_cold_start.py checks that the loaded parameters and buffers are the same either way."""

    RANDOM_FILLS = frozenset({"uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                              "xavier_normal_", "trunc_normal_"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", None) in self.RANDOM_FILLS:
            tensor = args[0] if args else kwargs.get("tensor")  # Tensor.uniform_(self) or init.*_(tensor=...)
            if isinstance(tensor, torch.Tensor):
                with torch.no_grad():
                    return tensor.zero_()
        return func(*args, **kwargs)
