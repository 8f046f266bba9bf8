"""Audio front-end: loading of every format and layout, log-mel against librosa, Griffin-Lim, level, splitting."""

from __future__ import annotations

import io

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from diffs2st.audio import (MelConfig, active_level_db, griffin_lim, load_audio, log_mel, normalize_loudness,
                            save_audio, split_on_silence)
from diffs2st.errors import AudioError, AudioTooLongError, ConfigError, OutputPathError

CONFIG = MelConfig()
SR = CONFIG.sample_rate


@pytest.mark.parametrize("fmt,ext", [("WAV", ".wav"), ("FLAC", ".flac"), ("OGG", ".ogg"), ("MP3", ".mp3")])
def test_load_formats_any_rate_resampled_to_16k(tmp_path, make_tone, fmt, ext):
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    path = tmp_path / f"clip{ext}"
    sf.write(path, make_tone(1.0, 22050), 22050, format=fmt)
    wave = load_audio(path, SR)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.size - SR) < 0.01 * SR  # MP3 adds a little encoder padding


def test_eight_channel_48k_is_downmixed_and_resampled(tmp_path, make_tone):
    path = tmp_path / "multi.wav"
    sf.write(path, make_tone(2.0, 48000, channels=8), 48000)
    wave = load_audio(path, SR)
    assert wave.shape == (2 * SR,)
    mono_48k = make_tone(2.0, 48000, channels=8).mean(axis=1)
    assert np.corrcoef(wave[:SR], librosa.resample(mono_48k, orig_sr=48000, target_sr=SR)[:SR])[0, 1] > 0.99


