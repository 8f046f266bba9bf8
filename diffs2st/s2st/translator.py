"""Direct S2ST inference: French speech in -> English text, French transcript and English speech in the same voice.

    translator = Translator.from_pretrained("pretrained")   # direct-st/ (or st/), speaker-encoder/, synthesizer/,
                                                            # vocoder/
    cascade = CascadeTranslator.from_pretrained("pretrained")  # st/, text-mt/, speaker-encoder/, cascade-tts/, vocoder/
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
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np
import torch

from ..audio import split_on_silence
from ..checkpoint import load_model
from ..errors import CheckpointError, ConfigError
from ..pretrained import ENVIRONMENT_VARIABLE, pretrained_dir
from ..vocoders import load_vocoder
from .synthesizer import AcousticSynthesizer

if TYPE_CHECKING:
    from .streaming import StreamSegment

JOIN_PAUSE_SECONDS = 0.15
# Scale of the starting noise of the flow decoder (Grad-TTS's temperature). Measured on 12 test-unseen utterances
# with the bundled synthesizer (4 steps): temperature 1.0 / 0.5 / 0.2 / 0.1 / 0.0 -> ASR-BLEU 19.1 / 39.5 / 46.2 /
# 47.4 / 38.4 and similarity to the reference target 0.62 / 0.72 / 0.79 / 0.80 / 0.80 (docs/benchmarks/s2st/s2st.md).
DEFAULT_TEMPERATURE = 0.1
# The direct path's speech translator, when a pretrained folder has one: the same encoder and source decoder as "st"
# with a shallower target decoder distilled from it (translation/distill.py), which is cheaper per output character.
DIRECT_ST = "direct-st"


def direct_translator_name(directory: str | os.PathLike) -> str:
    """"direct-st" when ``directory`` holds that component, else "st"."""
    return DIRECT_ST if (Path(directory) / DIRECT_ST / "model.safetensors").is_file() else "st"


@dataclass
class S2STResult:
    src_text: str
    tgt_text: str
    wave: np.ndarray  # (samples,) at the MelConfig rate
    mel: np.ndarray  # (n_mels, frames)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, and "total"


class StageTimer:
    """Seconds spent per named stage; ``timer(stage, f, *args)`` runs f and adds its time."""

    def __init__(self, stages: tuple[str, ...]) -> None:
        self.seconds = dict.fromkeys(stages, 0.0)

    def __call__(self, stage: str, function, *args, **kwargs):
        start = time.perf_counter()
        value = function(*args, **kwargs)
        self.seconds[stage] += time.perf_counter() - start
        return value

    def report(self) -> dict[str, float]:
        return {**self.seconds, "total": sum(self.seconds.values())}


def load_components(directory: Path, kinds: dict[str, type], vocoder: str | None):
    """The named trained components of a pretrained folder (type-checked) and its vocoder (or the override)."""
    missing = [name for name in list(kinds) + ([] if vocoder else ["vocoder"])
               if not (directory / name / "model.safetensors").is_file()]
    if missing:
        raise CheckpointError(f"{directory} lacks the trained component(s) {', '.join(missing)} "
                              f"(expected {', '.join(f'{c}/' for c in [*kinds, 'vocoder'])}; name another folder with "
                              f"--model or set {ENVIRONMENT_VARIABLE})")
    parts = {name: load_model(directory / name, kind) for name, kind in kinds.items()}
    synthesizer_mel = list(parts.values())[-1].config.mel  # the last kind is the synthesizer whose mels it inverts
    return parts, load_vocoder(vocoder or directory / "vocoder", mel=synthesizer_mel)


def check_speaker_fit(synthesizer: AcousticSynthesizer, speaker_encoder, others: tuple = ()) -> None:
    """Speaker widths and MelConfigs of components that work together must agree."""
    if synthesizer.config.speaker_dim != speaker_encoder.config.embedding_dim:
        raise ConfigError(f"the synthesizer reads {synthesizer.config.speaker_dim}-d speaker vectors, the encoder "
                          f"makes {speaker_encoder.config.embedding_dim}-d ones")
    mels = {speaker_encoder.mel, synthesizer.mel, *(part.mel for part in others)}
    if len(mels) != 1:
        raise ConfigError("the components were trained with different MelConfigs")


def speak(synthesizer: AcousticSynthesizer, vocoder, timer: StageTimer, token_lists: list[list[int]],
          state_lists: list[torch.Tensor | None], speaker: torch.Tensor, seed: int, **options) -> tuple[np.ndarray,
                                                                                                    np.ndarray]:
    """Synthesize and vocode each segment's tokens (empty segments are skipped), join with short pauses ->
    (wave (samples,), mel (n_mels, frames))."""
    waves, mels = [], []
    for index, (tokens, states) in enumerate(zip(token_lists, state_lists)):
        if not tokens:  # nothing to say for this segment (e.g. noise)
            continue
        ids = torch.tensor([tokens])
        out = timer("synthesizer", synthesizer.synthesize, ids, torch.tensor([len(tokens)]), speaker,
                    None if states is None else states[None], seed=seed + index, **options)
        mel = out.mel[0, :, :int(out.lengths[0])]
        mels.append(mel)
        waves.append(timer("vocoder", vocoder, mel).numpy())
    rate = synthesizer.mel.sample_rate
    pause = np.zeros(int(JOIN_PAUSE_SECONDS * rate), dtype=np.float32)
    joined = [piece for w in waves for piece in (w, pause)][:-1] if waves else [np.zeros(0, np.float32)]
    mel = torch.cat(mels, dim=-1).numpy() if mels else np.zeros((synthesizer.mel.n_mels, 0), np.float32)
    return np.concatenate(joined), mel


# A sentence of about the length of a 2-3 s utterance's translation, for `warm_up`.
WARM_UP_TEXT = "the black cat is sleeping in the small house"


@torch.inference_mode()
def warm_up(synthesizer: AcousticSynthesizer, vocoder) -> None:
    """Synthesize and vocode one short sentence (one sampling step, with voice guidance as `Translator.translate`
    runs it) and throw it away: the first real call then finds the kernels and memory it needs already set up,
    instead of costing 1.2-1.25x the second (docs/benchmarks/cold_start/cold_start.md). Leaves every random state
    alone (the synthesizer samples from its own seeded generator)."""
    tokens = synthesizer.tokenizer.encode(WARM_UP_TEXT)
    states = torch.zeros(len(tokens), synthesizer.config.state_dim) if synthesizer.config.state_dim else None
    speaker = torch.zeros(1, synthesizer.config.speaker_dim)
    speak(synthesizer, vocoder, StageTimer(("synthesizer", "vocoder")), [tokens], [states], speaker, 0, steps=1,
          voice_guidance=1.0)


class Translator:
    """The four trained components, checked for compatibility (same MelConfig, matching widths and symbols)."""

    def __init__(self, speech_translator, speaker_encoder, synthesizer: AcousticSynthesizer, vocoder) -> None:
        config = synthesizer.config
        if config.state_dim and config.state_dim != speech_translator.config.encoder.d_model:
            raise ConfigError(f"the synthesizer reads {config.state_dim}-d states, the translator makes "
                              f"{speech_translator.config.encoder.d_model}-d ones")
        if config.symbols != speech_translator.config.tgt_symbols:
            raise ConfigError("the synthesizer and the translator use different target symbols")
        check_speaker_fit(synthesizer, speaker_encoder, (speech_translator.config, vocoder))
        self.speech_translator, self.speaker_encoder = speech_translator.eval(), speaker_encoder.eval()
        self.synthesizer, self.vocoder = synthesizer.eval(), vocoder
        self.mel = synthesizer.mel

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike | None = None, vocoder: str | None = None) -> Translator:
        """Load ``directory``/{direct-st (or st, `direct_translator_name`), speaker-encoder, synthesizer, vocoder};
        ``vocoder`` overrides the last one (a checkpoint directory or "griffin-lim"). The directory defaults to the
        bundled models (`pretrained.pretrained_dir`, read at call time)."""
        directory = Path(directory or pretrained_dir())
        from ..speaker import SpeakerEncoder
        from ..translation import SpeechTranslator

        translator = direct_translator_name(directory)
        parts, loaded_vocoder = load_components(Path(directory), {
            translator: SpeechTranslator, "speaker-encoder": SpeakerEncoder, "synthesizer": AcousticSynthesizer},
            vocoder)
        loaded = cls(parts[translator], parts["speaker-encoder"], parts["synthesizer"], loaded_vocoder)
        warm_up(loaded.synthesizer, loaded.vocoder)
        return loaded

    @torch.inference_mode()
    def translate(self, wave: np.ndarray, voice: np.ndarray | None = None, steps: int = 4,
                  voice_guidance: float = 1.0, sampler: str = "ode_euler", temperature: float = DEFAULT_TEMPERATURE,
                  length_scale: float = 1.0, max_segment_seconds: float = 12.0, seed: int = 0) -> S2STResult:
        """Translate one utterance of any length; ``voice`` (a wave) replaces the source as the voice reference."""
        timer = StageTimer(("speaker_encoder", "translation", "synthesizer", "vocoder"))
        wave = np.asarray(wave, dtype=np.float32)
        speaker = timer("speaker_encoder", self.speaker_encoder.embed_waves, [wave if voice is None else voice])
        segments = split_on_silence(wave, self.mel.sample_rate, max_seconds=max_segment_seconds)
        results = timer("translation", self.speech_translator.translate, [wave[s.start:s.end] for s in segments])
        states = [r.tgt_states[1:] if self.synthesizer.config.state_dim else None for r in results]
        out_wave, mel = speak(self.synthesizer, self.vocoder, timer, [r.tgt_tokens for r in results], states,
                              speaker, seed, steps=steps, sampler=sampler, voice_guidance=voice_guidance,
                              temperature=temperature, length_scale=length_scale)
        return S2STResult(src_text=" ".join(r.src_text for r in results).strip(),
                          tgt_text=" ".join(r.tgt_text for r in results).strip(), wave=out_wave, mel=mel,
                          timings=timer.report())

    @torch.inference_mode()
    def translate_segment(self, wave: np.ndarray, speaker: torch.Tensor, steps: int = 4, voice_guidance: float = 1.0,
                          sampler: str = "ode_euler", temperature: float = DEFAULT_TEMPERATURE,
                          length_scale: float = 1.0, seed: int = 0) -> S2STResult:
        """One already-cut segment (e.g. by a VAD) in the voice of the unit speaker embedding ``speaker`` (1, D):
        no splitting, no speaker encoder. An empty translation gives an empty wave."""
        timer = StageTimer(("translation", "synthesizer", "vocoder"))
        result = timer("translation", self.speech_translator.translate, [np.asarray(wave, dtype=np.float32)])[0]
        states = [result.tgt_states[1:] if self.synthesizer.config.state_dim else None]
        out_wave, mel = speak(self.synthesizer, self.vocoder, timer, [result.tgt_tokens], states, speaker, seed,
                              steps=steps, sampler=sampler, voice_guidance=voice_guidance, temperature=temperature,
                              length_scale=length_scale)
        return S2STResult(src_text=result.src_text.strip(), tgt_text=result.tgt_text.strip(), wave=out_wave,
                          mel=mel, timings=timer.report())

    def stream(self, chunks: Iterable[np.ndarray], voice: np.ndarray | None = None, vad: str = "silero",
               max_segment_seconds: float = 12.0, **options) -> Iterator[StreamSegment]:
        """Translate audio arriving in chunks (mono float32 at the MelConfig rate, any size): yields each segment
        the voice-activity detector closes as soon as it is translated (`streaming.stream_translate`)."""
        from .streaming import stream_translate

        return stream_translate(self, chunks, voice=voice, vad=vad, max_segment_seconds=max_segment_seconds,
                                **options)


class CascadeTranslator:
    """The cascade baseline on the same data: source transcript (the speech translator's source decoder) -> text MT
    -> TTS (the same synthesizer family reading characters only, the same speaker encoder) -> the same vocoder."""

    def __init__(self, speech_translator, text_translator, speaker_encoder, tts: AcousticSynthesizer,
                 vocoder) -> None:
        if tts.config.state_dim:
            raise ConfigError("the cascade's TTS must read characters only (state_dim 0)")
        if tts.config.symbols != text_translator.config.tgt_symbols:
            raise ConfigError("the TTS and the text translator use different target symbols")
        if speech_translator.config.src_symbols != text_translator.config.src_symbols:
            raise ConfigError("the speech translator's transcripts and the text translator's inputs use different "
                              "source symbols")
        check_speaker_fit(tts, speaker_encoder, (speech_translator.config, vocoder))
        self.speech_translator, self.text_translator = speech_translator.eval(), text_translator.eval()
        self.speaker_encoder, self.tts, self.vocoder = speaker_encoder.eval(), tts.eval(), vocoder
        self.mel = tts.mel

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike | None = None,
                        vocoder: str | None = None) -> CascadeTranslator:
        """Load ``directory``/{st, text-mt, speaker-encoder, cascade-tts, vocoder} (default: the bundled models)."""
        directory = Path(directory or pretrained_dir())
        from ..speaker import SpeakerEncoder
        from ..translation import SpeechTranslator
        from ..translation.text import TextTranslator

        parts, loaded_vocoder = load_components(Path(directory), {
            "st": SpeechTranslator, "text-mt": TextTranslator, "speaker-encoder": SpeakerEncoder,
            "cascade-tts": AcousticSynthesizer}, vocoder)
        loaded = cls(parts["st"], parts["text-mt"], parts["speaker-encoder"], parts["cascade-tts"], loaded_vocoder)
        warm_up(loaded.tts, loaded.vocoder)
        return loaded

    @torch.inference_mode()
    def translate(self, wave: np.ndarray, voice: np.ndarray | None = None, steps: int = 4,
                  voice_guidance: float = 1.0, sampler: str = "ode_euler", temperature: float = DEFAULT_TEMPERATURE,
                  length_scale: float = 1.0, max_segment_seconds: float = 12.0, seed: int = 0) -> S2STResult:
        """Same contract as `Translator.translate`."""
        timer = StageTimer(("speaker_encoder", "asr", "mt", "synthesizer", "vocoder"))
        wave = np.asarray(wave, dtype=np.float32)
        speaker = timer("speaker_encoder", self.speaker_encoder.embed_waves, [wave if voice is None else voice])
        segments = split_on_silence(wave, self.mel.sample_rate, max_seconds=max_segment_seconds)
        transcripts = timer("asr", self.speech_translator.transcribe, [wave[s.start:s.end] for s in segments])
        translations = timer("mt", self.text_translator.translate, transcripts)
        tokens = [self.tts.tokenizer.encode(text) for text in translations]
        out_wave, mel = speak(self.tts, self.vocoder, timer, tokens, [None] * len(tokens), speaker, seed,
                              steps=steps, sampler=sampler, voice_guidance=voice_guidance, temperature=temperature,
                              length_scale=length_scale)
        return S2STResult(src_text=" ".join(transcripts).strip(), tgt_text=" ".join(translations).strip(),
                          wave=out_wave, mel=mel, timings=timer.report())
