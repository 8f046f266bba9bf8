"""Speech translation: Conformer pieces against direct computations, search on analytic scorers, every variant's
training door and inference door, a tiny model that learns, checkpoint round trip, the transcribe command."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from diffs2st.audio import MelConfig, save_audio
from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.cli.main import main
from diffs2st.data.augment import AugmentConfig
from diffs2st.data.manifest import S2STRecord, read_manifest, write_manifest
from diffs2st.errors import ConfigError, DataError, TruncationWarning
from diffs2st.training.harness import train
from diffs2st.training.tasks import build_run, load_run_config
from diffs2st.translation import VARIANTS, CharTokenizer, SpeechTranslator, SpeechTranslatorConfig, translate_long
from diffs2st.translation.conformer import ConformerConfig, ConformerEncoder, rel_shift, subsampled_lengths
from diffs2st.translation.data import SourceMels
from diffs2st.translation.decoder import IncrementalDecoder, TransformerDecoder, speculative_greedy
from diffs2st.translation.search import (beam_search, find_repeat, greedy_search, has_word_loop, remove_repeats,
                                        search_without_repeats)
from diffs2st.translation.tokenizer import BOS, EOS, PAD, build_symbols

TEXTS = [("le chat dort.", "the cat sleeps."), ("où est-il ?", "where is he?")]


def tiny_config(variant: str = "multi-decoder", **changes) -> SpeechTranslatorConfig:
    src = build_symbols(s for s, _ in TEXTS)
    tgt = build_symbols(t for _, t in TEXTS)
    settings = dict(decoder_layers=1, decoder_heads=2, decoder_dropout=0.0, src_symbols=src, tgt_symbols=tgt,
                    label_smoothing=0.0, max_text_length=40)
    return SpeechTranslatorConfig(variant=variant, encoder=ConformerConfig(d_model=32, layers=1, heads=2, conv_kernel=5,
                                                                           dropout=0.0), **{**settings, **changes})


def test_tokenizer_round_trip_and_unknown_characters():
    tokenizer = CharTokenizer(build_symbols(["où est-il ?"]))
    assert tokenizer.decode(tokenizer.encode("où est-il ?")) == "où est-il ?"
    assert tokenizer.decode(tokenizer.encode("oùZ")) == "où"  # unknown -> unk, skipped on decoding
    batch = tokenizer.batch(["où", "il ?"])
    assert batch[0].tolist()[:4] == [BOS, *tokenizer.encode("où"), EOS]
    assert tokenizer.decode(batch[1, 1:].tolist()) == "il ?"


def test_rel_shift_puts_relative_position_i_minus_j_at_i_j():
    t = 5
    positions = torch.arange(t - 1, -t, -1)  # the order relative_positions uses
    scores = positions.float().expand(2, t, 2 * t - 1)  # score = the relative position itself
    shifted = rel_shift(scores)
    expected = (torch.arange(t)[:, None] - torch.arange(t)[None]).float()
    assert torch.equal(shifted[0], expected) and torch.equal(shifted[1], expected)


def test_encoder_shapes_and_padding_does_not_change_real_frames():
    torch.manual_seed(0)
    encoder = ConformerEncoder(80, ConformerConfig(d_model=32, layers=2, heads=2, conv_kernel=5, dropout=0.0)).eval()
    x = torch.randn(1, 80, 50)
    alone, mask = encoder(x, torch.tensor([50]))
    assert alone.shape == (1, int(subsampled_lengths(torch.tensor([50]))), 32) and bool(mask.all())
    padded = torch.cat([x, torch.randn(1, 80, 30)], dim=2)
    together, mask2 = encoder(torch.cat([padded, torch.randn(1, 80, 80)]), torch.tensor([50, 80]))
    assert int(mask2[0].sum()) == alone.shape[1]
    torch.testing.assert_close(together[0, : alone.shape[1]], alone[0], atol=1e-5, rtol=1e-4)


def _markov_scorer(table: torch.Tensor):
    """Next-token log-probs depend only on the last token: an analytic model for the searches."""
    def score(prefixes, rows, parents):
        return table[prefixes[:, -1]]
    return score


def test_greedy_and_beam_search_on_an_analytic_model():
    vocab = 6
    logits = torch.full((vocab, vocab), -20.0)
    # from bos: token 4 (p .55) or token 5 (p .45); 4 -> eos only with p .3 / 4 -> 5 with .7; 5 -> eos with p .99
    logits[BOS, 4], logits[BOS, 5] = math.log(0.55), math.log(0.45)
    logits[4, EOS], logits[4, 5] = math.log(0.3), math.log(0.7)
    logits[5, EOS] = math.log(0.99)
    table = logits.log_softmax(-1)
    greedy = greedy_search(_markov_scorer(table), batch=2, max_len=5)
    assert greedy == [[4, 5], [4, 5]]  # .55 * .7 * .99 = .38
    # without length normalisation, the single token 5 (.45 * .99 = .45) is the most probable sequence
    beam = beam_search(_markov_scorer(table), batch=2, max_len=5, beam=3, length_penalty=0.0)
    assert beam == [[5], [5]]


@pytest.mark.parametrize("beam", [1, 3])
def test_decoding_cut_at_max_len_warns(beam):
    """A sequence that reaches max_len without eos is cut with a TruncationWarning (it once was cut silently); one
    that ends in time is not."""
    vocab = 6
    looping = torch.full((vocab, vocab), -20.0)
    looping[:, 4] = 0.0  # always token 4, never eos
    with pytest.warns(TruncationWarning, match="2 of 2 decoded sequences reached the limit of 5 tokens"):
        assert beam_search(_markov_scorer(looping.log_softmax(-1)), batch=2, max_len=5, beam=beam) == [[4] * 5] * 2
    ending = looping.clone()
    ending[4, EOS] = 5.0  # 4 then eos
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        assert beam_search(_markov_scorer(ending.log_softmax(-1)), batch=2, max_len=2, beam=beam) == [[4]] * 2


def _remove_loops(text: str) -> str:
    tokenizer = CharTokenizer(build_symbols([text]))
    return tokenizer.decode(remove_repeats(tokenizer.encode(text), tokenizer.word_breaks,
                                           tokenizer.word_ids(("nous", "vous"))))


def test_word_loops_are_said_once():
    """The decoders' loops (seen in the bundled models' outputs) lose their second copy; what is not a loop stays."""
    assert _remove_loops("My salad is on the expensive table table.") == "My salad is on the expensive table."
    assert (_remove_loops("He is going to offer cakes at two at two o'clock.")
            == "He is going to offer cakes at two o'clock.")
    assert _remove_loops("The radio is in the famous the famous shop.") == "The radio is in the famous shop."
    assert _remove_loops("the the the the") == "the"  # a loop cut at max_len
    assert _remove_loops("seventy seventy seven") == "seventy seven"
    for fine in ("Nous nous levons tôt.", "a a b", "le chat dort.", "They learn a French cookbook.", "tables table"):
        assert _remove_loops(fine) == fine
    tokenizer = CharTokenizer(build_symbols(["où est-il ? l'eau, aujourd'hui"]))
    assert {tokenizer.decode([i]) for i in tokenizer.word_breaks} == {" ", "?", ","}  # ' and - stay in words
    assert find_repeat(tokenizer.encode("où est-il ?"), tokenizer.word_breaks) is None


def test_word_loop_rate_counts_loops_in_text():
    assert has_word_loop("where is your comfortable comfortable trade")
    assert has_word_loop("you send a small French small French story")
    assert has_word_loop("Where is the gray toy, toy?")  # punctuation between the copies
    assert not has_word_loop("how many husbands is the pilot going to listen to")
    assert not has_word_loop("nous nous levons") and not has_word_loop("")


@pytest.mark.parametrize("beam", [1, 3])
def test_search_without_repeats_repairs_what_loops(beam):
    """An analytic decoder that says "abc abc ..." until max_len: its loop is said once; the items it changed are
    named (their cached decoder states are stale); without word breaks the search is plain beam search."""
    vocab, space = 8, 7
    logits = torch.full((vocab, vocab), -20.0)
    logits[BOS, 4], logits[4, 5], logits[5, 6], logits[6, space], logits[space, 4] = 0.0, 0.0, 0.0, 0.0, 0.0
    scorer = _markov_scorer(logits.log_softmax(-1))
    with pytest.warns(TruncationWarning):
        plain = beam_search(scorer, batch=2, max_len=10, beam=beam)
    assert plain == [[4, 5, 6, space, 4, 5, 6, space, 4, 5]] * 2
    with pytest.warns(TruncationWarning):
        fixed, repaired = search_without_repeats(scorer, 2, 10, beam, word_breaks=frozenset({space}))
    assert fixed == [[4, 5, 6, space, 4, 5]] * 2 and repaired == [0, 1]  # the cut last word is not a copy
    with pytest.warns(TruncationWarning):
        assert search_without_repeats(scorer, 2, 10, beam, word_breaks=None) == (plain, [])


@pytest.mark.parametrize("beam", [1, 3])
def test_incremental_decoding_equals_the_full_pass(beam):
    """The cached one-position-per-step scorer gives the full recomputation's log-probs and the same search result,
    also when beam search reorders the prefixes (two memories, as in the target decoder, one of them padded)."""
    torch.manual_seed(0)
    decoder = TransformerDecoder(vocab_size=12, d_model=32, layers=2, heads=4, ff_mult=2, dropout=0.1, memories=2)
    decoder.eval()
    memories = [(torch.randn(2, 7, 32), torch.tensor([[True] * 7, [True] * 4 + [False] * 3])),
                (torch.randn(2, 5, 32), torch.ones(2, 5, dtype=torch.bool))]
    seen = []

    def full(prefixes, rows, parents):
        logits, _ = decoder(prefixes, [(m[rows], k[rows]) for m, k in memories])
        seen.append((prefixes, rows, parents))
        return logits[:, -1].log_softmax(-1)

    with torch.inference_mode():
        expected = beam_search(full, batch=2, max_len=9, beam=beam)
        incremental = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        calls = list(seen)
        for prefixes, rows, parents in calls:  # replay the search's calls, reorderings included
            torch.testing.assert_close(incremental(prefixes, rows, parents), full(prefixes, rows, parents),
                                       atol=1e-5, rtol=1e-5)
        fresh = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        assert beam_search(fresh, batch=2, max_len=9, beam=beam) == expected
    reordered = [p for _, _, p in calls[1:] if not torch.equal(p, torch.arange(len(p)))]
    assert len(calls) > 3 and (beam == 1 or reordered)


def test_greedy_search_hands_back_the_states_it_computed():
    """After a greedy search the decoder's final states of bos + each result come from the search (no second pass)
    and equal the full pass at every real position; a beam search or a sequence cut at max_len gets None."""
    torch.manual_seed(1)
    decoder = TransformerDecoder(vocab_size=12, d_model=32, layers=2, heads=4, ff_mult=2, dropout=0.1, memories=2)
    decoder.eval()
    with torch.no_grad():  # a random decoder rarely stops: make eos likely so the results differ in length
        decoder.project.bias[EOS] += 0.5
        decoder.project.bias[[PAD, BOS]] -= 5.0
    memories = [(torch.randn(3, 7, 32), torch.tensor([[True] * 7, [True] * 4 + [False] * 3, [True] * 7])),
                (torch.randn(3, 5, 32), torch.ones(3, 5, dtype=torch.bool))]
    with torch.inference_mode():
        scorer = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        found = greedy_search(scorer, batch=3, max_len=12)
        assert len({len(ids) for ids in found}) > 1 and max(map(len, found)) < 12
        recorded = scorer.states_of(found)
        full = decoder.states(SpeechTranslator._decoder_input(found, "cpu"), memories)
        for row, ids in enumerate(found):
            torch.testing.assert_close(recorded[row, : len(ids) + 1], full[row, : len(ids) + 1], atol=1e-5, rtol=1e-5)

        cut = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        assert cut.states_of(greedy_search(cut, batch=3, max_len=2)) is None  # [9, 6, 8] cut to [9, 6]
        beams = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        assert beams.states_of(beam_search(beams, batch=3, max_len=12, beam=2)) is None


def _random_decoder(seed: int, layers: int = 2, eos_bias: float = 0.5) -> TransformerDecoder:
    """A random eval-mode target-like decoder (two memories) that stops now and then (eos made likely)."""
    torch.manual_seed(seed)
    decoder = TransformerDecoder(vocab_size=12, d_model=32, layers=layers, heads=4, ff_mult=2, dropout=0.1,
                                 memories=2).eval()
    with torch.no_grad():
        decoder.project.bias[EOS] += eos_bias
        decoder.project.bias[[PAD, BOS]] -= 5.0
    return decoder


def _random_memories(seed: int, batch: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 7, dtype=torch.bool)
    mask[batch // 2, 4:] = False  # one item's encoder memory padded
    return [(torch.randn(batch, 7, 32, generator=generator), mask),
            (torch.randn(batch, 5, 32, generator=generator), torch.ones(batch, 5, dtype=torch.bool))]


def test_multi_position_step_equals_one_position_steps():
    """Feeding a block of positions at once (causal inside the block, over the cache) gives the logits and states
    of feeding them one by one, and cutting the caches back then feeding other tokens equals never having fed the
    cut ones."""
    decoder, memories = _random_decoder(2), _random_memories(3, batch=2)
    tokens = torch.tensor([[BOS, 4, 7, 5, 9, 6, 8], [BOS, 6, 6, 10, 4, 5, 7]])
    with torch.inference_mode():
        one = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        one.start(torch.arange(2))
        singles = torch.cat([one.extend(tokens[:, i:i + 1]) for i in range(7)], dim=1)
        block = IncrementalDecoder(decoder, lambda rows: [(m[rows], k[rows]) for m, k in memories])
        block.start(torch.arange(2))
        blocks = torch.cat([block.extend(tokens[:, :2]), block.extend(tokens[:, 2:7])], dim=1)
        torch.testing.assert_close(blocks, singles, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(block.states_of([[0] * 6] * 2), one.states_of([[0] * 6] * 2), atol=1e-5, rtol=1e-5)
        full_logits, full_states = decoder(tokens, memories)
        torch.testing.assert_close(blocks, full_logits, atol=1e-5, rtol=1e-5)

        other = torch.tensor([[3, 11], [9, 4]])
        block.truncate(4)
        assert block.length == 4
        after_cut = block.extend(other)
        fresh_tokens = torch.cat([tokens[:, :4], other], dim=1)
        fresh_logits, fresh_states = decoder(fresh_tokens, memories)
        torch.testing.assert_close(after_cut, fresh_logits[:, 4:], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(block.states_of([[0] * 5] * 2), fresh_states, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("draft_tokens", [1, 4])
@pytest.mark.parametrize("same_draft", [True, False])
def test_speculative_greedy_is_the_full_decoders_greedy_search(draft_tokens, same_draft):
    """With a draft that always agrees (the full decoder itself: every proposal accepted) or a different random one
    (many rejected), speculative decoding returns the full decoder's greedy tokens and final states, eos falling
    inside a block included."""
    full = _random_decoder(1)
    draft = full if same_draft else _random_decoder(5, layers=1)
    memories = _random_memories(0)
    ends_inside_a_block = 0
    with torch.inference_mode():
        for item in range(3):
            def memories_for(rows, item=item):
                return [(m[item:item + 1][rows], k[item:item + 1][rows]) for m, k in memories]

            reference = IncrementalDecoder(full, memories_for)
            (expected,) = greedy_search(reference, batch=1, max_len=20)
            scorer, drafter = IncrementalDecoder(full, memories_for), IncrementalDecoder(draft, memories_for)
            scorer.start(torch.arange(1))
            drafter.start(torch.arange(1))
            found = speculative_greedy(scorer, drafter, max_len=20, draft_tokens=draft_tokens)
            assert found.tokens == expected and 0 < len(expected) < 19
            torch.testing.assert_close(scorer.states_of([found.tokens]), reference.states_of([expected]), atol=1e-5,
                                       rtol=1e-5)
            assert found.rounds <= len(expected) + 1 and found.proposed <= draft_tokens * found.rounds
            if same_draft:
                assert found.accepted == found.proposed and found.rounds == math.ceil((len(expected) + 1) /
                                                                                     (draft_tokens + 1))
                ends_inside_a_block += (len(expected) + 1) % (draft_tokens + 1) != 0
            else:
                assert found.accepted < found.proposed
    assert not same_draft or draft_tokens == 1 or ends_inside_a_block


@pytest.mark.parametrize("max_len", [6, 7])
def test_speculative_greedy_cut_at_max_len_inside_a_block_warns(max_len):
    """A decoder that does not stop is cut at max_len mid-block (4 proposals, then 0 or 1 fit), exactly where greedy
    search cuts it, with the same warning; the states of the cut sequence are left to recompute (None)."""
    full, memories = _random_decoder(1, eos_bias=-20.0), _random_memories(0, batch=1)
    memories_for = lambda rows: [(m[rows], k[rows]) for m, k in memories]  # noqa: E731
    with torch.inference_mode():
        with pytest.warns(TruncationWarning):
            (expected,) = greedy_search(IncrementalDecoder(full, memories_for), batch=1, max_len=max_len)
        for draft in (full, _random_decoder(5, layers=1)):
            scorer, drafter = IncrementalDecoder(full, memories_for), IncrementalDecoder(draft, memories_for)
            scorer.start(torch.arange(1))
            drafter.start(torch.arange(1))
            with pytest.warns(TruncationWarning, match=f"limit of {max_len} tokens"):
                found = speculative_greedy(scorer, drafter, max_len=max_len, draft_tokens=4)
            assert found.tokens == expected and len(expected) == max_len and scorer.states_of([expected]) is None


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_and_translates(variant):
    torch.manual_seed(0)
    model = SpeechTranslator(tiny_config(variant))
    src, tgt = model.src_tokenizer.batch([s for s, _ in TEXTS]), model.tgt_tokenizer.batch([t for _, t in TEXTS])
    batch = {"mel": torch.randn(2, 80, 60), "lengths": torch.tensor([60, 45]), "src": src, "tgt": tgt}
    losses = model.loss(batch)
    assert torch.isfinite(losses["loss"]) and ("source" in losses) == (variant != "single")
    losses["loss"].backward()
    model.eval()
    waves = [np.random.default_rng(i).standard_normal(8000).astype(np.float32) * 0.1 for i in range(2)]
    results = model.translate(waves, beam=2)
    assert len(results) == 2
    for result in results:
        assert result.tgt_states.shape == (len(result.tgt_tokens) + 1, 32)
        assert set(result.timings) == {"encoder", "source_decoder", "target_decoder"}


def test_translate_recomputes_the_states_of_a_repaired_translation(monkeypatch):
    """When loop repair changes a target sequence, its states are those of the repaired tokens (a causal decoder:
    the first positions' states of the original run), not the search's cached ones."""
    import diffs2st.translation.model as model_module

    torch.manual_seed(0)
    model = SpeechTranslator(tiny_config(max_text_length=12)).eval()
    waves = [np.random.default_rng(i).standard_normal(8000).astype(np.float32) * 0.1 for i in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        before = model.translate(waves, block_repeats=False)
        real = model_module.search_without_repeats

        def cut_first_target(scorer, batch, *args, **kwargs):
            ids, _ = real(scorer, batch, *args, **kwargs)
            if scorer.decoder is model.target_decoder:
                return [ids[0][:2], *ids[1:]], [0]
            return ids, []

        monkeypatch.setattr(model_module, "search_without_repeats", cut_first_target)
        after = model.translate(waves)
    assert after[0].tgt_tokens == before[0].tgt_tokens[:2] and len(before[0].tgt_tokens) > 2
    torch.testing.assert_close(after[0].tgt_states, before[0].tgt_states[:3], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(after[1].tgt_states, before[1].tgt_states)


def test_translate_with_a_draft_gives_the_greedy_translation(monkeypatch):
    """`translate` with a draft decoder (the target decoder itself, or a random one-layer decoder) gives greedy
    search's tokens and states for one utterance and counts its proposals; a batch falls back to plain greedy (same
    output, no counts); a repaired word loop gets its states recomputed; beam search or a mismatched draft is a
    clear error."""
    import diffs2st.translation.model as model_module

    torch.manual_seed(0)
    model = SpeechTranslator(tiny_config()).eval()
    other = SpeechTranslator(tiny_config(target_decoder_layers=1)).eval().target_decoder
    waves = [np.random.default_rng(i).standard_normal(8000).astype(np.float32) * 0.1 for i in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        greedy = model.translate(waves)
        for draft in (model.target_decoder, other):
            for wave, expected in zip(waves, greedy):
                (found,) = model.translate([wave], draft=draft, draft_tokens=4)
                assert found.tgt_tokens == expected.tgt_tokens and found.speculation["rounds"] >= 1
                torch.testing.assert_close(found.tgt_states, expected.tgt_states, atol=1e-5, rtol=1e-4)
            batch = model.translate(waves, draft=draft)
            assert [r.tgt_tokens for r in batch] == [r.tgt_tokens for r in greedy] and not batch[0].speculation

        monkeypatch.setattr(model_module, "remove_repeats", lambda tokens, *args: tokens[:2])
        (cut,) = model.translate(waves[:1], draft=other)
    assert cut.tgt_tokens == greedy[0].tgt_tokens[:2] and len(greedy[0].tgt_tokens) > 2
    torch.testing.assert_close(cut.tgt_states, greedy[0].tgt_states[:3], atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="beam must be 1"):
        model.translate(waves[:1], beam=2, draft=other)
    with pytest.raises(ConfigError, match="same memories"):
        model.translate(waves[:1], draft=SpeechTranslator(tiny_config("two-decoders")).target_decoder)
    with pytest.raises(ConfigError, match="draft_tokens"):
        model.translate(waves[:1], draft=other, draft_tokens=0)


def test_single_decoder_needs_ctc():
    with pytest.raises(ConfigError, match="ctc_weight"):
        tiny_config("single", ctc_weight=0.0)


def _write_corpus(folder, n_repeats: int = 4):
    """Two 'sentences', each a distinct tone pattern, in a manifest (repeated so a batch holds both)."""
    records = []
    for index, (fr, en) in enumerate(TEXTS * n_repeats):
        rate = MelConfig().sample_rate
        t = np.arange(int(0.8 * rate)) / rate
        pitch = 180 if index % 2 == 0 else 330
        wave = (0.3 * np.sin(2 * np.pi * pitch * t) * (1 + 0.5 * np.sin(2 * np.pi * (3 + index % 2 * 4) * t)))
        save_audio(folder / f"u{index}.wav", wave.astype(np.float32), rate)
        records.append(S2STRecord(id=f"u{index}", speaker="s", src_audio=f"u{index}.wav", src_text=fr, tgt_text=en))
    return write_manifest(folder / "train.jsonl", records)


def test_augmented_copies_are_seeded_views_of_every_utterance(tmp_path):
    """With augmented copies the task's dataset holds clean + K seeded views per utterance, configured from YAML;
    a view reads the same twice, views differ from the clean mel and from each other, texts follow the utterance."""
    manifest = _write_corpus(tmp_path, n_repeats=1)
    config_path = tmp_path / "run.yaml"
    config_path.write_text(f"""
