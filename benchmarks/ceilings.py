"""Ceilings of synth-cvss: the judges applied to the reference English audio of the test splits.

    python benchmarks/ceilings.py --corpus corpora/synth-cvss --out docs/benchmarks/ceilings
    python benchmarks/ceilings.py --corpus corpora/synth-cvss-v2 --out docs/benchmarks/ceilings/v2

ASR-BLEU / chrF / WER of the reference targets (Moonshine base-en, with pocketsphinx beside it for continuity;
per base voice too, and every voice whose Moonshine WER exceeds 0.10 is listed with its worst utterances so the
reason can be read), speaker similarity of two different reference
utterances of the same speaker (the SIM ceiling), of the reference to its own French source (cross-language), and to
a different speaker's reference (the wrong-speaker floor), DNSMOS, and the F0 (median, range) of the reference
targets with how close it comes to the same speaker's other utterance (the F0 ceiling); per voice family when the
corpus has several (v2). Writes ceiling-<split>.{json,md,png} per split and ceilings.{json,md}. Judged rows are kept
in --work as they are made (`diffs2st.evaluation.evaluate(cache=...)`): a killed run started again judges only
the rest.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from diffs2st.audio import DEFAULT_MEL
from diffs2st.evaluation import KINDS, F0_TOLERANCE, Item, evaluate, plan_items, rejudge_asr
from diffs2st.judges import ASR_CHOICES, DEFAULT_ASR
from diffs2st.reports import report_heading, write_json, write_markdown, write_report

SPLITS = ("test-seen-speakers", "test-unseen-speakers", "test-unseen-voices", "test-noisy")
COLUMNS = [("asr_bleu", "ASR-BLEU"), ("asr_chrf", "ASR-chrF"), ("asr_wer", "ASR-WER"),
           ("asr_bleu_pocketsphinx", "ASR-BLEU pocketsphinx"), ("asr_wer_pocketsphinx", "ASR-WER pocketsphinx"),
           ("sim_to_target", "SIM same speaker"), ("sim_wrong_speaker", "SIM wrong speaker"),
           ("sim_to_source", "SIM to French source"), ("dnsmos_ovrl", "DNSMOS OVRL"), ("dnsmos_sig", "DNSMOS SIG"),
           ("f0_median", "F0 median (Hz)"), ("f0_range", "F0 range (semitones)"),
           ("f0_within_tolerance", f"F0 same speaker within {F0_TOLERANCE * 100:g} %")]
FAMILY_COLUMNS = [("asr_bleu", "ASR-BLEU", ".1f"), ("asr_wer", "ASR-WER", ".3f"),
                  ("asr_bleu_pocketsphinx", "ASR-BLEU pocketsphinx", ".1f"),
                  ("asr_wer_pocketsphinx", "ASR-WER pocketsphinx", ".3f"),
                  ("sim_to_target", "SIM same speaker", ".3f"), ("sim_wrong_speaker", "SIM wrong speaker", ".3f"),
                  ("f0_median", "F0 median (Hz)", ".1f"), ("f0_range", "F0 range (semitones)", ".1f"),
                  ("f0_median_ratio", "F0 median / same speaker's", ".3f"),
                  ("f0_within_tolerance", f"F0 within {F0_TOLERANCE * 100:g} % of same speaker's", ".1%")]


HARD_VOICE_WER = 0.10  # a voice the judge mishears this often is named with its worst utterances


def hard_voices(rows: list[dict], summary: dict, examples: int = 3) -> dict[str, list[dict]]:
    """Voices whose Moonshine WER on the reference audio exceeds HARD_VOICE_WER -> their worst utterances."""
    found = {}
    for voice, scores in summary.get("by_voice", {}).items():
        if scores.get("asr_wer", 0.0) > HARD_VOICE_WER:
            mine = sorted((r for r in rows if r.get("voice") == voice), key=lambda r: -r["wer"])[:examples]
            found[voice] = [{"id": r["id"], "wer": r["wer"], "reference": r["reference"],
                             "heard": r["transcript"]} for r in mine]
    return found


def family_lines(split: str, result: dict) -> list[str]:
    """Markdown: the ceiling of one split per voice family (none when the split has one family)."""
    families = result.get("by_family", {})
    if not families:
        return []
    lines = ["", f"## {split}: by voice family", "",
             "| family | utterances | " + " | ".join(label for _, label, _ in FAMILY_COLUMNS) + " |",
             "|" + " --- |" * (len(FAMILY_COLUMNS) + 2)]
    for family, scores in families.items():
        cells = [format(scores[key], style) if key in scores else "–" for key, _, style in FAMILY_COLUMNS]
        lines.append(f"| {family} | {scores['utterances']} | " + " | ".join(cells) + " |")
    return lines


def voice_lines(split: str, result: dict) -> list[str]:
    """Markdown: the per-voice ceiling table of one split and the voices above HARD_VOICE_WER."""
    voices = result.get("by_voice", {})
    lines = ["", f"## {split}: by base voice", "",
             "| voice | utterances | ASR-BLEU | ASR-WER | ASR-BLEU pocketsphinx | ASR-WER pocketsphinx |",
             "| --- | --- | --- | --- | --- | --- |"]
    for voice, scores in voices.items():
        cells = [f"{scores[key]:.3f}" if key in scores else "–"
                 for key in ("asr_bleu", "asr_wer", "asr_bleu_pocketsphinx", "asr_wer_pocketsphinx")]
        lines.append(f"| {voice} | {scores['utterances']} | " + " | ".join(cells) + " |")
    hard = result.get("hard_voices", {})
    lines += ["", f"Voices with a Moonshine WER above {HARD_VOICE_WER:.2f}: " + (", ".join(hard) or "none") + "."]
    for voice, worst in hard.items():
        lines += ["", f"Worst utterances of {voice}:", ""]
        lines += [f"- {w['id']} (WER {w['wer']:.2f}): said \"{w['reference']}\", heard \"{w['heard']}\""
                  for w in worst]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="corpora/synth-cvss")
    parser.add_argument("--out", default="docs/benchmarks/ceilings")
    parser.add_argument("--splits", nargs="+", default=None, metavar="SPLIT",
                        help=f"splits to judge (<corpus>/<split>.jsonl; default: those of {', '.join(SPLITS)} the "
                             "corpus has)")
    parser.add_argument("--work", default="out/ceilings",
                        help="where judged rows are kept as they are made (<work>/<corpus>/ceiling-<split>"
                             ".rows.jsonl), so that a killed run started again judges only the rest")
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--asr", choices=tuple(ASR_CHOICES), default=DEFAULT_ASR, help="English ASR judge(s)")
    parser.add_argument("--rejudge-from", default=None, metavar="DIR",
                        help="folder of ceiling-<split>.json made under the pocketsphinx-only judge: run only "
                             "Moonshine, carry the other scores over (`diffs2st.evaluation.rejudge_asr`)")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite ceilings.md from a stored ceilings.json (no judging)")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text()), Path(args.out)))
        return 0
    splits = args.splits or [split for split in SPLITS if (Path(args.corpus) / f"{split}.jsonl").is_file()]
    missing = [split for split in splits if not (Path(args.corpus) / f"{split}.jsonl").is_file()]
    if missing or not splits:
        raise SystemExit(f"{args.corpus} has no manifest of {', '.join(missing) or 'the test splits'}")
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    results = {split: judge_split(split, args, command) for split in splits}
    report = {"command": command, "corpus": Path(args.corpus).name, "results": results}
    write_json(Path(args.out, "ceilings.json"), report)
    print(render(report, Path(args.out)))
    return 0


def judge_split(split: str, args, command: str) -> dict:
    """Judge one split's reference audio (or re-judge its stored report), write ceiling-<split>.{json,md,png};
    returns the split's summary line."""
    corpus = Path(args.corpus)
    manifest = corpus / f"{split}.jsonl"
    items = plan_items("s2st", manifest, None, reference=True, limit=args.limit)
    if args.rejudge_from:
        stored = json.loads(Path(args.rejudge_from, f"ceiling-{split}.json").read_text())["per_utterance"]
        _, rows = rejudge_asr("s2st", items, stored, DEFAULT_MEL, jobs=args.jobs)
    else:
        _, rows = evaluate("s2st", items, DEFAULT_MEL, jobs=args.jobs, asr=args.asr,
                           cache=Path(args.work) / corpus.name / f"ceiling-{split}.rows.jsonl")
    summary = KINDS.get("s2st").summarize(rows)
    alone = sum(item.same_speaker is None for item in items)
    write_report(args.out, f"ceiling-{split}", f"{corpus.name} {split}: reference audio (ceiling)", summary, rows,
                 {"kind": "s2st", "manifest": str(manifest), "system": "reference",
                  "asr": ASR_CHOICES["both" if args.rejudge_from else args.asr],
                  "command": command, "alone": alone},
                 notes=[f"{alone} of them the only utterance of their speaker: left out of the same-speaker "
                        "similarity and F0 pairs."] if alone else [])
    return {"utterances": len(rows), **summary, "alone": alone, "hard_voices": hard_voices(rows, summary)}


