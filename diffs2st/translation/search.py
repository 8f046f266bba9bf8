"""Batched greedy and beam search over any autoregressive scorer.

A scorer is ``next_log_probs(prefixes (n, length), rows (n,), parents) -> (n, vocab)`` log-probabilities of the next
token, where ``rows`` says which batch item each prefix belongs to (beam search expands items into several prefixes)
and ``parents`` (n,) which prefix of the previous call each prefix extends by one token (None at the first call, when
every prefix is bos): what a scorer that caches per-prefix state (`decoder.IncrementalDecoder`) reorders by.
``rows`` never changes during a search and a parent always belongs to the same batch item as its child, so per-item
state (a memory) never needs reordering.
Both searches return, per batch item, the best token sequence without bos/eos. A sequence that reaches ``max_len``
tokens without eos is cut there, and the search says so with a `TruncationWarning` (never silently).
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch

from ..errors import TruncationWarning
from .tokenizer import BOS, EOS, CharTokenizer

Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]


def greedy_search(next_log_probs: Scorer, batch: int, max_len: int, device: torch.device | str = "cpu"
                  ) -> list[list[int]]:
    """Pick the most probable token at every step until every item has produced eos or ``max_len`` tokens."""
    prefixes = torch.full((batch, 1), BOS, dtype=torch.long, device=device)
    rows = torch.arange(batch, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    parents = None
    for _ in range(max_len):
        tokens = next_log_probs(prefixes, rows, parents).argmax(dim=-1)
        parents = rows
        tokens = torch.where(finished, torch.full_like(tokens, EOS), tokens)
        prefixes = torch.cat([prefixes, tokens[:, None]], dim=1)
        finished |= tokens == EOS
        if bool(finished.all()):
            break
    return warn_if_cut([_strip(row) for row in prefixes[:, 1:].tolist()], max_len)


def beam_search(next_log_probs: Scorer, batch: int, max_len: int, beam: int = 4, length_penalty: float = 1.0,
                device: torch.device | str = "cpu") -> list[list[int]]:
    """Beam search; finished hypotheses are ranked by log p / length^length_penalty (length normalisation,
    Wu et al. 2016 in its simplest form)."""
    if beam <= 1:
        return greedy_search(next_log_probs, batch, max_len, device)
    prefixes = torch.full((batch * beam, 1), BOS, dtype=torch.long, device=device)
    rows = torch.arange(batch, device=device).repeat_interleave(beam)
    scores = torch.zeros(batch, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one alive
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    parents = None
    for step in range(max_len):
        log_probs = next_log_probs(prefixes, rows, parents)  # (batch*beam, vocab)
        vocab = log_probs.shape[-1]
        candidates = (scores.reshape(-1, 1) + log_probs).reshape(batch, beam * vocab)
        top_scores, top_index = candidates.topk(2 * beam, dim=-1)
        new_prefixes, new_parents = [], []
        new_scores = torch.full((batch, beam), float("-inf"), device=device)
        for item in range(batch):
            kept = 0
            for score, index in zip(top_scores[item].tolist(), top_index[item].tolist()):
                origin, token = divmod(index, vocab)
                sequence = prefixes[item * beam + origin]
                if token == EOS or step == max_len - 1:
                    if score > float("-inf"):
                        tokens = sequence[1:].tolist() + ([] if token == EOS else [token])
                        finished[item].append((score / max(1, len(tokens) + 1) ** length_penalty, tokens))
                    continue
                if kept < beam:
                    new_prefixes.append(torch.cat([sequence, sequence.new_tensor([token])]))
                    new_parents.append(item * beam + origin)
                    new_scores[item, kept] = score
                    kept += 1
            while kept < beam:  # pad dead beams (score -inf) so shapes stay fixed
                new_prefixes.append(torch.cat([prefixes[item * beam], prefixes.new_tensor([EOS])]))
                new_parents.append(item * beam)
                kept += 1
        prefixes, scores = torch.stack(new_prefixes), new_scores
        parents = torch.tensor(new_parents, dtype=torch.long, device=device)
        best_alive = scores.max(dim=-1).values
        if all(finished[i] and max(s for s, _ in finished[i]) >= best_alive[i].item() / max(1, step + 2)
               ** length_penalty for i in range(batch)):
            break
    return warn_if_cut([max(found)[1] if found else [] for found in finished], max_len)


def _strip(tokens: list[int]) -> list[int]:
    return tokens[: tokens.index(EOS)] if EOS in tokens else tokens


def warn_if_cut(sequences: list[list[int]], max_len: int) -> list[list[int]]:
    """``sequences`` unchanged; a `TruncationWarning` when any of them was cut at ``max_len`` (a sequence that ends
    with eos has at most max_len - 1 tokens)."""
    cut = sum(len(tokens) >= max_len for tokens in sequences)
    if cut:
        warnings.warn(f"{cut} of {len(sequences)} decoded sequences reached the limit of {max_len} tokens without "
                      "an end token and were cut there: translate shorter segments (translate_long splits long "
                      "input on silence) or raise the model's max_text_length", TruncationWarning, stacklevel=3)
    return sequences


# ------------------------------------------------------------------------------------------ repetition control
# Word loops ("the expensive table table", "at two at two o'clock") are the decoders' typical failure: the bundled
# distilled target decoder wrote one in 26 of 500 test-unseen clips, the full one in 6. None of the corpus grammar's
# sentences repeats a run of words ("hot hot" twice in 60 000 pairs), so an immediate repeat of a run of words is
# taken for a loop, except a single word shorter than MIN_REPEAT_CHARACTERS or one of ALLOWED_REPEATS (French
# reflexive "nous nous", "vous vous"). The repair deletes the second copy: searching again with the loop's first
# token banned (tried first) made the decoder spell the same word with another letter ("huge shouse", "delicious
# selicious"); the loops are insertions, and deleting them lifted the distilled decoder's BLEU more.
MAX_REPEAT_WORDS = 4
MIN_REPEAT_CHARACTERS = 3
ALLOWED_REPEATS = ("nous", "vous")


def loop_rule(tokenizer: CharTokenizer, enabled: bool = True
              ) -> tuple[frozenset[int] | None, frozenset[tuple[int, ...]]]:
    """(word_breaks, allowed) of `search_without_repeats` / `remove_repeats` for ``tokenizer``'s text; word_breaks is
    None when not ``enabled`` (loops are kept)."""
    return (tokenizer.word_breaks if enabled else None), tokenizer.word_ids(ALLOWED_REPEATS)


def words_of(tokens: list[int], word_breaks: frozenset[int]) -> list[tuple[int, int]]:
    """(start, end) token indices of each word of ``tokens``: the maximal runs without a word-break token."""
    words, start = [], None
    for index, token in enumerate(tokens):
        if token in word_breaks:
            if start is not None:
                words.append((start, index))
            start = None
        elif start is None:
            start = index
    if start is not None:
        words.append((start, len(tokens)))
    return words


def find_repeat(tokens: list[int], word_breaks: frozenset[int], allowed: frozenset[tuple[int, ...]] = frozenset()
                ) -> tuple[int, int] | None:
    """The first immediate repeat of a run of 1..MAX_REPEAT_WORDS words in ``tokens``, as the token span to delete
    (from the end of the first copy to the end of the second: the separator and the copy), or None. A single word
    shorter than MIN_REPEAT_CHARACTERS or in ``allowed`` (token ids of words) does not count."""
    spans = words_of(tokens, word_breaks)
    words = [tuple(tokens[a:b]) for a, b in spans]
    for end in range(2, len(words) + 1):  # the earliest second copy that is complete
        for size in range(1, min(MAX_REPEAT_WORDS, end // 2) + 1):
            if words[end - 2 * size:end - size] != words[end - size:end]:
                continue
            if size == 1 and (len(words[end - 1]) < MIN_REPEAT_CHARACTERS or words[end - 1] in allowed):
                continue
            return spans[end - size - 1][1], spans[end - 1][1]
    return None


def has_word_loop(text: str) -> bool:
    """Whether ``text`` repeats a run of words immediately (`find_repeat` on its characters, case ignored): the
    loop rate the S2ST reports count in ASR transcripts."""
    chars = list(text.lower())
    breaks = frozenset(c for c in chars if c.isspace() or (not c.isalnum() and c not in "'’-"))
    return find_repeat(chars, breaks, frozenset(tuple(word) for word in ALLOWED_REPEATS)) is not None


def remove_repeats(tokens: list[int], word_breaks: frozenset[int], allowed: frozenset[tuple[int, ...]] = frozenset()
                   ) -> list[int]:
    """``tokens`` with every immediately repeated run of words (`find_repeat`) said once."""
    tokens = list(tokens)
    while (span := find_repeat(tokens, word_breaks, allowed)) is not None:
        del tokens[span[0]:span[1]]
    return tokens


def search_without_repeats(scorer: Scorer, batch: int, max_len: int, beam: int = 1, length_penalty: float = 1.0,
                           device: torch.device | str = "cpu", word_breaks: frozenset[int] | None = None,
                           allowed: frozenset[tuple[int, ...]] = frozenset()) -> tuple[list[list[int]], list[int]]:
    """`beam_search` (greedy for beam 1), then word loops removed (`remove_repeats`; ``word_breaks`` None leaves
    them). Returns the sequences and the batch items that were changed (the scorer's cached states no longer
    match them)."""
    sequences = beam_search(scorer, batch, max_len, beam, length_penalty, device)
    if not word_breaks:
        return sequences, []
    repaired = [remove_repeats(tokens, word_breaks, allowed) for tokens in sequences]
    return repaired, [item for item, (old, new) in enumerate(zip(sequences, repaired)) if old != new]
