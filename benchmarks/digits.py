"""Spoken-digit generation benchmark: a grid of sampler x steps x guidance, judged like real digits.

    python benchmarks/digits.py --model pretrained/digits --classifier pretrained/digit-classifier \
        --corpus corpora/synth-digits --per-digit 30 --out docs/benchmarks/digits

For every grid cell, ``--per-digit`` clips of each digit 0-9 are generated, vocoded and scored:
- digit-judge accuracy: pocketsphinx restricted to the ten digit words (`diffs2st.judges`, not ours), against the
  same judge on the real test clips (the ceiling; speakers disjoint from training);
- FD: Frechet distance between Gaussian fits of generated and real test digits in the embedding of OUR digit
  classifier (`configs/digits-classifier.yaml`), an FID-style number that only compares our own models;
- diversity: mean pairwise Euclidean distance between same-digit clips in that embedding, averaged over digits,
  and its ratio to the real test digits' diversity;
- RTF: sampling + vocoding seconds per second of generated audio, at ``--threads`` CPU threads.
Writes digits.json, digits.md and digits.png into ``--out``. Not run by the tests (minutes of CPU).

With ``--work DIR`` the ceiling and each grid cell are kept in DIR as they are measured (keyed by the checkpoints'
bytes and the settings that change them), so a stopped run started again measures only what is missing.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffs2st.audio import load_audio
from diffs2st.checkpoint import load_model, training_record
from diffs2st.data.manifest import resolve_audio
from diffs2st.digests import checkpoint_sha256, file_sha256
from diffs2st.digits import DigitDiffusion
from diffs2st.digits.classifier import DigitClassifier
from diffs2st.digits.data import DigitMels
from diffs2st.judges import build_judge
from diffs2st.plotting import save_figure, subplots
from diffs2st.pretrained import bundled, default_vocoder
from diffs2st.reports import report_heading, write_json, write_markdown
from diffs2st.vocoders import load_vocoder

# (sampler, steps, CFG weight w[, classifier-guidance scale]): DDIM at several step counts and guidance weights,
# ancestral DDPM for comparison, and classifier guidance from our noise-aware classifier alone and with CFG
DEFAULT_GRID = ("ddim:10:2", "ddim:25:0", "ddim:25:1", "ddim:25:2", "ddim:25:4", "ddim:50:2", "ddpm:25:2",
                "ddim:25:0:2", "ddim:25:2:2")
NUM_DIGITS = 10
REPO = Path(__file__).resolve().parents[1]


def parse_cell(text: str) -> tuple[str, int, float, float]:
    """SAMPLER:STEPS:W or SAMPLER:STEPS:W:CLASSIFIER_SCALE -> (sampler, steps, w, classifier scale)."""
    parts = text.split(":")
    try:
        if len(parts) not in (3, 4):
            raise ValueError
        scale = float(parts[3]) if len(parts) == 4 else 0.0
        cell = parts[0], int(parts[1]), float(parts[2]), scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid cell {text!r} is not SAMPLER:STEPS:W[:CLASSIFIER_SCALE], "
                                         "e.g. ddim:25:2 or ddim:25:0:2")
    if cell[1] < 1 or cell[2] < 0 or cell[3] < 0:
        raise argparse.ArgumentTypeError(f"grid cell {text!r}: steps must be >= 1 and weights >= 0")
    return cell


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^1/2) between Gaussian fits of two embedding sets (rows)."""
    from scipy import linalg

    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * np.real(root)))


