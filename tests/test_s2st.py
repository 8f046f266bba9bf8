"""The S2ST acoustic synthesizer: monotonic alignment search against brute force, length regulation, and the
synthesizer's loss, sampling contract and learning on a toy example."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
import torch

from diffs2st.audio import MelConfig
from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.errors import ConfigError, DataError
from diffs2st.nets.unet1d import UNet1DConfig
from diffs2st.s2st.alignment import gaussian_log_likelihood, length_regulate, monotonic_alignment
from diffs2st.s2st.synthesizer import AcousticSynthesizer, SynthesizerConfig

MEL = MelConfig()
CONFIGS = Path(__file__).parents[1] / "configs"


def brute_force_durations(scores: torch.Tensor) -> list[int]:
    """Best monotonic surjective alignment of a (tokens, frames) score matrix by enumerating every split."""
    tokens, frames = scores.shape
    best, best_durations = -float("inf"), None
    for cuts in itertools.combinations(range(1, frames), tokens - 1):
        bounds = (0, *cuts, frames)
        total = sum(scores[n, bounds[n]:bounds[n + 1]].sum().item() for n in range(tokens))
        if total > best:
            best, best_durations = total, [bounds[n + 1] - bounds[n] for n in range(tokens)]
    return best_durations


def test_monotonic_alignment_matches_brute_force_and_respects_lengths():
    torch.manual_seed(0)
    scores = torch.randn(2, 4, 9)
    durations = monotonic_alignment(scores, torch.tensor([4, 3]), torch.tensor([9, 7]))
    assert durations[0].tolist() == brute_force_durations(scores[0])
    assert durations[1, :3].tolist() == brute_force_durations(scores[1, :3, :7]) and durations[1, 3] == 0
    assert durations.sum(-1).tolist() == [9, 7] and (durations[0] >= 1).all()
    with pytest.raises(DataError, match="at least as many frames"):
        monotonic_alignment(torch.zeros(1, 5, 3), torch.tensor([5]), torch.tensor([3]))


def test_alignment_recovers_the_durations_that_made_the_frames():
    torch.manual_seed(1)
    means = torch.randn(1, 6, 5) * 3
    true = torch.tensor([[3, 1, 4, 2, 5]])
    frames, lengths = length_regulate(means, true)
    frames = frames + 0.1 * torch.randn_like(frames)
    assert lengths.tolist() == [15]
    found = monotonic_alignment(gaussian_log_likelihood(frames, means), torch.tensor([5]), lengths)
    assert torch.equal(found, true)


def test_gaussian_log_likelihood_is_minus_half_squared_distance():
    frames, means = torch.randn(2, 3, 4), torch.randn(2, 3, 5)
    expected = -0.5 * ((frames[:, :, None, :] - means[:, :, :, None]) ** 2).sum(1)
    torch.testing.assert_close(gaussian_log_likelihood(frames, means), expected)


def tiny_config(state_dim: int = 0) -> SynthesizerConfig:
    decoder = UNet1DConfig(channels=MEL.n_mels, prior_channels=MEL.n_mels, dim=16, dim_mults=(1, 2), groups=4,
                           heads=2, global_dim=8)
    return SynthesizerConfig(symbols=("a", "b", "c"), state_dim=state_dim, speaker_dim=8, encoder_dim=16,
                             encoder_layers=1, duration_channels=16, decoder=decoder, segment_frames=16, dropout=0.0)


def toy_batch(state_dim: int = 0) -> dict[str, torch.Tensor]:
    """Two utterances whose frames are constant per token ('a' low, 'b' high, 'c' middle)."""
    levels = {4: -6.0, 5: -1.0, 6: -3.5}  # ids of "a", "b", "c" (0-3 are the tokenizer's specials)
    tokens = torch.tensor([[4, 5, 6, 4], [6, 5, 0, 0]])
    durations = torch.tensor([[5, 8, 6, 4], [7, 9, 0, 0]])
    mel = torch.full((2, MEL.n_mels, 23), -11.5)
    for row in range(2):
        values = torch.tensor([levels.get(int(t), 0.0) for t in tokens[row]])
        frames = torch.repeat_interleave(values, durations[row])
        mel[row, :, :frames.numel()] = frames + torch.linspace(-1, 1, MEL.n_mels)[:, None]
    batch = {"tokens": tokens, "token_lengths": torch.tensor([4, 2]), "speaker": torch.randn(2, 8),
             "mel": mel, "frame_lengths": durations.sum(-1)}
    if state_dim:
        batch["states"] = torch.randn(2, 4, state_dim)
    return batch


def test_loss_parts_are_finite_and_every_module_gets_a_gradient():
    torch.manual_seed(0)
    model = AcousticSynthesizer(tiny_config(state_dim=6))
    losses = model.loss(toy_batch(state_dim=6))
    assert set(losses) == {"loss", "prior", "duration", "decoder"} and torch.isfinite(losses["loss"])
    losses["loss"].backward()
    for name in ("token_embedding", "state_projection", "prior_head", "duration_head", "decoder"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert grads and all(g is not None for g in grads), name


def test_synthesize_contract_and_voice_guidance():
    torch.manual_seed(0)
    model = AcousticSynthesizer(tiny_config()).eval()
    batch = toy_batch()
    out = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    assert out.mel.shape[:2] == (2, MEL.n_mels) and out.mel.shape[-1] == int(out.lengths.max())
    assert torch.equal(out.lengths, out.durations.sum(-1)) and (out.durations[1, 2:] == 0).all()
    assert (out.mel[1, :, out.lengths[1]:] == 0).all()  # nothing beyond an utterance's end
    again = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    assert torch.equal(out.mel, again.mel)  # seeded
    guided = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2, voice_guidance=2)
    assert not torch.equal(guided.mel, out.mel)
    with pytest.raises(ConfigError, match="steps"):
        model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=0)
    given = torch.full_like(batch["tokens"], 3)  # oracle durations (diagnosis): padded tokens still get none
    oracle = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2, durations=given)
    assert torch.equal(oracle.durations, given * (out.durations > 0))
    assert torch.equal(oracle.lengths, 3 * batch["token_lengths"])
    with pytest.raises(ConfigError, match="durations must have the tokens' shape"):
        model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], durations=given[:, :1])


def test_config_errors_and_state_shape_check():
    with pytest.raises(ConfigError, match="global_dim"):
        SynthesizerConfig(speaker_dim=64)
    model = AcousticSynthesizer(tiny_config(state_dim=6))
    batch = toy_batch()  # no states
    with pytest.raises(ConfigError, match="reads states"):
        model.loss(batch)


def overfit(model: AcousticSynthesizer, batch: dict[str, torch.Tensor], steps: int) -> tuple[dict, dict]:
    """Adam (lr 3e-3) on one batch for ``steps`` steps: (the first step's losses as floats, the last step's)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(steps):
        losses = model.loss(batch)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        first = first if first is not None else {k: v.item() for k, v in losses.items()}
    return first, losses


