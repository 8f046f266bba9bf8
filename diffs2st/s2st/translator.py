"""Direct S2ST inference: French speech in -> English text, French transcript and English speech in the same voice.

    translator = Translator.from_pretrained("pretrained")   # st/, speaker-encoder/, synthesizer/, vocoder/
    result = translator.translate(wave)                      # wave: mono float32 at 16 kHz
    result.tgt_text, result.src_text, result.wave, result.mel, result.timings

Stages: speech translator (encoder + source decoder + linguistic decoder: text, tokens, hidden states) -> speaker
encoder on the voice reference (the source itself unless ``voice`` is given) -> acoustic synthesizer (durations,
frame prior, few-step diffusion decoder with voice guidance) -> vocoder. Long inputs are cut at silences, each
segment translated and synthesized, and the outputs joined with a short pause; nothing is truncated.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio import split_on_silence
from ..checkpoint import load_checkpoint
from ..errors import CheckpointError, ConfigError
from ..pretrained import PRETRAINED_DIR
from ..vocoders import load_vocoder
from .synthesizer import AcousticSynthesizer

COMPONENTS = ("st", "speaker-encoder", "synthesizer", "vocoder")
JOIN_PAUSE_SECONDS = 0.15


@dataclass
class S2STResult:
    src_text: str
    tgt_text: str
    wave: np.ndarray  # (samples,) at the MelConfig rate
    mel: np.ndarray  # (n_mels, frames)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, and "total"


class Translator:
    """The four trained components, checked for compatibility (same MelConfig, matching widths and symbols)."""

    def __init__(self, speech_translator, speaker_encoder, synthesizer: AcousticSynthesizer, vocoder) -> None:
        config = synthesizer.config
        if config.state_dim and config.state_dim != speech_translator.config.encoder.d_model:
            raise ConfigError(f"the synthesizer reads {config.state_dim}-d states, the translator makes "
                              f"{speech_translator.config.encoder.d_model}-d ones")
        if config.symbols != speech_translator.config.tgt_symbols:
            raise ConfigError("the synthesizer and the translator use different target symbols")
        if config.speaker_dim != speaker_encoder.config.embedding_dim:
            raise ConfigError(f"the synthesizer reads {config.speaker_dim}-d speaker vectors, the encoder makes "
                              f"{speaker_encoder.config.embedding_dim}-d ones")
        mels = {speech_translator.config.mel, speaker_encoder.mel, synthesizer.mel, vocoder.mel}
        if len(mels) != 1:
            raise ConfigError("the components were trained with different MelConfigs")
        self.speech_translator, self.speaker_encoder = speech_translator.eval(), speaker_encoder.eval()
        self.synthesizer, self.vocoder = synthesizer.eval(), vocoder
        self.mel = synthesizer.mel

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike = PRETRAINED_DIR, vocoder: str | None = None) -> Translator:
        """Load ``directory``/{st, speaker-encoder, synthesizer, vocoder}; ``vocoder`` overrides the last one
        (a checkpoint directory or "griffin-lim")."""
        from ..speaker import SpeakerEncoder
        from ..translation import SpeechTranslator

        directory = Path(directory)
        missing = [name for name in COMPONENTS[:3] + (() if vocoder else ("vocoder",))
                   if not (directory / name / "model.safetensors").is_file()]
        if missing:
            raise CheckpointError(f"{directory} lacks the trained component(s) {', '.join(missing)} "
                                  f"(expected {', '.join(f'{c}/' for c in COMPONENTS)})")
        parts = {name: load_checkpoint(directory / name).model for name in COMPONENTS[:3]}
        for name, kind in (("st", SpeechTranslator), ("speaker-encoder", SpeakerEncoder),
                           ("synthesizer", AcousticSynthesizer)):
            if not isinstance(parts[name], kind):
                raise CheckpointError(f"{directory / name} holds a {type(parts[name]).__name__}, not a {kind.__name__}")
        return cls(parts["st"], parts["speaker-encoder"], parts["synthesizer"],
                   load_vocoder(vocoder or directory / "vocoder"))

    @torch.inference_mode()
    def translate(self, wave: np.ndarray, voice: np.ndarray | None = None, steps: int = 4,
                  voice_guidance: float = 1.0, sampler: str = "ode_euler", temperature: float = 1.0,
                  length_scale: float = 1.0, max_segment_seconds: float = 12.0, seed: int = 0) -> S2STResult:
        """Translate one utterance of any length; ``voice`` (a wave) replaces the source as the voice reference."""
        timings = dict.fromkeys(("speaker_encoder", "translation", "synthesizer", "vocoder"), 0.0)

        def timed(stage: str, function, *args, **kwargs):
            start = time.perf_counter()
            value = function(*args, **kwargs)
            timings[stage] += time.perf_counter() - start
            return value

        wave = np.asarray(wave, dtype=np.float32)
        rate = self.mel.sample_rate
        speaker = timed("speaker_encoder", self.speaker_encoder.embed_waves, [wave if voice is None else voice])
        segments = split_on_silence(wave, rate, max_seconds=max_segment_seconds)
        results = timed("translation", self.speech_translator.translate, [wave[s.start:s.end] for s in segments])
        waves, mels = [], []
        for index, result in enumerate(results):
            if not result.tgt_tokens:  # nothing to say for this segment (e.g. noise): keep a pause
                continue
            tokens = torch.tensor([result.tgt_tokens])
            states = result.tgt_states[1:][None] if self.synthesizer.config.state_dim else None
            out = timed("synthesizer", self.synthesizer.synthesize, tokens, torch.tensor([tokens.shape[1]]),
                        speaker, states, steps=steps, sampler=sampler, voice_guidance=voice_guidance,
                        temperature=temperature, length_scale=length_scale, seed=seed + index)
            mel = out.mel[0, :, :int(out.lengths[0])]
            mels.append(mel)
            waves.append(timed("vocoder", self.vocoder, mel).numpy())
        pause = np.zeros(int(JOIN_PAUSE_SECONDS * rate), dtype=np.float32)
        joined = [piece for w in waves for piece in (w, pause)][:-1] if waves else [np.zeros(0, np.float32)]
        timings["total"] = sum(timings.values())
        mel = torch.cat(mels, dim=-1).numpy() if mels else np.zeros((self.mel.n_mels, 0), np.float32)
        return S2STResult(src_text=" ".join(r.src_text for r in results).strip(),
                          tgt_text=" ".join(r.tgt_text for r in results).strip(), wave=np.concatenate(joined),
                          mel=mel, timings=timings)
