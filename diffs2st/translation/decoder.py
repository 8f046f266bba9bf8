"""Transformer decoders (pre-norm). The target decoder of the multi-decoder model has a second cross-attention that
reads the source decoder's states: the "inter-decoder multi-head attention" of the prototype (DESIGN §1).

Shapes: tokens (batch, length) -> states (batch, length, d_model); memories are (batch, frames, d_model) with key
masks (batch, frames) True = real.

Search decodes one token at a time through `IncrementalDecoder`: each layer keeps the keys and values of the positions
decoded so far, and folds each memory into its cross-attention's query and output weights once per search
(`CrossAttention.fold_memory`), so a step costs one position instead of the whole prefix and a cross-attention two
small matrix products. It reuses the layers' own weights and equals the full pass to float precision (tested).
A step may also feed several positions at once (causal inside the block), and the caches can be cut back to a
shorter prefix: what `speculative_greedy` needs to check a cheap draft decoder's proposals with one pass of the full
decoder (Leviathan et al. 2023, "Fast inference from transformers via speculative decoding", greedy case).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .conformer import sinusoid_table
from .search import warn_if_cut
from .tokenizer import BOS, EOS, PAD


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
        """`forward` for positions x (batch, n, d) over `fold_memory` (inference: no dropout)."""
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
        """`forward` for the next positions x (batch, n, d), causal among themselves: ``cache`` holds the split-head
        keys and values of the positions before them, ``memories`` each memory as `CrossAttention.fold_memory` gives
        it; returns x and the extended cache."""
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
    """Projected queries (batch, n, d) of the last n positions over split-head keys/values (batch, heads, length,
    d / heads) -> ``attention``'s output (batch, n, d); query i sees the keys up to its own position."""
    n, length = query.shape[1], keys.shape[2]
    # one query sees every key: no mask, so the one-position step stays the plain kernel call
    causal = None if n == 1 else torch.ones(n, length, dtype=torch.bool, device=query.device).tril(length - n)
    out = F.scaled_dot_product_attention(_split_heads(query, attention.num_heads), keys, values, attn_mask=causal)
    return attention.out_proj(out.transpose(1, 2).reshape(query.shape))


