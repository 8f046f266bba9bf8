"""The training loss, generic over processes and prediction types."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .conditioning import batch_size_of, drop_condition
from .process import GaussianProcess

LOSSES = ("mse", "huber")


def diffusion_loss(denoiser, process: GaussianProcess, x0: torch.Tensor, cond: Any = None, *, loss: str = "mse",
                   huber_delta: float = 1.0, cond_dropout: float = 0.0, drop_keys: tuple[str, ...] | None = None,
                   mask: torch.Tensor | None = None, loss_space: str | None = None, t: torch.Tensor | None = None,
                   noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoising loss: E_t,ε ‖denoiser(x_t, t, cond) − target(x0, ε, t)‖ (Ho et al. 2020 eq. 14, generalised).

    x0: (batch, ...) clean data. ``t``/``noise`` default to ``process.sample_time`` and N(0, I).
    ``cond_dropout`` p replaces each example's condition by the null condition with probability p (the
    classifier-free guidance training of Ho & Salimans 2022; convention in `diffusion.conditioning`).
    ``mask`` (broadcastable to x0; 1 = real, 0 = padding) restricts the mean to real elements.
    ``loss``: "mse" or "huber" (Huber with ``huber_delta``; the prototype's smooth-L1 is delta 1).
    ``loss_space``: compare in another prediction space (one of PREDICTIONS) than the network's own, e.g. a score
    network with ``loss_space="epsilon"`` gets the weighting λ(t) = s(t)² of Song's tutorial (‖s·score + z‖²)
    instead of the 1/s² blow-up of a raw score MSE near t = 0.
    """
    if loss not in LOSSES:
        raise ConfigError(f"loss {loss!r} is not one of {', '.join(LOSSES)}")
    batch = x0.shape[0]
    if t is None:
        t = process.sample_time(batch, generator=generator, device=x0.device)
    if not process.discrete:
        t = t.to(x0.dtype)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    if cond_dropout > 0 and batch_size_of(cond) is not None:
        drop = torch.rand(batch, generator=generator, device=x0.device) < cond_dropout
        cond = drop_condition(cond, drop, drop_keys)
    x_t = process.perturb(x0, t, noise)
    prediction = denoiser(x_t, t, cond)
    if loss_space is not None and loss_space != process.prediction:
        prediction = process.convert(prediction, x_t, t, to=loss_space)
        target = process.from_x0_epsilon(x0, noise, t, kind=loss_space)
    else:
        target = process.target(x0, noise, t)
    if loss == "mse":
        elementwise = F.mse_loss(prediction, target, reduction="none")
    else:
        elementwise = F.huber_loss(prediction, target, reduction="none", delta=huber_delta)
    if mask is None:
        return elementwise.mean()
    weights = mask.to(elementwise.dtype).expand_as(elementwise)
    return (elementwise * weights).sum() / weights.sum().clamp_min(1.0)