def render(report: dict, out: Path) -> str:
    """ceilings.md from the ceilings.json document {command, results}; returns the text."""
    command, results = report["command"], report["results"]
    title = f"{report.get('corpus', 'synth-cvss')} ceilings (reference English audio scored by the judges)"
    columns = [(key, label) for key, label in COLUMNS if any(key in result for result in results.values())]
    lines = [*report_heading(title, command),
             "SIM same speaker: Resemblyzer cosine between two different reference utterances of one speaker; "
             "SIM wrong speaker: the same against another speaker's reference; SIM to French source: reference "
             "target vs its own espeak-ng source (same speaker, other language).", "",
             "| split | utterances | " + " | ".join(label for _, label in columns) + " |",
             "|" + " --- |" * (len(columns) + 2)]
    for split, result in results.items():
        cells = [f"{result[key]:.3f}" if key in result else "–" for key, _ in columns]
        lines.append(f"| {split} | {result['utterances']} | " + " | ".join(cells) + " |")
    lines += ["", "ASR columns without a suffix are Moonshine base-en's, after Whisper's English normaliser "
              "(`diffs2st.judges.normalize_text`); pocketsphinx's columns are kept beside them for continuity."]
    if any("f0_median" in result for result in results.values()):
        lines += ["", "F0 (librosa pYIN): median over utterances of each reference target's F0 median (Hz) and "
                  "range (semitones); the F0 ceiling is the share of reference targets whose F0 median is within "
                  f"{F0_TOLERANCE * 100:g} % of the same speaker's other utterance (per family also the median "
                  "ratio)."]
    alone = {split: result["alone"] for split, result in results.items() if result.get("alone")}
    if alone:
        lines += ["", "Utterances whose speaker has no other utterance in the split are left out of SIM same "
                  "speaker and the F0 pairs: " + ", ".join(f"{split} {n}" for split, n in alone.items()) + "."]
    for split, result in results.items():
        lines += family_lines(split, result)
        lines += voice_lines(split, result)
    text = "\n".join(lines) + "\n"
    write_markdown(out / "ceilings.md", text)
    return text


if __name__ == "__main__":
    sys.exit(main())
