"""Vocoders: every family inherits one contract test base (STYLE rule 6); plus discriminators, losses, a tiny
overfit, the "vocoder" training task through the harness, and `diffs2st vocode`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from diffs2st.audio import MelConfig, log_mel, match_mel, reconstruct_phase, stft
from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.cli.main import main
from diffs2st.data.manifest import S2STRecord, write_manifest
from diffs2st.errors import AudioError, ConfigError, Diffs2stError
from diffs2st.training.harness import TrainerConfig, train
from diffs2st.training.tasks import build_run, load_run_config
from diffs2st.vocoders import (VOCODERS, GriffinLimVocoder, HiFiGAN, HiFiGANConfig, ISTFTVocoder,
                               ISTFTVocoderConfig, load_vocoder, num_samples)
from diffs2st.vocoders.discriminators import DiscriminatorConfig, Discriminators
from diffs2st.vocoders.losses import (discriminator_loss, feature_matching_loss, generator_adversarial_loss,
                                      log_magnitude_loss, mel_loss)
from diffs2st.vocoders.task import SegmentDataset, VocoderTrainingConfig, manifest_audio_paths

from conftest import tone_burst

MEL = MelConfig()
CONFIGS = Path(__file__).parents[1] / "configs"
TINY_DISCRIMINATOR = DiscriminatorConfig(periods=(2, 3), mpd_width=4, scales=2, msd_width=16)


def clip_and_mel(seconds: float = 0.6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A speech-like wave whose length is a whole number of hops, and its log-mel."""
    samples = int(seconds * MEL.sample_rate) // MEL.hop_length * MEL.hop_length
    wave = torch.from_numpy(tone_burst(seconds, MEL.sample_rate, seed=seed)[:samples, 0])
    return wave, log_mel(wave, MEL)


class VocoderContract:
    """What every vocoder must do; subclasses provide `make()`."""

    def make(self):
        raise NotImplementedError

    @pytest.mark.parametrize("frames", [4, 7, 33])
    def test_length_relation_and_frame_alignment(self, frames):
        vocoder = self.make()
        mel = torch.randn(MEL.n_mels, frames) - 4
        wave = vocoder(mel)
        assert wave.shape == (num_samples(frames, MEL),) == ((frames - 1) * MEL.hop_length,)
        if len(wave) > MEL.n_fft // 2:  # shorter waves cannot be reflect-padded by the centred STFT
            assert log_mel(wave, MEL).shape == mel.shape
        assert torch.isfinite(wave).all()

    def test_batch_equals_single(self):
        vocoder = self.make()
        mels = torch.randn(2, MEL.n_mels, 12) - 4
        batch = vocoder(mels)
        assert batch.shape == (2, num_samples(12, MEL))
        for index in range(2):
            torch.testing.assert_close(batch[index], vocoder(mels[index]), atol=1e-5, rtol=1e-4)

    def test_deterministic(self):
        mel = torch.randn(MEL.n_mels, 9) - 4
        first, second = self.make()(mel), self.make()(mel)
        assert torch.equal(first, second)

    def test_wrong_mel_shape_is_one_clear_error(self):
        with pytest.raises(AudioError, match="log-mel"):
            self.make()(torch.zeros(MEL.n_mels + 1, 5))
        with pytest.raises(AudioError, match="2 mel frames"):
            self.make()(torch.zeros(MEL.n_mels, 1))