task: speech-translation
model: {{encoder: {{d_model: 32, layers: 1, heads: 2, conv_kernel: 5}}, decoder_layers: 1, decoder_heads: 2}}
data:
  train_manifest: {manifest}
  progress: false
  augmented_copies: 2
  augment: {{speed_probability: 0, reverb_probability: 0, bandlimit_probability: 0, codec_probability: 0,
            noise_probability: 1.0, snr_db: [10, 20], pad_probability: 1.0, pad_seconds: [0.1, 0.3]}}
""")
    _, dataset, collate = build_run(load_run_config(config_path))
    assert len(dataset) == 2 * 3
    clean, fr, en = dataset[0]
    assert torch.equal(clean, dataset.mels[0]) and (fr, en) == TEXTS[0]
    first, fr2, en2 = dataset[2]  # utterance 0, first augmented view
    assert (fr2, en2) == TEXTS[0] and torch.equal(first, dataset[2][0])
    assert first.shape[1] > clean.shape[1] + 15  # at least 0.2 s of padding (10 ms frames)
    second = dataset[4][0]
    assert first.shape != second.shape or not torch.equal(first, second)
    assert collate([dataset[i] for i in range(len(dataset))])["mel"].shape[0] == 6
    with pytest.raises(DataError, match="augment configuration"):
        SourceMels(manifest, MelConfig(), augmented_copies=1)


def test_family_weights_repeat_a_voice_family(tmp_path):
    """family_weights repeats the utterances of the named family in every view (their augmented repeats differ);
    a family the manifest lacks, or a weight below 1, is a one-line error."""
    manifest = _write_corpus(tmp_path, n_repeats=1)
    records = [dataclasses.replace(r, speaker_spec={"family": family, "base_voice": "v"})
               for r, family in zip(read_manifest(manifest, S2STRecord), ("kokoro", "flite"))]
    manifest = write_manifest(tmp_path / "families.jsonl", records)
    noise = AugmentConfig(speed_probability=0, reverb_probability=0, bandlimit_probability=0, codec_probability=0,
                          noise_probability=1.0, snr_db=(10, 20), pad_probability=0)
    dataset = SourceMels(manifest, MelConfig(), progress=False, augment=noise, augmented_copies=1,
                         family_weights={"kokoro": 3})
    assert dataset.order == [0, 0, 0, 1] and len(dataset) == 8
    assert [dataset[i][1] for i in range(4)] == [TEXTS[0][0]] * 3 + [TEXTS[1][0]]
    repeats = [dataset[4 + i][0] for i in range(3)]  # the kokoro utterance's three augmented views
    assert not torch.equal(repeats[0], repeats[1]) and not torch.equal(repeats[1], repeats[2])
    with pytest.raises(DataError, match="espeak-ng, which the manifest does not hold"):
        SourceMels(manifest, MelConfig(), progress=False, family_weights={"espeak-ng": 2})
    with pytest.raises(DataError, match="whole numbers >= 1"):
        SourceMels(manifest, MelConfig(), progress=False, family_weights={"kokoro": 0})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny multi-decoder model trained through the task and the harness until it learns the two pairs."""
    folder = tmp_path_factory.mktemp("st")
    manifest = _write_corpus(folder)
    config_path = folder / "run.yaml"
    config_path.write_text(f"""
task: speech-translation
model:
  encoder: {{d_model: 48, layers: 1, heads: 2, conv_kernel: 5, dropout: 0.0}}
  decoder_layers: 1
  decoder_heads: 2
  decoder_dropout: 0.0
  label_smoothing: 0.0
  specaugment: {{freq_masks: 0, time_masks: 0}}
data: {{train_manifest: {manifest}, progress: false}}
trainer: {{max_steps: 150, batch_size: 4, learning_rate: 0.003, ema_decay: 0.0, checkpoint_every: 150,
          log_every: 50, progress_bar: false}}
""")
    config = load_run_config(config_path)
    model, dataset, collate = build_run(config)
    result = train(model, dataset, config.trainer, folder / "run", collate_fn=collate)
    return folder, manifest, result.model_dir