def diversity(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Mean over digits of the mean pairwise distance between that digit's embeddings."""
    per_digit = []
    for digit in range(NUM_DIGITS):
        group = embeddings[labels == digit]
        if len(group) > 1:
            distances = np.linalg.norm(group[:, None] - group[None], axis=-1)
            per_digit.append(distances.sum() / (len(group) * (len(group) - 1)))
    return float(np.mean(per_digit))


def judge_accuracy(judge, waves: list[np.ndarray], labels: np.ndarray, desc: str,
                   key: str = "judge_accuracy") -> dict[str, float]:
    """``key``: the digit judge's accuracy; ``key``_moonshine: Moonshine's second opinion on the same clips."""
    scores = [judge(wave, int(label)) for wave, label in tqdm(list(zip(waves, labels)), desc=desc, leave=False)]
    accuracy = {key: float(np.mean([s["correct"] for s in scores]))}
    if "correct_moonshine" in scores[0]:
        accuracy[f"{key}_moonshine"] = float(np.mean([s["correct_moonshine"] for s in scores]))
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="digit generator checkpoint (default: the bundled one)")
    parser.add_argument("--classifier", default=None, help="our noise-aware digit classifier (FD / diversity space, "
                                                           "classifier guidance; default: the bundled one)")
    parser.add_argument("--corpus", default="corpora/synth-digits", help="corpus folder with test.jsonl")
    parser.add_argument("--vocoder", default=default_vocoder(),
                        help="'griffin-lim' or a vocoder checkpoint (default: the bundled one if present)")
    parser.add_argument("--griffin-lim-iters", type=int, default=32)
    parser.add_argument("--per-digit", type=int, default=30, help="generated clips per digit and grid cell")
    parser.add_argument("--grid", type=parse_cell, nargs="+", default=[parse_cell(c) for c in DEFAULT_GRID],
                        help="cells SAMPLER:STEPS:W[:CLASSIFIER_SCALE] (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/benchmarks/digits")
    parser.add_argument("--work", default=None, help="keep the ceiling and each cell here as measured; a run started "
                                                     "again reuses those whose inputs are unchanged")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite the report (md, png, goals) from an earlier digits.json into --out")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.render:
        write_report(json.loads(Path(args.render).read_text()), Path(args.out))
        return 0
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    torch.set_num_threads(args.threads)
    args.model = args.model or str(bundled("digits"))
    args.classifier = args.classifier or str(bundled("digit-classifier"))
    write_report(run(args, command), Path(args.out))
    return 0


def run(args, command: str) -> dict:
    """Judge the real test digits (the ceiling), then generate, vocode and judge every grid cell: the report."""
    generator = load_model(args.model, DigitDiffusion, "digit generator")
    classifier = load_model(args.classifier, DigitClassifier, "digit classifier")
    if any(cell[3] for cell in args.grid):
        generator.check_classifier(classifier)  # fail before minutes of work, not in the middle of the grid
    mel_config = generator.config.mel
    vocoder = load_vocoder(args.vocoder, iters=args.griffin_lim_iters, mel=mel_config)
    judge = build_judge("digit", mel_config, second_opinion=True)

    manifest = Path(args.corpus) / "test.jsonl"
    kept = KeptResults(args, manifest)
    real = DigitMels(manifest, mel_config, generator.config.frames)
    real_labels = real.labels.numpy()
    real_embeddings = classifier.clean_features(real.mels)[0].numpy()
    real_waves = [load_audio(resolve_audio(manifest, r.audio), mel_config.sample_rate) for r in real.records]
    ceiling = kept.get("ceiling")
    if ceiling is None:
        with torch.inference_mode():
            real_vocoded = [vocoder(mel).numpy() for mel in real.mels]
        ceiling = {**judge_accuracy(judge, real_waves, real_labels, "real"),
                   **judge_accuracy(judge, real_vocoded, real_labels, "real vocoded", key="judge_accuracy_vocoded"),
                   "classifier_accuracy": float((classifier.clean_features(real.mels)[1].argmax(-1).numpy()
                                                 == real_labels).mean()),
                   "diversity": diversity(real_embeddings, real_labels), "clips": len(real_labels)}
        kept.put("ceiling", ceiling)
    print(f"real test digits ({len(real_labels)} clips): judge accuracy {ceiling['judge_accuracy']:.3f} "
          f"(vocoded {ceiling['judge_accuracy_vocoded']:.3f}), diversity {ceiling['diversity']:.3f}")

    labels = np.repeat(np.arange(NUM_DIGITS), args.per_digit)
    results = []
    for cell in args.grid:
        name = "cell-" + "-".join(f"{part:g}" if isinstance(part, float) else str(part) for part in cell)
        row = kept.get(name)
        if row is None:
            row = measure_cell(cell, labels, generator, classifier, vocoder, judge, real_embeddings, ceiling, args)
            kept.put(name, row)
        results.append(row)
    return {"command": command, "model": args.model, "classifier": args.classifier, "vocoder": args.vocoder,
            "corpus": args.corpus, "per_digit": args.per_digit, "threads": args.threads, "ceiling": ceiling,
            "results": results}


