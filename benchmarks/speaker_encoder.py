"""Speaker-encoder benchmark: how well OUR encoder separates voices it was / was not trained on, next to the external
judge (Resemblyzer) on the same pairs.

    python benchmarks/speaker_encoder.py --checkpoint runs/speaker-encoder/model --corpus corpora/synth-cvss

Per split (test-seen-speakers, test-unseen-speakers), every utterance pair (i != j) is scored by cosine similarity:
- English-English: target clips against target clips;
- French-English: source clips against target clips (what the S2ST model does: the French source is the default
  voice reference for the English output).
Same-speaker pairs vs different-speaker pairs give an equal error rate (EER) and the mean similarities. Writes
speaker_encoder.json / .md / .png into ``--out``. Not run by the tests (minutes of CPU).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffs2st.audio import load_audio
from diffs2st.checkpoint import load_model, read_checkpoint_config
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.judges import build_judge
from diffs2st.judges.speaker import equal_error_rate
from diffs2st.plotting import save_figure, subplots
from diffs2st.reports import report_heading, write_json, write_markdown
from diffs2st.speaker import SpeakerEncoder

SPLITS = ("test-seen-speakers", "test-unseen-speakers")


def pair_scores(a: np.ndarray, b: np.ndarray, speakers: list[str], exclude_diagonal: bool) -> dict:
    """EER and mean similarities over all pairs (i, j), i != j, of rows of two unit-embedding matrices."""
    similarity = a @ b.T
    labels = np.array(speakers)
    same = labels[:, None] == labels[None, :]
    valid = ~np.eye(len(labels), dtype=bool) if exclude_diagonal else np.ones_like(same)
    same_scores, different_scores = similarity[same & valid], similarity[~same & valid]
    eer, threshold = equal_error_rate(same_scores, different_scores)
    return {"eer": eer, "threshold": threshold, "same_mean": float(same_scores.mean()),
            "different_mean": float(different_scores.mean()), "same_pairs": int(same_scores.size),
            "different_pairs": int(different_scores.size), "_same": same_scores, "_different": different_scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="our speaker-encoder checkpoint directory")
    parser.add_argument("--corpus", default="corpora/synth-cvss")
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    parser.add_argument("--no-judge", action="store_true", help="skip the Resemblyzer comparison")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="docs/benchmarks/speaker_encoder")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite speaker_encoder.md from a stored speaker_encoder.json (no embedding; the "
                             "width comes from the JSON, or from --checkpoint for reports that predate it)")
    args = parser.parse_args()
    out = Path(args.out)
    if args.render:
        report = json.loads(Path(args.render).read_text())
        print(render(report, out, report.get("embedding_dim")
                     or read_checkpoint_config(args.checkpoint)[1].embedding_dim))
        return 0
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    torch.set_num_threads(args.threads)
    encoder = load_model(args.checkpoint, SpeakerEncoder, "speaker encoder")
    judge = None if args.no_judge else build_judge("speaker", encoder.mel)
    results, histograms = [], {}
    for split in SPLITS:
        rows, split_histograms = score_split(Path(args.corpus) / f"{split}.jsonl", split, encoder, judge, args.limit)
        results += rows
        histograms.update(split_histograms)
    out.mkdir(parents=True, exist_ok=True)
    report = {"command": command, "checkpoint": args.checkpoint, "embedding_dim": encoder.config.embedding_dim,
              "results": results}
    write_json(out / "speaker_encoder.json", report)
    text = render(report, out, report["embedding_dim"])
    plot(histograms, out / "speaker_encoder.png")
    print(text)
    return 0


def score_split(manifest: Path, split: str, encoder, judge, limit: int | None) -> tuple[list[dict], dict]:
    """Embed a split's French sources and English targets with our encoder (and the judge's), score every pairing:
    (result rows, {(split, system, pairing): (same-speaker scores, different-speaker scores)})."""
    records = read_manifest(manifest, S2STRecord)[:limit]
    speakers = [r.speaker for r in records]
    waves = {side: [load_audio(resolve_audio(manifest, getattr(r, f"{side}_audio")), encoder.mel.sample_rate,
                               max_seconds=None) for r in records] for side in ("src", "tgt")}
    systems = {"ours": {side: encoder.embed_waves(waves[side]).numpy() for side in waves}}
    if judge is not None:
        systems["resemblyzer (judge)"] = {side: np.stack([judge.model.embed(w) for w in tqdm(
            waves[side], desc=f"resemblyzer {split} {side}", leave=False)]) for side in waves}
    rows, histograms = [], {}
    for system, embeddings in systems.items():
        for pairing, (a, b, exclude) in {"en-en": (embeddings["tgt"], embeddings["tgt"], True),
                                         "fr-en": (embeddings["src"], embeddings["tgt"], True)}.items():
            scores = pair_scores(a, b, speakers, exclude)
            histograms[(split, system, pairing)] = (scores.pop("_same"), scores.pop("_different"))
            rows.append({"split": split, "system": system, "pairs": pairing, "utterances": len(records),
                         "speakers": len(set(speakers)), **scores})
            print(f"{split} {system} {pairing}: EER {scores['eer']:.3f}, same {scores['same_mean']:.3f}, "
                  f"different {scores['different_mean']:.3f}")
    return rows, histograms


def render(report: dict, out: Path, embedding_dim: int) -> str:
    """speaker_encoder.md from the speaker_encoder.json document and our encoder's width; returns the text."""
    lines = [*report_heading("Speaker encoder (ours) on synth-cvss", report["command"]),
             f"Our encoder `{report['checkpoint']}` ({embedding_dim}-d, trained on the synth-cvss train "
             f"speakers) next to the external judge Resemblyzer on the same pairs. All pairs i != j of a split; "
             "en-en: English target vs English target; fr-en: French source vs English target (the S2ST reference "
             "situation). EER: equal error rate of same- vs different-speaker pairs (lower is better).", "",
             "| split | system | pairs | utt | speakers | EER | mean sim same | mean sim different |",
             "|" + " --- |" * 8]
    for r in report["results"]:
        lines.append(f"| {r['split']} | {r['system']} | {r['pairs']} | {r['utterances']} | {r['speakers']} | "
                     f"{r['eer']:.3f} | {r['same_mean']:.3f} | {r['different_mean']:.3f} |")
    lines += ["", "![similarity distributions](speaker_encoder.png)", ""]
    write_markdown(out / "speaker_encoder.md", lines)
    return "\n".join(lines)


def plot(histograms: dict, path: Path) -> None:
    figure, axes = subplots(1, len(histograms), figsize=(3.2 * len(histograms), 2.8), squeeze=False)
    for axis, ((split, system, pairing), (same, different)) in zip(axes[0], histograms.items()):
        bins = np.linspace(min(same.min(), different.min()), 1, 40)
        axis.hist(different, bins=bins, alpha=0.6, density=True, label="different")
        axis.hist(same, bins=bins, alpha=0.6, density=True, label="same")
        axis.set_title(f"{system}\n{split.replace('-speakers', '')}, {pairing}", fontsize=8)
        axis.set_xlabel("cosine similarity", fontsize=8)
        axis.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    sys.exit(main())