def test_load_from_bytes_and_array(make_tone):
    buffer = io.BytesIO()
    sf.write(buffer, make_tone(0.5, 8000), 8000, format="WAV")
    from_bytes = load_audio(buffer.getvalue(), SR)
    from_array = load_audio(make_tone(0.5, 8000)[:, 0], SR, source_rate=8000)
    assert from_bytes.shape == from_array.shape == (SR // 2,)
    np.testing.assert_allclose(from_bytes, from_array, atol=1e-3)  # 16-bit quantisation of the WAV
    with pytest.raises(AudioError, match="sample rate"):
        load_audio(make_tone(0.5, 8000)[:, 0], SR)


def _write_truncated_wav(path, make_tone):
    buffer = io.BytesIO()
    sf.write(buffer, make_tone(1.0, SR), SR, format="WAV")
    path.write_bytes(buffer.getvalue()[:30])  # cut inside the 44-byte header


BAD_INPUTS = {
    "empty file": (lambda p, t: p.write_bytes(b""), "empty"),
    "random bytes": (lambda p, t: p.write_bytes(np.random.default_rng(0).bytes(4000)), "cannot decode"),
    "truncated header": (lambda p, t: _write_truncated_wav(p, t), "cannot decode|no audio"),
    "nan samples": (lambda p, t: sf.write(p, np.where(np.arange(SR) == 100, np.nan, 0.1).astype(np.float32), SR,
                                          subtype="FLOAT"), "NaN or infinite"),
    "inf samples": (lambda p, t: sf.write(p, np.where(np.arange(SR) == 7, np.inf, 0.1).astype(np.float32), SR,
                                          subtype="FLOAT"), "NaN or infinite"),
    "all zeros": (lambda p, t: sf.write(p, np.zeros(SR, dtype=np.float32), SR), "silent"),
    "0.05 seconds": (lambda p, t: sf.write(p, t(0.05, SR), SR), "0.050 s long"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_raise_audio_error(tmp_path, make_tone, case):
    write, message = BAD_INPUTS[case]
    path = tmp_path / "bad.wav"
    write(path, make_tone)
    with pytest.raises(AudioError, match=message):
        load_audio(path, SR)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav", SR)
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path, SR)


def test_ten_minutes_names_the_limit_and_the_option(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.full(600 * SR, 0.1, dtype=np.float32), SR)
    with pytest.raises(AudioTooLongError, match=r"600\.0 s long, over the limit of 300 s.*--max-seconds"):
        load_audio(path, SR)
    assert load_audio(path, SR, max_seconds=None).size == 600 * SR


def test_save_audio_refuses_missing_folder_and_never_clips(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        save_audio(tmp_path / "missing" / "out.wav", np.zeros(100), SR)
    loud = np.linspace(-3, 3, SR).astype(np.float32)
    path = save_audio(tmp_path / "loud.wav", loud, SR)
    back, _ = sf.read(path)
    assert np.abs(back).max() < 1.0
    assert np.corrcoef(back, loud)[0, 1] > 0.9999  # scaled, not clipped
    assert not list(tmp_path.glob("*.tmp"))


def test_log_mel_matches_librosa(make_tone):
    """Tolerance: 1e-3 in natural-log units (librosa runs in float64, we in float32)."""
    wave = make_tone(1.3, SR)[:, 0]
    ours = log_mel(wave, CONFIG).numpy()
    reference = librosa.feature.melspectrogram(
        y=wave, sr=SR, n_fft=CONFIG.n_fft, hop_length=CONFIG.hop_length, win_length=CONFIG.win_length, power=1.0,
        n_mels=CONFIG.n_mels, fmin=CONFIG.f_min, fmax=CONFIG.f_max, center=True, pad_mode="reflect")
    reference = np.log(np.maximum(reference, CONFIG.log_floor))
    assert ours.shape == reference.shape == (CONFIG.n_mels, CONFIG.num_frames(wave.size))
    assert np.abs(ours - reference).max() < 1e-3


def test_log_mel_batched_equals_single(make_tone):
    waves = np.stack([make_tone(1.0, SR, seed=s)[:, 0] for s in range(3)])
    batched = log_mel(torch.from_numpy(waves), CONFIG)
    for i in range(3):
        torch.testing.assert_close(batched[i], log_mel(waves[i], CONFIG), atol=1e-4, rtol=0)


def test_griffin_lim_reproduces_the_mel(make_tone):
    wave = make_tone(1.0, SR)[:, 0]
    mel = log_mel(wave, CONFIG)
    rebuilt = griffin_lim(mel, CONFIG, n_iter=32)
    assert rebuilt.shape == ((mel.shape[-1] - 1) * CONFIG.hop_length,)
    # mean log-mel distance after inversion; random-phase start alone gives > 1
    loud = mel > mel.max() - 6
    assert (log_mel(rebuilt, CONFIG)[..., : mel.shape[-1]] - mel)[loud].abs().mean() < 0.35
    with pytest.raises(ConfigError, match="bins"):
        griffin_lim(torch.zeros(40, 10), CONFIG)


def test_normalize_loudness_hits_target_without_clipping(make_tone):
    wave = make_tone(2.0, SR)[:, 0] * 0.01
    out = normalize_loudness(wave, SR, target_db=-26.0)
    assert abs(active_level_db(out, SR) + 26.0) < 0.5
    spiky = wave.copy()
    spiky[100] = 0.5  # a peak that would exceed the limit after gain
    out = normalize_loudness(spiky, SR, target_db=-10.0, peak_limit=0.9)
    assert np.abs(out).max() <= 0.9 + 1e-6


def test_split_on_silence_tiles_input_and_cuts_in_pauses():
    rng = np.random.default_rng(0)
    speech, pause = 0.3 * rng.standard_normal(int(4 * SR)), np.zeros(int(0.5 * SR))
    wave = np.concatenate([speech, pause, speech, pause, speech, pause, speech]).astype(np.float32)
    segments = split_on_silence(wave, SR, max_seconds=10.0)
    assert segments[0].start == 0 and segments[-1].end == wave.size
    assert all(a.end == b.start for a, b in zip(segments, segments[1:]))  # nothing dropped
    assert all(s.end - s.start <= 10 * SR for s in segments)
    for cut in (s.start for s in segments[1:]):
        assert np.abs(wave[cut - 800:cut + 800]).max() == 0  # the cut sits inside a pause


def test_split_without_silence_still_respects_the_limit():
    wave = np.random.default_rng(1).standard_normal(int(25 * SR)).astype(np.float32)
    segments = split_on_silence(wave, SR, max_seconds=10.0)
    assert sum(s.end - s.start for s in segments) == wave.size
    assert max(s.end - s.start for s in segments) <= 10 * SR


def test_mel_config_validation():
    with pytest.raises(ConfigError):
        MelConfig(f_max=9000.0)
    with pytest.raises(ConfigError):
        MelConfig(win_length=2048)