class KeptResults:
    """The ceiling and grid cells of a run kept in ``--work`` as JSON files, each with the key of what it was
    measured from: the checkpoints' and test manifest's bytes and every setting that changes a number. Without
    ``--work`` nothing is kept."""

    def __init__(self, args, manifest: Path) -> None:
        self.folder = Path(args.work) if args.work else None
        if self.folder is None:
            return
        vocoder = args.vocoder if args.vocoder == "griffin-lim" else checkpoint_sha256(args.vocoder)
        self.key = {"model": checkpoint_sha256(args.model), "classifier": checkpoint_sha256(args.classifier),
                    "vocoder": vocoder, "test_manifest": file_sha256(manifest),
                    **{name: getattr(args, name) for name in ("griffin_lim_iters", "per_digit", "batch_size",
                                                              "threads", "seed")}}
        self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> dict | None:
        """The kept result called ``name`` if it was measured from the same inputs, else None."""
        path = self.folder / f"{name}.json" if self.folder else None
        if path is None or not path.is_file():
            return None
        kept = json.loads(path.read_text())
        if kept.get("key") != self.key:
            return None
        print(f"reusing {path}")
        return kept["result"]

    def put(self, name: str, result: dict) -> None:
        if self.folder is not None:
            write_json(self.folder / f"{name}.json", {"key": self.key, "result": result})


def measure_cell(cell: tuple, labels: np.ndarray, generator, classifier, vocoder, judge, real_embeddings: np.ndarray,
                 ceiling: dict, args) -> dict:
    """One grid cell (sampler, steps, guidance, classifier scale): generate ``labels``, vocode, time and judge."""
    sampler, steps, guidance, classifier_scale = cell
    mels, sample_seconds = [], 0.0
    for index, start in enumerate(range(0, len(labels), args.batch_size)):
        batch = labels[start:start + args.batch_size]
        began = time.perf_counter()
        mels.append(generator.generate(batch.tolist(), sampler=sampler, steps=steps, guidance=guidance,
                                       seed=args.seed + index, classifier=classifier,
                                       classifier_scale=classifier_scale))
        sample_seconds += time.perf_counter() - began
    mels = torch.cat(mels)
    began = time.perf_counter()
    with torch.inference_mode():
        waves = [vocoder(mel).numpy() for mel in mels]
    vocode_seconds = time.perf_counter() - began
    audio_seconds = sum(len(w) for w in waves) / generator.config.mel.sample_rate
    embeddings, logits = classifier.clean_features(mels)
    embeddings = embeddings.numpy()
    row = {"sampler": sampler, "steps": steps, "guidance": guidance, "classifier_scale": classifier_scale,
           "clips": len(labels)}
    row.update({**judge_accuracy(judge, waves, labels, f"{sampler} {steps} {weights(row)}"),
                "classifier_accuracy": float((logits.argmax(-1).numpy() == labels).mean()),
                "fd": frechet_distance(embeddings, real_embeddings),
                "diversity": diversity(embeddings, labels),
                "rtf": (sample_seconds + vocode_seconds) / audio_seconds,
                "rtf_sampling": sample_seconds / audio_seconds})
    row["accuracy_fraction_of_ceiling"] = row["judge_accuracy"] / ceiling["judge_accuracy"]
    row["diversity_fraction_of_real"] = row["diversity"] / ceiling["diversity"]
    print(f"{sampler:>6} {steps:>3} steps {weights(row)}: judge accuracy {row['judge_accuracy']:.3f} "
          f"({row['accuracy_fraction_of_ceiling']:.2f} of ceiling), FD {row['fd']:.2f}, diversity "
          f"{row['diversity_fraction_of_real']:.2f} of real, RTF {row['rtf']:.3f}")
    return row