def test_tiny_model_learns_both_pairs_and_round_trips(trained, tmp_path):
    folder, manifest, model_dir = trained
    model = load_checkpoint(model_dir).model
    from diffs2st.audio import load_audio
    waves = [load_audio(folder / f"u{i}.wav", model.config.mel.sample_rate) for i in (0, 1)]
    results = model.translate(waves)
    assert [(r.src_text, r.tgt_text) for r in results] == TEXTS
    assert model.transcribe(waves) == [fr for fr, _ in TEXTS]  # the cascade's first stage: source decoding only
    # reading the reference texts gives the states decoding them gave (what the acoustic synthesizer trains on)
    forced = model.teacher_forced_states(waves, [s for s, _ in TEXTS], [t for _, t in TEXTS])
    for result, states in zip(results, forced):
        torch.testing.assert_close(states, result.tgt_states, atol=1e-5, rtol=1e-4)
    save_checkpoint(tmp_path / "copy", model)
    again = load_checkpoint(tmp_path / "copy").model.translate(waves)
    for a, b in zip(results, again):
        assert a.tgt_tokens == b.tgt_tokens and torch.equal(a.tgt_states, b.tgt_states)
    # a long input is cut at silences and every part is translated
    silence = np.zeros(8000, dtype=np.float32)
    joined = translate_long(model, np.concatenate([waves[0], silence, waves[1]]), max_segment_seconds=1.2)
    assert joined.tgt_text == " ".join(t for _, t in TEXTS)


