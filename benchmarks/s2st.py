"""Direct S2ST vs the cascade on synth-cvss, judged like every other system (`diffs2st.evaluation`).

    python benchmarks/s2st.py --pretrained pretrained --corpus corpora/synth-cvss --out docs/benchmarks/s2st \
        [--limit 100] [--sweep-limit 50] [--jobs 1]

For each test split of ``--corpus`` (v1: test-seen and test-unseen speakers; v2 also test-unseen-voices and
test-noisy) and each system found in ``--pretrained`` (direct: st/, speaker-encoder/,
synthesizer/, vocoder/; cascade: st/, text-mt/, speaker-encoder/, cascade-tts/, vocoder/), every source clip is
translated; the English audio goes through the judges: ASR-BLEU (Moonshine base-en; pocketsphinx's beside it for
continuity) and its fraction of the ceiling (the
reference English audio of the SAME records under the same judge: corpus BLEU depends on which sentences are scored,
so a subset is never compared with the whole split's ceiling), text BLEU of the translation and WER of the French
transcript, word loops heard in the output, Resemblyzer similarity
of the output to the source and to the reference target (ceiling and floor from
docs/benchmarks/ceilings/ceilings.json, the whole split: two utterances of the same speaker; a wrong speaker), the
output's F0 against the reference target's, DNSMOS, per voice family where the corpus has several (v2), and RTF
end to end and per stage (seconds per second of source audio); then direct and cascade take turns
on the same clips for a paired speed comparison. Then a sweep over sampling steps x voice guidance for the direct
model on test-unseen speakers. Writes s2st.json, s2st.md and s2st.png.

A killed run started again with the same arguments resumes: each output folder in --work logs every record it made
(made.jsonl: key of the bundle's content, the options and the source clip; the wav's digest; the timings), so
records already made are not made again (RTFs sum the timings logged), and judged rows are kept in the folder's
judged.rows.jsonl (`diffs2st.evaluation.evaluate(cache=...)`).
Not run by the tests (CPU hours at full size: use --limit).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffs2st.audio import DEFAULT_MEL, load_audio, save_audio
from diffs2st.audio.io import atomic_write_bytes
from diffs2st.checkpoint import recipe_of, training_record
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.errors import Diffs2stError
from diffs2st.config import to_dict
from diffs2st.evaluation import (F0_TOLERANCE, RowCache, asr_summary, encoder_similarity, evaluate, file_digest,
                                 plan_items, read_judges_v2_report, rejudge_asr, rows_by_family)
from diffs2st.judges import peak_rss_mib
from diffs2st.plotting import save_figure, subplots
from diffs2st.reports import mean_and_standard_error, report_heading, write_json, write_markdown
from diffs2st.s2st.translator import DEFAULT_TEMPERATURE, CascadeTranslator, Translator

SPLITS = ("test-seen-speakers", "test-unseen-speakers", "test-unseen-voices", "test-noisy")
SWEEP_STEPS = (1, 2, 4, 8, 16, 32)
SWEEP_GUIDANCE = (0.0, 1.0, 2.0, 3.0)


def bundle_digest(pretrained: str, vocoder: str | None, threads: int) -> str:
    """SHA-256 of what makes the outputs: every file of the bundle (names and bytes), the vocoder override and the
    thread count (the timings depend on it)."""
    digest = hashlib.sha256(json.dumps([vocoder, threads]).encode())
    for extra in ([Path(vocoder)] if vocoder and Path(vocoder).exists() else []) + [Path(pretrained)]:
        files = sorted(extra.rglob("*")) if extra.is_dir() else [extra]
        for path in (path for path in files if path.is_file()):
            digest.update(str(path.relative_to(extra)).encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


def made_key(made_by: str, options: dict, record: S2STRecord, source: Path) -> str:
    """Key of one output in made.jsonl: the bundle (`bundle_digest`), the translate options, the record and its
    source clip's content."""
    material = {"made_by": made_by, "options": options, "record": to_dict(record), "source": file_digest(source)}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def run_system(system, manifest: Path, out_dir: Path, limit: int | None, made_by: str = "", **options) -> dict:
    """Translate every record's source clip into ``out_dir``/<id>.wav (+ hypotheses.jsonl); return RTFs.

    Each record made is logged in ``out_dir``/made.jsonl (a `RowCache` under `made_key`: the wav's digest, the
    texts and timings) as soon as its wav is written; a record whose key is logged and whose wav still has that
    digest is not made again, so a killed run resumes. The RTFs sum the logged timings of every record (made now or
    before); ``peak_rss_mib`` is the highest high-water mark of the process's memory logged right after a record
    was made (every loaded system included)."""
    records = read_manifest(manifest, S2STRecord)[:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = system.mel.sample_rate
    made = RowCache(out_dir / "made.jsonl")
    entries = []
    for record in tqdm(records, desc=out_dir.name, leave=False):
        source = resolve_audio(manifest, record.src_audio)
        key = made_key(made_by, options, record, source)
        output = out_dir / f"{record.id}.wav"
        entry = made.rows.get(key)
        if entry is None or file_digest(output) != entry["wav"]:
            wave = load_audio(source, rate, max_seconds=None)
            result = system.translate(wave, **options)
            save_audio(output, result.wave if result.wave.size else np.zeros(rate // 10), rate)
            entry = made.add(key, record.id, {"wav": file_digest(output), "src_text": result.src_text,
                                              "tgt_text": result.tgt_text, "seconds": len(wave) / rate,
                                              "timings": result.timings, "peak_rss_mib": peak_rss_mib()})
        entries.append({"id": record.id, **entry})
    atomic_write_bytes(out_dir / "hypotheses.jsonl", "".join(
        json.dumps({key: e[key] for key in ("id", "src_text", "tgt_text")}, ensure_ascii=False) + "\n"
        for e in entries).encode())
    seconds = sum(entry["seconds"] for entry in entries)
    stages: dict[str, float] = {}
    for entry in entries:
        for stage, value in entry["timings"].items():
            stages[stage] = stages.get(stage, 0.0) + value
    speed = {f"rtf_{stage}" if stage != "total" else "rtf": value / seconds for stage, value in stages.items()}
    if all("peak_rss_mib" in entry for entry in entries):
        speed["peak_rss_mib"] = max(entry["peak_rss_mib"] for entry in entries)
    return speed


def outputs_complete(out_dir: Path, manifest: Path, limit: int | None) -> bool:
    """Whether ``out_dir`` already holds every record's output and the hypotheses (a run that finished making them)."""
    ids = [record.id for record in read_manifest(manifest, S2STRecord)[:limit]]
    hypotheses = out_dir / "hypotheses.jsonl"
    return hypotheses.is_file() and all((out_dir / f"{i}.wav").is_file() for i in ids) and \
        [json.loads(line)["id"] for line in hypotheses.read_text().splitlines() if line.strip()] == ids


def stored_speed(report: dict, system: str, split: str) -> dict:
    """The RTF fields of ``system`` on ``split`` in an earlier s2st.json, which must have measured the same records."""
    for row in report["results"]:
        if row["system"] == system and row["split"] == split:
            return {key: value for key, value in row.items() if key == "rtf" or key.startswith("rtf_")}
    raise SystemExit(f"--speed-from has no {system} row on {split}")


def judge(manifest: Path, out_dir: Path, limit: int | None, jobs: int, stored: Path | None = None,
          encoder=None) -> dict:
    """Audio judges on the outputs + text scores of the hypotheses. ``stored``: a pocketsphinx-era eval report of
    the same outputs, re-judged by running Moonshine only (`diffs2st.evaluation.rejudge_asr`). Judged rows are kept
    in ``out_dir``/judged.rows.jsonl, so a killed run judges only the rest. ``encoder``: our speaker encoder, whose
    similarity to the reference target is added (`diffs2st.evaluation.encoder_similarity`)."""
    items = plan_items("s2st", manifest, out_dir, limit=limit)
    if stored is not None:
        audio, _ = rejudge_asr("s2st", items, json.loads(stored.read_text())["per_utterance"], DEFAULT_MEL,
                               jobs=jobs, progress=False)
    else:
        audio, _ = evaluate("s2st", items, DEFAULT_MEL, jobs=jobs, progress=False,
                            cache=out_dir / "judged.rows.jsonl")
    text, _ = evaluate("st", plan_items("st", manifest, out_dir / "hypotheses.jsonl", limit=limit), DEFAULT_MEL,
                       jobs=1, progress=False)
    ours = encoder_similarity(items, encoder) if encoder is not None else {}
    return {**audio, **ours, "text_bleu": text.get("tgt_bleu"), "src_wer": text.get("src_wer")}


def family_bleu(rows: list[dict]) -> dict[str, dict]:
    """ASR-BLEU and utterance count of ``rows`` per voice family (of their ``voice`` labels)."""
    return {family: {**asr_summary(mine, ("bleu",)), "utterances": len(mine)}
            for family, mine in rows_by_family(rows).items()}


def asr_bleu_ceiling(manifest: Path, limit: int | None, jobs: int, whole_split: dict,
                     whole_split_rows: list[dict] | None = None, cache: Path | None = None) -> dict:
    """ASR-BLEU of the reference English audio of the first ``limit`` records (the ceiling for outputs of the same
    records), per voice family too (``by_family``), and how many records that is; ``whole_split``
    (docs/benchmarks/ceilings/ceilings.json, the same judge) when those records are the whole split."""
    every = plan_items("s2st", manifest, None, reference=True)
    items = every[:limit]
    if whole_split_rows and [row["id"] for row in whole_split_rows[:len(items)]] == [i.record.id for i in items]:
        rows = whole_split_rows[:len(items)]
    elif len(items) == len(every) == whole_split.get("utterances"):
        return {"asr_bleu": whole_split["asr_bleu"], "utterances": len(items)}
    else:
        _, rows = evaluate("s2st", items, DEFAULT_MEL, jobs=jobs, progress=False, cache=cache)
    return {"asr_bleu": asr_summary(rows, ("bleu",))["asr_bleu"], "utterances": len(items),
            "by_family": family_bleu(rows)}


def head_to_head(systems: dict, manifest: Path, limit: int, repeats: int = 2, **options) -> dict:
    """Speed of the systems on the same clips, taking turns clip by clip (so a change in machine load hits all of
    them alike): per system the RTF over the clips, and per pair of systems the mean per-clip ratio of seconds with
    its standard error. Each clip is translated ``repeats`` times per system in alternating order."""
    records = read_manifest(manifest, S2STRecord)[:limit]
    names = list(systems)
    seconds = {name: [] for name in names}
    audio = 0.0
    for index, record in enumerate(tqdm(records, desc="head to head", leave=False)):
        wave = load_audio(resolve_audio(manifest, record.src_audio), systems[names[0]].mel.sample_rate,
                          max_seconds=None)
        audio += len(wave) / systems[names[0]].mel.sample_rate
        spent = {name: 0.0 for name in names}
        for repeat in range(repeats):
            order = names if (index + repeat) % 2 == 0 else names[::-1]
            for name in order:
                spent[name] += systems[name].translate(wave, **options).timings["total"]
        for name in names:
            seconds[name].append(spent[name] / repeats)
    out = {"clips": len(records), "repeats": repeats, "rtf": {n: sum(seconds[n]) / audio for n in names}}
    if len(names) == 2:
        mean, error = mean_and_standard_error(np.array(seconds[names[0]]) / np.array(seconds[names[1]]))
        out["ratio"] = {"pair": f"{names[0]}/{names[1]}", "mean": mean,
                        "standard_error": None if math.isnan(error) else error}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", default="pretrained", help="folder with the components (see above)")
    parser.add_argument("--vocoder", default=None, help="override the vocoder (checkpoint or 'griffin-lim')")
    parser.add_argument("--corpus", default="corpora/synth-cvss")
    parser.add_argument("--ceilings", default="docs/benchmarks/ceilings/ceilings.json")
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    parser.add_argument("--splits", nargs="*", choices=SPLITS, default=None,
                        help="splits of the main table (default: those the corpus has; none: only the head to head "
                             "and the sweep)")
    parser.add_argument("--steps", type=int, default=4, help="sampling steps of the main table")
    parser.add_argument("--voice-guidance", type=float, default=1.0, help="voice guidance of the main table")
    parser.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE, help="decoder noise scale")
    parser.add_argument("--sweep-limit", type=int, default=50, help="records of the steps x guidance sweep (0: skip)")
    parser.add_argument("--sweep-steps", type=int, nargs="+", default=list(SWEEP_STEPS))
    parser.add_argument("--sweep-guidance", type=float, nargs="+", default=list(SWEEP_GUIDANCE))
    parser.add_argument("--work", default="out/s2st-benchmark", help="where the generated audio goes")
    parser.add_argument("--jobs", type=int, default=1, help="judge worker processes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed-limit", type=int, default=40,
                        help="test-unseen clips of the direct vs cascade head-to-head timing (0: skip)")
    parser.add_argument("--out", default="docs/benchmarks/s2st")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite the report (goals, markdown, plot) from an earlier s2st.json")
    parser.add_argument("--sweep-from", metavar="JSON", default=None,
                        help="with --render: take the sweep from this s2st.json (a run with --splits and "
                             "--speed-limit 0, e.g. on the other core)")
    parser.add_argument("--head-to-head-from", metavar="JSON", default=None,
                        help="with --render: take the head to head from this s2st.json (a run with --splits and "
                             "--sweep-limit 0, e.g. alone on an idle machine)")
    parser.add_argument("--results-from", metavar="JSON", default=None,
                        help="with --render: take the main table's rows of the splits this s2st.json measured (e.g. "
                             "one split run on more records)")
    parser.add_argument("--note", default=None, help="with --render: a paragraph shown under the commands")
    parser.add_argument("--wait-ceilings", type=int, default=0, metavar="SECONDS",
                        help="wait up to this long for a ceilings run still going to write the judges-v2 ceiling")
    parser.add_argument("--speed-from", metavar="JSON", default=None,
                        help="take every row's RTFs from this earlier s2st.json (same system, split and records, "
                             "measured there) and keep outputs already complete in --work instead of making them "
                             "again: for re-judging on a machine too loaded to time anything")
    parser.add_argument("--rejudge-from", action="append", default=[], metavar="SYSTEM:SPLIT=REPORT.json",
                        help="judge that system's outputs on that split by re-judging this pocketsphinx-era eval "
                             "report of the same outputs: only Moonshine runs, other scores are carried (repeatable)")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    if args.splits is None:
        args.splits = [split for split in SPLITS if (Path(args.corpus) / f"{split}.jsonl").is_file()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before hours of work, not after
    if args.render:
        print(write_report(stored_report(args, command), out))
        return 0
    torch.set_num_threads(args.threads)
    print(write_report(run(args, command), out))
    return 0


def stored_report(args, command: str) -> dict:
    """The report of --render: the stored s2st.json, with the sections other runs measured taken from them."""
    report = json.loads(Path(args.render).read_text())
    for source, sections in ((args.sweep_from, ("sweep", "sweep_ceiling")),
                             (args.head_to_head_from, ("head_to_head",))):
        if source:
            report = take_sections(report, json.loads(Path(source).read_text()), sections)
    if args.results_from:
        report = take_splits(report, json.loads(Path(args.results_from).read_text()))
    if args.sweep_from or args.head_to_head_from or args.results_from:
        report["command"] = "\n".join([report["command"], command])
    if args.note is not None:
        report["note"] = args.note
    return report


def run(args, command: str) -> dict:
    """Translate and judge: the main table (each split, each system), the head to head and the sweep."""
    stored_reports = {tuple(key.split(":", 1)): Path(path) for key, path in
                      (entry.split("=", 1) for entry in args.rejudge_from)}
    ceilings = {}

    def split_ceiling(split: str, limit: int | None) -> dict:
        """The whole split's ceiling (ceiling-<split>.json beside --ceilings, judges v2) and the ceiling of the
        first ``limit`` records, computed from its per-utterance rows. Read when first needed, after the outputs
        are made and judged, so a ceilings run may still be going when this one starts."""
        report = read_judges_v2_report(Path(args.ceilings).parent / f"ceiling-{split}.json", args.wait_ceilings)
        whole = {"utterances": len(report["per_utterance"]), **report["summary"]}
        return {**whole, "asr_bleu_whole_split": whole["asr_bleu"],
                **asr_bleu_ceiling(Path(args.corpus) / f"{split}.jsonl", limit, args.jobs, whole,
                                   report["per_utterance"], work / f"ceiling-{split}.rows.jsonl")}

    systems = {"direct": Translator.from_pretrained(args.pretrained, vocoder=args.vocoder)}
    encoder = systems["direct"].speaker_encoder  # our encoder: the one the direct system reads the voice with
    try:
        systems["cascade"] = CascadeTranslator.from_pretrained(args.pretrained, vocoder=args.vocoder)
    except Diffs2stError as error:  # the cascade is optional: say why it is missing
        print(f"cascade skipped: {error}")
    work = Path(args.work)
    bundle = bundle_digest(args.pretrained, args.vocoder, args.threads)
    table = []
    for split in args.splits:
        manifest = Path(args.corpus) / f"{split}.jsonl"
        for name, system in systems.items():
            out_dir = work / f"{name}-{split}"
            if not (args.speed_from and outputs_complete(out_dir, manifest, args.limit)):
                speed = run_system(system, manifest, out_dir, args.limit, f"{name} {bundle}", steps=args.steps,
                                   voice_guidance=args.voice_guidance, temperature=args.temperature)
            if args.speed_from:
                speed = stored_speed(json.loads(Path(args.speed_from).read_text()), name, split)
            scores = judge(manifest, out_dir, args.limit, args.jobs, stored_reports.get((name, split)), encoder)
            if split not in ceilings:
                ceilings[split] = {**split_ceiling(split, args.limit), **encoder_similarity(
                    plan_items("s2st", manifest, None, reference=True, limit=args.limit), encoder)}
            ceiling = ceilings[split]
            row = {"system": name, "split": split, "steps": args.steps, "voice_guidance": args.voice_guidance,
                   "temperature": args.temperature,
                   **scores, **speed, "asr_bleu_ceiling": ceiling["asr_bleu"],
                   "asr_bleu_fraction": scores["asr_bleu"] / ceiling["asr_bleu"],
                   "sim_target_fraction": scores["sim_to_target"] / ceiling["sim_to_target"]
                   if "sim_to_target" in ceiling else None,  # none: no speaker with two utterances
                   "sim_encoder_ceiling": ceiling.get("sim_to_target_encoder"),
                   "sim_encoder_fraction": scores["sim_to_target_encoder"] / ceiling["sim_to_target_encoder"]
                   if "sim_to_target_encoder" in ceiling and "sim_to_target_encoder" in scores else None}
            table.append(row)
            print(f"{name} {split}: ASR-BLEU {row['asr_bleu']:.1f} ({row['asr_bleu_fraction']:.0%} of ceiling), "
                  f"SIM target {row['sim_to_target']:.3f}, RTF {row['rtf']:.3f}")
    head = None
    if args.speed_limit and len(systems) > 1:
        head = head_to_head(systems, Path(args.corpus) / "test-unseen-speakers.jsonl", args.speed_limit,
                            steps=args.steps, voice_guidance=args.voice_guidance, temperature=args.temperature)
        print(f"head to head: {head}")
    sweep, sweep_ceiling = [], None
    if args.sweep_limit:
        manifest = Path(args.corpus) / "test-unseen-speakers.jsonl"
        sweep_ceiling = split_ceiling("test-unseen-speakers", args.sweep_limit)
        for steps in args.sweep_steps:
            for guidance in args.sweep_guidance:
                out_dir = work / f"sweep-{steps}-{guidance:g}"
                speed = run_system(systems["direct"], manifest, out_dir, args.sweep_limit, f"direct {bundle}",
                                   steps=steps, voice_guidance=guidance, temperature=args.temperature)
                scores = judge(manifest, out_dir, args.sweep_limit, args.jobs)
                sweep.append({"steps": steps, "voice_guidance": guidance, **scores, **speed})
    meta = {"command": command, "corpus": Path(args.corpus).name, "pretrained": args.pretrained, "limit": args.limit,
            "sweep_limit": args.sweep_limit,
            "threads": args.threads, "temperature": args.temperature, "ceilings": ceilings,
            "sweep_ceiling": sweep_ceiling, "components": components_training(args.pretrained)}
    return {**meta, "results": table, "head_to_head": head, "sweep": sweep}


def take_sections(report: dict, other: dict, sections: tuple[str, ...]) -> dict:
    """``report`` with ``sections`` replaced by ``other``'s, and ``other``'s command added to its commands."""
    return {**report, **{key: other[key] for key in sections},
            "command": "\n".join([report["command"], other["command"]])}


def take_splits(report: dict, other: dict) -> dict:
    """`take_sections` for the main table: the rows and ceilings of every split ``other`` measured are ``other``'s,
    the rest stay ``report``'s (rows in split order)."""
    splits = {row["split"] for row in other["results"]}
    rows = [row for row in report["results"] if row["split"] not in splits] + other["results"]
    rows.sort(key=lambda row: SPLITS.index(row["split"]))
    ceilings = {**report["ceilings"], **{split: other["ceilings"][split] for split in splits}}
    return take_sections(report, {**other, "results": rows, "ceilings": ceilings}, ("results", "ceilings"))


def write_report(report: dict, out: Path) -> str:
    """s2st.json (with the goal lines), s2st.md and s2st.png from the measured ``report``; returns the markdown."""
    goals = goal_lines(report["results"], report["ceilings"], report["threads"], report.get("head_to_head"))
    report = {**report, "goals": goals}
    write_json(out / "s2st.json", report)
    text = markdown(report["results"], report.get("head_to_head"), report["sweep"], report["ceilings"],
                    report["sweep_ceiling"], goals, report["command"], report["threads"], report.get("components"),
                    report.get("note"), report.get("corpus", "synth-cvss"))
    write_markdown(out / "s2st.md", text)
    if report["sweep"]:
        plot(report["sweep"], report["sweep_ceiling"], out / "s2st.png")
    return text


COMPONENTS = ("st", "direct-st", "speaker-encoder", "synthesizer", "text-mt", "cascade-tts", "vocoder")


def components_training(pretrained: str) -> dict[str, dict]:
    """How each component in ``pretrained`` was trained (its metrics.json), for the report."""
    return {name: training_record(Path(pretrained) / name) for name in COMPONENTS
            if (Path(pretrained) / name).is_dir()}


CEILING_GOALS = {"test-unseen-speakers": 0.90, "test-seen-speakers": 0.90, "test-unseen-voices": 0.75,
                 "test-noisy": 0.70}  # the direct model's ASR-BLEU as a share of the ceiling on the same records
TEXT_BLEU_GOALS = {"test-unseen-speakers": 88.0, "test-unseen-voices": 75.0}
MAX_STEPS, SOURCE_WER_GOAL, SIM_GOAL, LOOP_GOAL, RTF_GOAL, RSS_GOAL_MIB = 8, 0.05, 0.95, 0.01, 0.2, 2048


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "met" if ok else "NOT met"


def f0_ratios(row: dict) -> dict[str, float]:
    """The output's F0 median over the reference target's, per voice family of the row (the whole split when it
    has one family)."""
    families = row.get("by_family") or {"all": row}
    return {family: scores["f0_median_ratio"] for family, scores in families.items() if "f0_median_ratio" in scores}


def goal_lines(table: list[dict], ceilings: dict, threads: int, speed: dict | None = None) -> list[str]:
    """The Done-when goals of S2ST v2 for the direct model, each with its numbers and met / NOT met / not
    measured."""
    rows = {(r["system"], r["split"]): r for r in table}
    direct = {split: rows[("direct", split)] for split in SPLITS if ("direct", split) in rows}
    if not direct:
        return []
    lines = []
    for split, share in CEILING_GOALS.items():
        r = direct.get(split)
        lines.append(f"{split}: ASR-BLEU >= {share * 100:g} % of the ceiling with <= {MAX_STEPS} steps: " + (
            "not measured" if r is None else
            f"{r['asr_bleu']:.1f} of {r['asr_bleu_ceiling']:.1f} = {r['asr_bleu_fraction']:.1%} at {r['steps']} "
            f"steps -> {verdict(r['asr_bleu_fraction'] >= share and r['steps'] <= MAX_STEPS)}"))
    for split, goal in TEXT_BLEU_GOALS.items():
        value = direct.get(split, {}).get("text_bleu")
        lines.append(f"{split}: text BLEU >= {goal:g}: " + (
            "not measured" if value is None else f"{value:.1f} -> {verdict(value >= goal)}"))
    wer = direct.get("test-unseen-speakers", {}).get("src_wer")
    lines.append(f"test-unseen-speakers: source (French transcript) WER <= {SOURCE_WER_GOAL * 100:g} %: " + (
        "not measured" if wer is None else f"{wer:.1%} -> {verdict(wer <= SOURCE_WER_GOAL)}"))
    similar = {split: r for split, r in direct.items() if r.get("sim_target_fraction") is not None}
    ours = {split: r for split, r in direct.items() if r.get("sim_encoder_fraction") is not None}
    lines.append(f"similarity to the reference target >= {SIM_GOAL * 100:g} % of the same-speaker ceiling "
                 "(Resemblyzer): "
                 + (", ".join(f"{split} {r['sim_target_fraction']:.1%} ({r['sim_to_target']:.3f} of "
                              f"{ceilings[split]['sim_to_target']:.3f})" for split, r in similar.items())
                    + f" -> {verdict(all(r['sim_target_fraction'] >= SIM_GOAL for r in similar.values()))}"
                    if similar else "not measured")
                 + "; with our speaker encoder (the one the system reads the voice with, so it flatters it): "
                 + (", ".join(f"{split} {r['sim_encoder_fraction']:.1%} ({r['sim_to_target_encoder']:.3f} of "
                              f"{r['sim_encoder_ceiling']:.3f})" for split, r in ours.items())
                    + f" -> {verdict(all(r['sim_encoder_fraction'] >= SIM_GOAL for r in ours.values()))}"
                    if ours else "not measured"))
    ratios = {(split, family): ratio for split, r in direct.items() for family, ratio in f0_ratios(r).items()}
    unvoiced = {(split, family): scores["f0_unvoiced"] for split, r in direct.items()
                for family, scores in (r.get("by_family") or {"all": r}).items() if scores.get("f0_unvoiced")}
    off = {key: ratio for key, ratio in ratios.items() if abs(ratio - 1) > F0_TOLERANCE + 1e-9}
    lines.append(f"output F0 median within {F0_TOLERANCE * 100:g} % of the reference target's on every family: " + (
        "not measured" if not ratios else
        f"ratios {min(ratios.values()):.3f} to {max(ratios.values()):.3f} over {len(ratios)} split x family"
        + (", off: " + ", ".join(f"{split} {family} {ratio:.3f}" for (split, family), ratio in off.items())
           if off else "") + f" -> {verdict(not off)}"
        + (f" (medians of the outputs pYIN hears a pitch in; outputs without one: up to {max(unvoiced.values()):.0%}"
           f" of a family's, {max(unvoiced, key=unvoiced.get)[1]} on {max(unvoiced, key=unvoiced.get)[0]})"
           if unvoiced else "")))
    loops = {split: r["asr_loop_rate"] for split, r in direct.items() if "asr_loop_rate" in r}
    lines.append(f"word loops heard in < {LOOP_GOAL * 100:g} % of the outputs: " + (
        "not measured" if not loops else ", ".join(f"{split} {rate:.1%}" for split, rate in loops.items())
        + f" -> {verdict(all(rate < LOOP_GOAL for rate in loops.values()))}"))
    pairs = {split: (r, rows[("cascade", split)]) for split, r in direct.items() if ("cascade", split) in rows}
    if pairs:
        if speed and "ratio" in speed:  # the head-to-head: same clips, taking turns; faster beyond two s.e.
            ratio = speed["ratio"]
            error = ratio["standard_error"] or 0.0
            faster = ratio["mean"] + 2 * error < 1.0
            timing = (f"time ratio direct/cascade {ratio['mean']:.3f} ± {error:.3f} over {speed['clips']} clips "
                      f"taking turns")
        else:
            faster = all(d["rtf"] < c["rtf"] for d, c in pairs.values())
            timing = "RTF " + ", ".join(f"{split} {d['rtf']:.3f} vs {c['rtf']:.3f}" for split, (d, c) in pairs.items())
        better = all(d["asr_bleu"] >= c["asr_bleu"] for d, c in pairs.values())
        bleus = ", ".join(f"{split} {d['asr_bleu']:.1f} vs {c['asr_bleu']:.1f}" for split, (d, c) in pairs.items())
        lines.append(f"direct >= cascade on ASR-BLEU on every split ({bleus}) and faster ({timing}) -> "
                     f"{verdict(better and faster)}")
    else:
        lines.append("direct >= cascade on every split and faster: not measured (no cascade)")
    lines.append(f"end-to-end RTF <= {RTF_GOAL:g} on 2 CPU cores (measured with {threads} thread(s)): "
                 + ", ".join(f"{split} {r['rtf']:.3f}" for split, r in direct.items())
                 + f" -> {verdict(all(r['rtf'] <= RTF_GOAL for r in direct.values()))}")
    memory = [r["peak_rss_mib"] for r in direct.values() if "peak_rss_mib" in r]
    if len(memory) < len(direct):
        lines.append(f"peak RSS <= {RSS_GOAL_MIB / 1024:g} GiB: not measured")
    else:  # the process also held the cascade: an upper bound of the direct model's
        lines.append(f"peak RSS <= {RSS_GOAL_MIB / 1024:g} GiB: {max(memory):.0f} MiB, the high-water mark of the "
                     "benchmark process (every system loaded) after making the direct outputs -> "
                     + ("met" if max(memory) <= RSS_GOAL_MIB else "not measured alone (this upper bound is above)"))
    return lines


def cell(row: dict, key: str, style: str) -> str:
    """One table cell: ``row[key]`` formatted, or – when the row has no such number."""
    value = row.get(key)
    return format(value, style) if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def family_lines(table: list[dict], ceilings: dict) -> list[str]:
    """Markdown: per split, each system's scores per voice family, ASR-BLEU against that family's ceiling on the
    same records."""
    lines = []
    for split in [split for split in SPLITS if any(r["split"] == split and r.get("by_family") for r in table)]:
        ceiling = ceilings[split].get("by_family", {})
        lines += ["", f"### {split}", "",
                  "| system | family | utterances | ASR-BLEU | family ceiling | of ceiling | loops | SIM target | "
                  "F0 median, Hz: output / reference (ratio) | F0 range, semitones: output / reference | "
                  f"F0 within {F0_TOLERANCE * 100:g} % | no pitch heard | DNSMOS |", "|" + " --- |" * 13]
        for r in (r for r in table if r["split"] == split):
            for family, scores in r.get("by_family", {}).items():
                top = ceiling.get(family, {}).get("asr_bleu")
                share = scores["asr_bleu"] / top if top else None
                lines.append(f"| {r['system']} | {family} | {scores['utterances']} | {cell(scores, 'asr_bleu', '.1f')}"
                             f" | {cell({'top': top}, 'top', '.1f')} | {cell({'share': share}, 'share', '.1%')} | "
                             f"{cell(scores, 'asr_loop_rate', '.1%')} | {cell(scores, 'sim_to_target', '.3f')} | "
                             f"{cell(scores, 'f0_median', '.0f')} / {cell(scores, 'ref_f0_median', '.0f')} "
                             f"({cell(scores, 'f0_median_ratio', '.3f')}) | {cell(scores, 'f0_range', '.1f')} / "
                             f"{cell(scores, 'ref_f0_range', '.1f')} | {cell(scores, 'f0_within_tolerance', '.1%')}"
                             f" | {cell(scores, 'f0_unvoiced', '.1%')} | {cell(scores, 'dnsmos_ovrl', '.2f')} |")
    return ["", "## Per voice family", "", "Family ceiling: the reference audio of the same records of that family "
            "under the same judge."] + lines if lines else []


def markdown(table: list[dict], speed: dict | None, sweep: list[dict], ceilings: dict, sweep_ceiling: dict | None,
             goals: list[str], command: str, threads: int, components: dict | None = None,
             note: str | None = None, corpus: str = "synth-cvss") -> str:
    lines = [*report_heading(f"Direct S2ST vs cascade on {corpus} (fr → en)", command),
             *([note, ""] if note else []),
             "ASR-BLEU: Moonshine base-en transcript of the output vs the reference English text "
             "(Whisper's English normaliser on both); ceiling: the "
             "reference English audio of the same records under the same judge (the whole split's in brackets). "
             "ASR-BLEU ps: the same with pocketsphinx, the judge before judges v2. src WER: the French transcript "
             "the system made. Loops: share of outputs in whose Moonshine transcript a run of words repeats at once. "
             "SIM: Resemblyzer cosine of the output to the French "
             "source / to the reference English target of the same utterance; ceiling: two utterances of the same "
             "speaker; floor: a wrong speaker. F0: the output's F0 median (librosa pYIN) over the reference target's "
             f"(median over utterances), and the share within {F0_TOLERANCE * 100:g} %. "
             f"RTF: seconds per second of source audio ({threads} CPU thread(s)). Decoder "
             f"temperature {table[0]['temperature'] if table else '-'} everywhere.", "",
             "| system | split | records | ASR-BLEU | ceiling (whole split) | of ceiling | ASR-BLEU ps | text BLEU |"
             " src WER | loops | SIM source | SIM target | of ceiling | SIM target ceiling / floor | F0 ratio | "
             f"F0 within {F0_TOLERANCE * 100:g} % | DNSMOS | RTF | RTF per stage |", "|" + " --- |" * 19]
    for r in table:
        ceiling = ceilings[r["split"]]
        stages = ", ".join(f"{k[4:]} {v:.3f}" for k, v in r.items() if k.startswith("rtf_"))
        lines.append(f"| {r['system']} | {r['split']} | {ceiling.get('utterances', 'all')} | {r['asr_bleu']:.1f} | "
                     f"{ceiling['asr_bleu']:.1f} "
                     f"({ceiling['asr_bleu_whole_split']:.1f}) | {r['asr_bleu_fraction']:.1%} | "
                     f"{cell(r, 'asr_bleu_pocketsphinx', '.1f')} | {cell(r, 'text_bleu', '.1f')} | "
                     f"{cell(r, 'src_wer', '.1%')} | {cell(r, 'asr_loop_rate', '.1%')} | {r['sim_to_source']:.3f} | "
                     f"{r['sim_to_target']:.3f} | {cell(r, 'sim_target_fraction', '.1%')} | "
                     f"{cell(ceiling, 'sim_to_target', '.3f')} / {cell(ceiling, 'sim_wrong_speaker', '.3f')} | "
                     f"{cell(r, 'f0_median_ratio', '.3f')} | {cell(r, 'f0_within_tolerance', '.1%')} | "
                     f"{r['dnsmos_ovrl']:.2f} | {r['rtf']:.3f} | {stages} |")
    lines += family_lines(table, ceilings)
    if speed:
        rtfs = ", ".join(f"{name} {value:.3f}" for name, value in speed["rtf"].items())
        lines += ["", "## Head to head (test-unseen speakers)", "",
                  f"The first {speed['clips']} clips, each translated {speed['repeats']} times by every system, the "
                  f"systems taking turns clip by clip so that load on the machine hits them alike. RTF: {rtfs}."]
        if "ratio" in speed:
            error = speed["ratio"]["standard_error"] or 0.0
            lines.append(f"Per-clip time ratio {speed['ratio']['pair']}: {speed['ratio']['mean']:.3f} ± {error:.3f} "
                         "(mean ± standard error).")
    if sweep:
        lines += ["", "## Sampling steps x voice guidance (direct, test-unseen speakers)", "",
                  f"The first {sweep_ceiling['utterances']} records; their reference audio's ASR-BLEU (the ceiling): "
                  f"{sweep_ceiling['asr_bleu']:.1f}.", "",
                  "| steps | voice guidance | ASR-BLEU | SIM target | DNSMOS | RTF |", "|" + " --- |" * 6]
        lines += [f"| {r['steps']} | {r['voice_guidance']:g} | {r['asr_bleu']:.1f} | {r['sim_to_target']:.3f} | "
                  f"{r['dnsmos_ovrl']:.2f} | {r['rtf']:.3f} |" for r in sweep]
        lines += ["", "![sweep](s2st.png)"]
    lines += ["", "## Goals (bundled direct model)", ""] + [f"- {g}" for g in goals]
    if components:
        lines += ["", "## How the components were trained (their metrics.json)", ""]
        for name, record in components.items():
            how = recipe_of(record, "not recorded")
            steps = f"{record['steps']} steps: " if "steps" in record else ""
            lines.append(f"- `{name}`: {steps}`{how}`")
    return "\n".join(lines + [""])


def plot(sweep: list[dict], ceiling: dict, path: Path) -> None:
    figure, (left, right) = subplots(1, 2, figsize=(10, 3.6))
    for guidance in sorted({r["voice_guidance"] for r in sweep}):
        rows = [r for r in sweep if r["voice_guidance"] == guidance]
        left.plot([r["steps"] for r in rows], [r["asr_bleu"] for r in rows], marker="o", label=f"w={guidance:g}")
        right.plot([r["steps"] for r in rows], [r["sim_to_target"] for r in rows], marker="o", label=f"w={guidance:g}")
    left.axhline(ceiling["asr_bleu"], color="gray", linestyle="--", linewidth=1, label="ceiling")
    right.axhline(ceiling["sim_to_target"], color="gray", linestyle="--", linewidth=1, label="ceiling")
    right.axhline(ceiling["sim_wrong_speaker"], color="gray", linestyle=":", linewidth=1, label="wrong speaker")
    for axis, label in ((left, "ASR-BLEU"), (right, "SIM to reference target")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("sampling steps")
        axis.set_ylabel(label)
        axis.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    sys.exit(main())
