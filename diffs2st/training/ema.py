"""Exponential moving average of model weights, as a Lightning callback whose state travels in the checkpoint."""

from __future__ import annotations

import torch
from lightning.pytorch import Callback


class EMA(Callback):
    """Keeps ``shadow = decay * shadow + (1 - decay) * weights`` after every optimizer step.

    The effective decay warms up as min(decay, (1 + step) / (10 + step)) so early averages are not dominated by
    the random initialisation. Buffers (e.g. normalisation statistics) are copied, not averaged.
    """

    def __init__(self, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.shadow: dict[str, torch.Tensor] = {}
        self.updates = 0

    @torch.no_grad()
    def _update(self, model: torch.nn.Module) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in model.state_dict().items():
            if name not in self.shadow:
                self.shadow[name] = value.detach().clone()
            elif value.is_floating_point():
                self.shadow[name].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                self.shadow[name].copy_(value)
        self.updates += 1

    def on_fit_start(self, trainer, pl_module) -> None:
        self.shadow = {k: v.to(pl_module.device) for k, v in self.shadow.items()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._update(pl_module.model)

    def averaged_state_dict(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """EMA weights for ``model`` (its own weights where no update happened yet)."""
        return {name: self.shadow.get(name, value).detach().clone() for name, value in model.state_dict().items()}

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": {k: v.cpu() for k, v in self.shadow.items()}}

    def load_state_dict(self, state_dict: dict) -> None:
        self.decay = state_dict["decay"]
        self.updates = state_dict["updates"]
        self.shadow = {k: v.clone() for k, v in state_dict["shadow"].items()}
