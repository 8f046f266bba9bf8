"""Denoiser backbones: networks with the contract ``net(x_t, t, cond) -> prediction``.

- `unet2d.UNet2D` ("unet2d"): mel images (batch, channels, mels, frames), class labels by FiLM or cross-attention;
- `unet1d.UNet1D` ("unet1d"): frame sequences (batch, channels, frames) with a frame prior μ, a global vector
  (speaker) by FiLM, cross-attention to a condition sequence and a frame mask;
- `mlp.MLPDenoiser` ("mlp-denoiser"): vectors (batch, dim), for toy problems.

Each is registered in `diffs2st.registry.MODELS` with a frozen dataclass config, so checkpoints rebuild it.
"""

from __future__ import annotations

import importlib

from torch import nn

BACKBONE_MODULES = ("diffs2st.nets.mlp", "diffs2st.nets.unet1d", "diffs2st.nets.unet2d", "diffs2st.nets.classifier")


def build_backbone(name: str, config: dict) -> nn.Module:
    """A backbone from its registered name and a config dict (unknown keys are a `ConfigError`)."""
    from ..config import from_dict
    from ..registry import MODELS

    for module in BACKBONE_MODULES:
        importlib.import_module(module)
    model_class = MODELS.get(name)
    return model_class(from_dict(model_class.config_class, config, f"backbone {name}"))
