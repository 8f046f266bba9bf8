"""Mean cosine similarity (speaker encoder v2) of each output folder's clips to the reference English of the same
record, by voice family, on dev-200; first row: the reference French against the reference English (the same
speaker's two languages). Not an independent judge for run d, which was conditioned on this encoder.

    python docs/benchmarks/s2st/pitch-experiment/similarity_by_family.py out/dev/base200-fix out/dev/s8000 out/dev/d2000
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.checkpoint import load_model
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio, speaker_voice
from diffs2st.speaker import SpeakerEncoder

MANIFEST = "corpora/synth-cvss-v2/dev-200.jsonl"
ENCODER = "runs/speaker-encoder-v2/model"
FAMILIES = ("espeak-ng", "flite", "kokoro")


def main() -> int:
    encoder = load_model(ENCODER, SpeakerEncoder, "speaker encoder").eval()
    records = read_manifest(MANIFEST, S2STRecord)
    family = np.array([speaker_voice(r.speaker_spec)[0] for r in records])

    def embed(paths) -> np.ndarray:  # unit vectors: embed_waves normalises them
        with torch.no_grad():
            return encoder.embed_waves([load_audio(p, DEFAULT_MEL.sample_rate) for p in paths]).float().numpy()

    target = embed([resolve_audio(MANIFEST, r.tgt_audio) for r in records])

    def show(name: str, vectors: np.ndarray) -> None:
        similarity = (vectors * target).sum(axis=1)
        by_family = " ".join(f"{f} {similarity[family == f].mean():.3f}" for f in FAMILIES)
        print(f"{name} all {similarity.mean():.3f} {by_family}")

    show("reference-source", embed([resolve_audio(MANIFEST, r.src_audio) for r in records]))
    for folder in sys.argv[1:]:
        show(folder, embed([f"{folder}/{r.id}.wav" for r in records]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