def test_transcribe_command(trained, tmp_path, capsys):
    folder, manifest, model_dir = trained
    out = tmp_path / "hyp.jsonl"
    assert main(["transcribe", str(manifest), "--model", str(model_dir), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["src_text"], r["tgt_text"]) for r in rows[:2]] == TEXTS
    capsys.readouterr()
    assert main(["transcribe", str(folder / "u1.wav"), "--model", str(model_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tgt_text"] == TEXTS[1][1]
    # batch input without -o, a missing model, a missing input: one-line errors, exit 2
    assert main(["transcribe", str(manifest), "--model", str(model_dir)]) == 2
    assert main(["transcribe", str(folder / "u1.wav"), "--model", str(tmp_path / "none")]) == 2
    assert main(["transcribe", str(tmp_path / "nope.wav"), "--model", str(model_dir)]) == 2
    assert capsys.readouterr().err.count("error:") == 3


def test_demo_translation_part_runs_on_a_translator(trained, tmp_path, monkeypatch):
    from diffs2st.cli.demo import ST_SOURCE, run_translation_demo

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where a Kokoro voice joins its model
    _, _, model_dir = trained
    summary = run_translation_demo(tmp_path, model_dir)
    assert (tmp_path / "st_source.wav").is_file() and summary["seconds"] > 1.0
    assert summary["voice"]["family"] in ("kokoro", "espeak-ng")  # a held-out voice of corpus v2
    assert 0.0 <= summary["tgt_bleu"] <= 100.0 and summary["src_wer"] >= 0.0 and ST_SOURCE
    assert run_translation_demo(tmp_path, tmp_path / "no-model") is None


def test_text_translator_learns_two_pairs_through_the_task(tmp_path):
    """The cascade's text MT: the "text-translation" task trains a tiny model that reproduces its two pairs."""
    from diffs2st.translation.text import TextTranslator

    manifest = _write_corpus(tmp_path)
    overrides = ["trainer.progress_bar=false", "trainer.max_steps=120", "trainer.batch_size=4",
                 "trainer.learning_rate=0.003", "trainer.warmup_steps=0", "trainer.ema_decay=0.0",
                 "trainer.checkpoint_every=120", f"data.train_manifest={manifest}", "model.d_model=32",
                 "model.encoder_layers=1", "model.decoder_layers=1", "model.heads=2", "model.dropout=0.0",
                 "model.label_smoothing=0.0"]
    config = load_run_config(Path(__file__).parents[1] / "configs" / "text-mt.yaml", overrides)
    model, dataset, collate = build_run(config)
    result = train(model, dataset, config.trainer, tmp_path / "run", collate_fn=collate)
    loaded = load_checkpoint(result.model_dir).model
    assert isinstance(loaded, TextTranslator)
    assert loaded.translate([fr for fr, _ in TEXTS]) == [en for _, en in TEXTS]
    assert loaded.translate([fr for fr, _ in TEXTS], beam=3) == [en for _, en in TEXTS]


def test_distilled_student_starts_as_its_teacher_and_learns_a_deeper_one():
    """The distillation wrapper copies the teacher (a student as deep as its teacher matches it exactly), freezes
    everything but the target decoder, and a shallower student moves toward a deeper teacher's states."""
    from diffs2st.translation.distill import TargetDecoderDistillation, TargetDistillationConfig

    torch.manual_seed(0)
    teacher = SpeechTranslator(tiny_config(decoder_layers=2)).eval()
    src, tgt = teacher.src_tokenizer.batch([s for s, _ in TEXTS]), teacher.tgt_tokenizer.batch([t for _, t in TEXTS])
    batch = {"mel": torch.randn(2, 80, 60), "lengths": torch.tensor([60, 45]), "src": src, "tgt": tgt}
    twin = TargetDecoderDistillation(TargetDistillationConfig(target_decoder_layers=2), teacher)
    losses = twin.loss(batch)
    assert float(losses["divergence"]) < 1e-6 and float(losses["state_mse"]) < 1e-10

    wrapper = TargetDecoderDistillation(TargetDistillationConfig(target_decoder_layers=1, state_weight=10.0), teacher)
    assert len(wrapper.student.target_decoder.layers) == 1 and wrapper.student.config.target_decoder_layers == 1
    trainable = {name for name, p in wrapper.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith("student.target_decoder.") for name in trainable)
    encoder_before = [p.clone() for p in wrapper.student.encoder.parameters()]
    optimizer = torch.optim.Adam([p for p in wrapper.parameters() if p.requires_grad], lr=3e-3)
    first = float(wrapper.loss(batch)["state_mse"])
    for _ in range(60):
        optimizer.zero_grad()
        wrapper.loss(batch)["loss"].backward()
        optimizer.step()
    assert float(wrapper.loss(batch)["state_mse"]) < 0.5 * first
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, wrapper.student.encoder.parameters()))
    student, weights = wrapper.export(wrapper.state_dict())
    assert student is wrapper.student and set(weights) == set(student.state_dict())

    # the teacher's outputs computed once per utterance (each alone, unpadded) give the loss the teacher gives live
    from diffs2st.translation.data import TranslationCollate
    from diffs2st.translation.distill import TeacherOutputs
    items = [(batch["mel"][0], *TEXTS[0]), (batch["mel"][1, :, :45], *TEXTS[1])]
    collate = TranslationCollate(teacher.config.mel, teacher.src_tokenizer, teacher.tgt_tokenizer)
    cached = TeacherOutputs(wrapper, items, collate, progress=False, batch_size=1)
    assert wrapper.training and len(cached) == 2 and cached[1]["encoded"].shape[0] < cached[0]["encoded"].shape[0]
    wrapper.eval()
    live, once = wrapper.loss(collate(items)), wrapper.loss(cached.collate([cached[0], cached[1]]))
    for name in ("loss", "divergence", "state_mse", "target"):
        assert torch.allclose(live[name], once[name], rtol=1e-4, atol=1e-6), name
    with pytest.raises(ConfigError, match="deeper"):
        TargetDecoderDistillation(TargetDistillationConfig(target_decoder_layers=3), teacher)


def test_distillation_task_ships_a_student_with_the_teachers_transcripts(trained, tmp_path):
    folder, manifest, model_dir = trained
    config_path = tmp_path / "distill.yaml"
    config_path.write_text(f"""
task: st-target-distillation
model: {{teacher: {model_dir}, target_decoder_layers: 1}}
data: {{train_manifest: {manifest}, progress: false}}
trainer: {{max_steps: 20, batch_size: 4, learning_rate: 0.001, ema_decay: 0.0, checkpoint_every: 20,
          log_every: 10, progress_bar: false}}
""")
    config = load_run_config(config_path)
    model, dataset, collate = build_run(config)
    from diffs2st.translation.distill import TeacherOutputs
    assert isinstance(dataset, TeacherOutputs)  # cache_teacher is the default
    result = train(model, dataset, config.trainer, tmp_path / "run", collate_fn=collate)
    student, teacher = load_checkpoint(result.model_dir).model, load_checkpoint(model_dir).model
    assert isinstance(student, SpeechTranslator) and student.config.target_decoder_layers == 1
    for name, value in teacher.state_dict().items():
        if not name.startswith("target_decoder."):
            assert torch.equal(student.state_dict()[name], value), name
    from diffs2st.audio import load_audio
    waves = [load_audio(folder / f"u{i}.wav", teacher.config.mel.sample_rate) for i in (0, 1)]
    assert student.transcribe(waves) == teacher.transcribe(waves)
    assert [r.tgt_text for r in student.translate(waves)] == [t for _, t in TEXTS]


@pytest.mark.parametrize("config_name", ["text-mt.yaml", "st-multidecoder.yaml"])
def test_initial_weights_follow_the_run_configs_seed(tmp_path, config_name):
    """The tasks' initial weights are seeded by trainer.seed (they once hard-coded seed 0), and building a run
    leaves the caller's random state alone."""
    manifest = _write_corpus(tmp_path, n_repeats=1)
    small = (["model.d_model=16", "model.encoder_layers=1", "model.decoder_layers=1", "model.heads=2"]
             if config_name == "text-mt.yaml" else
             ["model.encoder.d_model=16", "model.encoder.layers=1", "model.encoder.heads=2", "model.decoder_layers=1",
              "model.decoder_heads=2", "data.progress=false", "data.family_weights={}"])  # toy corpus: no families

    def weights(seed: int) -> torch.Tensor:
        overrides = [f"data.train_manifest={manifest}", f"trainer.seed={seed}"] + small
        config = load_run_config(Path(__file__).parents[1] / "configs" / config_name, overrides)
        model, _, _ = build_run(config)
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = weights(1)
    assert torch.equal(torch.rand(1), expected_next)
    assert torch.equal(first, weights(1))
    assert not torch.equal(first, weights(2))
