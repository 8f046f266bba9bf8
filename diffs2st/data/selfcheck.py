"""Corpus self-check: a built S2ST corpus scored by the external judges.

- intelligibility of the English targets: pocketsphinx WER, overall and per speaker;
- voice identity: Resemblyzer similarity of same-speaker vs different-speaker pairs of target utterances, and of
  source↔target pairs (same speaker across languages vs different speakers), each summarised as an EER; and the
  target EER when every different-speaker pair shares its base voice (the flite voice, from the speaker spec): what
  the speaker transforms alone make distinguishable;
- duration statistics and the fraction of clipped samples.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_MEL, MelConfig, load_audio
from ..errors import DataError
from ..judges import equal_error_rate, text_scores, utterance_wer
from .manifest import S2STRecord, read_manifest, resolve_audio

SPLITS = ("train", "dev", "test-seen-speakers", "test-unseen-speakers")
CLIP_LEVEL = 0.999
GOALS = {"target_wer": 0.15, "worst_speaker_wer": 0.30, "speaker_eer": 0.10}


@dataclass(frozen=True)
class CheckItem:
    manifest: str
    split: str
    record: S2STRecord


def _check_one(item: CheckItem, judges: dict, mel: MelConfig) -> dict:
    """ASR transcript + WER of the target, embeddings of source and target, durations and clipping."""
    record = item.record
    source = load_audio(resolve_audio(item.manifest, record.src_audio), mel.sample_rate, max_seconds=None)
    target = load_audio(resolve_audio(item.manifest, record.tgt_audio), mel.sample_rate, max_seconds=None)
    transcript = judges["asr"].asr.transcribe(target)
    speaker = judges["speaker"].model
    return {
        "id": record.id, "split": item.split, "speaker": record.speaker, "reference": record.tgt_text,
        "base_voice": (record.speaker_spec or {}).get("flite_voice"),
        "transcript": transcript, "wer": utterance_wer(transcript, record.tgt_text),
        "src_seconds": source.size / mel.sample_rate, "tgt_seconds": target.size / mel.sample_rate,
        "clipped": float(np.mean(np.abs(np.concatenate([source, target])) >= CLIP_LEVEL)),
        "src_embedding": speaker.embed(source).tolist(), "tgt_embedding": speaker.embed(target).tolist(),
    }


def _pair_scores(rows: list[dict], key_a: str, key_b: str, cross: bool, rng: random.Random,
                 max_pairs: int = 4000, same_base_voice: bool = False) -> tuple[list[float], list[float]]:
    """Cosine similarities of (a of one row, b of another) for same-speaker and different-speaker pairs.

    ``cross`` also allows a row paired with itself (source vs target of one utterance is a legitimate
    same-speaker pair); otherwise the two utterances differ. ``same_base_voice`` keeps only pairs whose rows share a
    known base voice."""
    same, different = [], []
    pairs = [(i, j) for i in range(len(rows)) for j in range(len(rows)) if (cross or i != j) and (
        not same_base_voice or (rows[i]["base_voice"] is not None and rows[i]["base_voice"] == rows[j]["base_voice"]))]
    rng.shuffle(pairs)
    for i, j in pairs[: max_pairs * 4]:
        score = float(np.dot(rows[i][key_a], rows[j][key_b]))
        bucket = same if rows[i]["speaker"] == rows[j]["speaker"] else different
        if len(bucket) < max_pairs:
            bucket.append(score)
    return same, different


def check_corpus(corpus_dir: str | os.PathLike, max_per_split: int = 200, jobs: int = 2, seed: int = 0,
                 progress: bool = True) -> tuple[dict, list[dict]]:
    """Score a synth-cvss-style corpus; returns (summary with goals, per-utterance rows without embeddings)."""
    from ..evaluation import judge_specs, map_with_judges

    corpus_dir = Path(corpus_dir)
    rng = random.Random(seed)
    items = []
    for split in SPLITS:
        manifest = corpus_dir / f"{split}.jsonl"
        if not manifest.is_file():
            continue
        records = [r for r in read_manifest(manifest, S2STRecord) if r.tgt_audio]
        rng.shuffle(records)
        items += [CheckItem(str(manifest), split, r) for r in records[:max_per_split]]
    if not items:
        raise DataError(f"{corpus_dir} holds none of the manifests {', '.join(s + '.jsonl' for s in SPLITS)}")
    # a corpus is written at the project's front-end rate (no model involved)
    rows = map_with_judges(_check_one, items, judge_specs(("asr", "speaker"), asr="moonshine"), DEFAULT_MEL, jobs,
                           desc="self-check", progress=progress)
    summary = {"utterances": len(rows), "splits": {}}
    for split in [s for s in SPLITS if any(r["split"] == s for r in rows)]:
        part = [r for r in rows if r["split"] == split]
        summary["splits"][split] = _summarize(part, rng)
    summary["overall"] = _summarize(rows, rng)
    overall = summary["overall"]
    summary["goals"] = {
        "target_wer <= 0.15": overall["target_wer"] <= GOALS["target_wer"],
        "every speaker's wer <= 0.30": overall["worst_speaker_wer"] <= GOALS["worst_speaker_wer"],
        "speaker EER (target-target) <= 10%": overall["eer_target_target"] <= GOALS["speaker_eer"],
    }
    for row in rows:
        row.pop("src_embedding"), row.pop("tgt_embedding")
    return summary, rows


def _summarize(rows: list[dict], rng: random.Random) -> dict:
    texts = text_scores([r["transcript"] for r in rows], [r["reference"] for r in rows])
    per_speaker = {}
    for speaker in sorted({r["speaker"] for r in rows}):
        mine = [r for r in rows if r["speaker"] == speaker]
        per_speaker[speaker] = text_scores([r["transcript"] for r in mine], [r["reference"] for r in mine])["wer"]
    summary = {
        "utterances": len(rows), "speakers": len(per_speaker), "target_wer": texts["wer"],
        "worst_speaker_wer": max(per_speaker.values()), "wer_by_speaker": per_speaker,
        "src_seconds_mean": float(np.mean([r["src_seconds"] for r in rows])),
        "tgt_seconds_mean": float(np.mean([r["tgt_seconds"] for r in rows])),
        "tgt_seconds_min": float(np.min([r["tgt_seconds"] for r in rows])),
        "tgt_seconds_max": float(np.max([r["tgt_seconds"] for r in rows])),
        "clipped_fraction": float(np.mean([r["clipped"] for r in rows])),
    }
    for name, (key_a, key_b, cross, same_voice) in {
            "target_target": ("tgt_embedding", "tgt_embedding", False, False),
            "source_target": ("src_embedding", "tgt_embedding", True, False),
            "target_target_same_base_voice": ("tgt_embedding", "tgt_embedding", False, True)}.items():
        same, different = _pair_scores(rows, key_a, key_b, cross, rng, same_base_voice=same_voice)
        if same and different:
            summary[f"eer_{name}"] = equal_error_rate(same, different)[0]
            summary[f"sim_same_{name}"] = float(np.mean(same))
            summary[f"sim_different_{name}"] = float(np.mean(different))
    return summary


def plot_selfcheck(summary: dict, path: str | os.PathLike) -> Path:
    """Per-speaker WER bars with the 0.30 goal line."""
    from ..plotting import save_figure, subplots

    per_speaker = summary["overall"]["wer_by_speaker"]
    figure, axis = subplots(figsize=(max(6, 0.25 * len(per_speaker)), 3.2))
    axis.bar(range(len(per_speaker)), list(per_speaker.values()), color="#4477aa")
    axis.axhline(GOALS["worst_speaker_wer"], color="#cc3311", linestyle="--", label="goal per speaker")
    axis.axhline(summary["overall"]["target_wer"], color="#228833", label="overall")
    axis.set_xticks(range(len(per_speaker)), list(per_speaker), rotation=90, fontsize=6)
    axis.set_ylabel("pocketsphinx WER")
    axis.set_title("English-target intelligibility by speaker")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
