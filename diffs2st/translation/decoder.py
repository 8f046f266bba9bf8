"""Transformer decoders (pre-norm). The target decoder of the multi-decoder model has a second cross-attention that
reads the source decoder's states: the "inter-decoder multi-head attention" of the prototype (DESIGN §1).

Shapes: tokens (batch, length) -> states (batch, length, d_model); memories are (batch, frames, d_model) with key
masks (batch, frames) True = real.

Search decodes one token at a time through `IncrementalDecoder`: each layer keeps the keys and values of the positions
decoded so far and each memory's projected keys and values, so a step costs one position instead of the whole prefix.
It reuses the layers' own weights and equals the full pass to float precision (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, length, d) -> (batch, heads, length, d / heads)."""
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(1, 2)


def _projections(attention: nn.MultiheadAttention) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """The (weight, bias) of the query, key and value projections of an `nn.MultiheadAttention`."""
    return tuple(zip(attention.in_proj_weight.chunk(3), attention.in_proj_bias.chunk(3)))


def _attend(attention: nn.MultiheadAttention, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """One query position (batch, 1, d) over split-head keys/values -> the attention's output (batch, 1, d)."""
    (wq, bq), _, _ = _projections(attention)
    q = _split_heads(F.linear(query, wq, bq), attention.num_heads)
    out = F.scaled_dot_product_attention(q, keys, values, attn_mask=None if mask is None else mask[:, None, None])
    return attention.out_proj(out.transpose(1, 2).reshape(query.shape))


class IncrementalDecoder:
    """A search scorer over one `TransformerDecoder` and its memories that extends each prefix by one position per
    call: ``scorer(prefixes, rows, parents) -> (n, vocab)`` next-token log-probabilities (see `search.Scorer`).

    ``memories_for(rows)`` gives the memories of the batch items ``rows``; it is called once, at the first step."""

    def __init__(self, decoder: TransformerDecoder, memories_for) -> None:
        self.decoder, self.memories_for = decoder, memories_for
        self.self_cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.memory_cache: list[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = []

    def _start(self, rows: torch.Tensor) -> None:
        memories = self.memories_for(rows)
        self.self_cache, self.memory_cache = [], []
        for layer in self.decoder.layers:
            projected = []
            for cross, (memory, mask) in zip(layer.cross, memories):
                _, (wk, bk), (wv, bv) = _projections(cross.attention)
                heads = cross.attention.num_heads
                projected.append((_split_heads(F.linear(memory, wk, bk), heads),
                                  _split_heads(F.linear(memory, wv, bv), heads), mask))
            self.memory_cache.append(projected)

    def _reorder(self, parents: torch.Tensor) -> None:
        self.self_cache = [(k[parents], v[parents]) for k, v in self.self_cache]
        self.memory_cache = [[(k[parents], v[parents], m[parents]) for k, v, m in layer]
                             for layer in self.memory_cache]

    def __call__(self, prefixes: torch.Tensor, rows: torch.Tensor, parents: torch.Tensor | None) -> torch.Tensor:
        if parents is None:
            if prefixes.shape[1] != 1:
                raise ValueError("incremental decoding starts from a one-token prefix")
            self._start(rows)
        else:
            self._reorder(parents)
        decoder, position = self.decoder, prefixes.shape[1] - 1
        positions = torch.tensor([position], device=prefixes.device)
        x = decoder.embedding(prefixes[:, -1:]) + sinusoid_table(positions, decoder.d_model)
        for index, layer in enumerate(decoder.layers):
            h = layer.self_norm(x)
            _, (wk, bk), (wv, bv) = _projections(layer.self_attention)
            heads = layer.self_attention.num_heads
            k, v = _split_heads(F.linear(h, wk, bk), heads), _split_heads(F.linear(h, wv, bv), heads)
            if index < len(self.self_cache):
                k = torch.cat([self.self_cache[index][0], k], dim=2)
                v = torch.cat([self.self_cache[index][1], v], dim=2)
                self.self_cache[index] = (k, v)
            else:
                self.self_cache.append((k, v))
            x = x + _attend(layer.self_attention, h, k, v)
            for cross, (keys, values, mask) in zip(layer.cross, self.memory_cache[index]):
                x = x + _attend(cross.attention, cross.norm(x), keys, values, mask)
            x = x + layer.ff(x)
        return decoder.project(decoder.norm(x))[:, -1].log_softmax(-1)
