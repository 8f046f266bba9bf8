"""Ceilings of synth-cvss: the judges applied to the reference English audio of the test splits.

    python benchmarks/ceilings.py --corpus corpora/synth-cvss --out docs/benchmarks/ceilings

ASR-BLEU / chrF / WER of the reference targets (Moonshine base-en, with pocketsphinx beside it for continuity;
per base voice too, and every voice whose Moonshine WER exceeds 0.10 is listed with its worst utterances so the
reason can be read), speaker similarity of two different reference
utterances of the same speaker (the SIM ceiling), of the reference to its own French source (cross-language), and to
a different speaker's reference (the wrong-speaker floor), and DNSMOS. Writes ceiling-<split>.{json,md,png} per split
and ceilings.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from diffs2st.audio import DEFAULT_MEL
from diffs2st.evaluation import evaluate, plan_items, rejudge_asr
from diffs2st.judges import ASR_CHOICES, DEFAULT_ASR
from diffs2st.reports import report_heading, write_json, write_markdown, write_report

SPLITS = ("test-seen-speakers", "test-unseen-speakers")
COLUMNS = [("asr_bleu", "ASR-BLEU"), ("asr_chrf", "ASR-chrF"), ("asr_wer", "ASR-WER"),
           ("asr_bleu_pocketsphinx", "ASR-BLEU pocketsphinx"), ("asr_wer_pocketsphinx", "ASR-WER pocketsphinx"),
           ("sim_to_target", "SIM same speaker"), ("sim_wrong_speaker", "SIM wrong speaker"),
           ("sim_to_source", "SIM to French source"), ("dnsmos_ovrl", "DNSMOS OVRL"), ("dnsmos_sig", "DNSMOS SIG")]


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
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    results = {split: judge_split(split, args, command) for split in SPLITS}
    write_json(Path(args.out, "ceilings.json"), {"command": command, "results": results})
    print(render({"command": command, "results": results}, Path(args.out)))
    return 0


def judge_split(split: str, args, command: str) -> dict:
    """Judge one split's reference audio (or re-judge its stored report), write ceiling-<split>.{json,md,png};
    returns the split's summary line."""
    manifest = Path(args.corpus) / f"{split}.jsonl"
    items = plan_items("s2st", manifest, None, reference=True, limit=args.limit)
    if args.rejudge_from:
        stored = json.loads(Path(args.rejudge_from, f"ceiling-{split}.json").read_text())["per_utterance"]
        summary, rows = rejudge_asr("s2st", items, stored, DEFAULT_MEL, jobs=args.jobs)
    else:
        summary, rows = evaluate("s2st", items, DEFAULT_MEL, jobs=args.jobs, asr=args.asr)
    write_report(args.out, f"ceiling-{split}", f"synth-cvss {split}: reference audio (ceiling)", summary, rows,
                 {"kind": "s2st", "manifest": str(manifest), "system": "reference",
                  "asr": ASR_CHOICES["both" if args.rejudge_from else args.asr],
                  "command": command})
    return {"utterances": len(rows), **summary, "hard_voices": hard_voices(rows, summary)}


def render(report: dict, out: Path) -> str:
    """ceilings.md from the ceilings.json document {command, results}; returns the text."""
    command, results = report["command"], report["results"]
    lines = [*report_heading("synth-cvss ceilings (reference English audio scored by the judges)", command),
             "SIM same speaker: Resemblyzer cosine between two different reference utterances of one speaker; "
             "SIM wrong speaker: the same against another speaker's reference; SIM to French source: reference "
             "target vs its own espeak-ng source (same speaker, other language).", "",
             "| split | utterances | " + " | ".join(label for _, label in COLUMNS) + " |",
             "|" + " --- |" * (len(COLUMNS) + 2)]
    for split, result in results.items():
        cells = [f"{result[key]:.3f}" if key in result else "–" for key, _ in COLUMNS]
        lines.append(f"| {split} | {result['utterances']} | " + " | ".join(cells) + " |")
    lines += ["", "ASR columns without a suffix are Moonshine base-en's, after Whisper's English normaliser "
              "(`diffs2st.judges.normalize_text`); pocketsphinx's columns are kept beside them for continuity."]
    for split, result in results.items():
        lines += voice_lines(split, result)
    text = "\n".join(lines) + "\n"
    write_markdown(out / "ceilings.md", text)
    return text


if __name__ == "__main__":
    sys.exit(main())
