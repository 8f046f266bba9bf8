"""Can the English voice family of a corpus-v2 speaker be told from its French clip? (pitch experiment, fourth part)

    python docs/benchmarks/s2st/pitch-experiment/family_from_french.py \
        --train corpora/synth-cvss-v2/train-first-4424.jsonl \
        --test corpora/synth-cvss-v2/dev.jsonl corpora/synth-cvss-v2/test-unseen-speakers.jsonl --test-limit 300

1. Our speaker encoder (`--encoder`, the one the synthesizer reads) embeds the French source clips; a logistic
   regression and the nearest training embedding predict flite vs espeak-ng (the two families whose French is said
   by the same espeak-ng variants) on the test manifests' first ``--test-limit`` records of those families.
2. Raw espeak-ng French (no WORLD transform) of ``--sentences`` dev sentences in each variant of ``--variants``:
   how often the nearest other clip is the same variant (could a variant of its own mark a flite speaker?).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.checkpoint import load_model
from diffs2st.data import tts
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio, speaker_voice
from diffs2st.speaker import SpeakerEncoder

FAMILIES = ("espeak-ng", "flite")


def embed(encoder: SpeakerEncoder, waves: list[np.ndarray]) -> np.ndarray:
    """Unit embeddings (`SpeakerEncoder.embed_waves` normalises them)."""
    with torch.no_grad():
        return encoder.embed_waves(waves).float().numpy()


def french_of(manifest: str, limit: int | None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    records = [r for r in read_manifest(manifest, S2STRecord) if speaker_voice(r.speaker_spec)[0] in FAMILIES]
    records = records[:limit]
    waves = [load_audio(resolve_audio(manifest, r.src_audio), DEFAULT_MEL.sample_rate) for r in records]
    return (waves, np.array([speaker_voice(r.speaker_spec)[0] for r in records]),
            np.array([r.speaker for r in records]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", nargs="+", required=True)
    parser.add_argument("--test-limit", type=int, default=300)
    parser.add_argument("--encoder", default="pretrained/speaker-encoder")
    parser.add_argument("--variants", nargs="+", default=["m1", "m3", "m4", "m7", "f1", "f2", "m2", "m6", "m8", "f3",
                                                          "f4"])
    parser.add_argument("--sentences", type=int, default=24)
    args = parser.parse_args()
    encoder = load_model(args.encoder, SpeakerEncoder, "speaker encoder").eval()
    waves, train_family, train_speaker = french_of(args.train, None)
    train = embed(encoder, waves)
    classifier = LogisticRegression(max_iter=3000).fit(train, train_family)
    for manifest in args.test:
        waves, family, speaker = french_of(manifest, args.test_limit)
        test = embed(encoder, waves)
        nearest = np.argmax(test @ train.T, axis=1)
        majority = max(np.mean(family == f) for f in FAMILIES)
        seen = np.mean(np.isin(speaker, train_speaker))
        print(f"{manifest}: {len(family)} records, speakers seen in train {seen:.0%}; flite vs espeak-ng from the "
              f"French embedding: logistic regression {classifier.score(test, family):.1%}, nearest training clip "
              f"{np.mean(train_family[nearest] == family):.1%}, majority class {majority:.1%}")
    sentences = [r.src_text for r in read_manifest(args.test[0], S2STRecord)][:args.sentences]
    vectors = np.concatenate([embed(encoder, [tts.espeak(s, "fr", v, 140) for s in sentences]) for v in args.variants])
    labels = np.repeat(args.variants, len(sentences))
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    same = labels[np.argmax(similarity, axis=1)] == labels
    per_variant = ", ".join(f"{v} {same[labels == v].mean():.0%}" for v in args.variants)
    print(f"raw espeak-ng French, {len(sentences)} sentences x {len(args.variants)} variants: nearest other clip is "
          f"the same variant {same.mean():.1%} ({per_variant})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
