"""Transformer decoders (pre-norm). The target decoder of the multi-decoder model has a second cross-attention that
reads the source decoder's states: the "inter-decoder multi-head attention" of the prototype (DESIGN §1).

Shapes: tokens (batch, length) -> states (batch, length, d_model); memories are (batch, frames, d_model) with key
masks (batch, frames) True = real.
"""

from __future__ import annotations

import torch
from torch import nn

from .conformer import sinusoid_table
from .tokenizer import PAD


class CrossAttention(nn.Module):
    """Pre-norm residual multi-head attention from the decoder states to a memory."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
        out, _ = self.attention(self.norm(x), memory, memory, key_padding_mask=~memory_mask, need_weights=False)
        return x + self.dropout(out)


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, ff_mult: int, dropout: float, memories: int) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.cross = nn.ModuleList(CrossAttention(d_model, heads, dropout) for _ in range(memories))
        self.ff = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, ff_mult * d_model), nn.GELU(),
                                nn.Dropout(dropout), nn.Linear(ff_mult * d_model, d_model), nn.Dropout(dropout))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, causal: torch.Tensor, padding: torch.Tensor,
                memories: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        h = self.self_norm(x)
        out, _ = self.self_attention(h, h, h, attn_mask=causal, key_padding_mask=padding, need_weights=False)
        x = x + self.dropout(out)
        for attention, (memory, mask) in zip(self.cross, memories):
            x = attention(x, memory, mask)
        return x + self.ff(x)


class TransformerDecoder(nn.Module):
    """Autoregressive decoder over ``memories`` (1: the encoder; 2: the encoder and the source decoder)."""

    def __init__(self, vocab_size: int, d_model: int, layers: int, heads: int, ff_mult: int, dropout: float,
                 memories: int = 1) -> None:
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(DecoderLayer(d_model, heads, ff_mult, dropout, memories) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.project = nn.Linear(d_model, vocab_size)

    def states(self, tokens: torch.Tensor, memories: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """(batch, length) token ids -> final hidden states (batch, length, d_model)."""
        length = tokens.shape[1]
        # no sqrt(d) scaling: with N(0, 1) embeddings, tokens and positions then weigh alike (characters repeat)
        x = self.embedding(tokens) + sinusoid_table(torch.arange(length, device=tokens.device), self.d_model)
        x = self.dropout(x)
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        padding = tokens == PAD
        for layer in self.layers:
            x = layer(x, causal, padding, memories)
        return self.norm(x)

    def forward(self, tokens: torch.Tensor, memories: list[tuple[torch.Tensor, torch.Tensor]]):
        """-> (logits (batch, length, vocab), states (batch, length, d_model))."""
        states = self.states(tokens, memories)
        return self.project(states), states
