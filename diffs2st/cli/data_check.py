"""`diffs2st data check DIR`: score a built S2ST corpus with the external judges (JSON + Markdown + plots)."""

from __future__ import annotations

import json
from pathlib import Path

from .main import add_command

COLUMNS = ["utterances", "speakers", "target_wer", "worst_speaker_wer", "eer_target_target",
           "eer_encoder_target_target", "eer_target_target_same_base_voice", "eer_source_target",
           "sim_same_source_target", "sim_different_source_target", "fr_en_margin", "tgt_seconds_mean",
           "src_seconds_mean", "src_seconds_p95", "clipped_fraction"]


def _cells(part: dict) -> str:
    return " | ".join(f"{part[c]:.3g}" if isinstance(part.get(c), float) else str(part.get(c, "–")) for c in COLUMNS)


def _markdown(summary: dict, command: str, plots: list[Path]) -> str:
    from ..reports import report_heading

    lines = [*report_heading("Corpus self-check", command),
             "| split | " + " | ".join(COLUMNS) + " |", "|" + " --- |" * (len(COLUMNS) + 1)]
    for name, part in list(summary["splits"].items()) + [("all", summary["overall"])]:
        lines.append(f"| {name} | {_cells(part)} |")
    if summary.get("families"):
        lines += ["", "By voice family:", "", "| split | family | " + " | ".join(COLUMNS) + " |",
                  "|" + " --- |" * (len(COLUMNS) + 2)]
        for split, families in summary["families"].items():
            lines += [f"| {split} | {family} | {_cells(part)} |" for family, part in families.items()]
        corpus = summary["corpus"]
        lines += ["", f"The whole corpus: {len(corpus['families'])} voice families ({', '.join(corpus['families'])}), "
                      f"{corpus['train_speakers']} training speakers, {len(corpus['base_voices'])} distinct base "
                      f"voices ({', '.join(corpus['base_voices'])})."]
    lines += ["", "Goals:", ""] + [f"- {goal}: {'met' if ok else 'NOT met'}" for goal, ok in summary["goals"].items()]
    lines += [""] + [f"![{plot.stem}]({plot.name})" for plot in plots] + [""]
    return "\n".join(lines)


def _run(args) -> int:
    from ..audio.io import atomic_write_bytes
    from ..data.selfcheck import check_corpus, plot_families, plot_selfcheck
    from ..pretrained import model_or_bundled

    encoder = None if args.encoder == "none" else model_or_bundled(args.encoder, "speaker-encoder")
    out = Path(args.out or Path(args.corpus) / "selfcheck")
    summary, rows = check_corpus(args.corpus, args.max_per_split, args.jobs, args.seed, encoder=encoder)
    out.mkdir(parents=True, exist_ok=True)
    plots = [plot_selfcheck(summary, out / "selfcheck_wer_by_speaker.png")]
    if summary.get("families"):
        plots.append(plot_families(summary, out / "selfcheck_families.png"))
    document = {"command": args.command_line, "encoder": None if encoder is None else str(encoder),
                "summary": summary, "per_utterance": rows}
    atomic_write_bytes(out / "selfcheck.json", (json.dumps(document, indent=2) + "\n").encode())
    markdown = _markdown(summary, args.command_line, plots)
    atomic_write_bytes(out / "selfcheck.md", markdown.encode())
    print(markdown)
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "check", "score a built S2ST corpus with the external judges")
    parser.add_argument("corpus", help="corpus folder with train/dev/test-*.jsonl manifests")
    parser.add_argument("-o", "--out", default=None, help="report folder (default: CORPUS/selfcheck)")
    parser.add_argument("--max-per-split", type=int, default=200, help="utterances sampled per split")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--encoder", default=None,
                        help="our speaker encoder's checkpoint for its EER beside Resemblyzer's (default: the bundled "
                             "speaker-encoder; 'none' skips it)")
    parser.set_defaults(func=_run)