def test_learns_the_toy_durations_and_round_trips_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = AcousticSynthesizer(tiny_config())
    batch = toy_batch()
    first, losses = overfit(model, batch, steps=80)
    assert losses["prior"] < 0.3 * first["prior"] and losses["duration"] < 0.3 * first["duration"], (first, losses)
    model.eval()
    save_checkpoint(tmp_path / "synth", model)
    loaded = load_checkpoint(tmp_path / "synth").model
    a = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    b = loaded.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    assert torch.equal(a.mel, b.mel)


def _toy_synthesis_corpus(folder: Path):
    """Two French/English utterance pairs (tones) in folder/train.jsonl, and a tiny untrained translator and speaker
    encoder saved as the checkpoints folder/st and folder/spk: (manifest, translator, encoder)."""
    import numpy as np

    from diffs2st.audio import save_audio
    from diffs2st.data.manifest import S2STRecord, write_manifest
    from diffs2st.speaker import SpeakerEncoder, SpeakerEncoderConfig
    from diffs2st.translation import SpeechTranslator, SpeechTranslatorConfig, build_symbols
    from diffs2st.translation.conformer import ConformerConfig

    texts = [("le chat", "the cat"), ("un chien", "a dog")]
    records = []
    for index, (fr, en) in enumerate(texts):
        t = np.arange(int(0.6 * MEL.sample_rate)) / MEL.sample_rate
        for side, pitch in (("fr", 150 + 50 * index), ("en", 160 + 50 * index)):
            save_audio(folder / f"u{index}.{side}.wav", (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32),
                       MEL.sample_rate)
        records.append(S2STRecord(id=f"u{index}", speaker=f"s{index}", src_audio=f"u{index}.fr.wav", src_text=fr,
                                  tgt_text=en, tgt_audio=f"u{index}.en.wav"))
    manifest = write_manifest(folder / "train.jsonl", records)
    torch.manual_seed(0)
    translator = SpeechTranslator(SpeechTranslatorConfig(
        encoder=ConformerConfig(d_model=16, layers=1, heads=2, conv_kernel=3), decoder_layers=1, decoder_heads=2,
        src_symbols=build_symbols(fr for fr, _ in texts), tgt_symbols=build_symbols(en for _, en in texts)))
    save_checkpoint(folder / "st", translator)
    encoder = SpeakerEncoder(SpeakerEncoderConfig(channels=8, dilations=(2,), attention_dim=4, embedding_dim=6,
                                                  speakers=("s0", "s1")))
    save_checkpoint(folder / "spk", encoder)
    return manifest, translator.eval(), encoder.eval()