class IncrementalDecoder:
    """A search scorer over one `TransformerDecoder` and its memories that extends each prefix by one position per
    call: ``scorer(prefixes, rows, parents) -> (n, vocab)`` next-token log-probabilities (see `search.Scorer`).

    ``memories_for(rows)`` gives the memories of the batch items ``rows``; it is called once, at the first step. A
    prefix's parent always belongs to the same batch item (`search.Scorer`), so the memories' keys and values never
    move; only the self-attention caches follow ``parents``. Each call's final states are kept while the prefixes
    keep their order (greedy search), for `states_of`; the first reordering (beam search) stops that.

    `start`, `extend` and `truncate` drive it directly (`speculative_greedy`): feed several positions at once, cut
    the caches back to a prefix."""

    def __init__(self, decoder: TransformerDecoder, memories_for) -> None:
        self.decoder, self.memories_for = decoder, memories_for
        self.self_cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.memory_cache: list[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = []
        # per call (n, positions fed, d_model), what `TransformerDecoder.states` gives; None once the prefixes were
        # reordered
        self.final_states: list[torch.Tensor] | None = []

    @property
    def length(self) -> int:
        """How many positions the caches hold."""
        return self.self_cache[0][0].shape[2] if self.self_cache else 0

    def start(self, rows: torch.Tensor) -> None:
        """Empty caches and the memories of the batch items ``rows`` folded, for a new search."""
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
            self.start(rows)
        else:
            self._reorder(parents)
        return self.extend(prefixes[:, -1:])[:, -1].log_softmax(-1)

    def extend(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens`` (n, m) at the next m positions (after the `length` cached ones) in one pass, causal among
        themselves -> logits (n, m, vocab) of the token after each."""
        x = self.decoder.embed(tokens, first_position=self.length)
        for index, layer in enumerate(self.decoder.layers):
            x, self.self_cache[index] = layer.step(x, self.self_cache[index], self.memory_cache[index])
        x = self.decoder.norm(x)
        if self.final_states is not None:
            self.final_states.append(x)
        return self.decoder.project(x)

    def truncate(self, length: int) -> None:
        """Forget every position from ``length`` on (caches and kept states), as if only the first ``length`` had
        been fed."""
        self.self_cache = [(k[:, :, :length], v[:, :, :length]) for k, v in self.self_cache]
        if self.final_states:
            self.final_states = [torch.cat(self.final_states, dim=1)[:, :length]]

    def states_of(self, sequences: list[list[int]]) -> torch.Tensor | None:
        """After a greedy search that returned ``sequences`` (one per batch item, without bos/eos): the final states
        of bos + each sequence (batch, longest + 1, d_model) as `TransformerDecoder.states` gives them, read from the
        search instead of recomputed; None where the search did not visit them all (a beam search, whose finished
        hypotheses left the prefixes, or a sequence cut at max_len)."""
        positions = max(map(len, sequences), default=0) + 1
        if not self.final_states or self.final_states[0].shape[0] != len(sequences) or positions > sum(
                states.shape[1] for states in self.final_states):
            return None
        return torch.cat(self.final_states, dim=1)[:, :positions]


@dataclass
class Speculation:
    """What `speculative_greedy` found: the tokens (without bos/eos) and how many draft tokens it proposed and the
    full decoder accepted, in how many rounds (one full-decoder pass each)."""

    tokens: list[int]
    proposed: int = 0
    accepted: int = 0
    rounds: int = 0


def speculative_greedy(full: IncrementalDecoder, draft: IncrementalDecoder, max_len: int, draft_tokens: int = 8
                       ) -> Speculation:
    """Greedy search of the ``full`` scorer for one batch item, with most steps taken by the cheap ``draft`` scorer
    (both started on the same item, `IncrementalDecoder.start`): per round the draft proposes up to ``draft_tokens``
    tokens greedily, the full decoder scores them all in one pass, the longest prefix it agrees with is kept plus its
    own token at the first disagreement (or after the last proposal), and both caches are cut back to what was kept.
    The result is the full decoder's greedy search token for token (up to float ties); afterwards ``full`` holds the
    states of bos + tokens (`IncrementalDecoder.states_of`) unless the sequence was cut at ``max_len``, which warns
    like `search.greedy_search`."""
    if draft_tokens < 1:
        raise ValueError("draft_tokens must be at least 1")
    device = full.memory_cache[0][0][0].device
    prefix, found = [BOS], Speculation([])
    # invariant at each round's start: both caches hold at most prefix[:-1]; each decoder is fed what it lacks
    while len(prefix) - 1 < max_len and prefix[-1] != EOS:
        # propose no more than fit: the round emits up to one token more than the draft proposed
        budget, proposals = min(draft_tokens, max_len - (len(prefix) - 1) - 1), []
        while len(proposals) < budget and (not proposals or proposals[-1] != EOS):
            fed = (prefix + proposals)[draft.length:]
            proposals.append(int(draft.extend(torch.tensor([fed], device=device))[0, -1].argmax()))
        start = full.length
        checked = full.extend(torch.tensor([(prefix + proposals)[start:]], device=device))[0].argmax(-1).tolist()
        checked = checked[len(prefix) - 1 - start:]  # the full decoder's token after prefix, proposals[0], ...
        kept = 0
        while kept < len(proposals) and checked[kept] == proposals[kept]:
            kept += 1
        emitted = proposals[:kept] + [checked[kept]]
        if EOS in emitted:
            emitted = emitted[: emitted.index(EOS) + 1]  # an accepted eos ends the sequence: nothing after it
        prefix += emitted
        found.proposed += len(proposals)
        found.accepted += kept
        found.rounds += 1
        full.truncate(len(prefix) - 1)
        draft.truncate(min(draft.length, len(prefix) - 1))
    found.tokens = prefix[1:-1] if prefix[-1] == EOS else prefix[1:]
    warn_if_cut([found.tokens], max_len)
    return found
