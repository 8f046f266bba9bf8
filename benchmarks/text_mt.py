"""Text-MT benchmark: the cascade's French -> English text translator on the gold French text of corpus splits.

    python benchmarks/text_mt.py --checkpoint pretrained/text-mt [--checkpoint runs/text-mt-v2/model ...] \
        --corpus corpora/synth-cvss-v2 --splits dev --out docs/benchmarks/text_mt [--beam 1] [--limit N]

The text judges of the speech translator's reports (sacrebleu BLEU/chrF, jiwer WER, on text normalised by
`diffs2st.judges.normalize_text`) on each checkpoint's translations of every record's ``src_text`` against its
``tgt_text``. It measures the cascade's second stage alone, on perfect transcripts: the cascade's text BLEU is this
stage fed with the speech translator's transcripts. Sentences repeat across records (several voices say one
sentence), so each distinct French sentence is translated once and scored once. Writes text_mt.{json,md}.
Choose checkpoints on dev; not run by the tests (a minute of CPU per checkpoint and split).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from diffs2st.checkpoint import load_model, recipe_of, training_record
from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.judges.text import text_scores
from diffs2st.reports import report_heading, write_json, write_markdown
from diffs2st.translation.text import TextTranslator


def distinct_pairs(manifest: Path, limit: int | None) -> list[tuple[str, str]]:
    """(French, English) of the split's records, each French sentence once, in manifest order."""
    pairs: dict[str, str] = {}
    for record in read_manifest(manifest, S2STRecord)[:limit]:
        pairs.setdefault(record.src_text, record.tgt_text)
    return list(pairs.items())


def translate_all(model: TextTranslator, sentences: list[str], beam: int, batch_size: int) -> list[str]:
    out: list[str] = []
    for start in tqdm(range(0, len(sentences), batch_size), desc="text MT", unit="batch", leave=False):
        out += model.translate(sentences[start:start + batch_size], beam=beam)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", required=True, help="text-MT checkpoint folder (repeatable)")
    parser.add_argument("--corpus", default="corpora/synth-cvss-v2")
    parser.add_argument("--splits", nargs="+", default=["dev"], help="corpus splits (<corpus>/<split>.jsonl)")
    parser.add_argument("--out", default="docs/benchmarks/text_mt")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    torch.set_num_threads(args.threads)
    splits = {split: distinct_pairs(Path(args.corpus) / f"{split}.jsonl", args.limit) for split in args.splits}
    results, recipes = [], {}
    for checkpoint in args.checkpoint:
        model = load_model(checkpoint, TextTranslator, "text translator")
        trained = training_record(checkpoint)
        recipes[checkpoint] = recipe_of(trained)
        for split, pairs in splits.items():
            start = time.perf_counter()
            hypotheses = translate_all(model, [fr for fr, _ in pairs], args.beam, args.batch_size)
            seconds = time.perf_counter() - start
            scores = text_scores(hypotheses, [en for _, en in pairs])
            results.append({"checkpoint": checkpoint, "steps": trained.get("steps"), "split": split,
                            "sentences": len(pairs), "seconds": seconds, **scores,
                            "examples": [{"fr": fr, "en": en, "hypothesis": hyp}
                                         for (fr, en), hyp in list(zip(pairs, hypotheses))[:5]]})
            print(f"{checkpoint} {split}: BLEU {scores['bleu']:.1f} chrF {scores['chrf']:.1f} "
                  f"WER {scores['wer']:.3f} ({len(pairs)} sentences, {seconds:.1f} s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "text_mt.json", {"command": command, "corpus": args.corpus, "beam": args.beam,
                                      "recipes": recipes, "results": results})
    lines = [*report_heading(f"Text MT (the cascade's second stage) on the gold French of {args.corpus}", command),
             "Each distinct French sentence of a split translated once (greedy for beam 1, word loops removed) and "
             "scored against its English: BLEU/chrF from sacrebleu (0-100), WER from jiwer, text normalised by "
             "`diffs2st.judges.normalize_text`.", "",
             "| model | steps | split | sentences | BLEU | chrF | WER |", "|" + " --- |" * 7]
    lines += [f"| {r['checkpoint']} | {r['steps']} | {r['split']} | {r['sentences']} | {r['bleu']:.1f} | "
              f"{r['chrf']:.1f} | {r['wer']:.3f} |" for r in results]
    lines += ["", "How each model was trained (its metrics.json):", ""]
    lines += [f"- `{checkpoint}`: `{recipe}`" for checkpoint, recipe in recipes.items()]
    write_markdown(out / "text_mt.md", lines + [""])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
