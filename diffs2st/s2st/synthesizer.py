"""The acoustic synthesizer (DESIGN §2): target-token states + speaker embedding -> target log-mel.

    tokens (+ the linguistic decoder's hidden states) -> transformer text encoder (+ speaker) -> per-token prior mu
    -> duration predictor -> length regulation -> frame prior -> diffusion decoder D(x_t, t | mu, s) -> log-mel

Training (Grad-TTS / Matcha-TTS recipe): monotonic alignment search between the per-token priors and the target
frames gives the durations (learned, never read from the corpus synthesizer); losses = prior NLL of the frames under
the aligned priors + MSE of log durations + the diffusion decoder's loss (conditional flow matching by default) on a
random window of frames. With ``pitch`` (pitch.py) a predictor also learns each frame's log-F0 and voicing from the
aligned encoder outputs (MSE on voiced frames + BCE), and the decoder's prior input gets the harmonic pattern of the
target's F0 (teacher forcing; the predicted F0 at sampling time), so low voices keep their harmonics. The speaker
vector is dropped with probability ``speaker_dropout`` so classifier-free guidance on it ("voice strength") works at
sampling time. With ``state_dim = 0`` the same model is a text-to-speech synthesizer from target characters alone:
the cascade baseline's TTS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..audio import DEFAULT_MEL, MelConfig
from ..audio.normalization import MelNormalizer
from ..diffusion import ClassifierFreeGuidance, build_process, diffusion_loss, sample
from ..errors import ConfigError
from ..nets.unet1d import UNet1D, UNet1DConfig
from ..registry import MODELS
from ..translation.conformer import sinusoid_table
from ..translation.tokenizer import PAD, CharTokenizer
from .alignment import gaussian_log_likelihood, length_regulate, monotonic_alignment
from .pitch import f0_from_prediction, harmonic_pattern, log_f0_target


def _default_decoder() -> UNet1DConfig:
    n_mels = DEFAULT_MEL.n_mels
    return UNet1DConfig(channels=n_mels, prior_channels=n_mels, dim=64, dim_mults=(1, 2, 4), global_dim=128,
                        time_scale=1000.0)


@dataclass(frozen=True)
class SynthesizerConfig:
    """``symbols``: the target characters (a `CharTokenizer` inventory, shared with the translator); ``state_dim``:
    width of the linguistic decoder's hidden states read alongside the tokens (0: tokens only, the cascade TTS)."""

    mel: MelConfig = field(default_factory=MelConfig)
    symbols: tuple[str, ...] = ()
    state_dim: int = 0
    speaker_dim: int = 128
    encoder_dim: int = 192
    encoder_layers: int = 4
    encoder_heads: int = 2
    dropout: float = 0.1
    duration_channels: int = 256
    decoder: UNet1DConfig = field(default_factory=_default_decoder)
    process: dict[str, Any] = field(default_factory=lambda: {"name": "flow"})
    speaker_dropout: float = 0.1
    segment_frames: int = 128  # decoder loss on a random window this long (0: whole utterances)
    pitch: bool = False  # predict F0 and show the decoder its harmonics (needs data.pitch: the targets' F0)
    mel_mean: tuple[float, ...] = ()
    mel_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.decoder.channels != self.mel.n_mels or self.decoder.prior_channels != self.mel.n_mels:
            raise ConfigError(f"decoder.channels and decoder.prior_channels must equal n_mels ({self.mel.n_mels})")
        if self.decoder.global_dim != self.speaker_dim:
            raise ConfigError(f"decoder.global_dim ({self.decoder.global_dim}) must equal speaker_dim "
                              f"({self.speaker_dim})")
        if not 0.0 <= self.speaker_dropout < 1.0 or self.segment_frames < 0 or self.state_dim < 0:
            raise ConfigError("need 0 <= speaker_dropout < 1, segment_frames >= 0, state_dim >= 0")


@dataclass
class SynthesisOutput:
    mel: torch.Tensor  # (batch, n_mels, frames) log-mel, zero beyond each length
    lengths: torch.Tensor  # (batch,) frames
    durations: torch.Tensor  # (batch, tokens) frames per token
    f0: torch.Tensor | None = None  # (batch, frames) the F0 contour in Hz it was drawn with (pitch models)