def test_synthesizer_task_precomputes_caches_and_trains(tmp_path):
    """The "acoustic-synthesizer" task on a toy corpus with a tiny (untrained) translator and speaker encoder:
    features are computed once into the cache, reused, guarded by their key, and two harness steps run."""
    from diffs2st.training.harness import train
    from diffs2st.training.tasks import build_run, load_run_config

    manifest, translator, _ = _toy_synthesis_corpus(tmp_path)
    cache = tmp_path / "features.safetensors"
    overrides = ["trainer.progress_bar=false", "trainer.max_steps=2", "trainer.batch_size=2", "trainer.warmup_steps=0",
                 "trainer.checkpoint_every=2", f"data.train_manifest={manifest}", f"data.translator={tmp_path / 'st'}",
                 f"data.speaker_encoder={tmp_path / 'spk'}", f"data.cache={cache}", "data.progress=false",
                 "model.encoder_dim=16", "model.encoder_layers=1", "model.duration_channels=8",
                 "model.decoder={channels: 80, prior_channels: 80, dim: 8, dim_mults: [1, 2], groups: 4, heads: 1, "
                 "global_dim: 128}", "model.segment_frames=16"]
    config = load_run_config(CONFIGS / "s2st-synthesizer.yaml", overrides)
    model, dataset, collate = build_run(config)
    assert cache.is_file() and len(dataset) == 2 * (1 + config.data.augmented_copies)  # clean + augmented views
    assert model.config.state_dim == 16 and model.config.speaker_dim == 6 == model.config.decoder.global_dim
    item = dataset[1]
    assert item["states"].shape == (len(item["tokens"]), 16) and item["speaker"].shape == (6,)
    assert item["tokens"].tolist() == translator.tgt_tokenizer.encode("a dog")
    _, again, _ = build_run(config)  # read back from the cache
    assert torch.equal(again[1]["mel"], item["mel"]) and torch.equal(again[1]["states"], item["states"])
    _, text_only, _ = build_run(load_run_config(CONFIGS / "s2st-synthesizer.yaml", overrides + ["data.mode=text"]))
    assert "states" not in text_only[1]  # other settings: recomputed (and the cache replaced)
    result = train(model, dataset, config.trainer, tmp_path / "run", collate_fn=collate)
    synthesizer = load_checkpoint(result.model_dir).model
    batch = collate([dataset[0]])
    out = synthesizer.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], batch["states"], steps=1)
    assert out.mel.shape[:2] == (1, MEL.n_mels) and out.lengths[0] >= len(dataset[0]["tokens"])


