"""A tiny regression task used to test and demonstrate the training harness (seconds on a CPU)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from ..registry import MODELS
from .tasks import TASKS


@dataclass(frozen=True)
class ToyRegressorConfig:
    in_dim: int = 8
    hidden: int = 32
    out_dim: int = 2
    dropout: float = 0.1


@MODELS.register("toy-regressor")
class ToyRegressor(nn.Module):
    """MLP with dropout (so the harness's per-step seeding is exercised). x (batch, in_dim) -> (batch, out_dim)."""

    config_class = ToyRegressorConfig

    def __init__(self, config: ToyRegressorConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(nn.Linear(config.in_dim, config.hidden), nn.GELU(), nn.Dropout(config.dropout),
                                 nn.Linear(config.hidden, config.out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch
        return {"loss": nn.functional.mse_loss(self(x), y)}


@dataclass(frozen=True)
class ToyDataConfig:
    size: int = 256
    seed: int = 0


def toy_dataset(model: ToyRegressorConfig, data: ToyDataConfig) -> Dataset:
    """Inputs x ~ N(0, I) and targets sin(x W) from a fixed random teacher W."""
    generator = torch.Generator().manual_seed(data.seed)
    x = torch.randn(data.size, model.in_dim, generator=generator)
    teacher = torch.randn(model.in_dim, model.out_dim, generator=generator)
    return TensorDataset(x, torch.sin(x @ teacher))


@TASKS.register("toy")
class ToyTask:
    model_config = ToyRegressorConfig
    data_config = ToyDataConfig

    def build(self, model: ToyRegressorConfig, data: ToyDataConfig):
        torch.manual_seed(data.seed)  # initial weights depend on the run config only
        return ToyRegressor(model), toy_dataset(model, data), None