class TrainableVocoderContract(VocoderContract):
    """Neural vocoders also round-trip through checkpoints and can learn."""

    def make(self):
        torch.manual_seed(0)
        return self.model_class(self.tiny_config).eval()

    def test_checkpoint_round_trip_gives_identical_output(self, tmp_path):
        model = self.make()
        mel = torch.randn(MEL.n_mels, 10) - 4
        save_checkpoint(tmp_path / "voc", model, {"note": "test"})
        loaded = load_checkpoint(tmp_path / "voc").model
        assert loaded.config == model.config and isinstance(loaded.config.mel, MelConfig)
        with torch.no_grad():
            assert torch.equal(loaded(mel), model(mel))
            torch.testing.assert_close(load_vocoder(tmp_path / "voc")(mel), model(mel), atol=1e-5, rtol=1e-4)
        assert load_vocoder(tmp_path / "voc", mel=MEL).mel == MEL  # the model's MelConfig passed through
        with pytest.raises(ConfigError, match="trained on another MelConfig"):
            load_vocoder(tmp_path / "voc", mel=MelConfig(f_max=7000.0))

    def test_overfits_one_clip_with_the_mel_loss(self):
        torch.manual_seed(0)
        model = self.model_class(self.tiny_config)
        wave, mel = clip_and_mel()
        optimizer = torch.optim.Adam(model.parameters(), lr=self.overfit_lr)
        losses = []
        for _ in range(30):
            loss = mel_loss(wave[None], model(mel[None]), MEL)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert min(losses[-5:]) < 0.6 * losses[0], losses


class TestGriffinLim(VocoderContract):
    def make(self):
        return GriffinLimVocoder(MEL, iters=4)

    def test_load_by_name_and_iterations_matter(self):
        mel = log_mel(clip_and_mel()[0], MEL)
        assert torch.equal(load_vocoder("griffin-lim", iters=4)(mel), self.make()(mel))
        assert not torch.equal(load_vocoder("griffin-lim", iters=1)(mel), self.make()(mel))
        other = MelConfig(hop_length=128)
        assert load_vocoder("griffin-lim", mel=other).mel == other  # it inverts in the model's MelConfig


class TestHiFiGAN(TrainableVocoderContract):
    model_class = HiFiGAN
    tiny_config = HiFiGANConfig(upsample_initial_channel=16, upsample_rates=(8, 8, 4), upsample_kernels=(16, 16, 8),
                                resblock_kernels=(3,), resblock_dilations=((1, 3),))
    overfit_lr = 3e-3

    def test_remove_weight_norm_keeps_the_output(self):
        model = self.make()
        mel = torch.randn(MEL.n_mels, 8) - 4
        with torch.no_grad():
            before = model(mel)
            model.remove_weight_norm()
            after = model(mel)
        assert not any("parametrizations" in key for key in model.state_dict())
        torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)

    def test_rates_must_multiply_to_the_hop(self):
        with pytest.raises(Diffs2stError, match="hop length"):
            HiFiGANConfig(upsample_rates=(8, 8, 2), upsample_kernels=(16, 16, 4))


class TestISTFTVocoder(TrainableVocoderContract):
    model_class = ISTFTVocoder
    tiny_config = ISTFTVocoderConfig(dim=32, intermediate_dim=64, num_layers=2)
    overfit_lr = 1e-2

    def test_phase_refinement_keeps_the_contract_and_makes_the_spectrum_consistent(self, tmp_path):
        model = self.make()
        mel = torch.randn(MEL.n_mels, 20) - 4
        save_checkpoint(tmp_path / "voc", model)
        plain, refined = load_vocoder(tmp_path / "voc"), load_vocoder(tmp_path / "voc", refine_iters=8)
        assert plain.refine_iters == 0 and refined.refine_iters == 8
        with torch.no_grad():
            target = model.spectrum(mel[None]).abs()
            errors = [torch.mean(torch.abs(stft(vocoder(mel), MEL).abs() - target[0])).item()
                      for vocoder in (plain, refined)]
            assert refined(mel).shape == plain(mel).shape == (num_samples(20, MEL),)
        assert errors[1] < errors[0]  # Griffin-Lim pulls the wave's magnitude toward the predicted one
        with pytest.raises(ConfigError, match="refine_iters"):
            ISTFTVocoderConfig(refine_iters=-1)


