"""Our speaker encoder: the embedding contract, masking, the AAM-softmax + voice-parameter loss, the data set, and
a tiny run of the "speaker-encoder" task through the harness that learns to tell two voices apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from diffs2st.audio import MelConfig, log_mel
from diffs2st.checkpoint import load_checkpoint
from diffs2st.data.manifest import S2STRecord, write_manifest
from diffs2st.errors import AudioError, ConfigError, DataError
from diffs2st.speaker import SpeakerEncoder, SpeakerEncoderConfig
from diffs2st.speaker.data import SpeakerClips, collate_speaker_clips, spec_vector
from diffs2st.training.harness import train
from diffs2st.training.tasks import build_run, load_run_config

MEL = MelConfig()
CONFIGS = Path(__file__).parents[1] / "configs"
TINY = SpeakerEncoderConfig(channels=16, dilations=(2,), attention_dim=8, embedding_dim=8, speakers=("a", "b"))


def voice(pitch: float, seconds: float, seed: int) -> np.ndarray:
    """A buzzy harmonic 'voice' whose identity is its pitch, with a random amplitude contour."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * MEL.sample_rate)) / MEL.sample_rate
    wave = sum(np.sin(2 * np.pi * pitch * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 12))
    contour = np.interp(t, np.linspace(0, seconds, 6), rng.uniform(0.3, 1.0, 6))
    return (0.1 * wave * contour).astype(np.float32)


def make_encoder(config: SpeakerEncoderConfig = TINY) -> SpeakerEncoder:
    torch.manual_seed(0)
    return SpeakerEncoder(config).eval()


def test_embeddings_are_unit_length_and_padding_does_not_change_them():
    encoder = make_encoder()
    short, long = voice(120, 0.5, 0), voice(200, 0.9, 1)
    together = encoder.embed_waves([short, long])
    assert together.shape == (2, TINY.embedding_dim)
    torch.testing.assert_close(together.norm(dim=-1), torch.ones(2))
    for index, wave in enumerate((short, long)):  # alone (no padding) == in a padded batch
        torch.testing.assert_close(encoder.embed_waves([wave])[0], together[index], atol=1e-5, rtol=1e-4)


def test_bad_input_is_one_clear_error():
    encoder = make_encoder()
    with pytest.raises(AudioError, match="log-mels"):
        encoder(torch.zeros(1, MEL.n_mels + 1, 10))
    with pytest.raises(AudioError, match="at least one"):
        encoder.embed_waves([])
    with pytest.raises(ConfigError, match="margin"):
        SpeakerEncoderConfig(margin=2.0)


def test_loss_has_the_margin_and_uses_the_voice_parameters_only_where_present():
    encoder = make_encoder()
    encoder.train()
    mel = torch.stack([log_mel(voice(p, 0.6, i), MEL) for i, p in enumerate((120, 200, 120, 200))])
    batch = {"mel": mel, "speaker": torch.tensor([0, 1, 0, 1]), "spec": torch.zeros(4, 3),
             "has_spec": torch.tensor([False] * 4)}
    without = encoder.loss(batch)
    assert "spec" not in without and torch.isfinite(without["loss"])
    with_spec = encoder.loss({**batch, "has_spec": torch.tensor([True, False, False, False]),
                              "spec": torch.ones(4, 3)})
    assert with_spec["loss"] > with_spec["classification"]  # the regression term is added
    no_margin = SpeakerEncoder(SpeakerEncoderConfig(**{**TINY.__dict__, "margin": 0.0}))
    no_margin.load_state_dict(encoder.state_dict())
    no_margin.train()
    torch.manual_seed(1)
    assert no_margin.loss(batch)["classification"] < encoder.loss(batch)["classification"]


def test_spec_vector_and_clips_dataset(tmp_path):
    vector, present = spec_vector({"f0_scale": 2.0, "warp": 1.0, "rate": 0.5, "gender": "f"})
    torch.testing.assert_close(vector, torch.tensor([np.log(2.0), 0.0, np.log(0.5)], dtype=torch.float32))
    assert present and spec_vector(None)[1] is False and spec_vector({"f0_scale": 1.0})[1] is False
    manifest = tiny_manifest(tmp_path)
    clips = SpeakerClips(manifest, MEL, segment_frames=40, segments_per_clip=2)
    assert clips.speakers == ("a", "b") and len(clips) == 2 * 8  # 4 pairs x 2 sides x 2 segments
    mel, label, spec, has_spec = clips[3]
    assert mel.shape == (MEL.n_mels, 40) and has_spec and spec.shape == (3,)
    assert torch.equal(clips[3][0], mel)  # deterministic crops
    batch = collate_speaker_clips([clips[0], clips[1]])
    assert batch["mel"].shape == (2, MEL.n_mels, 40) and batch["speaker"].dtype == torch.long
    with pytest.raises(DataError, match="not among"):
        SpeakerClips(manifest, MEL, segment_frames=40, speakers=("a",))


def tiny_manifest(folder: Path) -> Path:
    """Two 'speakers' (low and high pitch), two S2ST pairs each, with voice parameters."""
    records = []
    for index in range(4):
        speaker, pitch = ("a", 110.0) if index % 2 == 0 else ("b", 230.0)
        for side, seconds in (("src", 0.7), ("tgt", 0.9)):
            sf.write(folder / f"{side}{index}.wav", voice(pitch, seconds, seed=10 * index + len(side)),
                     MEL.sample_rate)
        spec = {"f0_scale": pitch / 150, "warp": 1.0, "rate": 1.0}
        records.append(S2STRecord(id=f"u{index}", speaker=speaker, src_audio=f"src{index}.wav", src_text="x",
                                  tgt_text="y", tgt_audio=f"tgt{index}.wav", speaker_spec=spec))
    return write_manifest(folder / "train.jsonl", records)


def test_training_task_learns_to_separate_two_voices(tmp_path):
    manifest = tiny_manifest(tmp_path)
    overrides = ["trainer.progress_bar=false", "trainer.max_steps=30", "trainer.batch_size=8",
                 "trainer.warmup_steps=0", "trainer.learning_rate=0.003", "trainer.ema_decay=0.0",
                 "trainer.checkpoint_every=100", f"data.train_manifest={manifest}", "data.segment_frames=32",
                 "data.segments_per_clip=4", "model.channels=32", "model.dilations=[2]", "model.embedding_dim=16"]
    config = load_run_config(CONFIGS / "speaker-encoder.yaml", overrides)
    model, dataset, collate = build_run(config)
    result = train(model, dataset, config.trainer, tmp_path / "run", collate_fn=collate)
    encoder = load_checkpoint(result.model_dir).model.eval()
    assert isinstance(encoder, SpeakerEncoder) and encoder.config.speakers == ("a", "b")
    low = encoder.embed_waves([voice(110, 0.8, 100), voice(110, 0.8, 101)])
    high = encoder.embed_waves([voice(230, 0.8, 102)])
    same, different = float(low[0] @ low[1]), float(low[0] @ high[0])
    assert same > different + 0.2, (same, different)
