"""Signal-quality judges: DNSMOS (speechmos; ONNX models in the wheel), PESQ-WB (pesq), ESTOI (pystoi), SI-SDR."""

from __future__ import annotations

import numpy as np

from ..audio import MelConfig


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, eq. 1-2): project the zero-mean estimate on the reference."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    length = min(reference.size, estimate.size)
    reference, estimate = reference[:length] - reference[:length].mean(), estimate[:length] - estimate[:length].mean()
    scale = np.dot(estimate, reference) / (np.dot(reference, reference) + 1e-12)
    target = scale * reference
    noise = estimate - target
    return float(10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(noise, noise) + 1e-12)))


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, mel: MelConfig) -> float:
    """Wide-band PESQ (ITU-T P.862.2) MOS-LQO, 1.04-4.64; needs 16 kHz."""
    from pesq import pesq

    length = min(len(reference), len(degraded))
    return float(pesq(mel.sample_rate, np.asarray(reference[:length], dtype=np.float64),
                      np.asarray(degraded[:length], dtype=np.float64), "wb"))


def estoi(reference: np.ndarray, degraded: np.ndarray, mel: MelConfig) -> float:
    """Extended STOI (Jensen & Taal 2016), 0-1."""
    from pystoi import stoi

    length = min(len(reference), len(degraded))
    return float(stoi(reference[:length], degraded[:length], mel.sample_rate, extended=True))


class DNSMOS:
    """DNSMOS P.835 (SIG, BAK, OVRL) and P.808 via speechmos; input clipped to [-1, 1] at 16 kHz."""

    def __init__(self, mel: MelConfig) -> None:
        from speechmos import dnsmos

        self._dnsmos = dnsmos
        self.sample_rate = mel.sample_rate

    def __call__(self, wave: np.ndarray) -> dict[str, float]:
        scores = self._dnsmos.run(np.clip(np.asarray(wave, dtype=np.float32), -1, 1), sr=self.sample_rate)
        return {"dnsmos_sig": float(scores["sig_mos"]), "dnsmos_bak": float(scores["bak_mos"]),
                "dnsmos_ovrl": float(scores["ovrl_mos"]), "dnsmos_p808": float(scores["p808_mos"])}