def test_synthesizer_feature_cache_is_keyed_by_content(tmp_path):
    """A translator retrained in place and an edited manifest are cache misses (the key once held only their
    paths, so stale features were reused); the same content under another path is a hit."""
    import shutil

    from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples, cache_key
    from diffs2st.translation import SpeechTranslator

    manifest, translator, encoder = _toy_synthesis_corpus(tmp_path)
    data = SynthesisDataConfig(train_manifest=str(manifest), translator=str(tmp_path / "st"),
                               speaker_encoder=str(tmp_path / "spk"), cache=str(tmp_path / "features.safetensors"),
                               progress=False)
    first = SynthesisExamples(data, translator, encoder)
    key = cache_key(data)

    torch.manual_seed(1)
    retrained = SpeechTranslator(translator.config).eval()
    save_checkpoint(tmp_path / "st", retrained)
    assert cache_key(data) != key
    assert not torch.equal(SynthesisExamples(data, retrained, encoder)[1]["states"], first[1]["states"])

    manifest.write_text(manifest.read_text().replace('"a dog"', '"a cat"'))
    assert SynthesisExamples(data, retrained, encoder)[1]["tokens"].tolist() == retrained.tgt_tokenizer.encode("a cat")

    shutil.copytree(tmp_path / "spk", tmp_path / "spk-copy")
    moved = dataclasses.replace(data, speaker_encoder=str(tmp_path / "spk-copy"))
    assert cache_key(moved) == cache_key(data)


def tiny_pretrained(folder: Path, state_dim: int = 16) -> Path:
    """A pretrained/ layout of tiny untrained components that fit together (Griffin-Lim comes in as the vocoder
    override)."""
    from diffs2st.speaker import SpeakerEncoder, SpeakerEncoderConfig
    from diffs2st.translation import SpeechTranslator, SpeechTranslatorConfig
    from diffs2st.translation.conformer import ConformerConfig
    from diffs2st.translation.tokenizer import EOS

    folder.mkdir()
    torch.manual_seed(0)
    translator = SpeechTranslator(SpeechTranslatorConfig(
        encoder=ConformerConfig(d_model=16, layers=1, heads=2, conv_kernel=3), decoder_layers=1, decoder_heads=2,
        src_symbols=tuple("abc "), tgt_symbols=tuple("xyz "), max_text_length=12))
    with torch.no_grad():  # never end early: every utterance says 12 characters, so every stage has work
        translator.target_decoder.project.bias[EOS] = -1e4
    save_checkpoint(folder / "st", translator)
    save_checkpoint(folder / "speaker-encoder", SpeakerEncoder(SpeakerEncoderConfig(
        channels=8, dilations=(2,), attention_dim=4, embedding_dim=8, speakers=("s0", "s1"))))
    config = tiny_config(state_dim)
    save_checkpoint(folder / "synthesizer", AcousticSynthesizer(
        SynthesizerConfig(**{**config.__dict__, "symbols": tuple("xyz ")})))
    return folder


