"""Transformer decoders (pre-norm). The target decoder of the multi-decoder model has a second cross-attention that
reads the source decoder's states: the "inter-decoder multi-head attention" of the prototype (DESIGN §1).

Shapes: tokens (batch, length) -> states (batch, length, d_model); memories are (batch, frames, d_model) with key
masks (batch, frames) True = real.

Search decodes one token at a time through `IncrementalDecoder`: each layer keeps the keys and values of the positions
decoded so far, and folds each memory into its cross-attention's query and output weights once per search
(`CrossAttention.fold_memory`), so a step costs one position instead of the whole prefix and a cross-attention two
small matrix products. It reuses the layers' own weights and equals the full pass to float precision (tested).
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

    def fold_memory(self, memory: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The memory folded into this attention's weights, once per search, so that `step` costs two small matrix
        products: with per-head query/output weights W_q,h and W_o,h, keys K_h and values V_h,
        score_h = (x W_q,h^T + b_q,h) K_h^T / sqrt(d_h) = x (K_h W_q,h / sqrt(d_h))^T + b_q,h K_h^T / sqrt(d_h), and
        out = sum_h softmax(score_h) (V_h W_o,h^T) + b_o. -> folded keys (batch, d, heads * frames), score bias
        (batch, 1, heads * frames) with -inf at padded frames, folded values (batch, heads * frames, d)."""
        attention = self.attention
        d, heads = attention.embed_dim, attention.num_heads
        scale = (d // heads) ** -0.5
        keys, values = F.linear(memory, attention.in_proj_weight[d:], attention.in_proj_bias[d:]).chunk(2, -1)
        keys, values = _split_heads(keys, heads), _split_heads(values, heads)  # (batch, heads, frames, d_head)
        query_weight = attention.in_proj_weight[:d].reshape(heads, d // heads, d) * scale
        query_bias = attention.in_proj_bias[:d].reshape(heads, 1, d // heads) * scale
        folded_keys = (keys @ query_weight[None]).flatten(1, 2).transpose(1, 2)
        bias = (keys * query_bias[None]).sum(-1).masked_fill(~mask[:, None], float("-inf")).flatten(1)[:, None]
        output_weight = attention.out_proj.weight.reshape(d, heads, d // heads).transpose(0, 1)  # (heads, d, d_head)
        folded_values = (values @ output_weight[None].transpose(2, 3)).flatten(1, 2)
        return folded_keys, bias, folded_values

    def step(self, x: torch.Tensor, folded: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """`forward` for one position x (batch, 1, d) over `fold_memory` (inference: no dropout)."""
        folded_keys, bias, folded_values = folded
        scores = torch.baddbmm(bias, self.norm(x), folded_keys)
        weights = scores.unflatten(-1, (self.attention.num_heads, -1)).softmax(-1).flatten(-2)
        return x + torch.baddbmm(self.attention.out_proj.bias, weights, folded_values)


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

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor],
             memories: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """`forward` for the next position x (batch, 1, d): ``cache`` holds the split-head keys and values of the
        positions before it, ``memories`` each memory as `CrossAttention.fold_memory` gives it; returns x and the
        extended cache."""
        attention = self.self_attention
        query, key, value = F.linear(self.self_norm(x), attention.in_proj_weight, attention.in_proj_bias).chunk(3, -1)
        keys = torch.cat([cache[0], _split_heads(key, attention.num_heads)], dim=2)
        values = torch.cat([cache[1], _split_heads(value, attention.num_heads)], dim=2)
        x = x + _attend(attention, query, keys, values)
        for attention, folded in zip(self.cross, memories):
            x = attention.step(x, folded)
        return x + self.ff(x), (keys, values)


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

    def embed(self, tokens: torch.Tensor, first_position: int = 0) -> torch.Tensor:
        """Token embeddings plus sinusoidal positions first_position, first_position + 1, ..."""
        positions = torch.arange(first_position, first_position + tokens.shape[1], device=tokens.device)
        # no sqrt(d) scaling: with N(0, 1) embeddings, tokens and positions then weigh alike (characters repeat)
        return self.embedding(tokens) + sinusoid_table(positions, self.d_model)

    def states(self, tokens: torch.Tensor, memories: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """(batch, length) token ids -> final hidden states (batch, length, d_model)."""
        length = tokens.shape[1]
        x = self.dropout(self.embed(tokens))
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


def _attend(attention: nn.MultiheadAttention, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
            ) -> torch.Tensor:
    """A projected query (batch, 1, d) over split-head keys/values -> ``attention``'s output (batch, 1, d)."""
    out = F.scaled_dot_product_attention(_split_heads(query, attention.num_heads), keys, values)
    return attention.out_proj(out.transpose(1, 2).reshape(query.shape))


class IncrementalDecoder:
    """A search scorer over one `TransformerDecoder` and its memories that extends each prefix by one position per
    call: ``scorer(prefixes, rows, parents) -> (n, vocab)`` next-token log-probabilities (see `search.Scorer`).

    ``memories_for(rows)`` gives the memories of the batch items ``rows``; it is called once, at the first step. A
    prefix's parent always belongs to the same batch item (`search.Scorer`), so the memories' keys and values never
    move; only the self-attention caches follow ``parents``. Each call's final states are kept while the prefixes
    keep their order (greedy search), for `states_of`; the first reordering (beam search) stops that."""

    def __init__(self, decoder: TransformerDecoder, memories_for) -> None:
        self.decoder, self.memories_for = decoder, memories_for
        self.self_cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.memory_cache: list[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = []
        # per call (n, 1, d_model), what `TransformerDecoder.states` gives; None once the prefixes were reordered
        self.final_states: list[torch.Tensor] | None = []

    def _start(self, rows: torch.Tensor) -> None:
        memories = self.memories_for(rows)
        heads = self.decoder.layers[0].self_attention.num_heads
        empty = memories[0][0].new_zeros(len(rows), heads, 0, self.decoder.d_model // heads)
        self.self_cache = [(empty, empty) for _ in self.decoder.layers]
        self.memory_cache = [[cross.fold_memory(memory, mask) for cross, (memory, mask) in zip(layer.cross, memories)]
                             for layer in self.decoder.layers]
        self.final_states = []

    def _reorder(self, parents: torch.Tensor) -> None:
        if torch.equal(parents, torch.arange(len(parents), device=parents.device)):
            return  # greedy search, or beams that kept their order: nothing moves
        self.self_cache = [(k[parents], v[parents]) for k, v in self.self_cache]
        self.final_states = None

    def __call__(self, prefixes: torch.Tensor, rows: torch.Tensor, parents: torch.Tensor | None) -> torch.Tensor:
        if parents is None:
            if prefixes.shape[1] != 1:
                raise ValueError("incremental decoding starts from a one-token prefix")
            self._start(rows)
        else:
            self._reorder(parents)
        x = self.decoder.embed(prefixes[:, -1:], first_position=prefixes.shape[1] - 1)
        for index, layer in enumerate(self.decoder.layers):
            x, self.self_cache[index] = layer.step(x, self.self_cache[index], self.memory_cache[index])
        x = self.decoder.norm(x)
        if self.final_states is not None:
            self.final_states.append(x)
        return self.decoder.project(x)[:, -1].log_softmax(-1)

    def states_of(self, sequences: list[list[int]]) -> torch.Tensor | None:
        """After a greedy search that returned ``sequences`` (one per batch item, without bos/eos): the final states
        of bos + each sequence (batch, longest + 1, d_model) as `TransformerDecoder.states` gives them, read from the
        search instead of recomputed; None where the search did not visit them all (a beam search, whose finished
        hypotheses left the prefixes, or a sequence cut at max_len)."""
        positions = max(map(len, sequences), default=0) + 1
        if not self.final_states or self.final_states[0].shape[0] != len(sequences) or positions > len(
                self.final_states):
            return None
        return torch.cat(self.final_states[:positions], dim=1)
