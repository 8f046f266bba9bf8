"""Score enhancers: the spectrogram round trip, window joining, config checks, training of tiny models on a real
clean/noisy pair (from a manifest, through the task), enhancement of a long input, classifier guidance, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from diffs2st.checkpoint import save_checkpoint
from conftest import noisy_sentence
from diffs2st.cli.main import main
from diffs2st.enhancement import build_enhancer
from diffs2st.enhancement.score import (ScoreEnhancer, ScoreEnhancerConfig, SpeakerClassifier,
                                        SpeakerClassifierConfig, crossfade_weights, window_starts)
from diffs2st.enhancement.spectrogram import ComplexSpectrogramConfig, analyse, synthesise
from diffs2st.errors import ConfigError
from diffs2st.nets.classifier import NoiseAwareClassifierConfig
from diffs2st.nets.unet1d import UNet1DConfig
from diffs2st.training.tasks import build_run, load_run_config

SR = 16000
SPEC = ComplexSpectrogramConfig(n_fft=62, hop_length=16)  # 32 bins: tiny models


def tiny_config(method: str = "conditional", **overrides) -> ScoreEnhancerConfig:
    prior = SPEC.channels if method == "conditional" else 0
    process = ({"name": "ouve", "prediction": "x0"} if method == "conditional"
               else {"name": "ve", "sigma": 25.0, "prediction": "x0"})
    values = dict(method=method, spectrogram=SPEC, process=process,
                  backbone=UNet1DConfig(channels=SPEC.channels, prior_channels=prior, dim=8, dim_mults=(1, 2),
                                        heads=2),
                  window_frames=96, overlap_frames=16, steps=3)
    return ScoreEnhancerConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def pair():
    return noisy_sentence("the small white houses are near the river")


def test_spectrogram_round_trip():
    wave = torch.randn(2, 4000) * 0.3
    spec = analyse(wave, ComplexSpectrogramConfig())
    assert spec.shape == (2, 512, 4000 // 128 + 1)
    assert torch.allclose(synthesise(spec, ComplexSpectrogramConfig(), 4000), wave, atol=1e-4)
    with pytest.raises(ValueError):
        synthesise(spec[:, :10], ComplexSpectrogramConfig(), 4000)


@pytest.mark.parametrize("frames,window,overlap", [(50, 96, 16), (96, 96, 16), (300, 96, 16), (1000, 512, 64)])
def test_windows_cover_and_weights_sum_to_one(frames, window, overlap):
    window = min(window, frames)
    starts = window_starts(frames, window, overlap)
    weights = crossfade_weights(starts, window, frames, overlap)
    total = torch.zeros(frames)
    for i, s in enumerate(starts):
        total[s:s + window] += weights[i]
        if i:
            assert starts[i - 1] + window - s >= overlap  # neighbours share at least the overlap
    assert starts[-1] + window == frames and torch.allclose(total, torch.ones(frames))


def test_config_checks():
    with pytest.raises(ConfigError, match="ouve"):
        tiny_config("conditional", process={"name": "ve"})
    with pytest.raises(ConfigError, match="prior_channels"):
        tiny_config("prior", backbone=UNet1DConfig(channels=SPEC.channels, prior_channels=SPEC.channels, dim=8))
    with pytest.raises(ConfigError, match="method"):
        tiny_config("magic")


def _train(model, batch, steps: int) -> list[float]:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    losses = []
    for _ in range(steps):
        loss = model.loss(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _batch(pair, segments: int = 4, size: int = 8000):
    clean, noisy = pair
    peak = np.abs(noisy).max()
    starts = np.linspace(0, clean.size - size, segments).astype(int)
    as_tensor = lambda x: torch.from_numpy(np.stack([x[s:s + size] / peak for s in starts]).astype(np.float32))
    return as_tensor(clean), as_tensor(noisy), torch.zeros(segments, dtype=torch.long)


@pytest.mark.parametrize("method", ["conditional", "prior"])
def test_tiny_model_learns_and_enhances_long_input(pair, method):
    model = ScoreEnhancer(tiny_config(method))
    losses = _train(model, _batch(pair), 40)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    model.eval()
    noisy = np.tile(pair[1], 2)  # several inference windows
    options = {"seed": 1} if method == "conditional" else {"seed": 1, "t_star": 0.2}
    out = model.enhance(noisy, **options)
    assert out.shape == noisy.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.array_equal(out, model.enhance(noisy, **options))  # seeded
    with pytest.raises(ValueError):
        model.enhance(np.zeros((2, 100), dtype=np.float32))


@pytest.mark.parametrize("method,options,message", [
    ("prior", {"t_star": 1.5}, "t_star"), ("conditional", {"t_star": 0.3}, "prior method"),
    ("conditional", {"steps": 0}, "steps"), ("conditional", {"sampler": "magic"}, "sampler"),
    ("conditional", {"guidance_scale": -1.0}, "guidance")])
def test_bad_inference_options_are_clear_errors(method, options, message):
    with pytest.raises(ConfigError, match=message):
        ScoreEnhancer(tiny_config(method)).enhance(np.ones(4000, dtype=np.float32), **options)


def test_preconditioning_limits():
    """At vanishing noise the x0 estimate is the (noisy) input itself; at the prior's start the state is the noisy
    spectrogram plus s(t*)·noise."""
    model = ScoreEnhancer(tiny_config("prior")).eval()
    x = torch.randn(2, SPEC.channels, 40) * 0.05
    with torch.no_grad():
        estimate = model(x, torch.full((2,), 1e-10))
    torch.testing.assert_close(estimate, x, atol=1e-4, rtol=1e-3)
    noisy = torch.randn(1, SPEC.channels, 40) * 0.05
    start, grid = model.start(noisy, 4, 0.3, torch.Generator().manual_seed(0))
    _, s = model.process.coefficients(torch.tensor([0.3]))
    noise = torch.randn(noisy.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(start, noisy + s * noise)
    assert float(grid[0]) == pytest.approx(0.3) and float(grid[-1]) == pytest.approx(model.process.t_min)


def test_one_step_sampler_is_one_network_evaluation_at_the_prior_time(pair):
    """grid_end 0 with ddim: `steps` evaluations, the last denoised estimate is the output; with steps 1 that is
    x0̂(x_1, 1) from the prior sample."""
    model = ScoreEnhancer(tiny_config("conditional", sampler="ddim", steps=1, grid_end=0.0)).eval()
    times = []
    model.register_forward_hook(lambda module, args, output: times.append(args[1].tolist()))
    noisy = pair[1][4000:5400]  # one inference window
    out = model.enhance(noisy, seed=3)
    assert times == [[1.0]]
    peak = float(np.abs(noisy).max())
    spec = analyse(torch.from_numpy(noisy / peak)[None].float(), SPEC)
    x_1, _ = model.start(spec, 1, 0.5, torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = synthesise(model(x_1, torch.ones(1), {"mu": spec}), SPEC, noisy.size)[0].numpy() * peak
    np.testing.assert_allclose(out, expected, atol=1e-6)
    times.clear()
    model.enhance(noisy, steps=3)
    assert len(times) == 3 and times[0] == [1.0] and times[-1][0] > 0
    with pytest.raises(ConfigError, match="grid_end"):
        tiny_config("conditional", grid_end=-0.1)


def test_training_times_can_be_concentrated_at_the_start(pair):
    times = []
    model = ScoreEnhancer(tiny_config("conditional", train_t_max_fraction=1.0))
    model.register_forward_hook(lambda module, args, output: times.extend(args[1].tolist()))
    model.loss(_batch(pair))
    assert times == [1.0] * 4
    times.clear()
    uniform = ScoreEnhancer(tiny_config("conditional"))
    uniform.register_forward_hook(lambda module, args, output: times.extend(args[1].tolist()))
    torch.manual_seed(0)
    uniform.loss(_batch(pair))
    assert all(t < 1.0 for t in times)
    with pytest.raises(ConfigError, match="train_t_max_fraction"):
        tiny_config("conditional", train_t_max_fraction=1.5)


def test_classifier_guidance_changes_the_output(pair):
    model = ScoreEnhancer(tiny_config("conditional")).eval()
    classifier = SpeakerClassifier(SpeakerClassifierConfig(
        spectrogram=SPEC, process=dict(model.config.process), speakers=("a", "b"),
        classifier=NoiseAwareClassifierConfig(num_classes=2, dims=1, in_channels=SPEC.channels, dim=8,
                                              dim_mults=(1, 2), time_scale=1000.0)))
    clean, noisy, labels = _batch(pair)
    assert set(classifier.loss((clean, noisy, labels))) == {"loss", "accuracy"}
    plain = model.enhance(pair[1][:8000], seed=0)
    guided = model.enhance(pair[1][:8000], seed=0, classifier=classifier, guidance_scale=5.0, speaker=1)
    assert np.isfinite(guided).all() and not np.allclose(plain, guided)

    def log_p_speaker(wave):  # what the guidance climbs: log p(speaker 1 | x) at the lowest noise level
        with torch.no_grad():
            spec = analyse(torch.from_numpy(wave / np.abs(pair[1][:8000]).max())[None].float(), SPEC)
            return float(classifier(spec, torch.full((1,), 0.03)).log_softmax(-1)[0, 1])

    assert log_p_speaker(guided) > log_p_speaker(plain)


def _manifest(tmp_path, pair):
    clean, noisy = pair
    sf.write(tmp_path / "clean.wav", clean, SR)
    sf.write(tmp_path / "noisy.wav", noisy, SR)
    rows = [{"id": f"e{i}", "speaker": f"s{i % 2}", "clean_audio": "clean.wav", "noisy_audio": "noisy.wav",
             "noise_family": "white", "snr_db": 5.0} for i in range(2)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path / "train.jsonl"


def test_tasks_build_from_the_shipped_configs(tmp_path, pair):
    manifest = _manifest(tmp_path, pair)
    for name, kind in (("enhance-conditional", ScoreEnhancer), ("enhance-prior", ScoreEnhancer),
                       ("enhance-classifier", SpeakerClassifier)):
        config = load_run_config(f"configs/{name}.yaml", [f"data.train_manifest={manifest}", "data.progress=false",
                                                          "data.segment_samples=4000"])
        model, dataset, _ = build_run(config)
        assert isinstance(model, kind) and len(dataset) == 2 * config.data.segments_per_clip
        clean, noisy, label = dataset[3]
        assert clean.shape == noisy.shape == (4000,) and label in (0, 1)
        assert float(noisy.abs().max()) <= 1.0 + 1e-6  # scaled by the noisy clip's peak
    assert model.config.speakers == ("s0", "s1") and model.config.classifier.num_classes == 2


def test_registered_enhancer_and_cli(tmp_path, pair):
    model = ScoreEnhancer(tiny_config("conditional"))
    save_checkpoint(tmp_path / "enhancer", model, {})
    noisy_path = tmp_path / "noisy.wav"
    sf.write(noisy_path, pair[1], SR)
    enhancer = build_enhancer("score-conditional", checkpoint=tmp_path / "enhancer", steps=2)
    assert enhancer(pair[1]).shape == pair[1].shape
    with pytest.raises(ConfigError, match="prior"):
        build_enhancer("score-prior", checkpoint=tmp_path / "enhancer")
    with pytest.raises(ConfigError, match="classifier"):
        build_enhancer("score-conditional", checkpoint=tmp_path / "enhancer", guidance_scale=1.0)
    out = tmp_path / "out.wav"
    assert main(["enhance", str(noisy_path), "-o", str(out), "--method", "score-conditional", "--checkpoint",
                 str(tmp_path / "enhancer"), "--steps", "2"]) == 0
    assert sf.info(str(out)).frames == pair[1].size
    # Batch input with one unreadable file, or a file as the output folder: a clear error, nothing written.
    (tmp_path / "batch").mkdir()
    sf.write(tmp_path / "batch" / "a.wav", pair[1], SR)
    (tmp_path / "batch" / "b.wav").write_bytes(b"not audio")
    assert main(["enhance", str(tmp_path / "batch"), "-o", str(tmp_path / "batch_out"), "--method",
                 "score-conditional", "--checkpoint", str(tmp_path / "enhancer")]) == 2
    assert not (tmp_path / "batch_out").exists()
    assert main(["enhance", str(tmp_path / "batch"), "-o", str(out), "--method", "spectral-gating"]) == 2
    # Bad options of a baseline: a clear error, nothing written.
    assert main(["enhance", str(noisy_path), "-o", str(tmp_path / "x.wav"), "--method", "spectral-gating",
                 "--steps", "2"]) == 2
    assert not (tmp_path / "x.wav").exists()
