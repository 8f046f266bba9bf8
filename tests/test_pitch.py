"""Pitch in the acoustic synthesizer (s2st/pitch.py): F0 per mel frame, the harmonic pattern on the mel axis, the
pitch predictor's losses and sampling, fine-tuning a pitch model from one without pitch, pitch features."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from diffs2st.audio import MelConfig, log_mel
from diffs2st.checkpoint import initialize_from, load_checkpoint, save_checkpoint
from diffs2st.cli.main import main
from diffs2st.errors import CheckpointError, ConfigError
from diffs2st.s2st.pitch import frame_f0, harmonic_pattern
from diffs2st.s2st.synthesizer import AcousticSynthesizer
from test_s2st import _toy_synthesis_corpus, overfit, tiny_config, toy_batch

MEL = MelConfig()


def pulse_train(f0: float, seconds: float = 0.8) -> np.ndarray:
    """A glottal-like pulse train (rich in harmonics) at ``f0`` Hz."""
    t = np.arange(int(seconds * MEL.sample_rate)) / MEL.sample_rate
    return (0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))).astype(np.float32)


@pytest.mark.parametrize("f0", [95.0, 210.0])
def test_frame_f0_follows_a_pulse_train_frame_by_frame(f0):
    wave = pulse_train(f0)
    track = frame_f0(wave, MEL)
    assert track.shape == (log_mel(wave, MEL).shape[-1],)
    voiced = track[track > 0]
    assert len(voiced) > 0.8 * len(track) and abs(np.median(voiced) / f0 - 1) < 0.03
    assert not frame_f0(np.zeros(8000, np.float32), MEL).any()  # silence: unvoiced everywhere
    assert frame_f0(np.zeros(0, np.float32), MEL).shape == (1,)


def test_harmonic_pattern_peaks_on_the_harmonics_and_is_zero_when_unvoiced():
    pattern = harmonic_pattern(torch.tensor([[200.0, 100.0, 0.0]]), MEL)[0]
    assert pattern.shape == (MEL.n_mels, 3) and (pattern[:, 2] == 0).all()
    # Slaney mel filters are linear below 1 kHz: filter centres every (1000 / 15) * (45.25 / 81) Hz or so
    from diffs2st.audio.mel import _mel_filterbank_np

    bank = _mel_filterbank_np(MEL)
    centres = (bank * np.arange(MEL.n_freqs)[None] * MEL.sample_rate / MEL.n_fft).sum(1) / bank.sum(1)
    low = centres < 900
    on = np.abs(((centres / 200.0 + 0.5) % 1) - 0.5) < 0.1  # filters centred on a harmonic of 200 Hz
    off = np.abs(((centres / 200.0) % 1) - 0.5) < 0.1  # centred between two
    values = pattern[:, 0].numpy()
    assert values[low & on].min() > 2 * values[low & off].max()
    high = pattern[centres > 5000, 1]  # wide filters average many harmonics: flat
    assert float(high.std()) < 0.1 * float(high.mean())
    assert not torch.allclose(pattern[:20, 0], pattern[:20, 1])  # the low bins tell 100 Hz from 200 Hz


def pitch_batch(state_dim: int = 0) -> dict[str, torch.Tensor]:
    batch = toy_batch(state_dim)
    frames = batch["mel"].shape[-1]
    f0 = torch.zeros(2, frames)
    f0[0, 5:13], f0[1, 7:16] = 110.0, 230.0  # token "b" voiced, at each utterance's own (speaker's) pitch
    batch["f0"] = f0
    return batch


def pitch_config(state_dim: int = 0):
    return dataclasses.replace(tiny_config(state_dim), pitch=True)


def test_pitch_losses_train_every_new_part_and_need_the_f0():
    torch.manual_seed(0)
    model = AcousticSynthesizer(pitch_config(state_dim=6))
    losses = model.loss(pitch_batch(state_dim=6))
    assert {"pitch", "voicing"} <= set(losses) and all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    for name in ("pitch_predictor", "pitch_embedding"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads), name
    batch = pitch_batch(state_dim=6)
    del batch["f0"]
    with pytest.raises(ConfigError, match="data.pitch"):
        model.loss(batch)


def test_pitch_predictor_learns_the_toy_contours_and_synthesize_returns_them():
    torch.manual_seed(0)
    model = AcousticSynthesizer(pitch_config())
    batch = pitch_batch()
    first, losses = overfit(model, batch, steps=60)
    assert losses["pitch"] < 0.1 * first["pitch"] and losses["voicing"] < 0.8 * first["voicing"], (first, losses)
    model.eval()
    out = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    assert out.f0.shape == (2, out.mel.shape[-1]) and (out.f0[1, out.lengths[1]:] == 0).all()
    shifted = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2, pitch_scale=2.0)
    torch.testing.assert_close(shifted.f0, 2 * out.f0)
    assert not torch.equal(shifted.mel, out.mel)


def test_a_pitch_model_fine_tuned_from_one_without_pitch_starts_where_that_one_was(tmp_path):
    torch.manual_seed(0)
    plain = AcousticSynthesizer(tiny_config()).eval()
    save_checkpoint(tmp_path / "plain", plain)
    pitched = AcousticSynthesizer(pitch_config())
    assert initialize_from(pitched, tmp_path / "plain") is pitched
    pitched.eval()
    batch = toy_batch()
    a = plain.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    b = pitched.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    torch.testing.assert_close(a.mel, b.mel)  # the harmonic pattern enters through a zero map at first
    save_checkpoint(tmp_path / "pitched", pitched)
    with pytest.raises(CheckpointError, match="unexpected tensor 'pitch_"):  # the other way round still fails
        initialize_from(AcousticSynthesizer(tiny_config()), tmp_path / "pitched")


def test_a_wider_decoder_starts_fresh_on_top_of_a_trained_encoder(tmp_path, capsys):
    """initialize_from(fresh=("decoder.",)): every other tensor comes from the checkpoint, the decoder keeps its own
    fresh weights in its own (wider) shape; without it the shapes refuse; a prefix naming nothing is an error; the
    CLI's --fresh needs --init-from."""
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "narrow", AcousticSynthesizer(tiny_config()))
    trained = load_checkpoint(tmp_path / "narrow").model.state_dict()
    config = tiny_config()
    wide = AcousticSynthesizer(dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, dim=24)))
    fresh = {key: value.clone() for key, value in wide.state_dict().items()}
    with pytest.raises(CheckpointError, match="shape"):
        initialize_from(wide, tmp_path / "narrow")
    assert initialize_from(wide, tmp_path / "narrow", fresh=("decoder.",)) is wide
    assert "decoder.* (" in capsys.readouterr().err
    for key, value in wide.state_dict().items():
        torch.testing.assert_close(value, fresh[key] if key.startswith("decoder.") else trained[key], msg=key)
    assert any(not torch.equal(fresh[key], trained[key]) for key in trained if not key.startswith("decoder."))
    with pytest.raises(CheckpointError, match="no tensor named so.*encoder"):
        initialize_from(wide, tmp_path / "narrow", fresh=("decodr.",))
    toy = Path(__file__).parents[1] / "configs" / "toy.yaml"
    assert main(["train", str(toy), "--out", str(tmp_path / "run"), "--fresh", "net.0."]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--init-from" in err[0] and not (tmp_path / "run").exists()


def test_pitch_features_follow_the_target_tones(tmp_path):
    from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples, collate_synthesis

    manifest, translator, encoder = _toy_synthesis_corpus(tmp_path)
    data = SynthesisDataConfig(train_manifest=str(manifest), translator=str(tmp_path / "st"),
                               speaker_encoder=str(tmp_path / "spk"), progress=False, pitch=True)
    examples = SynthesisExamples(data, translator, encoder)
    for item, tone in zip(examples, (160.0, 210.0)):  # the toy corpus's English targets are pure tones
        assert item["f0"].shape == (item["mel"].shape[-1],)
        voiced = item["f0"][item["f0"] > 0]
        assert len(voiced) > 0.5 * len(item["f0"]) and abs(float(voiced.median()) / tone - 1) < 0.03
    batch = collate_synthesis([examples[0], examples[1]])
    assert batch["f0"].shape == (2, batch["mel"].shape[-1])


def test_pitch_model_without_pitch_data_is_refused_before_any_feature_work(tmp_path):
    from diffs2st.training.tasks import build_run, load_run_config
    from test_s2st import CONFIGS

    with pytest.raises(ConfigError, match="data.pitch"):
        build_run(load_run_config(CONFIGS / "s2st-synthesizer.yaml", ["model.pitch=true", "data.pitch=false",
                                                                      f"data.train_manifest={tmp_path}/none.jsonl"]))


def test_frame_f0_is_aligned_with_the_mel_frames():
    """Silence, a 0.4 s pulse train, silence: the voiced frames are where the mel has the tone's energy (a constant
    offset between the two would teach the decoder harmonics in the wrong frames)."""
    rate = MEL.sample_rate
    wave = np.concatenate([np.zeros(rate // 4, np.float32), pulse_train(120.0, 0.4), np.zeros(rate // 4, np.float32)])
    voiced = np.flatnonzero(frame_f0(wave, MEL) > 0)
    energy = log_mel(wave, MEL).exp().sum(0).numpy()
    loud = np.flatnonzero(energy > 0.1 * energy.max())
    assert abs(voiced[0] - loud[0]) <= 2 and abs(voiced[-1] - loud[-1]) <= 2, (voiced, loud)


def test_oracle_f0_overrides_the_prediction_and_reaches_the_decoder():
    torch.manual_seed(0)
    model = AcousticSynthesizer(pitch_config()).eval()
    torch.nn.init.normal_(model.pitch_embedding.weight, std=0.5)  # as if trained: the pattern moves the prior
    batch = toy_batch()
    args = (batch["tokens"], batch["token_lengths"], batch["speaker"])
    low = model.synthesize(*args, steps=2, f0=torch.full((2, 5), 100.0))
    high = model.synthesize(*args, steps=2, f0=torch.full((2, 5), 200.0))
    frames = torch.arange(low.f0.shape[-1])[None]
    expected = 100.0 * ((frames < 5) & (frames < low.lengths[:, None]))  # beyond the contour or the utterance: 0
    assert torch.equal(low.f0, expected)
    assert not torch.allclose(low.mel[..., :5], high.mel[..., :5])
    torch.nn.init.zeros_(model.pitch_embedding.weight)
    assert torch.equal(model.synthesize(*args, steps=2, f0=torch.full((2, 5), 100.0)).mel,
                       model.synthesize(*args, steps=2, f0=torch.full((2, 5), 200.0)).mel)
