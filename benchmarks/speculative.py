"""Speculative greedy decoding of the speech translator's target decoder (issue #27): the full model (``--st``)
checks the proposals of a distilled one-layer draft (``--draft``'s target decoder) in one pass per round, so its
output is the full model's greedy output. Measures, per clip at batch 1 on one torch thread, the target decoding's
wall seconds and the whole `translate`'s wall and CPU seconds for: the full model greedy, the draft's own model
greedy, and the full model with the draft for each ``--draft-tokens`` k; the draft's acceptance rate; how many
outputs equal the full model's greedy output; text BLEU.

    python benchmarks/speculative.py --st pretrained/st --draft pretrained/direct-st \
        --manifest /work/notes/v1-dev.jsonl --audio-root corpora/synth-cvss --limit 200 \
        --out docs/benchmarks/speech_translation/speculative

The systems run one after another on each clip (interleaved, so a change in the machine's load hits them alike),
``--repeats`` times; per clip the median of the repeats counts. Not run by the tests (minutes of CPU).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from diffs2st.audio import load_audio
from diffs2st.cli.transcribe import load_translator
from diffs2st.judges import text_scores
from diffs2st.reports import report_heading, write_json, write_markdown


def shared_weights(full, draft) -> dict[str, bool]:
    """Whether the draft's model holds the full model's encoder, CTC head and source decoder exactly (the draft
    target decoder was trained on those memories; speculation gives the full model's output either way)."""
    a, b = full.state_dict(), draft.state_dict()
    shared = [key for key in a if not key.startswith("target_decoder.")]
    return {"same_keys": set(shared) == {key for key in b if not key.startswith("target_decoder.")},
            "all_equal": all(key in b and torch.equal(a[key], b[key]) for key in shared)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--st", default="pretrained/st")
    parser.add_argument("--draft", default="pretrained/direct-st")
    parser.add_argument("--manifest", default="/work/notes/v1-dev.jsonl",
                        help="JSON lines with src_audio (relative to --audio-root) and tgt_text")
    parser.add_argument("--audio-root", default="corpora/synth-cvss")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--draft-tokens", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/benchmarks/speech_translation/speculative")
    args = parser.parse_args()
    command = "OMP_NUM_THREADS=1 nice -n 10 taskset -c 1 python " + shlex.join(sys.argv)
    torch.set_num_threads(1)  # a script, not the library: the measurement is defined on one thread

    full, draft_model = load_translator(args.st).eval(), load_translator(args.draft).eval()
    rows = [json.loads(line) for line in Path(args.manifest).read_text().splitlines() if line.strip()][:args.limit]
    rate = full.config.mel.sample_rate
    waves = [load_audio(Path(args.audio_root) / row["src_audio"], rate) for row in rows]
    systems = [(f"{args.st} greedy", full, None, 0), (f"{args.draft} greedy", draft_model, None, 0)]
    systems += [(f"{args.st} + draft k={k}", full, draft_model.target_decoder, k) for k in args.draft_tokens]

    for _, model, draft, k in systems:  # warm-up
        for wave in waves[:3]:
            model.translate([wave], draft=draft, draft_tokens=k or 8)
    measured = {name: [] for name, *_ in systems}
    for index, wave in enumerate(waves):
        for name, model, draft, k in systems:
            times = []
            for _ in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                (result,) = model.translate([wave], draft=draft, draft_tokens=k or 8)
                times.append((result.timings["target_decoder"], time.perf_counter() - wall,
                              time.process_time() - cpu))
            measured[name].append({"target_wall": statistics.median(t[0] for t in times),
                                   "translate_wall": statistics.median(t[1] for t in times),
                                   "translate_cpu": statistics.median(t[2] for t in times),
                                   "tokens": result.tgt_tokens, "text": result.tgt_text,
                                   "states": result.tgt_states, **result.speculation})
        if (index + 1) % 20 == 0:
            print(f"{index + 1}/{len(waves)} clips", file=sys.stderr, flush=True)

    reference = measured[systems[0][0]]
    table = []
    for name, model, draft, k in systems:
        clips = measured[name]
        same = [c["tokens"] == r["tokens"] for c, r in zip(clips, reference)]
        gap = max(((c["states"] - r["states"]).abs().max().item() for c, r, s in zip(clips, reference, same) if s),
                  default=float("nan")) if model is full else float("nan")  # another decoder's states: no gap
        proposed, accepted = sum(c.get("proposed", 0) for c in clips), sum(c.get("accepted", 0) for c in clips)
        rounds = sum(c.get("rounds", 0) for c in clips)
        scores = text_scores([c["text"] for c in clips], [row["tgt_text"] for row in rows], "en")
        table.append({
            "system": name, "draft_tokens": k or None, "clips": len(clips),
            **{f"{key}_per_clip": statistics.mean(c[key] for c in clips)
               for key in ("target_wall", "translate_wall", "translate_cpu")},
            "target_tokens_per_clip": statistics.mean(len(c["tokens"]) for c in clips),
            "acceptance": accepted / proposed if proposed else None,
            "tokens_per_full_pass": (sum(len(c["tokens"]) + 1 for c in clips) / rounds) if rounds else None,
            "identical_to_full_greedy": sum(same), "max_state_gap_when_identical": gap,
            "bleu": scores["bleu"], "chrf": scores["chrf"]})
    base = table[0]["target_wall_per_clip"]
    for row in table:
        row["target_speedup"] = base / row["target_wall_per_clip"]

    settings = {"manifest": args.manifest, "clips": len(rows), "repeats": args.repeats, "torch_threads": 1,
                "batch": 1, "shared_weights": shared_weights(full, draft_model),
                "mean_target_tokens": statistics.mean(len(c["tokens"]) for c in reference)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "speculative.json", {"command": command, "settings": settings, "results": table})
    lines = [*report_heading("Speculative greedy decoding of the target decoder", command),
             f"{len(rows)} clips of `{args.manifest}` (v1 dev), one at a time (batch 1), one torch thread, greedy; "
             f"per clip the median of {args.repeats} runs, then the mean over clips. `target dec.`: the target "
             "decoder's search and final states (`TranslationResult.timings`); `translate`: the whole call "
             "(features, encoder, source decoder, target decoder), wall and CPU (`time.process_time`) seconds. "
             "Acceptance: draft tokens the full decoder accepted / proposed; tokens per pass: target tokens + eos "
             "per full-decoder pass. Identical: target tokens equal to the full model's greedy output "
             "(the full model's states of identical outputs differ from greedy's by at most the gap shown). "
             "The draft's model shares the full model's encoder and source decoder exactly: "
             f"{settings['shared_weights']['all_equal']}. Mean target length {settings['mean_target_tokens']:.1f} "
             "characters.", "",
             "| system | target dec. s/clip | speed-up | translate s/clip (wall) | translate s/clip (CPU) | "
             "tokens/clip | acceptance | tokens per pass | identical | state gap | BLEU | chrF |",
             "|" + " --- |" * 12]
    for row in table:
        acceptance = "" if row["acceptance"] is None else f"{row['acceptance']:.3f}"
        per_pass = "" if row["tokens_per_full_pass"] is None else f"{row['tokens_per_full_pass']:.2f}"
        lines.append(f"| {row['system']} | {row['target_wall_per_clip']:.4f} | {row['target_speedup']:.2f} | "
                     f"{row['translate_wall_per_clip']:.4f} | {row['translate_cpu_per_clip']:.4f} | "
                     f"{row['target_tokens_per_clip']:.1f} | {acceptance} | "
                     f"{per_pass} | {row['identical_to_full_greedy']}/{row['clips']} | "
                     f"{row['max_state_gap_when_identical']:.1e} | {row['bleu']:.2f} | {row['chrf']:.2f} |")
    lines += ["", "Measured on a loaded shared machine (2 cores; a training run and a corpus build on the other "
              "processes), pinned to core 1 under nice 10: compare rows with each other, not with other reports.", ""]
    write_markdown(out / "speculative.md", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
