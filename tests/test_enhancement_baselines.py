"""Enhancement baselines: both improve a noisy sentence; DeepFilterNet3's output is aligned with its input; CLI."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig
from conftest import noisy_sentence
from diffs2st.cli.main import main
from diffs2st.enhancement import build_enhancer
from diffs2st.judges import si_sdr

SR = MelConfig().sample_rate


@pytest.fixture(scope="module")
def pair():
    return noisy_sentence("four green apples are on the table near the window")


# Measured on this sentence (white noise, 5 dB): spectral gating +0.8 dB SI-SDR, DeepFilterNet3 +11 dB.
@pytest.mark.parametrize("method,gain_db", [("spectral-gating", 0.3), ("deepfilternet3", 6.0)])
def test_baseline_improves_si_sdr_and_keeps_length(pair, method, gain_db):
    clean, noisy = pair
    enhanced = build_enhancer(method)(noisy)
    assert enhanced.shape == noisy.shape and enhanced.dtype == np.float32
    assert si_sdr(clean, enhanced) > si_sdr(clean, noisy) + gain_db


def test_deepfilternet_output_is_aligned(pair):
    clean, noisy = pair
    enhanced = build_enhancer("deepfilternet3")(noisy)
    lags = range(-200, 201)
    scores = [np.dot(clean[400:-400], np.roll(enhanced, lag)[400:-400]) for lag in lags]
    assert abs(lags[int(np.argmax(scores))]) <= 2


def test_cli_file_and_folder(pair, tmp_path, capsys):
    _, noisy = pair
    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        sf.write(tmp_path / "in" / f"{name}.wav", noisy, SR)
    assert main(["enhance", str(tmp_path / "in" / "a.wav"), "-o", str(tmp_path / "a_out.wav"),
                 "--method", "spectral-gating"]) == 0
    assert main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "deepfilternet3"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav"]
    assert "RTF" in capsys.readouterr().out
    assert main(["enhance", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.wav")]) == 2