def test_translator_runs_every_stage_and_checks_its_components(tmp_path):
    import numpy as np

    from diffs2st.errors import CheckpointError
    from diffs2st.s2st.translator import Translator

    folder = tiny_pretrained(tmp_path / "pretrained")
    with pytest.raises(CheckpointError, match="vocoder"):
        Translator.from_pretrained(folder)  # no vocoder/ and no override
    translator = Translator.from_pretrained(folder, vocoder="griffin-lim")
    t = np.arange(MEL.sample_rate) / MEL.sample_rate
    wave = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    result = translator.translate(wave, steps=1)
    assert set(result.timings) == {"speaker_encoder", "translation", "synthesizer", "vocoder", "total"}
    assert result.tgt_text and result.mel.shape[0] == MEL.n_mels
    assert len(result.wave) == (result.mel.shape[1] - 1) * MEL.hop_length  # one segment: no pause added
    voiced = translator.translate(wave, voice=wave[::-1].copy(), steps=1)
    assert voiced.tgt_text == result.tgt_text  # the voice changes the sound, not the words

    # a distilled translator for the direct path (direct-st/), when the folder has one, is read instead of st/
    direct = load_checkpoint(folder / "st").model
    with torch.no_grad():
        direct.target_decoder.project.bias[5] = 7.0
    save_checkpoint(folder / "direct-st", direct)
    assert float(Translator.from_pretrained(folder, vocoder="griffin-lim").speech_translator
                 .target_decoder.project.bias[5]) == 7.0

    from diffs2st.translation import SpeechTranslator, SpeechTranslatorConfig
    from diffs2st.translation.conformer import ConformerConfig

    other = SpeechTranslator(SpeechTranslatorConfig(encoder=ConformerConfig(d_model=16, layers=1, heads=2),
                                                    src_symbols=tuple("ab"), tgt_symbols=tuple("qr")))
    with pytest.raises(ConfigError, match="symbols"):
        Translator(other, translator.speaker_encoder, translator.synthesizer, translator.vocoder)


