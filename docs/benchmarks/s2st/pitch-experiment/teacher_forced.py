"""Run d's synthesizer on teacher-forced inputs: the reference English tokens and the speech translator's states
when it is fed them (the features training reads), instead of the translator's own greedy decoding. Same
synthesizer, speaker embedding, sampler (4 steps, temperature 0.1, voice guidance 1.0) and vocoder as
`diffs2st translate`. If these outputs are much more intelligible than the translated ones, the gap is in the
translation; if not, it is in synthesis.

    python docs/benchmarks/s2st/pitch-experiment/teacher_forced.py out/bundles/d2000 out/dev/d2000-tf \
        [STEPS TEMPERATURE [LENGTH_SCALE VOICE_GUIDANCE]]
    python benchmarks/asr_screen.py corpora/synth-cvss-v2/dev-200.jsonl --outputs out/dev/d2000 out/dev/d2000-tf \
        --out docs/benchmarks/s2st/pitch-experiment/teacher-forced
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from tqdm import tqdm

from diffs2st.audio import save_audio
from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples, load_frozen_parts
from diffs2st.s2st.translator import Translator

MANIFEST = "corpora/synth-cvss-v2/dev-200.jsonl"


def teacher_forced_inputs(bundle: Path):
    """(synthesizer, vocoder, records of MANIFEST, their teacher-forced feature items) for a translate bundle."""
    translator = Translator.from_pretrained(bundle)
    synthesizer, vocoder = translator.synthesizer.eval(), translator.vocoder
    data = SynthesisDataConfig(train_manifest=MANIFEST, translator=str(bundle / "st"),
                               speaker_encoder=str(bundle / "speaker-encoder"), pitch=synthesizer.config.pitch,
                               cache="out/synthesizer-losses-v2enc/dev-200.safetensors")
    examples = SynthesisExamples(data, *load_frozen_parts(data))
    return synthesizer, vocoder, read_manifest(MANIFEST, S2STRecord), examples.items


def item_inputs(item: dict) -> tuple:
    """One feature item as a batch of one: (tokens, token lengths, speaker, states or None)."""
    tokens = item["tokens"][None]
    states = item["states"][None] if "states" in item else None
    return tokens, torch.tensor([tokens.shape[1]]), item["speaker"][None], states


def save_output(path: Path, result, synthesizer, vocoder) -> None:
    """The first utterance of a synthesis result, vocoded, as ``path``."""
    mel = result.mel[0, :, :int(result.lengths[0])]
    save_audio(path, vocoder(mel).numpy(), synthesizer.mel.sample_rate)


def main() -> int:
    bundle, out = Path(sys.argv[1]), Path(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    temperature = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    length_scale = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    voice_guidance = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    synthesizer, vocoder, records, items = teacher_forced_inputs(bundle)
    out.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for record, item in zip(tqdm(records), items):
            tokens, token_lengths, speaker, states = item_inputs(item)
            result = synthesizer.synthesize(tokens, token_lengths, speaker, states, steps=steps,
                                            voice_guidance=voice_guidance, temperature=temperature,
                                            length_scale=length_scale, seed=0)
            save_output(out / f"{record.id}.wav", result, synthesizer, vocoder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