def write_report(report: dict, out: Path) -> None:
    """digits.json (with the goal lines), digits.md and digits.png from the measured ``report``."""
    ceiling, results, command = report["ceiling"], report["results"], report["command"]
    report = {**report, "goals": goal_lines(results, ceiling)}
    if "generator_training" not in report:  # recorded at the first render, from the checkpoint
        report["generator_training"] = training_record(report["model"]) or None
    for key in ("model", "classifier", "vocoder"):  # bundled defaults are absolute paths: show them from the repo
        path = Path(report[key])
        report[key] = str(path.relative_to(REPO)) if path.is_absolute() and path.is_relative_to(REPO) else str(path)
    write_json(out / "digits.json", report)
    lines = [*report_heading("Spoken-digit generation (synth-digits)", command),
             f"Generator `{report['model']}`{training_note(report['generator_training'])}, "
             f"vocoder `{report['vocoder']}`, {report['per_digit']} clips per digit "
             f"and cell, {report['threads']} CPU thread(s). Judge: pocketsphinx with a ten-digit grammar "
             "(`diffs2st.judges`); Moonshine's open transcript read as a digit (a homophone such as 'for' counts) is "
             "a second opinion: with no sentence around a word it mishears lone digits more often. FD and "
             "diversity live in the embedding of OUR digit classifier "
             f"(`{report['classifier']}`): they compare our models with each other, they are not a standard FID. "
             "Rows with classifier guidance (cls > 0) were steered by that same classifier, so their classifier "
             "accuracy and FD flatter them; the judge's accuracy does not.", "",
             f"Real test digits ({ceiling['clips']} clips, speakers not in training): judge accuracy "
             f"**{ceiling['judge_accuracy']:.3f}** on the original audio (the ceiling), "
             f"{ceiling['judge_accuracy_vocoded']:.3f} after the same vocoder"
             + (f"; Moonshine's second opinion {ceiling['judge_accuracy_moonshine']:.3f} / "
                f"{ceiling['judge_accuracy_vocoded_moonshine']:.3f}" if "judge_accuracy_moonshine" in ceiling else "")
             + "; our classifier's accuracy "
             f"{ceiling['classifier_accuracy']:.3f}; diversity {ceiling['diversity']:.3f}.", "",
             "| sampler | steps | guidance | judge accuracy (± s.e.) | fraction of ceiling | our classifier acc. | "
             "FD | diversity / real | RTF (sampling + vocoder) | Moonshine accuracy |", "|" + " --- |" * 10]
    for r in results:
        lines.append(f"| {r['sampler']} | {r['steps']} | {weights(r)} | {r['judge_accuracy']:.3f} ± "
                     f"{standard_error(r):.3f} | {r['accuracy_fraction_of_ceiling']:.3f} | "
                     f"{r['classifier_accuracy']:.3f} | {r['fd']:.2f} | {r['diversity_fraction_of_real']:.3f} | "
                     f"{r['rtf']:.3f} | " + (f"{r['judge_accuracy_moonshine']:.3f} |" if "judge_accuracy_moonshine"
                                             in r else "– |"))
    lines += ["", "## Goals", ""] + [f"- {line}" for line in report["goals"]] + [
        "", "![accuracy and diversity](digits.png)", ""]
    write_markdown(out / "digits.md", lines)
    plot(results, ceiling, out / "digits.png")
    print("\n".join(lines))


def training_note(training: dict | None) -> str:
    """' (trained N steps: `command`)' for the report header, or nothing when unknown."""
    if not training or "steps" not in training:
        return ""
    command = f": `{training['command']}`" if training.get("command") else ""
    return f" (trained {training['steps']} steps{command})"


def standard_error(row: dict) -> float:
    """Binomial standard error of a judge accuracy measured on row['clips'] clips."""
    p = row["judge_accuracy"]
    return (p * (1 - p) / row["clips"]) ** 0.5


def weights(row: dict) -> str:
    """'w=2' (classifier-free guidance weight), plus 'cls=S' when classifier guidance was on."""
    text = f"w={row['guidance']:g}"
    return text + (f", cls={row['classifier_scale']:g}" if row.get("classifier_scale") else "")


