"""The null-condition convention shared by training (condition dropout) and classifier-free guidance.

A condition is None, a tensor whose first dimension is the batch, or a dict of such tensors. "No condition" for
one example is written into the same structure, so a batch can mix conditioned and unconditioned examples:

- integer tensors (class labels) take the value `NULL_LABEL` (−1); label embeddings keep a learned row for it;
- floating tensors (speaker vectors, condition sequences) are zeroed;
- boolean tensors (masks) are left alone;
- for a dict, only the entries named in ``keys`` are dropped (all when ``keys`` is None), so e.g. a frame prior μ
  can stay while the speaker vector is dropped.

A denoiser must treat ``cond=None`` exactly like an all-null condition.
"""

from __future__ import annotations

from typing import Any

import torch

NULL_LABEL = -1


def _drop_tensor(value: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
    if value.dtype == torch.bool:
        return value
    mask = drop.to(value.device).reshape(-1, *([1] * (value.dim() - 1)))
    null = torch.full_like(value, NULL_LABEL) if not value.is_floating_point() else torch.zeros_like(value)
    return torch.where(mask, null, value)


def drop_condition(cond: Any, drop: torch.Tensor, keys: tuple[str, ...] | None = None) -> Any:
    """``cond`` with the examples where ``drop`` (batch,) bool is True replaced by the null condition."""
    if cond is None:
        return None
    if isinstance(cond, torch.Tensor):
        return _drop_tensor(cond, drop)
    if isinstance(cond, dict):
        return {k: (_drop_tensor(v, drop) if isinstance(v, torch.Tensor) and (keys is None or k in keys) else v)
                for k, v in cond.items()}
    raise TypeError(f"a condition must be None, a tensor or a dict of tensors, got {type(cond).__name__}")


def batch_size_of(cond: Any) -> int | None:
    if isinstance(cond, torch.Tensor):
        return cond.shape[0]
    if isinstance(cond, dict):
        for value in cond.values():
            if isinstance(value, torch.Tensor):
                return value.shape[0]
    return None


def null_condition(cond: Any, keys: tuple[str, ...] | None = None) -> Any:
    """The all-null version of ``cond`` (same structure and shapes)."""
    batch = batch_size_of(cond)
    if batch is None:
        return None
    return drop_condition(cond, torch.ones(batch, dtype=torch.bool), keys)


def concat_conditions(first: Any, second: Any) -> Any:
    """Two conditions of the same structure joined along the batch (what one call for both halves reads)."""
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return torch.cat([first, second])
    if isinstance(first, dict):
        return {k: (torch.cat([v, second[k]]) if isinstance(v, torch.Tensor) else v) for k, v in first.items()}
    raise TypeError(f"a condition must be None, a tensor or a dict of tensors, got {type(first).__name__}")
