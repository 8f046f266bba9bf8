"""Training examples for the acoustic synthesizer, precomputed once from an S2ST manifest:

- target tokens (the speech translator's target tokenizer) and, in "direct" mode, the translator's teacher-forced
  target-decoder states (token i is paired with the state after reading it);
- the target log-mel (what the synthesizer learns to produce);
- the speaker embedding of the voice reference (our speaker encoder on the SOURCE clip by default: at inference
  the French input is the reference for the English output);
- with ``pitch``, the target's F0 per mel frame (pitch.frame_f0) for a synthesizer that predicts pitch.

With ``augment`` and ``augmented_copies`` K, every utterance also appears in K views whose SOURCE clip was augmented
(seeded by ``augment_seed``, the view and the utterance: noise, reverberation, band-limiting, ... as the speech
translator trains with): their states and speaker embedding are computed from the augmented source, their tokens
and target log-mel are the clean utterance's, so the synthesizer learns to say the same clean English in the same
voice whatever the French input went through. Keep speed perturbation off here: it shifts the source's pitch, and
the output should follow the speaker's real pitch.

The features can be cached in a safetensors file (no pickle), keyed by the content of what produced them (see
`cache_key`): a cache made from other data is recomputed and replaced.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import load_audio, log_mel
from ..audio.normalization import mel_statistics
from ..checkpoint import load_model
from ..data.augment import Augmenter, AugmentConfig
from ..data.manifest import S2STRecord, read_manifest, resolve_audio, weighted_order
from ..digests import checkpoint_sha256, file_sha256
from ..errors import DataError
from ..pretrained import bundled
from .pitch import frame_f0

MODES = ("direct", "text")


@dataclass(frozen=True)
class SynthesisDataConfig:
    """``mode`` "direct" reads tokens + linguistic states (the S2ST synthesizer), "text" tokens only (the cascade's
    TTS); ``reference`` picks the clip whose speaker embedding conditions training."""

    train_manifest: str = "corpora/synth-cvss/train.jsonl"
    translator: str = field(default_factory=lambda: str(bundled("st")))
    speaker_encoder: str = field(default_factory=lambda: str(bundled("speaker-encoder")))
    mode: Literal["direct", "text"] = "direct"
    reference: Literal["source", "target"] = "source"
    cache: Optional[str] = None
    limit: Optional[int] = None
    batch_size: int = 16
    progress: bool = True
    augment: Optional[AugmentConfig] = None  # augmentation of the source clip (states and speaker reference)
    augmented_copies: int = 0  # augmented views of every utterance besides the clean one
    augment_seed: int = 0
    pitch: bool = False  # also the targets' F0 per mel frame (for model.pitch)
    family_weights: Optional[dict[str, int]] = None  # repeat a voice family's utterances (data.manifest.weighted_order)


def load_frozen_parts(data: SynthesisDataConfig):
    """(speech translator, speaker encoder) named by the data config, in eval mode, with type checks."""
    from ..speaker import SpeakerEncoder
    from ..translation import SpeechTranslator

    return (load_model(data.translator, SpeechTranslator, "speech translator"),
            load_model(data.speaker_encoder, SpeakerEncoder, "speaker encoder"))


class SynthesisExamples(Dataset):
    """Items: dict(tokens (N,) long, states (N, d) float or absent, mel (n_mels, T) float, speaker (dim,), f0 (T,)
    float Hz or absent)."""

    def __init__(self, data: SynthesisDataConfig, translator, encoder) -> None:
        if data.mode not in MODES:
            raise DataError(f"data.mode must be one of {MODES}, got {data.mode!r}")
        if data.augmented_copies < 0 or (data.augmented_copies and data.augment is None):
            raise DataError("data.augmented_copies must be >= 0 and needs a data.augment configuration")
        self.mode = data.mode
        cache = Path(data.cache) if data.cache else None
        key = cache_key(data) if cache is not None else None
        tensors = _read_cache(cache, key) if cache is not None and cache.is_file() else None
        if tensors is None:  # no cache, or one made from other data: (re)compute and replace it
            tensors = self._compute(data, translator, encoder)
            if cache is not None:
                _write_cache(cache, tensors, key)
        self.items = _split(tensors)
        self.utterances = len(tensors["token_lengths"])  # the clean views come first
        self.order = list(range(len(self.items)))
        if data.family_weights:  # every view of a weighted family's utterance repeats (examples v * N + i)
            records = read_manifest(data.train_manifest, S2STRecord)[:data.limit]
            repeats = weighted_order(records, data.family_weights)
            views = len(self.items) // self.utterances
            self.order = [view * self.utterances + i for view in range(views) for i in repeats]

    @staticmethod
    def _compute(data: SynthesisDataConfig, translator, encoder) -> dict[str, torch.Tensor]:
        records = read_manifest(data.train_manifest, S2STRecord)[:data.limit]
        if not records:
            raise DataError(f"{data.train_manifest} holds no records")
        missing = [r.id for r in records if not r.tgt_audio]
        if missing:
            raise DataError(f"{data.train_manifest}: {len(missing)} records have no target audio (first: {missing[0]})")
        rate = translator.config.mel.sample_rate
        views = 1 + data.augmented_copies
        augmenter = Augmenter(data.augment, rate) if data.augmented_copies else None
        parts: dict[str, list[torch.Tensor]] = {"tokens": [], "mel": []}
        states: list[list[torch.Tensor]] = [[] for _ in range(views)]  # per view, per utterance
        speakers: list[list[torch.Tensor]] = [[] for _ in range(views)]
        for start in tqdm(range(0, len(records), data.batch_size), desc="synthesizer features",
                          disable=not data.progress, leave=False):
            batch = records[start:start + data.batch_size]
            clean = [load_audio(resolve_audio(data.train_manifest, r.src_audio), rate, max_seconds=None)
                     for r in batch]
            targets = [load_audio(resolve_audio(data.train_manifest, r.tgt_audio), rate, max_seconds=None)
                       for r in batch]
            for record in batch:
                tokens = translator.tgt_tokenizer.encode(record.tgt_text)
                if not tokens:
                    raise DataError(f"record {record.id} has an empty target text")
                parts["tokens"].append(torch.tensor(tokens, dtype=torch.int32))
            parts["mel"] += [log_mel(w, translator.config.mel).half() for w in targets]
            if data.pitch:
                parts.setdefault("f0", []).extend(torch.from_numpy(frame_f0(w, translator.config.mel))
                                                  for w in targets)
            for view in range(views):
                sources = clean if view == 0 else [
                    augmenter(wave, zlib.crc32(f"{data.augment_seed}:{view}:{start + i}".encode()))[0]
                    for i, wave in enumerate(clean)]
                if data.mode == "direct":
                    decoded = translator.teacher_forced_states(sources, [r.src_text for r in batch],
                                                               [r.tgt_text for r in batch])
                    states[view] += [s[1:].half() for s in decoded]  # the state after reading each token
                references = sources if data.reference == "source" else targets
                speakers[view] += list(encoder.embed_waves(references))
        tensors = {"tokens": torch.cat(parts["tokens"]), "mel": torch.cat(parts["mel"], dim=1),
                   "speaker": torch.stack([e for view in speakers for e in view]),  # view-major
                   "token_lengths": torch.tensor([len(t) for t in parts["tokens"]]),
                   "frame_lengths": torch.tensor([m.shape[-1] for m in parts["mel"]])}
        if data.mode == "direct":
            tensors["states"] = torch.cat([s for view in states for s in view])  # view-major
        if data.pitch:
            tensors["f0"] = torch.cat(parts["f0"])
        return tensors

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[self.order[index]]

    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-bin mean and std of the target log-mels (every frame of every utterance)."""
        return mel_statistics(torch.cat([item["mel"] for item in self.items[:self.utterances]], dim=1)[None])


