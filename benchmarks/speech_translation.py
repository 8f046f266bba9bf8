"""Speech-translation benchmark: each checkpoint (a variant of the multi-decoder model) decodes the synth-cvss test
splits; sacrebleu/jiwer score its French transcript and its English translation.

    python benchmarks/speech_translation.py --checkpoint pretrained/st [--checkpoint runs/st-single/model ...] \
        --corpus corpora/synth-cvss --out docs/benchmarks/speech_translation [--beam 1] [--limit N]

Per checkpoint and split: source BLEU/WER/CER, target BLEU/chrF/WER/CER (text normalised by Whisper's normalisers,
`diffs2st.judges.normalize_text`), decoding speed (RTF on the CPU threads given, batch of 16, after a warm-up) and
parameter count. Writes speech_translation.{json,md,png} plus one `diffs2st.reports` report per checkpoint × split,
and the hypotheses (JSONL, the `diffs2st eval st` input). ``--rescore`` scores the stored hypotheses again (new
judges or normaliser) without the checkpoints. Not run by the tests (minutes of CPU).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.audio.io import atomic_write_bytes
from diffs2st.checkpoint import recipe_of, training_record
from diffs2st.cli.transcribe import load_translator
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.evaluation import evaluate, plan_items
from diffs2st.plotting import save_figure, subplots
from diffs2st.reports import report_heading, write_json, write_markdown, write_report
from diffs2st.translation import translate_waves

SPLITS = ("test-seen-speakers", "test-unseen-speakers")
COLUMNS = [("src_bleu", "src BLEU"), ("src_wer", "src WER"), ("src_cer", "src CER"), ("tgt_bleu", "tgt BLEU"),
           ("tgt_chrf", "tgt chrF"), ("tgt_wer", "tgt WER"), ("tgt_cer", "tgt CER")]


def decode_split(model, manifest: Path, limit: int | None, beam: int, batch_size: int) -> tuple[list[dict], dict]:
    records = read_manifest(manifest, S2STRecord)[:limit]
    rate = model.config.mel.sample_rate
    waves = [load_audio(resolve_audio(manifest, r.src_audio), rate) for r in records]
    translate_waves(model, waves[:batch_size], batch_size, beam)  # warm-up
    start = time.perf_counter()
    results = translate_waves(model, waves, batch_size, beam, progress=True)
    elapsed = time.perf_counter() - start
    seconds = sum(w.size for w in waves) / rate
    hypotheses = [{"id": r.id, "src_text": res.src_text, "tgt_text": res.tgt_text} for r, res in zip(records, results)]
    speed = {"rtf": elapsed / seconds, "utterances_per_second": len(records) / elapsed, "audio_seconds": seconds}
    return hypotheses, speed


def run_name(row: dict) -> str:
    """File stem of one checkpoint x split run (its report and hypotheses)."""
    return f"st-{row['variant']}" + (f"-{row['steps']}steps" if row["steps"] else "") + f"-{row['split']}"


def score_run(row: dict, manifest: Path, hyp_path: Path, out: Path, limit: int | None, command: str) -> dict:
    """The text judges on one run's hypotheses; writes its report and returns ``row`` with the scores."""
    summary, rows = evaluate("st", plan_items("st", manifest, hyp_path, limit=limit), DEFAULT_MEL, progress=False)
    speed = {key: row[key] for key in ("rtf", "utterances_per_second", "audio_seconds") if key in row}
    summary.update(speed)
    write_report(out, run_name(row), f"speech translation {row['variant']} ({row['checkpoint']}) on {row['split']}",
                 summary, rows, {"kind": "st", "manifest": str(manifest), "system": row["checkpoint"],
                                 "command": command})
    return {**row, "utterances": len(rows), **summary}


def stored_recipes(markdown: Path) -> dict[str, str]:
    """The 'how each model was trained' lines of an earlier report (checkpoints may be gone from this machine)."""
    recipes = {}
    for line in markdown.read_text().splitlines() if markdown.is_file() else []:
        if line.startswith("- `") and "`: `" in line:
            checkpoint, recipe = line[3:].split("`: `", 1)
            recipes[checkpoint] = recipe.rstrip("`")
    return recipes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", default=[], help="checkpoint directory (repeatable)")
    parser.add_argument("--corpus", default="corpora/synth-cvss")
    parser.add_argument("--out", default="docs/benchmarks/speech_translation")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    parser.add_argument("--splits", nargs="+", default=list(SPLITS),
                        help="corpus splits to decode (<corpus>/<split>.jsonl; choose settings on dev)")
    parser.add_argument("--rescore", action="store_true",
                        help="decode nothing: score the hypotheses stored in --out again with the current judges "
                             "(e.g. a new normaliser) and re-render; decoding speed stays as measured")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="decode and score nothing: rewrite the report from a stored speech_translation.json")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.render:
        stored = json.loads(Path(args.render).read_text())
        recipes, settings = stored_context(stored, Path(args.render).with_suffix(".md"))
        return render(stored["results"], recipes, settings, stored["command"], out)
    if args.rescore:
        return render(*rescore(args, command, out))
    if not args.checkpoint:
        parser.error("give at least one --checkpoint (or --rescore)")
    torch.set_num_threads(args.threads)
    return render(*decode_and_score(args, command, out))


def stored_context(stored: dict, markdown: Path) -> tuple[dict[str, str], dict]:
    """(recipes, settings) of a stored report; reports that predate them: the recipes from its Markdown, the
    settings from the command line."""
    recipes = stored.get("recipes") or stored_recipes(markdown)
    settings = stored.get("settings") or command_settings(stored["command"].splitlines()[0])
    return recipes, settings