@MODELS.register("acoustic-synthesizer")
class AcousticSynthesizer(nn.Module):
    config_class = SynthesizerConfig

    def __init__(self, config: SynthesizerConfig) -> None:
        super().__init__()
        self.config, self.mel = config, config.mel
        width = config.encoder_dim
        self.normalizer = MelNormalizer(config.mel.n_mels, config.mel_mean, config.mel_std)
        self.tokenizer = CharTokenizer(config.symbols)
        self.token_embedding = nn.Embedding(self.tokenizer.vocab_size, width, padding_idx=PAD)
        self.state_projection = nn.Linear(config.state_dim, width) if config.state_dim else None
        self.speaker_projection = nn.Linear(config.speaker_dim, width)
        layer = nn.TransformerEncoderLayer(width, config.encoder_heads, 4 * width, config.dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.encoder_layers, enable_nested_tensor=False)
        self.encoder_norm = nn.LayerNorm(width)
        self.prior_head = nn.Linear(width, config.mel.n_mels)
        channels = config.duration_channels
        self.duration_predictor = nn.ModuleList([nn.Conv1d(width, channels, 3, padding=1),
                                                 nn.Conv1d(channels, channels, 3, padding=1)])
        self.duration_norms = nn.ModuleList([nn.LayerNorm(channels), nn.LayerNorm(channels)])
        self.duration_head = nn.Linear(channels, 1)
        self.decoder = UNet1D(config.decoder)
        self.process = build_process(config.process)
        if config.pitch:
            self.pitch_predictor = PitchPredictor(width, channels, config.dropout)
            # the harmonic pattern enters the decoder's prior input through this map, zero at first, so a model
            # fine-tuned from one without pitch starts out drawing exactly what it drew before
            self.pitch_embedding = nn.Conv1d(config.mel.n_mels, config.mel.n_mels, 1, bias=False)
            nn.init.zeros_(self.pitch_embedding.weight)

    @property
    def fine_tune_additions(self) -> tuple[str, ...]:
        """Parts a checkpoint of a model without them may lack when it initialises this one (`initialize_from`)."""
        return ("pitch_predictor.", "pitch_embedding.") if self.config.pitch else ()

    # --- text side -------------------------------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor, token_lengths: torch.Tensor, states: torch.Tensor | None,
               speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(encoder output (batch, N, width), per-token prior mu (batch, n_mels, N) in normalised mel space,
        predicted log durations (batch, N)); padded tokens are zeroed."""
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None] < token_lengths.to(tokens.device)[:, None]
        x = self.token_embedding(tokens)
        if self.state_projection is not None:
            if states is None or states.shape[:2] != tokens.shape or states.shape[-1] != self.config.state_dim:
                raise ConfigError(f"this synthesizer reads states (batch, tokens, {self.config.state_dim}) with the "
                                  f"tokens, got {None if states is None else tuple(states.shape)}")
            x = x + self.state_projection(states)
        x = x + sinusoid_table(torch.arange(tokens.shape[1], device=tokens.device), x.shape[-1])[None]
        x = x + self.speaker_projection(speaker)[:, None]
        h = self.encoder_norm(self.encoder(x, src_key_padding_mask=~mask)) * mask[..., None]
        mu = self.prior_head(h).transpose(1, 2) * mask[:, None]
        d = h.detach().transpose(1, 2)  # durations do not train the encoder (Glow-TTS)
        for conv, norm in zip(self.duration_predictor, self.duration_norms):
            d = F.dropout(norm(F.relu(conv(d * mask[:, None])).transpose(1, 2)).transpose(1, 2),
                          self.config.dropout, self.training)
        log_durations = self.duration_head(d.transpose(1, 2))[..., 0] * mask
        return h, mu, log_durations

    # --- training ---------------------------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Batch: tokens (B, N), token_lengths (B,), states (B, N, state_dim) or absent, speaker (B, speaker_dim),
        mel (B, n_mels, T) un-normalised log-mel, frame_lengths (B,)."""
        tokens, token_lengths, frame_lengths = batch["tokens"], batch["token_lengths"], batch["frame_lengths"]
        y = self.normalizer.normalize(batch["mel"])
        frame_mask = (torch.arange(y.shape[-1], device=y.device)[None] < frame_lengths[:, None]).to(y.dtype)
        y = y * frame_mask[:, None]
        if self.config.pitch and "f0" not in batch:
            raise ConfigError("this synthesizer predicts pitch (model.pitch): its data needs the targets' F0 "
                              "(data.pitch: true)")
        h, mu, log_durations = self.encode(tokens, token_lengths, batch.get("states"), batch["speaker"])
        with torch.no_grad():
            durations = monotonic_alignment(gaussian_log_likelihood(y, mu), token_lengths, frame_lengths)
        mu_frames, _ = length_regulate(mu, durations)
        mu_frames = mu_frames[..., :y.shape[-1]]
        real = frame_mask[:, None].expand_as(y)
        prior = 0.5 * (((y - mu_frames) ** 2) * real).sum() / real.sum()
        token_mask = (durations > 0).to(y.dtype)
        duration = (((log_durations - torch.log(durations.clamp_min(1).to(y.dtype))) ** 2) * token_mask).sum() \
            / token_mask.sum()
        losses = {}
        f0 = batch["f0"][:, :y.shape[-1]] * frame_mask if self.config.pitch else None
        if f0 is not None:
            losses["pitch"], losses["voicing"] = self._pitch_losses(h, durations, f0, frame_mask)
        y_window, mu_window, mask_window, f0_window = self._window(y, mu_frames, frame_mask, frame_lengths, f0)
        if f0_window is not None:  # the target's own F0 (teacher forcing), drawn on the window only
            mu_window = mu_window + self.pitch_embedding(harmonic_pattern(f0_window, self.mel))
        cond = {"mu": mu_window, "global": batch["speaker"], "mask": mask_window}
        decoder = diffusion_loss(self.decoder, self.process, y_window, cond, cond_dropout=self.config.speaker_dropout,
                                 drop_keys=("global",), mask=mask_window[:, None])
        total = prior + duration + decoder + sum(losses.values())
        return {"loss": total, "prior": prior.detach(), "duration": duration.detach(), "decoder": decoder.detach(),
                **{name: value.detach() for name, value in losses.items()}}

    def _pitch_losses(self, h, durations, f0, frame_mask):
        """(MSE of log-F0 on the voiced frames, BCE of voicing on every real frame) of the pitch predictor, which
        reads the aligned encoder outputs (detached: like the durations, pitch does not train the encoder)."""
        h_frames, _ = length_regulate(h.detach().transpose(1, 2), durations)
        log_f0, voiced_logit = self.pitch_predictor(h_frames[..., :f0.shape[-1]], frame_mask)
        voiced = (f0 > 0).to(f0.dtype)
        pitch = (((log_f0 - log_f0_target(f0)) ** 2) * voiced).sum() / voiced.sum().clamp_min(1.0)
        voicing = (F.binary_cross_entropy_with_logits(voiced_logit, voiced, reduction="none") * frame_mask).sum() \
            / frame_mask.sum()
        return pitch, voicing

    def _window(self, y, mu_frames, frame_mask, frame_lengths, f0=None):
        """A random ``segment_frames`` window of each utterance for the decoder loss (whole batch if 0): (y, mu,
        frame mask, F0 or None)."""
        size = self.config.segment_frames
        if not size or y.shape[-1] <= size:
            return y, mu_frames, frame_mask, f0
        starts = (torch.rand(y.shape[0], device=y.device) * (frame_lengths - size).clamp_min(0)).long()
        index = starts[:, None] + torch.arange(size, device=y.device)[None]
        gather = index[:, None].expand(-1, y.shape[1], -1)
        return (y.gather(-1, gather), mu_frames.gather(-1, gather), frame_mask.gather(-1, index),
                None if f0 is None else f0.gather(-1, index))

    # --- inference --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def synthesize(self, tokens: torch.Tensor, token_lengths: torch.Tensor, speaker: torch.Tensor,
                   states: torch.Tensor | None = None, steps: int = 4, sampler: str = "ode_euler",
                   voice_guidance: float = 0.0, temperature: float = 1.0, length_scale: float = 1.0,
                   seed: int = 0, callback: Callable | None = None, pitch_scale: float = 1.0,
                   f0: torch.Tensor | None = None, durations: torch.Tensor | None = None) -> SynthesisOutput:
        """Log-mels for a batch of token sequences; ``voice_guidance`` is the classifier-free guidance weight on the
        speaker vector, ``length_scale`` stretches the predicted durations, ``temperature`` scales the noise.
        Pitch models: ``pitch_scale`` multiplies the predicted F0; ``f0`` (batch, frames) in Hz replaces the
        prediction (an oracle contour for diagnosis: frames beyond it are unvoiced). ``durations`` (batch, tokens)
        frames per token replace the predicted ones (oracle durations for diagnosis, e.g. a reference alignment)."""
        if steps < 1:
            raise ConfigError(f"steps must be >= 1, got {steps}")
        h, mu, log_durations = self.encode(tokens, token_lengths, states, speaker)
        token_mask = torch.arange(tokens.shape[1], device=tokens.device)[None] < token_lengths[:, None]
        if durations is None:
            durations = torch.ceil(torch.exp(log_durations) * length_scale).long().clamp_min(1) * token_mask
        elif durations.shape != tokens.shape:
            raise ConfigError(f"durations must have the tokens' shape {tuple(tokens.shape)}, "
                              f"got {tuple(durations.shape)}")
        else:
            durations = durations.to(device=tokens.device, dtype=torch.long) * token_mask
        mu_frames, lengths = length_regulate(mu, durations)
        frame_mask = (torch.arange(mu_frames.shape[-1], device=mu.device)[None] < lengths[:, None]).to(mu.dtype)
        generator = torch.Generator(device=mu.device).manual_seed(seed)
        noise = torch.randn(mu_frames.shape, generator=generator, device=mu.device) * temperature
        if not self.config.pitch:
            f0 = None
        elif f0 is None:
            h_frames, _ = length_regulate(h.transpose(1, 2), durations)
            f0 = f0_from_prediction(*self.pitch_predictor(h_frames, frame_mask), scale=pitch_scale) * frame_mask
        else:
            given = f0.to(mu.dtype)[:, :mu_frames.shape[-1]]
            f0 = F.pad(given, (0, mu_frames.shape[-1] - given.shape[-1])) * frame_mask
        if f0 is not None:
            mu_frames = mu_frames + self.pitch_embedding(harmonic_pattern(f0, self.mel))
        cond = {"mu": mu_frames, "global": speaker, "mask": frame_mask}
        guidance = ClassifierFreeGuidance(voice_guidance, drop_keys=("global",)) if voice_guidance else None
        y = sample(sampler, self.decoder, self.process, noise * frame_mask[:, None], steps, cond=cond,
                   guidance=guidance, callback=callback, generator=generator)
        mel = self.normalizer.denormalize(y) * frame_mask[:, None]
        return SynthesisOutput(mel=mel, lengths=lengths, durations=durations, f0=f0)


class PitchPredictor(nn.Module):
    """Aligned encoder outputs (batch, width, frames) -> (log-F0 minus LOG_F0_CENTER, voicing logit), each
    (batch, frames): two convolutions (kernel 5) with layer norm and dropout, as FastSpeech 2's variance
    predictors."""

    def __init__(self, width: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.convolutions = nn.ModuleList([nn.Conv1d(width, channels, 5, padding=2),
                                           nn.Conv1d(channels, channels, 5, padding=2)])
        self.norms = nn.ModuleList([nn.LayerNorm(channels), nn.LayerNorm(channels)])
        self.head = nn.Linear(channels, 2)
        self.dropout = dropout

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames
        for conv, norm in zip(self.convolutions, self.norms):
            x = F.relu(conv(x * frame_mask[:, None])).transpose(1, 2)
            x = F.dropout(norm(x), self.dropout, self.training).transpose(1, 2)
        out = self.head(x.transpose(1, 2)) * frame_mask[..., None]
        return out[..., 0], out[..., 1]