def test_mel_correction_makes_the_vocoded_mel_match_its_input():
    torch.manual_seed(0)
    _, mel = clip_and_mel()
    errors = {}
    for correction in (False, True):
        torch.manual_seed(0)
        vocoder = ISTFTVocoder(ISTFTVocoderConfig(dim=32, intermediate_dim=64, num_layers=2, refine_iters=16,
                                                  mel_correction=correction)).eval()
        with torch.no_grad():
            errors[correction] = torch.mean(torch.abs(log_mel(vocoder(mel), MEL) - mel)).item()
    assert errors[True] < 0.5 * errors[False], errors


def test_match_mel_gives_the_target_mel_and_keeps_a_matching_magnitude():
    wave, mel = clip_and_mel()
    magnitude = stft(wave, MEL).abs()
    torch.testing.assert_close(match_mel(magnitude, mel, MEL), magnitude, atol=1e-4, rtol=1e-3)
    flat = torch.ones_like(magnitude)  # no fine structure: the envelope must come from the mel
    from diffs2st.audio import mel_filterbank
    matched = torch.log(torch.clamp(mel_filterbank(MEL) @ match_mel(flat, mel, MEL), min=MEL.log_floor))
    assert torch.mean(torch.abs(matched - mel)) < 0.3


def test_reconstruct_phase_from_the_true_phase_is_exact_and_from_random_phase_converges():
    wave, _ = clip_and_mel()
    spectrum = stft(wave, MEL)
    exact = reconstruct_phase(spectrum.abs(), MEL, len(wave), n_iter=0, phase=spectrum.angle())
    torch.testing.assert_close(exact, wave, atol=1e-5, rtol=0)

    def magnitude_error(n_iter: int) -> float:
        rebuilt = reconstruct_phase(spectrum.abs(), MEL, len(wave), n_iter=n_iter)
        return torch.mean(torch.abs(stft(rebuilt, MEL).abs() - spectrum.abs())).item()

    assert magnitude_error(32) < 0.5 * magnitude_error(0)


def test_magnitude_loss_and_phase_refinement_are_for_the_istft_generator_only(tmp_path):
    with pytest.raises(ConfigError, match="magnitude_weight"):
        VocoderTrainingConfig(generator="hifigan", magnitude_weight=1.0)
    with pytest.raises(ConfigError, match="magnitude_weight"):
        VocoderTrainingConfig(generator="istft", magnitude_weight=-1.0)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "hifigan", HiFiGAN(TestHiFiGAN.tiny_config))
    with pytest.raises(ConfigError, match="refine_iters"):
        load_vocoder(tmp_path / "hifigan", refine_iters=4)


def test_discriminator_output_shapes():
    discriminators = Discriminators(TINY_DISCRIMINATOR)
    scores, features = discriminators(torch.randn(3, 4096))
    assert len(scores) == len(features) == len(TINY_DISCRIMINATOR.periods) + TINY_DISCRIMINATOR.scales
    assert all(score.dim() == 2 and score.shape[0] == 3 for score in scores)
    assert [len(maps) for maps in features] == [6, 6, 8, 8]  # conv layers + score map per sub-discriminator
    odd, _ = discriminators(torch.randn(1, 4097))  # lengths that are not a multiple of the period are padded
    assert len(odd) == len(scores)


def test_losses_vanish_exactly_where_they_should():
    ones, zeros = [torch.ones(2, 5), torch.ones(2, 3)], [torch.zeros(2, 5), torch.zeros(2, 3)]
    assert discriminator_loss(ones, zeros) == 0 and discriminator_loss(zeros, ones) == 4
    assert generator_adversarial_loss(ones) == 0 and generator_adversarial_loss(zeros) == 2
    features = [[torch.randn(2, 4, 7), torch.randn(2, 1, 7)]]
    assert feature_matching_loss(features, features) == 0
    assert feature_matching_loss(features, [[f + 0.5 for f in features[0]]]) == pytest.approx(1.0)
    wave, _ = clip_and_mel()
    assert mel_loss(wave[None], wave[None], MEL) == 0
    assert mel_loss(wave[None], 0.5 * wave[None], MEL) == pytest.approx(np.log(2), rel=0.05)
    spectrum = stft(wave[None], MEL)
    assert log_magnitude_loss(wave[None], spectrum, MEL) == 0
    assert log_magnitude_loss(wave[None], 0.5 * spectrum, MEL) == pytest.approx(np.log(2), rel=0.05)


