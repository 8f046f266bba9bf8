"""Word loops in the speech translator's decoding, with and without their removal (`search.search_without_repeats`).

    python benchmarks/word_loops.py --checkpoint pretrained/direct-st --checkpoint pretrained/st \\
        --manifest corpora/synth-cvss/dev.jsonl --out docs/benchmarks/speech_translation/word-loops

Per checkpoint: greedy translation of every record (batches of 16, one thread) with ``block_repeats`` off and on;
outputs that repeat a run of words (`search.has_word_loop`, English and French), English BLEU and French WER
(`judges.text_scores`), and the outputs that changed. Writes word_loops.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import warnings
from pathlib import Path

import torch

from diffs2st.audio import load_audio
from diffs2st.checkpoint import load_model
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.errors import TruncationWarning
from diffs2st.judges import text_scores
from diffs2st.reports import report_heading
from diffs2st.translation.model import SpeechTranslator
from diffs2st.translation.search import has_word_loop


def decode(model: SpeechTranslator, waves: list, block_repeats: bool) -> list:
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        for start in range(0, len(waves), 16):
            results += model.translate(waves[start:start + 16], block_repeats=block_repeats)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", default="docs/benchmarks/speech_translation/word-loops")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = read_manifest(args.manifest, S2STRecord)[:args.limit]
    rows, changed = [], {}
    for checkpoint in args.checkpoint:
        model = load_model(checkpoint, SpeechTranslator).eval()
        waves = [load_audio(resolve_audio(args.manifest, r.src_audio), model.config.mel.sample_rate) for r in records]
        outputs = {}
        for block in (False, True):
            results = decode(model, waves, block)
            outputs[block] = results
            english = text_scores([r.tgt_text for r in results], [r.tgt_text for r in records], "en")
            french = text_scores([r.src_text for r in results], [r.src_text for r in records], "fr")
            rows.append({"checkpoint": checkpoint, "loops_removed": block, "records": len(records),
                         "english_loops": sum(has_word_loop(r.tgt_text) for r in results),
                         "french_loops": sum(has_word_loop(r.src_text) for r in results),
                         "english_bleu": english["bleu"], "french_wer": french["wer"]})
            print(rows[-1], file=sys.stderr)
        changed[checkpoint] = [{"id": rec.id, "before": a.tgt_text, "after": b.tgt_text, "reference": rec.tgt_text}
                               for rec, a, b in zip(records, outputs[False], outputs[True]) if a.tgt_text != b.tgt_text]
    command = "python " + shlex.join(sys.argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "word_loops.json").write_text(json.dumps({"command": command, "rows": rows, "changed": changed},
                                                    indent=2, ensure_ascii=False) + "\n")
    lines = [*report_heading("Word loops in decoding, kept and removed", command),
             f"{len(records)} records of `{args.manifest}`, greedy, batches of 16.", "",
             "| checkpoint | loops removed | English outputs with a loop | French outputs with a loop | English BLEU | "
             "French WER |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['checkpoint']} | {'yes' if r['loops_removed'] else 'no'} | {r['english_loops']} | "
              f"{r['french_loops']} | {r['english_bleu']:.2f} | {r['french_wer']:.4f} |" for r in rows]
    for checkpoint, items in changed.items():
        lines += ["", f"Changed by the removal, {checkpoint} ({len(items)}):", "", "| before | after | reference |",
                  "| --- | --- | --- |"]
        lines += [f"| {c['before']} | {c['after']} | {c['reference']} |" for c in items]
    (out / "word_loops.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
