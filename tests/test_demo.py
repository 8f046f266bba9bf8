"""`make demo` path: synthesize, log-mel, Griffin-Lim, report, all offline."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig, log_mel
from diffs2st.cli.demo import s2st_components_present
from diffs2st.cli.main import main


@pytest.mark.slow
def test_demo_writes_what_it_says(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where a Kokoro voice joins its model
    assert main(["demo", "-o", str(tmp_path), "--griffin-lim-iters", "8"]) == 0
    out = capsys.readouterr().out
    for tag in ("fr", "en"):
        original, _ = sf.read(tmp_path / f"{tag}_original.wav")
        resynth, rate = sf.read(tmp_path / f"{tag}_griffin_lim.wav")
        assert rate == MelConfig().sample_rate and str(tmp_path / f"{tag}_griffin_lim.wav") in out
        assert original.size > rate  # a sentence, not a blip
        mel = np.load(tmp_path / f"{tag}_log_mel.npy")
        audible = mel > mel.max() - 5  # the WAV is 16-bit, which moves only the near-silent bins
        again = log_mel(original.astype(np.float32), MelConfig()).numpy()
        assert mel.shape == again.shape and np.abs(mel - again)[audible].max() < 0.05
        assert np.abs(resynth).max() > 0.01
    # The direct S2ST part: English speech in the source's voice, judged and timed. The bundles ship with the
    # repository, so their absence is a failure here, not a reason to test less.
    assert s2st_components_present(), "the bundled direct S2ST components are missing from pretrained/"
    output, rate = sf.read(tmp_path / "s2st_output_en.wav")
    assert rate == MelConfig().sample_rate and output.size > rate // 2
    for phrase in ("transcript:", "translation:", "ASR-BLEU", "similarity to the source", "real-time factor"):
        assert phrase in out
    # its voice is one no model was trained on: a held-out base voice of corpus v2
    from diffs2st.cli.demo import demo_voice
    from diffs2st.data.voices import heldout_anchors

    assert demo_voice().anchors & heldout_anchors() and demo_voice().family in out