def test_translate_command_single_and_batch(tmp_path, capsys):
    import json

    import numpy as np
    import soundfile as sf

    from diffs2st.cli.main import main

    folder = tiny_pretrained(tmp_path / "pretrained")
    t = np.arange(int(0.8 * MEL.sample_rate)) / MEL.sample_rate
    inputs = tmp_path / "in"
    inputs.mkdir()
    for index in range(2):
        sf.write(inputs / f"clip{index}.wav", 0.3 * np.sin(2 * np.pi * (150 + 80 * index) * t), MEL.sample_rate)
    common = ["--model", str(folder), "--vocoder", "griffin-lim", "--steps", "1"]
    assert main(["translate", str(inputs / "clip0.wav"), "-o", str(tmp_path / "out.wav"), *common]) == 0
    assert "target:" in capsys.readouterr().out and (tmp_path / "out.wav").is_file()
    assert main(["translate", str(inputs), "-o", str(tmp_path / "batch"), *common]) == 0
    rows = [json.loads(line) for line in (tmp_path / "batch" / "translations.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["clip0", "clip1"] and all(Path(r["audio"]).is_file() for r in rows)
    capsys.readouterr()
    assert main(["translate", str(inputs / "clip0.wav"), "-o", str(tmp_path / "out.txt"), *common]) == 2
    assert capsys.readouterr().err.strip().startswith("error:")


def test_cascade_runs_asr_mt_tts_and_checks_its_components(tmp_path):
    import numpy as np

    from diffs2st.s2st.translator import CascadeTranslator
    from diffs2st.translation.text import TextTranslator, TextTranslatorConfig

    folder = tiny_pretrained(tmp_path / "pretrained")
    torch.manual_seed(0)
    text_mt = TextTranslator(TextTranslatorConfig(d_model=16, encoder_layers=1, decoder_layers=1, heads=2,
                                                  src_symbols=tuple("abc "), tgt_symbols=tuple("xyz "),
                                                  max_text_length=10))
    with torch.no_grad():
        text_mt.decoder.project.bias[:4] = -1e4  # only characters: pad, bos, eos, unk never come out
    save_checkpoint(folder / "text-mt", text_mt)
    save_checkpoint(folder / "cascade-tts", AcousticSynthesizer(
        SynthesizerConfig(**{**tiny_config(0).__dict__, "symbols": tuple("xyz ")})))
    cascade = CascadeTranslator.from_pretrained(folder, vocoder="griffin-lim")
    t = np.arange(MEL.sample_rate) / MEL.sample_rate
    result = cascade.translate((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), steps=1)
    assert set(result.timings) == {"speaker_encoder", "asr", "mt", "synthesizer", "vocoder", "total"}
    assert result.tgt_text and len(result.wave) == (result.mel.shape[1] - 1) * MEL.hop_length
    with pytest.raises(ConfigError, match="characters only"):
        CascadeTranslator(cascade.speech_translator, cascade.text_translator, cascade.speaker_encoder,
                          load_checkpoint(folder / "synthesizer").model, cascade.vocoder)


def test_synthesizer_features_of_augmented_source_views(tmp_path):
    """K augmented views per utterance: same tokens and clean target mel, states and speaker embedding from the
    augmented source (different from the clean view's), the same on a second computation (seeded), cached."""
    from diffs2st.data.augment import AugmentConfig
    from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples

    manifest, translator, encoder = _toy_synthesis_corpus(tmp_path)
    noise_only = AugmentConfig(speed_probability=0.0, reverb_probability=0.0, bandlimit_probability=0.0,
                               codec_probability=0.0, noise_probability=1.0, snr_db=(0.0, 5.0), pad_probability=0.0)
    data = SynthesisDataConfig(train_manifest=str(manifest), translator=str(tmp_path / "st"),
                               speaker_encoder=str(tmp_path / "spk"), cache=str(tmp_path / "features.safetensors"),
                               progress=False, augment=noise_only, augmented_copies=2, augment_seed=3)
    examples = SynthesisExamples(data, translator, encoder)
    assert len(examples) == 6 and examples.utterances == 2
    for utterance in range(2):
        clean, *augmented = (examples[view * 2 + utterance] for view in range(3))
        for other in augmented:
            assert torch.equal(other["tokens"], clean["tokens"]) and torch.equal(other["mel"], clean["mel"])
            assert not torch.equal(other["speaker"], clean["speaker"])
            assert other["states"].shape == clean["states"].shape and not torch.equal(other["states"], clean["states"])
        assert not torch.equal(augmented[0]["speaker"], augmented[1]["speaker"])
    recomputed = SynthesisExamples(dataclasses.replace(data, cache=None), translator, encoder)
    assert all(torch.equal(recomputed[i]["states"], examples[i]["states"]) for i in range(6))
    with pytest.raises(DataError, match="augmented_copies"):
        SynthesisExamples(dataclasses.replace(data, augment=None), translator, encoder)


def test_synthesizer_family_weights_repeat_every_view_and_keep_the_cache(tmp_path):
    """data.family_weights repeats a voice family's examples (clean and augmented views alike) without touching the
    features: the same cache serves any weighting."""
    from diffs2st.data.augment import AugmentConfig
    from diffs2st.data.manifest import S2STRecord, read_manifest, write_manifest
    from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples, cache_key

    manifest, translator, encoder = _toy_synthesis_corpus(tmp_path)
    records = [dataclasses.replace(r, speaker_spec={"family": family, "base_voice": "v"})
               for r, family in zip(read_manifest(manifest, S2STRecord), ("kokoro", "flite"))]
    write_manifest(manifest, records)
    noise_only = AugmentConfig(speed_probability=0.0, reverb_probability=0.0, bandlimit_probability=0.0,
                               codec_probability=0.0, noise_probability=1.0, snr_db=(0.0, 5.0), pad_probability=0.0)
    data = SynthesisDataConfig(train_manifest=str(manifest), translator=str(tmp_path / "st"),
                               speaker_encoder=str(tmp_path / "spk"), cache=str(tmp_path / "features.safetensors"),
                               progress=False, augment=noise_only, augmented_copies=1)
    plain = SynthesisExamples(data, translator, encoder)
    weighted_data = dataclasses.replace(data, family_weights={"kokoro": 3})
    assert cache_key(weighted_data) == cache_key(data)
    weighted = SynthesisExamples(weighted_data, translator, encoder)
    assert len(plain) == 4 and len(weighted) == 8 and weighted.order == [0, 0, 0, 1, 2, 2, 2, 3]
    for index, source in enumerate(weighted.order):
        assert torch.equal(weighted[index]["speaker"], plain[source]["speaker"])
    with pytest.raises(DataError, match="espeak-ng, which the manifest does not hold"):
        SynthesisExamples(dataclasses.replace(data, family_weights={"espeak-ng": 2}), translator, encoder)
