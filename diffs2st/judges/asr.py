"""Speech recognition judges: pocketsphinx en-us (its acoustic model, dictionary and language model ship in the
wheel). One decoder per process: construction costs ~0.3 s, decoding ~0.1 s per second of audio.

Every utterance is decoded from a reset front end: the en-us model's feat.params turns on pocketsphinx's noise
removal, whose noise estimate otherwise carries over from the previous utterance, so a clip's transcript depended
on which clip was decoded before it (12 of 60 synth-cvss clips changed WER when the order was reversed)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..audio import MelConfig

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _pcm16(wave: np.ndarray) -> bytes:
    return (np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def decode(decoder, wave: np.ndarray) -> str:
    """One utterance through a pocketsphinx ``decoder`` from a reset front end -> its hypothesis ('' if none).
    `Decoder.reinit_feat` drops the feature state (noise estimate, CMN) the previous utterance left behind."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(_pcm16(wave), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip() if hypothesis is not None else ""


class PocketsphinxASR:
    """English transcription with pocketsphinx's default en-us models. ``transcribe(wave)`` -> lower-case words."""

    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        from pocketsphinx import Decoder

        self.sample_rate = mel.sample_rate
        self.decoder = Decoder(samprate=self.sample_rate, logfn=os.devnull)

    def transcribe(self, wave: np.ndarray) -> str:
        """``wave``: mono float32 at the MelConfig rate -> hypothesis text ('' when nothing is recognised)."""
        return decode(self.decoder, wave)


class DigitRecognizer:
    """pocketsphinx restricted by a JSGF grammar to exactly one of the ten English digit words."""

    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        from pocketsphinx import Decoder

        grammar = "#JSGF V1.0;\ngrammar digits;\npublic <digit> = " + " | ".join(DIGIT_WORDS) + " ;\n"
        with tempfile.NamedTemporaryFile("w", suffix=".gram", delete=False) as handle:
            handle.write(grammar)
            path = handle.name
        try:
            self.decoder = Decoder(samprate=mel.sample_rate, jsgf=path, logfn=os.devnull)
        finally:
            os.unlink(path)

    def recognize(self, wave: np.ndarray) -> int | None:
        """The digit 0-9 heard in ``wave``, or None when the decoder finds nothing."""
        words = decode(self.decoder, wave).split()
        return DIGIT_WORDS.index(words[0]) if words and words[0] in DIGIT_WORDS else None
