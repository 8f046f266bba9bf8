"""The S2ST acoustic synthesizer: monotonic alignment search against brute force, length regulation, and the
synthesizer's loss, sampling contract and learning on a toy example."""

from __future__ import annotations

import itertools

import pytest
import torch

from diffs2st.audio import MelConfig
from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.errors import ConfigError, DataError
from diffs2st.nets.unet1d import UNet1DConfig
from diffs2st.s2st.alignment import gaussian_log_likelihood, length_regulate, monotonic_alignment
from diffs2st.s2st.synthesizer import AcousticSynthesizer, SynthesizerConfig

MEL = MelConfig()


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
    return SynthesizerConfig(symbols=("<pad>", "a", "b", "c"), state_dim=state_dim, speaker_dim=8, encoder_dim=16,
                             encoder_layers=1, duration_channels=16, decoder=decoder, segment_frames=16, dropout=0.0)


def toy_batch(state_dim: int = 0) -> dict[str, torch.Tensor]:
    """Two utterances whose frames are constant per token ('a' low, 'b' high, 'c' middle)."""
    levels = {1: -6.0, 2: -1.0, 3: -3.5}
    tokens = torch.tensor([[1, 2, 3, 1], [3, 2, 0, 0]])
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


def test_config_errors_and_state_shape_check():
    with pytest.raises(ConfigError, match="global_dim"):
        SynthesizerConfig(speaker_dim=64)
    model = AcousticSynthesizer(tiny_config(state_dim=6))
    batch = toy_batch()  # no states
    with pytest.raises(ConfigError, match="reads states"):
        model.loss(batch)


def test_learns_the_toy_durations_and_round_trips_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = AcousticSynthesizer(tiny_config())
    batch = toy_batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        losses = model.loss(batch)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        first = first if first is not None else {k: v.item() for k, v in losses.items()}
    assert losses["prior"] < 0.3 * first["prior"] and losses["duration"] < 0.3 * first["duration"], (first, losses)
    model.eval()
    save_checkpoint(tmp_path / "synth", model)
    loaded = load_checkpoint(tmp_path / "synth").model
    a = model.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    b = loaded.synthesize(batch["tokens"], batch["token_lengths"], batch["speaker"], steps=2)
    assert torch.equal(a.mel, b.mel)