def command_settings(command: str) -> dict:
    """The decoding settings a stored report's command line ran with (reports older than their "settings")."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--beam", type=int, default=1)
    known, _ = parser.parse_known_args(shlex.split(command)[2:])
    return {"threads": known.threads, "batch_size": known.batch_size, "beam": known.beam}


def rescore(args, command: str, out: Path) -> tuple[list[dict], dict, dict, str, Path]:
    """Score the hypotheses stored in ``out`` again (decoding speed as measured): render's arguments."""
    stored = json.loads((out / "speech_translation.json").read_text())
    command = stored["command"] + "\n" + command
    recipes, settings = stored_context(stored, out / "speech_translation.md")
    table = [score_run(row, Path(args.corpus) / f"{row['split']}.jsonl",
                       out / f"{run_name(row)}.hypotheses.jsonl", out, row["utterances"], command)
             for row in stored["results"]]
    return table, recipes, settings, command, out


def decode_and_score(args, command: str, out: Path) -> tuple[list[dict], dict, dict, str, Path]:
    """Decode both test splits with every checkpoint, store the hypotheses and score them: render's arguments."""
    settings = {"threads": args.threads, "batch_size": args.batch_size, "beam": args.beam}
    table, recipes = [], {}
    for checkpoint in args.checkpoint:
        model = load_translator(checkpoint)
        trained = training_record(checkpoint)
        recipes[checkpoint] = recipe_of(trained)
        for split in args.splits:
            manifest = Path(args.corpus) / f"{split}.jsonl"
            hypotheses, speed = decode_split(model, manifest, args.limit, args.beam, args.batch_size)
            row = {"checkpoint": checkpoint, "variant": model.config.variant, "steps": trained.get("steps"),
                   "split": split, "parameters": model.num_parameters(), "beam": args.beam, **speed}
            hyp_path = out / f"{run_name(row)}.hypotheses.jsonl"
            atomic_write_bytes(hyp_path, "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in hypotheses).encode())
            table.append(score_run(row, manifest, hyp_path, out, args.limit, command))
            summary = table[-1]
            print(f"{checkpoint} {split}: " + ", ".join(f"{label} {summary.get(key, float('nan')):.3f}"
                                                       for key, label in COLUMNS) + f", RTF {speed['rtf']:.3f}")
    return table, recipes, settings, command, out


def render(table: list[dict], recipes: dict[str, str], settings: dict, command: str, out: Path) -> int:
    """speech_translation.{json,md,png} from the scored runs."""
    write_json(out / "speech_translation.json",
               {"command": command, "settings": settings, "recipes": recipes, "results": table})
    lines = [*report_heading("Speech translation on synth-cvss (fr → en)", command),
             "French outputs (source decoder, or CTC for the single-decoder variant) vs English outputs (target "
             "decoder); BLEU/chrF from sacrebleu (0-100), WER/CER from jiwer (fractions), text normalised by "
             "Whisper's normalisers (`diffs2st.judges.normalize_text`: English numbers, contractions and spellings; "
             "French punctuation and elisions). RTF: decoding seconds per second of source audio "
             f"({settings['threads']} CPU threads, batches of {settings['batch_size']}, beam {settings['beam']}).", "",
             "| model | variant | steps | split | utt | params | " + " | ".join(label for _, label in COLUMNS)
             + " | RTF |", "|" + " --- |" * (len(COLUMNS) + 7)]
    for row in table:
        cells = [f"{row.get(key, float('nan')):.3f}" if "wer" in key or "cer" in key else
                 f"{row.get(key, float('nan')):.1f}" for key, _ in COLUMNS]
        lines.append(f"| {row['checkpoint']} | {row['variant']} | {row['steps']} | {row['split']} | "
                     f"{row['utterances']} | {row['parameters'] / 1e6:.2f} M | " + " | ".join(cells)
                     + f" | {row['rtf']:.3f} |")
    by_family = [row for row in table if row.get("by_family")]
    if by_family:
        lines += ["", "By voice family (corpus v2):", "",
                  "| model | steps | split | family | utt | src WER | tgt BLEU | tgt chrF |", "|" + " --- |" * 8]
        lines += [f"| {row['checkpoint']} | {row['steps']} | {row['split']} | {family} | {scores['utterances']} | "
                  f"{scores.get('src_wer', float('nan')):.3f} | {scores.get('tgt_bleu', float('nan')):.1f} | "
                  f"{scores.get('tgt_chrf', float('nan')):.1f} |"
                  for row in by_family for family, scores in row["by_family"].items()]
    lines += ["", "How each model was trained (its metrics.json):", ""]
    lines += [f"- `{checkpoint}`: `{recipe}`" for checkpoint, recipe in recipes.items()]
    lines += ["", "![BLEU by model and split](speech_translation.png)", ""]
    write_markdown(out / "speech_translation.md", lines)
    plot(table, out / "speech_translation.png")
    print("\n".join(lines))
    return 0


def plot(table: list[dict], path: Path) -> None:
    figure, axis = subplots(figsize=(max(7.0, 1.2 * len(table)), 3.2))
    labels = [f"{r['variant']} {r['steps']}\n{r['split'].replace('-speakers', '')}" for r in table]
    x = range(len(table))
    axis.bar([i - 0.2 for i in x], [r.get("src_bleu", 0) for r in table], 0.4, label="French transcript BLEU")
    axis.bar([i + 0.2 for i in x], [r.get("tgt_bleu", 0) for r in table], 0.4, label="English translation BLEU")
    axis.set_xticks(list(x), labels, fontsize=7)
    axis.set_ylim(0, 115)
    axis.set_ylabel("BLEU")
    axis.legend(fontsize=8, loc="upper center", ncol=2)
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    sys.exit(main())
