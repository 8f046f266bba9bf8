"""Learned alignment between token states and mel frames: monotonic alignment search (Kim et al. 2020, Glow-TTS
Alg. 1) and length regulation (FastSpeech). The alignment is found from the model's own frame prior, never read
from the synthesizer that made the corpus (DESIGN §2)."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError


def monotonic_alignment(log_likelihood: torch.Tensor, token_lengths: torch.Tensor,
                        frame_lengths: torch.Tensor) -> torch.Tensor:
    """Durations (batch, tokens) of the monotonic, surjective alignment maximising the summed log-likelihood.

    ``log_likelihood`` (batch, tokens, frames): score of frame t under token n's prior. Every frame goes to exactly
    one token, token order is kept, every real token gets >= 1 frame; padding gets 0. Dynamic programming over
    frames, vectorised over tokens: Q[n, t] = max(Q[n, t-1], Q[n-1, t-1]) + L[n, t].
    """
    scores = log_likelihood.detach().float().cpu().numpy()
    durations = np.zeros(scores.shape[:2], dtype=np.int64)
    for row, (n_tokens, n_frames) in enumerate(zip(token_lengths.tolist(), frame_lengths.tolist())):
        if n_frames < n_tokens:
            raise DataError(f"alignment needs at least as many frames as tokens, got {n_frames} frames for "
                            f"{n_tokens} tokens")
        value = np.full((n_tokens, n_frames), -np.inf)
        value[0, 0] = scores[row, 0, 0]
        for t in range(1, n_frames):
            previous = value[:, t - 1]
            shifted = np.concatenate([[-np.inf], previous[:-1]])
            value[:, t] = np.maximum(previous, shifted) + scores[row, :n_tokens, t]
        token = n_tokens - 1
        for t in range(n_frames - 1, -1, -1):
            durations[row, token] += 1
            if token > 0 and (token == t or value[token - 1, t - 1] > value[token, t - 1]):
                token -= 1
    return torch.from_numpy(durations).to(log_likelihood.device)


def length_regulate(values: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat token values (batch, channels, tokens) by integer durations (batch, tokens) -> frame values
    (batch, channels, max frames) zero-padded, and frame lengths (batch,)."""
    lengths = durations.sum(-1)
    out = values.new_zeros(values.shape[0], values.shape[1], int(lengths.max()))
    for row in range(values.shape[0]):
        expanded = torch.repeat_interleave(values[row], durations[row], dim=-1)
        out[row, :, :expanded.shape[-1]] = expanded
    return out, lengths


def gaussian_log_likelihood(frames: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """log N(y_t; mu_n, I) up to a constant for frames (batch, channels, T) and means (batch, channels, N) ->
    (batch, N, T), as −½‖y_t − mu_n‖² expanded into matrix products."""
    cross = torch.einsum("bcn,bct->bnt", means, frames)
    return cross - 0.5 * (means ** 2).sum(1)[:, :, None] - 0.5 * (frames ** 2).sum(1)[:, None, :]
