"""Training harness shared by every model (DESIGN §8), on PyTorch Lightning.

What it guarantees:
- step-determinism: the batch and the random state of step k depend only on (seed, k, rank), so a run that is
  killed and resumed from its last checkpoint ends with the same weights as an uninterrupted run;
- data parallelism: every step draws one *global* batch and each rank takes its shard, so N processes with DDP
  follow the same trajectory as one process with the same global batch;
- checkpoints written atomically (temporary file + rename), resume with one flag, and loading that never unpickles
  (``weights_only=True``);
- EMA weights, progress bar, CSV + TensorBoard logs, and a final model export as a checkpoint directory.

A trainable model is a registered model (see `diffs2st.registry.MODELS`) with ``loss(batch) -> dict`` holding a
scalar tensor ``"loss"`` and any other scalars to log.

Models that need several optimisers (GANs) use the manual door instead: ``configure_optimizers(config) -> list``
of torch optimisers and ``training_step(batch, step, optimize) -> dict`` (with ``"loss"``), which calls
``optimize(index, loss)`` to back-propagate ``loss`` and step optimiser ``index`` (gradients clipped per optimiser,
the warm-up schedule applied to each). Optimiser 0 is the primary: it must be stepped exactly once per batch, and
its steps are the training steps (max_steps, checkpoints, seeding and data order), so every guarantee above holds.
A model that trains more than it ships (discriminators) may define ``export(state_dict) -> (module, state_dict)``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy
from torch.utils.data import DataLoader, Dataset, Sampler

from ..checkpoint import (build_untrained, read_architecture, read_checkpoint_config, save_checkpoint,
                          write_architecture)
from ..errors import CheckpointError, ConfigError, Diffs2stError
from .ema import EMA

LAST_CHECKPOINT = "last.ckpt"
ARCHITECTURE_FILE = "architecture.yaml"  # what rebuilds the run's model, for `snapshot` while it trains
LOG_VERSION_VARIABLE = "DIFFS2ST_LOG_VERSION"  # the log folder DDP worker ranks share with rank 0


@dataclass(frozen=True)
class TrainerConfig:
    """Optimisation and run settings. ``batch_size`` is the global batch, split evenly across devices."""

    max_steps: int = 1000
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    # after the linear warmup: hold the learning rate ("constant") or follow a half cosine down to
    # min_lr_ratio * learning_rate at max_steps ("cosine")
    lr_schedule: Literal["constant", "cosine"] = "constant"
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    checkpoint_every: int = 200
    log_every: int = 10
    seed: int = 0
    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    devices: int = 1
    num_nodes: int = 1
    strategy: Literal["auto", "ddp"] = "auto"
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = "32-true"
    num_workers: int = 0
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.max_steps <= 0 or self.batch_size <= 0 or self.checkpoint_every <= 0 or self.log_every <= 0:
            raise ConfigError("trainer.max_steps, batch_size, checkpoint_every and log_every must be positive")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ConfigError(f"trainer.min_lr_ratio must be within [0, 1], got {self.min_lr_ratio}")
        world = self.devices * self.num_nodes
        if self.batch_size % world:
            raise ConfigError(f"trainer.batch_size ({self.batch_size}) must be divisible by devices x nodes ({world})")


class StepBatchSampler(Sampler[list[int]]):
    """Infinite sampler of index batches where step k's global batch is a pure function of (seed, k).

    Epoch e is the permutation drawn from seed+e; step k takes batch k mod (N // B) of epoch k // (N // B); this rank
    takes every ``world_size``-th index of it, starting at ``rank``.
    """

    def __init__(self, dataset_size: int, global_batch: int, seed: int, start_step: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if dataset_size < global_batch:
            raise ConfigError(f"the training set has {dataset_size} items, fewer than one batch of {global_batch}")
        self.dataset_size, self.global_batch, self.seed = dataset_size, global_batch, seed
        self.start_step, self.rank, self.world_size = start_step, rank, world_size

    def global_batch_at(self, step: int) -> list[int]:
        per_epoch = self.dataset_size // self.global_batch
        epoch, position = divmod(step, per_epoch)
        order = torch.randperm(self.dataset_size, generator=torch.Generator().manual_seed(self.seed + epoch))
        return order[position * self.global_batch:(position + 1) * self.global_batch].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            yield self.global_batch_at(step)[self.rank::self.world_size]
            step += 1


class TrainingModule(pl.LightningModule):
    """Wraps a model with ``loss(batch)`` for Lightning: AdamW, linear warm-up, per-step seeding, logging."""

    def __init__(self, model: torch.nn.Module, dataset: Dataset, config: TrainerConfig,
                 collate_fn: Callable | None = None) -> None:
        super().__init__()
        self.model = model
        self.dataset = dataset
        self.config = config
        self.collate_fn = collate_fn
        self.automatic_optimization = not uses_manual_optimization(model)

    def train_dataloader(self) -> DataLoader:
        # Built after a resume has restored global_step, so the stream continues exactly where it stopped.
        sampler = StepBatchSampler(len(self.dataset), self.config.batch_size, self.config.seed,
                                   start_step=self.trainer.global_step, rank=self.trainer.global_rank,
                                   world_size=self.trainer.world_size)
        return DataLoader(self.dataset, batch_sampler=sampler, collate_fn=self.collate_fn,
                          num_workers=self.config.num_workers, persistent_workers=self.config.num_workers > 0)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Randomness inside the loss (noise levels, dropout) depends on (seed, step, rank) only.
        step_seed = (self.config.seed * 1_000_003 + self.trainer.global_step) * 997 + self.trainer.global_rank
        torch.manual_seed(step_seed % (2**63 - 1))

    def _optimize(self, index: int, loss: torch.Tensor) -> None:
        """Manual door: back-propagate ``loss`` into optimiser ``index``'s parameters and step it (see module doc).

        Only the primary optimiser steps through Lightning's wrapper, so Lightning counts one step per batch."""
        wrapped = self.optimizers(use_pl_optimizer=True)
        wrapped = wrapped if isinstance(wrapped, list) else [wrapped]
        optimizer = wrapped[index]
        optimizer.optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.config.grad_clip:
            parameters = [p for group in optimizer.optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(parameters, self.config.grad_clip)
        if index == 0:
            optimizer.step()
            self._primary_steps += 1
        else:
            optimizer.optimizer.step()
        schedulers = self.lr_schedulers()
        (schedulers if isinstance(schedulers, list) else [schedulers])[index].step()

    def _manual_training_step(self, batch: Any) -> dict:
        self._primary_steps = 0
        outputs = self.model.training_step(batch, self.trainer.global_step, self._optimize)
        if self._primary_steps != 1:
            raise Diffs2stError(f"{type(self.model).__name__}.training_step stepped its primary optimiser "
                                f"{self._primary_steps} times; it must step it exactly once per batch")
        return outputs

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        outputs = self.model.loss(batch) if self.automatic_optimization else self._manual_training_step(batch)
        loss = outputs["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.global_step}")
        logs = {f"train/{k}": v.detach() if torch.is_tensor(v) else float(v) for k, v in outputs.items()}
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, sync_dist=self.trainer.world_size > 1,
                      batch_size=self.config.batch_size)
        self.log("loss", loss.detach(), prog_bar=True, logger=False, on_step=True, on_epoch=False)
        return loss

    def configure_optimizers(self):
        if self.automatic_optimization:
            optimizers = [torch.optim.AdamW(self.model.parameters(), lr=self.config.learning_rate,
                                            betas=self.config.betas, weight_decay=self.config.weight_decay)]
        else:
            optimizers = list(self.model.configure_optimizers(self.config))
        schedules = [torch.optim.lr_scheduler.LambdaLR(optimizer, partial(learning_rate_factor, config=self.config))
                     for optimizer in optimizers]
        return optimizers, [{"scheduler": schedule, "interval": "step"} for schedule in schedules]


def learning_rate_factor(step: int, config: TrainerConfig) -> float:
    """What ``config.learning_rate`` is multiplied by at optimiser step ``step`` (from 0): a linear warmup over
    ``warmup_steps``, then 1 ("constant") or a half cosine from 1 to ``min_lr_ratio`` at ``max_steps`` ("cosine")."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return 1.0
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps))
    return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def uses_manual_optimization(model: torch.nn.Module) -> bool:
    """Whether ``model`` takes the manual door (its own optimisers and training step) instead of ``loss(batch)``."""
    return callable(getattr(model, "training_step", None)) and callable(getattr(model, "configure_optimizers", None))


class AtomicCheckpoint(Callback):
    """Writes ``last.ckpt`` every ``every`` steps and at the end: into a temporary file, then renamed over the old
    one, so a kill at any moment leaves either the previous or the new checkpoint, never half of one."""

    def __init__(self, directory: Path, every: int) -> None:
        self.directory, self.every = Path(directory), every

    def _save(self, trainer: pl.Trainer) -> None:
        final = self.directory / LAST_CHECKPOINT
        temporary = self.directory / f".{LAST_CHECKPOINT}.tmp"
        trainer.save_checkpoint(temporary, weights_only=False)  # rank 0 writes; includes optimizer + EMA state
        trainer.strategy.barrier("atomic-checkpoint")
        if trainer.is_global_zero:
            os.replace(temporary, final)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            self._save(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._save(trainer)


class ReplicaCheck(Callback):
    """At the end of a multi-process run, measures how far the ranks' weights drifted apart (should be 0)."""

    def __init__(self) -> None:
        self.max_abs_diff = 0.0

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.world_size == 1:
            return
        flat = torch.cat([p.detach().reshape(-1).float() for p in pl_module.model.parameters()])
        gathered = trainer.strategy.all_gather(flat)
        self.max_abs_diff = float((gathered - gathered[0:1]).abs().max())


@dataclass
class TrainResult:
    """Where a run left its files, and its closing numbers."""

    run_dir: Path
    model_dir: Path
    steps: int
    metrics: dict


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's chatter silenced for the run only: the caller's warning filters and logger levels come back."""
    loggers = [logging.getLogger(name)
               for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for message in (".*does not have many workers.*", ".*infinite.*", ".*LeafSpec.*", ".*isinstance.*treespec.*"):
            warnings.filterwarnings("ignore", message)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def train(model: torch.nn.Module, dataset: Dataset, config: TrainerConfig, run_dir: str | os.PathLike,
          resume: bool = False, collate_fn: Callable | None = None, command: str | None = None) -> TrainResult:
    """Train ``model`` on ``dataset`` into ``run_dir`` (checkpoints/, logs/, model/).

    ``resume`` continues from ``run_dir/checkpoints/last.ckpt``; without it, a run directory that already holds a
    checkpoint is refused rather than overwritten. The process is left as it was found (warning filters, logger
    levels, environment).
    """
    with _quiet_lightning(), _scoped_environment(LOG_VERSION_VARIABLE, _log_version(Path(run_dir) / "logs")):
        return _train(model, dataset, config, Path(run_dir), resume, collate_fn, command)


def _train(model: torch.nn.Module, dataset: Dataset, config: TrainerConfig, run_dir: Path, resume: bool,
           collate_fn: Callable | None, command: str | None) -> TrainResult:
    checkpoint_dir = run_dir / "checkpoints"
    last = checkpoint_dir / LAST_CHECKPOINT
    if resume and not last.is_file():
        raise Diffs2stError(f"cannot resume: {last} does not exist (start without --resume)")
    if not resume and last.is_file():
        raise Diffs2stError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    if not run_dir.parent.is_dir():
        raise Diffs2stError(f"output folder {run_dir.parent} does not exist")
    manual = uses_manual_optimization(model)
    if manual and config.precision == "16-mixed":
        raise ConfigError("trainer.precision 16-mixed is not supported for models with several optimisers; "
                          "use bf16-mixed or 32-true")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    _record_architecture(model, run_dir)

    ema = EMA(config.ema_decay)
    replicas = ReplicaCheck()
    callbacks: list[Callback] = [ema, AtomicCheckpoint(checkpoint_dir, config.checkpoint_every), replicas]
    if config.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, config.log_every // 2)))
    version = os.environ[LOG_VERSION_VARIABLE]
    loggers = [CSVLogger(run_dir, name="logs", version=version),
               TensorBoardLogger(run_dir, name="logs", version=version)]
    trainer = pl.Trainer(
        max_steps=config.max_steps, max_epochs=-1, accelerator=config.accelerator, devices=config.devices,
        num_nodes=config.num_nodes, strategy=_strategy(config, manual),
        # the manual door clips per optimiser itself (Lightning refuses automatic clipping there)
        precision=config.precision, gradient_clip_val=None if manual else config.grad_clip or None, logger=loggers,
        callbacks=callbacks, enable_checkpointing=False, enable_progress_bar=config.progress_bar,
        enable_model_summary=False, log_every_n_steps=config.log_every, use_distributed_sampler=False,
        num_sanity_val_steps=0, limit_val_batches=0, deterministic=False,
    )
    module = TrainingModule(model, dataset, config, collate_fn)
    trainer.fit(module, ckpt_path=str(last) if resume else None, weights_only=True)

    model_dir = run_dir / "model"
    metrics = {
        "steps": trainer.global_step,
        "final_train_loss": _float(trainer.callback_metrics.get("loss")),
        "world_size": trainer.world_size,
        "replica_max_abs_diff": replicas.max_abs_diff,
        "command": command or " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }
    if trainer.is_global_zero:
        model.to("cpu")
        exported, state_dict = model, ema.averaged_state_dict(model)
        if callable(getattr(model, "export", None)):
            exported, state_dict = model.export(state_dict)
        save_checkpoint(model_dir, exported, metrics, state_dict=state_dict)
        (run_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return TrainResult(run_dir=run_dir, model_dir=model_dir, steps=trainer.global_step, metrics=metrics)


def _record_architecture(model: torch.nn.Module, run_dir: Path) -> None:
    """``run_dir/architecture.yaml`` (a checkpoint's config.yaml) when the trained model is the one exported, so
    `snapshot` can rebuild it; written at every start (a resume with other settings rewrites it), atomically, since
    every DDP rank writes the same file. A model its task exports a part of (``export``) gets none."""
    if callable(getattr(model, "export", None)):
        return
    try:
        staging = run_dir / f".{ARCHITECTURE_FILE}.{os.getpid()}"
        write_architecture(staging, model)
    except ConfigError:  # not a registered model
        return
    os.replace(staging, run_dir / ARCHITECTURE_FILE)


def snapshot(run_dir: str | os.PathLike, out: str | os.PathLike, like: str | os.PathLike | None = None) -> Path:
    """The EMA weights of ``run_dir``'s last checkpoint as a model folder ``out``, without touching the run (it may
    be training on). The model is rebuilt from the run's architecture.yaml (written when it started), or from
    ``like``, a checkpoint of the same architecture, for runs started before that file existed. A checkpoint whose
    tensors do not fit that architecture is refused."""
    run_dir = Path(run_dir)
    last = run_dir / "checkpoints" / LAST_CHECKPOINT
    if not last.is_file():
        raise Diffs2stError(f"{last} does not exist: no checkpoint to export yet")
    if like is None:
        architecture = run_dir / ARCHITECTURE_FILE
        if not architecture.is_file():
            raise Diffs2stError(f"{run_dir} has no {ARCHITECTURE_FILE} (a run started before it was written, or a "
                                "model its task exports a part of): pass --like CHECKPOINT of the same architecture")
        model_class, config = read_architecture(architecture)
    else:  # only the config is needed: the weights are the checkpoint's EMA ones
        architecture = Path(like)
        model_class, config = read_checkpoint_config(like)
    model = build_untrained(model_class, config)
    state = torch.load(last, map_location="cpu", weights_only=True)
    shadow = next((value["shadow"] for key, value in state.get("callbacks", {}).items() if key.startswith("EMA")),
                  None)
    if not shadow:
        raise Diffs2stError(f"{last} holds no EMA weights")
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    if {key: tuple(value.shape) for key, value in shadow.items()} != expected:
        raise CheckpointError(f"{last} does not fit the architecture of {architecture}")
    metrics = {"steps": int(state.get("global_step", 0)), "snapshot_of": str(last),
               "architecture_of": str(architecture)}
    return save_checkpoint(out, model, metrics, state_dict=shadow)


def _strategy(config: TrainerConfig, manual: bool) -> Any:
    if config.strategy != "ddp":
        return "auto"
    # A GAN step back-propagates losses that reach only part of the model (discriminator loss: not the generator).
    return DDPStrategy(find_unused_parameters=True) if manual else "ddp"


def _log_version(logs_dir: Path) -> str:
    """One log folder per start (logs/version_N), so a resumed run never overwrites the earlier part's logs.

    Worker ranks started by DDP read the launcher's choice from the environment instead of picking their own: the
    DDP launcher re-runs the command, and the environment is the one channel it passes on, so `train` sets the
    variable for the run only (`_scoped_environment`).
    """
    if os.environ.get("LOCAL_RANK", "0") != "0" and LOG_VERSION_VARIABLE in os.environ:
        return os.environ[LOG_VERSION_VARIABLE]
    existing = list(logs_dir.glob("version_*")) if logs_dir.is_dir() else []
    return f"version_{len(existing)}"


@contextlib.contextmanager
def _scoped_environment(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` inside the block; the earlier value (or its absence) afterwards."""
    earlier = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if earlier is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = earlier


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