@pytest.fixture(scope="module")
def tiny_manifest(tmp_path_factory) -> Path:
    """Two flite/tone S2ST pairs: both the source and the target clip are training audio."""
    from diffs2st.data.tts import flite

    folder = tmp_path_factory.mktemp("corpus")
    records = []
    for index, text in enumerate(["hello there", "good morning"]):
        sf.write(folder / f"src{index}.wav", tone_burst(0.8, MEL.sample_rate, seed=index)[:, 0], MEL.sample_rate)
        sf.write(folder / f"tgt{index}.wav", flite(text), MEL.sample_rate)
        records.append(S2STRecord(id=f"u{index}", speaker="s0", src_audio=f"src{index}.wav", src_text="x",
                                  tgt_text=text, tgt_audio=f"tgt{index}.wav"))
    return write_manifest(folder / "train.jsonl", records)


def test_segment_dataset_is_deterministic_and_covers_both_sides(tiny_manifest):
    paths = manifest_audio_paths(tiny_manifest)
    assert sorted(p.name for p in paths) == ["src0.wav", "src1.wav", "tgt0.wav", "tgt1.wav"]
    dataset = SegmentDataset(paths, MEL, segment_samples=2048, segments_per_clip=3, seed=5)
    assert len(dataset) == 12
    wave, mel = dataset[7]
    assert wave.shape == (2048,) and mel.shape == (MEL.n_mels, 2048 // MEL.hop_length + 1)
    assert torch.equal(dataset[7][0], wave) and not torch.equal(dataset[3][0], wave)  # same clip, other crop
    assert torch.equal(log_mel(wave, MEL), mel)


def tiny_overrides(manifest: Path, steps: int) -> list[str]:
    """The istft config shrunk to seconds; step 0 trains on the mel loss only, later steps with discriminators."""
    return ["trainer.progress_bar=false", f"trainer.max_steps={steps}", "trainer.batch_size=2",
            "trainer.log_every=1", "trainer.checkpoint_every=2", f"data.train_manifest={manifest}",
            "data.segment_samples=2048", "data.segments_per_clip=1", "model.pretrain_steps=1",
            "model.istft={dim: 16, intermediate_dim: 32, num_layers: 1}",
            "model.discriminator={periods: [2], mpd_width: 2, scales: 1, msd_width: 16}"]


def tiny_run(manifest: Path, run_dir: Path, steps: int, resume: bool = False):
    config = load_run_config(CONFIGS / "vocoder-istft.yaml", tiny_overrides(manifest, steps))
    model, dataset, collate = build_run(config)
    return config, train(model, dataset, config.trainer, run_dir, resume=resume, collate_fn=collate)


def test_training_task_runs_two_harness_steps_and_exports_the_generator(tiny_manifest, tmp_path):
    config, result = tiny_run(tiny_manifest, tmp_path / "run", steps=2)
    assert result.steps == 2
    logged = (tmp_path / "run" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train/discriminator" in logged  # the adversarial step did run
    assert "train/magnitude" in logged  # the bundled recipe's log-magnitude loss
    vocoder = load_vocoder(result.model_dir)
    assert isinstance(vocoder, ISTFTVocoder) and vocoder.config == config.model.istft
    assert vocoder(torch.randn(MEL.n_mels, 5)).shape == (num_samples(5, MEL),)


def test_gan_training_resumed_midway_equals_an_uninterrupted_run(tiny_manifest, tmp_path):
    """The harness's manual (two-optimiser) door keeps its step-determinism: 2 steps + resume to 4 == 4 steps."""
    _, straight = tiny_run(tiny_manifest, tmp_path / "straight", steps=4)
    tiny_run(tiny_manifest, tmp_path / "resumed", steps=2)
    _, resumed = tiny_run(tiny_manifest, tmp_path / "resumed", steps=4, resume=True)
    assert straight.steps == resumed.steps == 4
    first, second = load_checkpoint(straight.model_dir).model, load_checkpoint(resumed.model_dir).model
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_gan_training_on_two_ddp_processes_equals_one_process(tiny_manifest, tmp_path):
    _, single = tiny_run(tiny_manifest, tmp_path / "one", steps=3)
    command = [sys.executable, "-m", "diffs2st", "train", str(CONFIGS / "vocoder-istft.yaml"), "--out",
               str(tmp_path / "two"), "--set", "trainer.devices=2", "--set", "trainer.strategy=ddp"]
    for item in tiny_overrides(tiny_manifest, steps=3):
        command += ["--set", item]
    subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS="1"), check=True, capture_output=True, timeout=300)
    metrics = json.loads((tmp_path / "two" / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["replica_max_abs_diff"] == 0.0
    one, two = load_checkpoint(single.model_dir).model, load_checkpoint(tmp_path / "two" / "model").model
    for (name, a), b in zip(one.state_dict().items(), two.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0, msg=name)


def test_a_manual_step_must_step_the_primary_optimiser_once(tmp_path):
    class SkipsPrimary(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(1))

        def configure_optimizers(self, config):
            return [torch.optim.SGD([self.weight], lr=0.1)]

        def training_step(self, batch, step, optimize):
            return {"loss": (self.weight * batch[0]).sum()}

    dataset = torch.utils.data.TensorDataset(torch.ones(4, 1))
    config = TrainerConfig(max_steps=1, batch_size=2, progress_bar=False)
    with pytest.raises(Diffs2stError, match="exactly once"):
        train(SkipsPrimary(), dataset, config, tmp_path / "run")


def test_registry_and_load_vocoder_errors(tmp_path):
    assert VOCODERS.names() == ["griffin-lim", "hifigan", "istft"]
    with pytest.raises(Diffs2stError, match="needs trained weights"):
        load_vocoder("hifigan")
    from diffs2st.training.toy import ToyRegressor, ToyRegressorConfig

    save_checkpoint(tmp_path / "toy", ToyRegressor(ToyRegressorConfig()))
    with pytest.raises(Diffs2stError, match="not a vocoder"):
        load_vocoder(tmp_path / "toy")


@pytest.mark.parametrize("name", ["vocoder-hifigan-small", "vocoder-hifigan-large", "vocoder-istft"])
def test_bundled_configs_build(name):
    config = load_run_config(CONFIGS / f"{name}.yaml")
    assert config.task == "vocoder" and config.model.generator_config.mel == MEL


def test_vocode_cli_with_griffin_lim_and_a_checkpoint(tmp_path, capsys):
    wave, _ = clip_and_mel()
    sf.write(tmp_path / "in.wav", wave.numpy(), MEL.sample_rate)
    assert main(["vocode", str(tmp_path / "in.wav"), "-o", str(tmp_path / "gl.wav"), "--vocoder", "griffin-lim",
                 "--iters", "2"]) == 0
    assert "griffin-lim" in capsys.readouterr().out
    assert sf.info(tmp_path / "gl.wav").frames == len(wave)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "voc", ISTFTVocoder(TestISTFTVocoder.tiny_config))
    assert main(["vocode", str(tmp_path / "in.wav"), "-o", str(tmp_path / "nn.wav"), "--vocoder",
                 str(tmp_path / "voc")]) == 0
    assert sf.info(tmp_path / "nn.wav").frames == len(wave)
    assert f"vocoded with {tmp_path / 'voc'} (RTF" in capsys.readouterr().out
    assert main(["vocode", str(tmp_path / "in.wav"), "-o", str(tmp_path / "x.wav"), "--vocoder", "nope"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: no vocoder 'nope'")