def goal_lines(results: list[dict], ceiling: dict) -> list[str]:
    """The issue's goals, checked against the measured grid."""
    lines = []
    few = [r for r in results if r["steps"] <= 25]
    if few:
        best = max(few, key=lambda r: r["judge_accuracy"])
        met = best["accuracy_fraction_of_ceiling"] >= 0.9
        lines.append(f"accuracy >= 90 % of the ceiling with <= 25 steps: best {best['sampler']} {best['steps']} "
                     f"steps {weights(best)} reaches {best['accuracy_fraction_of_ceiling']:.1%} "
                     f"-> {'met' if met else 'NOT met'}")
    for unguided in [r for r in results if r["guidance"] == 0 and not r.get("classifier_scale")]:
        guided = [r for r in results if r["sampler"] == unguided["sampler"] and r["steps"] == unguided["steps"]
                  and (r["guidance"] > 0 or r.get("classifier_scale"))]
        headroom = ceiling["judge_accuracy"] - unguided["judge_accuracy"]
        if guided and headroom <= 2 * standard_error(unguided):
            lines.append(f"{unguided['sampler']} {unguided['steps']} steps: {weights(unguided)} is already at the "
                         f"judge's ceiling ({unguided['judge_accuracy']:.3f} vs {ceiling['judge_accuracy']:.3f}): "
                         "there is no accuracy for guidance to add at this operating point")
        for r in guided:
            difference = r["judge_accuracy"] - unguided["judge_accuracy"]
            noise = (standard_error(r) ** 2 + standard_error(unguided) ** 2) ** 0.5
            significance = "beyond" if abs(difference) > 2 * noise else "within"
            # "raising accuracy" counts only beyond the noise of two accuracies measured on finite samples
            met = difference > 2 * noise and r["diversity_fraction_of_real"] >= 0.7
            lines.append(f"{r['sampler']} {r['steps']} steps: {weights(r)} accuracy "
                         f"{r['judge_accuracy']:.3f} vs {weights(unguided)} {unguided['judge_accuracy']:.3f} "
                         f"({difference:+.3f}, {significance} two standard errors {2 * noise:.3f}), diversity "
                         f"{r['diversity_fraction_of_real']:.1%} of real -> {'met' if met else 'NOT met'}")
    return lines


def plot(results: list[dict], ceiling: dict, path: Path) -> None:
    figure, (left, right) = subplots(1, 2, figsize=(10, 3.6))
    for sampler in sorted({r["sampler"] for r in results}):
        rows = sorted((r for r in results if r["sampler"] == sampler),
                      key=lambda r: (r["guidance"], r.get("classifier_scale", 0), r["steps"]))
        left.scatter([r["steps"] for r in rows], [r["judge_accuracy"] for r in rows], label=sampler)
        for r in rows:
            left.annotate(weights(r), (r["steps"], r["judge_accuracy"]), fontsize=7,
                          xytext=(3, 3), textcoords="offset points")
        right.scatter([r["diversity_fraction_of_real"] for r in rows], [r["judge_accuracy"] for r in rows],
                      label=sampler)
        for r in rows:
            right.annotate(f"{r['steps']}/{weights(r)}", (r["diversity_fraction_of_real"],
                                                                  r["judge_accuracy"]),
                           fontsize=7, xytext=(3, 3), textcoords="offset points")
    for axis in (left, right):
        axis.axhline(ceiling["judge_accuracy"], color="gray", linestyle="--", linewidth=1, label="real (ceiling)")
        axis.axhline(0.9 * ceiling["judge_accuracy"], color="gray", linestyle=":", linewidth=1, label="90 % of it")
        axis.set_ylabel("digit-judge accuracy")
        axis.set_ylim(0, 1.05)
        axis.legend(fontsize=7)
    left.set_xscale("log")
    left.set_xlabel("sampling steps")
    right.axvline(0.7, color="gray", linestyle=":", linewidth=1)
    right.set_xlabel("diversity / real diversity")
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    sys.exit(main())
