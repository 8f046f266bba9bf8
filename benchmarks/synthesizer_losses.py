"""The acoustic synthesizer's training losses on held-out records: a low-noise view of overfitting and progress.

    python benchmarks/synthesizer_losses.py --checkpoint runs/synth-a/model runs/synth-b/model \
        --manifest corpora/synth-cvss-v2/dev.jsonl corpora/synth-cvss-v2/train-first-500.jsonl \
        --out docs/benchmarks/s2st/synthesizer-losses

Each checkpoint's loss terms (prior, duration, decoder, and pitch / voicing for pitch models), in eval mode (no
dropout) with the decoder's noise seeded per batch, so two checkpoints see the same draws. The features (teacher-forced
states of ``--translator``, speaker embeddings by ``--speaker-encoder``, target mels and F0) are computed once per
manifest by the synthesizer's own data code and cached in ``--cache-dir``. Run it on a dev split and on a slice of
the training records: where the training loss falls and the dev loss does not, more steps only memorise. ASR-BLEU
of whole outputs (`diffs2st eval s2st`) stays the measure that counts; this one is cheap (a few minutes on one core)
and has no sampling noise. Writes synthesizer_losses.{json,md}.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from diffs2st.checkpoint import load_checkpoint
from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.evaluation import rows_by_family, voice_label
from diffs2st.reports import report_heading, write_json, write_markdown
from diffs2st.s2st.data import SynthesisDataConfig, SynthesisExamples, collate_synthesis, load_frozen_parts
from diffs2st.s2st.synthesizer import AcousticSynthesizer

BATCH = 16


def held_out_losses(model: AcousticSynthesizer, examples: SynthesisExamples, indices: list[int]) -> dict[str, float]:
    """Mean of each loss term over batches of ``indices`` (eval mode; batch b's noise seeded by b)."""
    sums: dict[str, float] = {}
    batches = [indices[start:start + BATCH] for start in range(0, len(indices), BATCH)]
    with torch.no_grad():
        for number, batch in enumerate(batches):
            torch.manual_seed(number)
            for name, value in model.loss(collate_synthesis([examples[i] for i in batch])).items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
    return {name: total / len(indices) for name, total in sums.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", nargs="+", required=True, help="synthesizer checkpoint folders")
    parser.add_argument("--manifest", nargs="+", type=Path, required=True, help="S2ST manifests to score on")
    parser.add_argument("--translator", default="pretrained/st", help="the speech translator they read")
    parser.add_argument("--speaker-encoder", default="pretrained/speaker-encoder")
    parser.add_argument("--cache-dir", type=Path, default=Path("out/synthesizer-losses"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/s2st/synthesizer-losses"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    models = {name: load_checkpoint(name).model.eval() for name in args.checkpoint}
    for name, model in models.items():
        if not isinstance(model, AcousticSynthesizer):
            raise SystemExit(f"{name} is not an acoustic synthesizer")
    pitch = any(model.config.pitch for model in models.values())
    results = []
    for manifest in args.manifest:
        data = SynthesisDataConfig(train_manifest=str(manifest), translator=args.translator,
                                   speaker_encoder=args.speaker_encoder, pitch=pitch,
                                   cache=str(args.cache_dir / f"{manifest.stem}.safetensors"))
        examples = SynthesisExamples(data, *load_frozen_parts(data))
        rows = [{"voice": voice_label(record), "index": index}
                for index, record in enumerate(read_manifest(manifest, S2STRecord))]
        groups = {group: [row["index"] for row in mine]
                  for group, mine in {"all": rows, **rows_by_family(rows)}.items()}
        for name, model in tqdm(models.items(), desc=manifest.name, leave=False):
            for group, indices in groups.items():
                results.append({"manifest": str(manifest), "checkpoint": name, "family": group,
                                "records": len(indices), **held_out_losses(model, examples, indices)})
    terms = [t for t in ("loss", "prior", "duration", "decoder", "pitch", "voicing") if t in results[0]]
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "synthesizer_losses.json", {"command": command, "translator": args.translator,
                                                      "speaker_encoder": args.speaker_encoder, "results": results})
    lines = [*report_heading("Synthesizer losses on held-out records", command),
             "Eval mode, the decoder's noise seeded per batch (the same draws for every checkpoint). Lower is "
             "better; compare rows of one manifest.", "",
             "| manifest | checkpoint | family | records | " + " | ".join(terms) + " |",
             "|---|---|---|---|" + "---|" * len(terms)]
    lines += [f"| `{Path(r['manifest']).name}` | `{r['checkpoint']}` | {r['family']} | {r['records']} | "
              + " | ".join(f"{r[t]:.4f}" for t in terms) + " |" for r in results]
    write_markdown(args.out / "synthesizer_losses.md", [*lines, ""])
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