def _split(tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Per-example dicts; with augmented views (more speaker rows than utterances), example v * N + i is view v of
    utterance i, sharing its tokens and target log-mel (the same tensors, not copies) with the clean view."""
    token_lengths, frame_lengths = tensors["token_lengths"].tolist(), tensors["frame_lengths"].tolist()
    count, total_tokens = len(token_lengths), int(sum(token_lengths))
    token_offsets = np.concatenate([[0], np.cumsum(token_lengths)])
    frame_offsets = np.concatenate([[0], np.cumsum(frame_lengths)])
    views = tensors["speaker"].shape[0] // count
    clean = []
    for i in range(count):
        tokens = slice(int(token_offsets[i]), int(token_offsets[i + 1]))
        frames = slice(int(frame_offsets[i]), int(frame_offsets[i + 1]))
        clean.append({"tokens": tensors["tokens"][tokens].long(), "mel": tensors["mel"][:, frames].float()})
        if "f0" in tensors:
            clean[-1]["f0"] = tensors["f0"][frames].float()
    items = []
    for view in range(views):
        for i, shared in enumerate(clean):
            item = {**shared, "speaker": tensors["speaker"][view * count + i].float()}
            if "states" in tensors:
                start = view * total_tokens + int(token_offsets[i])
                item["states"] = tensors["states"][start:start + token_lengths[i]].float()
            items.append(item)
    return items


def _write_cache(path: Path, tensors: dict[str, torch.Tensor], key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata={"key": key})
    os.replace(temporary, path)


def _read_cache(path: Path, key: str) -> dict[str, torch.Tensor] | None:
    """The cached features when they were made under ``key``, else None."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return load_file(str(path)) if metadata.get("key") == key else None


def cache_key(data: SynthesisDataConfig) -> str:
    """What the features depend on, by content: the manifest's bytes, the translator's and speaker encoder's
    checkpoint files, and the settings that change the features (not the paths that name them, so retraining a
    checkpoint in place or editing the manifest is a cache miss, and moving them is not)."""
    if not Path(data.train_manifest).is_file():
        raise DataError(f"manifest {data.train_manifest} does not exist")
    settings = {k: v for k, v in asdict(data).items()
                if k not in ("cache", "progress", "batch_size", "train_manifest", "translator", "speaker_encoder",
                             "family_weights")}
    return json.dumps({"settings": settings, "manifest": file_sha256(data.train_manifest),
                       "translator": checkpoint_sha256(data.translator),
                       "speaker_encoder": checkpoint_sha256(data.speaker_encoder)}, sort_keys=True)


def collate_synthesis(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pad a list of examples into the batch `AcousticSynthesizer.loss` reads (tokens with 0, mels with zeros:
    the loss masks frames beyond each length)."""
    token_lengths = torch.tensor([len(item["tokens"]) for item in items])
    frame_lengths = torch.tensor([item["mel"].shape[-1] for item in items])
    batch = {"tokens": torch.zeros(len(items), int(token_lengths.max()), dtype=torch.long),
             "mel": torch.zeros(len(items), items[0]["mel"].shape[0], int(frame_lengths.max())),
             "speaker": torch.stack([item["speaker"] for item in items]),
             "token_lengths": token_lengths, "frame_lengths": frame_lengths}
    if "states" in items[0]:
        batch["states"] = torch.zeros(len(items), int(token_lengths.max()), items[0]["states"].shape[-1])
    if "f0" in items[0]:
        batch["f0"] = torch.zeros(len(items), int(frame_lengths.max()))
    for row, item in enumerate(items):
        batch["tokens"][row, :len(item["tokens"])] = item["tokens"]
        batch["mel"][row, :, :item["mel"].shape[-1]] = item["mel"]
        if "f0" in batch:
            batch["f0"][row, :len(item["f0"])] = item["f0"]
        if "states" in batch:
            batch["states"][row, :len(item["tokens"])] = item["states"]
    return batch
