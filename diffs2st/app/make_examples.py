"""Write the web app's bundled example clips into ``diffs2st/app/examples/`` (committed; rerun to rebuild them):

    python -m diffs2st.app.make_examples

French sentences of the bilingual grammar said by unseen-speaker transforms (the voices of the test-unseen-speakers
split: F0 bands no training speaker used) through the corpus renderer, and one of them mixed with pink noise at 5 dB
SNR for the Enhance tab. 16 kHz mono 16-bit WAV, each under 100 kB.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_MEL, save_audio
from ..data.noise import mix_at_snr, pink
from ..data.speakers import sample_unseen_speakers, speak_french

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
# (file stem, French, English reference); short so each clip stays well under 100 kB.
SENTENCES = (
    ("bateau", "Le bateau est sur le lit.", "The boat is on the bed."),
    ("tortue", "Où est ta petite tortue ?", "Where is your small turtle?"),
    ("araignee", "L'araignée suit la girafe.", "The spider follows the giraffe."),
)
VOICES = ("f3", "m1", "m6")  # espeak-ng variants of the example speakers: two men and a woman
NOISY_SNR_DB = 5.0
SEED = 2028


def example_clips() -> dict[str, np.ndarray]:
    """{file name: wave} of every example, deterministic from `SEED`."""
    unseen = {spec.espeak_variant: spec for spec in sample_unseen_speakers(12, random.Random(SEED))}
    speakers = [unseen[variant] for variant in VOICES]
    clips = {f"fr_{stem}_{spec.espeak_variant}.wav": speak_french(text, spec)
             for (stem, text, _), spec in zip(SENTENCES, speakers)}
    first_name, first = next(iter(clips.items()))
    noise = pink(first.size, np.random.default_rng(SEED), DEFAULT_MEL.sample_rate)
    clips[f"noisy_{first_name.removeprefix('fr_')}"] = mix_at_snr(first, noise, NOISY_SNR_DB)
    return clips


def main() -> None:
    EXAMPLES_DIR.mkdir(exist_ok=True)
    for name, wave in example_clips().items():
        path = save_audio(EXAMPLES_DIR / name, wave, DEFAULT_MEL.sample_rate)
        print(f"{path} ({path.stat().st_size / 1000:.0f} kB, {wave.size / DEFAULT_MEL.sample_rate:.2f} s)")


if __name__ == "__main__":
    main()
