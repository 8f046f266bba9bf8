"""Scoring any system's outputs against a manifest with the independent judges (`diffs2st.judges`).

A kind of evaluation says which record type it reads, which judges it needs, how it scores one utterance and how it
summarises a corpus. Outputs are files ``<outputs>/<record id>.wav`` (audio kinds) or a JSONL of
``{"id": ..., "src_text": ..., "tgt_text": ...}`` (``st``). ``reference=True`` scores the manifest's own reference
audio instead — the ceiling; for enhancement ``noisy=True`` scores the unprocessed input — the floor.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from .audio import MelConfig, load_audio
from .config import to_dict
from .data.manifest import EnhancementRecord, S2STRecord, SpeechRecord, read_manifest, resolve_audio, speaker_voice
from .digests import file_sha256
from .errors import DataError
from .judges import ASR_CHOICES, DEFAULT_ASR, build_judge, text_scores, utterance_wer
from .registry import Registry
from .translation.search import has_word_loop


@dataclass(frozen=True)
class Item:
    """One utterance to score: its record, where the output is, and partner records for speaker comparisons."""

    record: Any
    output: str | None  # audio path, or None for text kinds
    hypothesis: dict | None = None  # text kinds
    same_speaker: Any = None  # another record of the same speaker (s2st ceiling pairs)
    other_speaker: Any = None  # a record of a different speaker (wrong-speaker floor)
    manifest: str = ""


@dataclass(frozen=True)
class Kind:
    record_type: type
    judges: tuple[str, ...]  # judge names; "asr" is built with the recognisers the caller chose (``asr=``)
    score: Callable[[Item, dict, MelConfig], dict]
    summarize: Callable[[list[dict]], dict]
    audio_output: bool = True


KINDS: Registry[Kind] = Registry("evaluation kind")

_worker_judges: dict = {}  # judges of a worker process (built once by its initializer)


def _audio(item: Item, relative: str | None, mel: MelConfig) -> np.ndarray:
    if relative is None:
        raise DataError(f"record {item.record.id} has no audio for this evaluation")
    return load_audio(resolve_audio(item.manifest, relative), mel.sample_rate, min_seconds=0.0, max_seconds=None)


def _output_audio(item: Item, mel: MelConfig) -> np.ndarray:
    return load_audio(item.output, mel.sample_rate, min_seconds=0.0, max_seconds=None)


def _means(rows: list[dict], keys: tuple[str, ...]) -> dict[str, float]:
    summary = {}
    for key in keys:
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        if values:
            summary[key] = float(np.mean(values))
    return summary


DNSMOS_KEYS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")


def voice_label(record: Any) -> str:
    """The base voice a record's speaker is built on (its target voice): ``family:voice`` when the speaker spec
    names a voice family (corpus v2), the flite voice in corpus v1, else the speaker id (real corpora)."""
    family, base_voice = speaker_voice(getattr(record, "speaker_spec", None))
    if family:
        return f"{family}:{base_voice}"
    return base_voice or record.speaker


def voice_family(voice: str) -> str | None:
    """The family part of a `voice_label` (``kokoro`` of ``kokoro:af_bella``); None for labels without one (v1's
    flite voices, real corpora's speakers)."""
    return voice.split(":", 1)[0] if ":" in voice else None


def rows_by_family(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped by the voice family of their ``voice`` label, when they hold several families (else {})."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        family = voice_family(row.get("voice", ""))
        if family is not None:
            groups.setdefault(family, []).append(row)
    return dict(sorted(groups.items())) if len(groups) > 1 else {}


def _asr_columns(rows: list[dict]) -> list[str]:
    """Suffixes of the recognisers whose transcripts the rows hold: '' (the primary one), '_pocketsphinx', ..."""
    return [key[len("transcript"):] for key in rows[0] if key.startswith("transcript")] if rows else []


def asr_summary(rows: list[dict], metrics: tuple[str, ...] = ("bleu", "chrf", "wer", "cer")) -> dict[str, float]:
    """Corpus-level text scores of every recogniser's transcripts against ``reference``: asr_bleu, ...,
    asr_bleu_pocketsphinx, ..."""
    summary = {}
    for suffix in _asr_columns(rows):
        scores = text_scores([r[f"transcript{suffix}"] for r in rows], [r["reference"] for r in rows])
        summary.update({f"asr_{metric}{suffix}": scores[metric] for metric in metrics})
    return summary


def by_voice(rows: list[dict], metrics: tuple[str, ...] = ("bleu", "wer")) -> dict[str, dict]:
    """``asr_summary`` per base voice (``voice`` field of the rows), with the utterance count."""
    voices = sorted({r["voice"] for r in rows if "voice" in r})
    return {voice: {**asr_summary(mine, metrics), "utterances": len(mine)}
            for voice in voices for mine in [[r for r in rows if r.get("voice") == voice]]}


def reference_partner(item: Item) -> Any | None:
    """The record whose reference target an S2ST output's voice is compared with: the record's own, or, when the
    output IS that reference (the ceiling), another utterance of the same speaker; None for a reference whose
    speaker says nothing else in the split (it is not compared with itself)."""
    if item.same_speaker is not None:
        return item.same_speaker
    is_reference = Path(item.output) == resolve_audio(item.manifest, item.record.tgt_audio)
    return None if is_reference else item.record


def encoder_similarity(items: list[Item], encoder) -> dict[str, float]:
    """Our speaker encoder's (`diffs2st.speaker.SpeakerEncoder`) mean cosine similarity of each S2ST output with
    its reference target (the `reference_partner` pairs), and how many pairs that is; {} without any pair. Cheap
    (a small encoder, no judge process), so it runs beside the judged rows rather than in them: a benchmark can
    ask it of whichever encoder the system under test reads."""
    pairs = [(item, partner) for item in items if (partner := reference_partner(item)) is not None]
    if not pairs:
        return {}
    outputs = encoder.embed_waves([_output_audio(item, encoder.mel) for item, _ in pairs])
    targets = encoder.embed_waves([_audio(item, partner.tgt_audio, encoder.mel) for item, partner in pairs])
    return {"sim_to_target_encoder": float((outputs * targets).sum(-1).mean()), "encoder_pairs": len(pairs)}


def _score_s2st(item: Item, judges: dict, mel: MelConfig) -> dict:
    record = item.record
    output = _output_audio(item, mel)
    target_partner = reference_partner(item)
    row = {"id": record.id, "speaker": record.speaker, "voice": voice_label(record),
           "seconds": output.size / mel.sample_rate}
    row.update(judges["asr"](output, record.tgt_text))
    reference_target = None if target_partner is None else _audio(item, target_partner.tgt_audio, mel)
    row["sim_to_source"] = judges["speaker"](output, _audio(item, record.src_audio, mel))["similarity"]
    if reference_target is not None:
        row["sim_to_target"] = judges["speaker"](output, reference_target)["similarity"]
    if "pitch" in judges:  # the output's F0 and the reference target's
        row.update(judges["pitch"](output, reference_target))
    if item.other_speaker is not None:
        wrong = _audio(item, item.other_speaker.tgt_audio, mel)
        row["sim_wrong_speaker"] = judges["speaker"](output, wrong)["similarity"]
    row.update(judges["dnsmos"](output))
    row["reference"] = record.tgt_text
    return row


SIMILARITY_KEYS = ("sim_to_source", "sim_to_target", "sim_wrong_speaker")
F0_TOLERANCE = 0.10  # DESIGN: the output's F0 median within 10 % of the reference target's


def _finite(row: dict, key: str) -> bool:
    return math.isfinite(row.get(key, math.nan))


def f0_summary(rows: list[dict]) -> dict[str, float]:
    """The outputs' F0 against their reference targets', over the utterances whose reference is voiced:
    ``f0_unvoiced`` is the share of those whose output has no voiced frames (pYIN hears no pitch: a breathy or
    noise-like output), ``f0_within_tolerance`` the share whose output F0 median is within F0_TOLERANCE of its
    reference's (an unvoiced output is a miss), and over the pairs voiced on both sides the medians of the
    per-utterance F0 median (Hz) and range (semitones) and the ratio of the medians."""
    judged = [r for r in rows if _finite(r, "ref_f0_median")]
    pairs = [r for r in judged if _finite(r, "f0_median")]
    if not judged:
        return {}
    summary = {"f0_utterances": len(judged), "f0_unvoiced": 1 - len(pairs) / len(judged),
               "f0_within_tolerance": sum(abs(r["f0_median"] / r["ref_f0_median"] - 1) <= F0_TOLERANCE + 1e-9
                                          for r in pairs) / len(judged)}
    if pairs:
        output, reference = (np.array([r[key] for r in pairs]) for key in ("f0_median", "ref_f0_median"))
        ranges = [np.median([r[key] for r in pairs if _finite(r, key)] or [math.nan])
                  for key in ("f0_range", "ref_f0_range")]
        summary.update({"f0_median": float(np.median(output)), "ref_f0_median": float(np.median(reference)),
                        "f0_median_ratio": float(np.median(output) / np.median(reference)),
                        "f0_range": float(ranges[0]), "ref_f0_range": float(ranges[1])})
    return summary


def _s2st_scores(rows: list[dict]) -> dict:
    summary = asr_summary(rows)
    for suffix in _asr_columns(rows):  # word loops heard in the output ("the table table"), share of utterances
        summary[f"asr_loop_rate{suffix}"] = float(np.mean([has_word_loop(r[f"transcript{suffix}"]) for r in rows]))
    summary.update(_means(rows, SIMILARITY_KEYS + DNSMOS_KEYS))
    summary.update(f0_summary(rows))
    return summary


def _summarize_s2st(rows: list[dict]) -> dict:
    """Corpus scores, per base voice (ASR only) and, when there are several voice families, per family (all)."""
    summary = _s2st_scores(rows)
    summary["by_voice"] = by_voice(rows)
    if families := rows_by_family(rows):
        summary["by_family"] = {family: {**_s2st_scores(mine), "utterances": len(mine)}
                                for family, mine in families.items()}
    return summary


def _score_vocoder(item: Item, judges: dict, mel: MelConfig) -> dict:
    record = item.record
    reference_path, text = (record.tgt_audio, record.tgt_text) if isinstance(record, S2STRecord) else (
        record.audio, record.text)
    output, reference = _output_audio(item, mel), _audio(item, reference_path, mel)
    row = {"id": record.id, "speaker": record.speaker, "voice": voice_label(record),
           "seconds": output.size / mel.sample_rate, "reference": text}
    row.update(judges["asr"](output, text))
    row["sim_to_original"] = judges["speaker"](output, reference)["similarity"]
    row.update(judges["pesq"](output, reference))
    row.update(judges["dnsmos"](output))
    return row


def _summarize_vocoder(rows: list[dict]) -> dict:
    return {**asr_summary(rows, ("wer",)), **_means(rows, ("sim_to_original", "pesq") + DNSMOS_KEYS)}


def _score_enhance(item: Item, judges: dict, mel: MelConfig) -> dict:
    record = item.record
    output, clean = _output_audio(item, mel), _audio(item, record.clean_audio, mel)
    row = {"id": record.id, "speaker": record.speaker, "noise_family": record.noise_family,
           "snr_db": record.snr_db, "seconds": output.size / mel.sample_rate}
    for name in ("pesq", "estoi", "si_sdr"):
        row.update(judges[name](output, clean))
    row["sim_to_clean"] = judges["speaker"](output, clean)["similarity"]
    row.update(judges["dnsmos"](output))
    return row


ENHANCE_KEYS = ("pesq", "estoi", "si_sdr", "sim_to_clean") + DNSMOS_KEYS


def _summarize_enhance(rows: list[dict]) -> dict:
    summary = _means(rows, ENHANCE_KEYS)
    for family in sorted({str(r["noise_family"]) for r in rows}):
        summary[f"by_family/{family}"] = _means([r for r in rows if str(r["noise_family"]) == family],
                                                ENHANCE_KEYS[:3])
    for snr in sorted({r["snr_db"] for r in rows if r["snr_db"] is not None}):
        summary[f"by_snr/{snr:g}"] = _means([r for r in rows if r["snr_db"] == snr], ENHANCE_KEYS[:3])
    return summary


def _score_digits(item: Item, judges: dict, mel: MelConfig) -> dict:
    record = item.record
    if record.label is None:
        raise DataError(f"record {record.id} has no digit label")
    row = {"id": record.id, "label": int(record.label)}
    row.update(judges["digit"](_output_audio(item, mel), int(record.label)))
    return row


def _summarize_digits(rows: list[dict]) -> dict:
    summary = {"accuracy": float(np.mean([r["correct"] for r in rows]))}
    if rows and "correct_moonshine" in rows[0]:
        summary["accuracy_moonshine"] = float(np.mean([r["correct_moonshine"] for r in rows]))
    for digit in range(10):
        hits = [r["correct"] for r in rows if r["label"] == digit]
        if hits:
            summary[f"accuracy/{digit}"] = float(np.mean(hits))
    return summary


def _score_st(item: Item, judges: dict, mel: MelConfig) -> dict:
    record, hypothesis = item.record, item.hypothesis
    return {"id": record.id, "voice": voice_label(record), "src_hypothesis": hypothesis.get("src_text", ""),
            "src_reference": record.src_text, "tgt_hypothesis": hypothesis.get("tgt_text", ""),
            "tgt_reference": record.tgt_text, "src_lang": record.src_lang, "tgt_lang": record.tgt_lang}


def _st_text_scores(rows: list[dict]) -> dict:
    summary = {}
    for side in ("src", "tgt"):
        if any(r[f"{side}_hypothesis"] for r in rows):
            language = rows[0].get(f"{side}_lang", "fr" if side == "src" else "en")
            scores = text_scores([r[f"{side}_hypothesis"] for r in rows], [r[f"{side}_reference"] for r in rows],
                                 language)
            summary.update({f"{side}_{k}": v for k, v in scores.items()})
    return summary


def _summarize_st(rows: list[dict]) -> dict:
    """Corpus text scores of both sides, and the same per voice family (``by_family``) when there are several."""
    summary = _st_text_scores(rows)
    if families := rows_by_family(rows):
        summary["by_family"] = {family: {**_st_text_scores(mine), "utterances": len(mine)}
                                for family, mine in families.items()}
    return summary


KINDS.register("s2st")(Kind(S2STRecord, ("asr", "speaker", "dnsmos", "pitch"), _score_s2st, _summarize_s2st))
KINDS.register("vocoder")(Kind(SpeechRecord, ("asr", "speaker", "pesq", "dnsmos"), _score_vocoder,
                               _summarize_vocoder))
KINDS.register("enhance")(Kind(EnhancementRecord, ("pesq", "estoi", "si_sdr", "speaker", "dnsmos"),
                               _score_enhance, _summarize_enhance))
KINDS.register("digits")(Kind(SpeechRecord, ("digit",), _score_digits, _summarize_digits))
KINDS.register("st")(Kind(S2STRecord, (), _score_st, _summarize_st, audio_output=False))


JudgeSpecs = dict  # judge name -> constructor options, e.g. {"asr": {"recognizers": ("moonshine",)}, "speaker": {}}


def judge_specs(names: tuple[str, ...], asr: str = DEFAULT_ASR, digit_second_opinion: bool = False) -> JudgeSpecs:
    """Constructor options of each judge named: the ASR judge gets the recognisers of ``asr`` (see
    `diffs2st.judges.ASR_CHOICES`), the digit judge Moonshine's second opinion when asked."""
    if asr not in ASR_CHOICES:
        raise DataError(f"unknown ASR judge {asr!r} (known: {', '.join(ASR_CHOICES)})")
    options = {"asr": {"recognizers": ASR_CHOICES[asr]}, "digit": {"second_opinion": digit_second_opinion}}
    return {name: options.get(name, {}) for name in names}


def _init_worker(specs: JudgeSpecs, mel: MelConfig, cores=None) -> None:
    """Initializer of a judge worker process: one thread for torch, pinned to one core when ``cores`` (a queue of
    core ids) is given (Moonshine's ONNX Runtime sizes its own pool to the cores it may use), judges built once."""
    import torch

    if cores is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores.get()})
    torch.set_num_threads(1)
    _worker_judges.update({name: build_judge(name, mel, **options) for name, options in specs.items()})
    _worker_judges["__mel__"] = mel


def _call_in_worker(args: tuple[Callable, Any]) -> Any:
    function, item = args
    return function(item, _worker_judges, _worker_judges["__mel__"])


def map_with_judges(function: Callable[[Any, dict, MelConfig], Any], items: list, judges: JudgeSpecs,
                    mel: MelConfig, jobs: int = 2, desc: str = "judging", progress: bool = True,
                    on_result: Callable[[int, Any], None] | None = None) -> list:
    """``[function(item, judges_by_name, mel) for item in items]`` with the judges in ``jobs`` worker processes
    (at least one), each holding one instance of every judge (models load once per worker, not per item), each
    pinned to one of the cores this process may use. The caller's process is left as it was: its thread count,
    affinity and memory never see a judge. ``function`` must be a module-level function. Without judges the
    function runs here. ``on_result(index, result)`` is called here as each result arrives (in the order they
    finish), e.g. to store it before the others are done."""
    results: list = [None] * len(items)
    if not judges:
        for index, item in enumerate(tqdm(items, desc=desc, disable=not progress)):
            results[index] = function(item, {}, mel)
            if on_result is not None:
                on_result(index, results[index])
        return results
    if not items:
        return results
    context = get_context("spawn")
    jobs = max(1, min(jobs, len(items)))
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = None
    if allowed:
        cores = context.Queue()
        for worker in range(jobs):
            cores.put(allowed[worker % len(allowed)])
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                             initargs=(judges, mel, cores)) as pool:
        futures = {pool.submit(_call_in_worker, (function, item)): index for index, item in enumerate(items)}
        try:
            for future in tqdm(as_completed(futures), total=len(items), desc=desc, disable=not progress):
                index = futures[future]
                results[index] = future.result()
                if on_result is not None:
                    on_result(index, results[index])
        except BaseException:  # a failed item or Ctrl-C: do not judge the rest before raising
            for future in futures:
                future.cancel()
            raise
    return results


def _vocoder_record_type(manifest: Path) -> type:
    first = next((line for line in manifest.read_text().splitlines() if line.strip()), "{}")
    return S2STRecord if "tgt_text" in json.loads(first) else SpeechRecord


def plan_items(kind: str, manifest: str | os.PathLike, outputs: str | os.PathLike | None, reference: bool = False,
               noisy: bool = False, limit: int | None = None) -> list[Item]:
    """The utterances to score, with outputs checked to exist (missing ones are an error listing the first ids)."""
    spec = KINDS.get(kind)
    manifest = Path(manifest)
    record_type = _vocoder_record_type(manifest) if kind == "vocoder" and manifest.is_file() else spec.record_type
    records = read_manifest(manifest, record_type)[:limit]
    if not records:
        raise DataError(f"{manifest} holds no records")
    if (reference or noisy) == (outputs is not None):
        raise DataError("give either a folder of outputs or --reference" + (" / --noisy" if kind == "enhance" else ""))
    hypotheses = {}
    if not spec.audio_output:
        if reference:
            hypotheses = {r.id: {"src_text": r.src_text, "tgt_text": r.tgt_text} for r in records}
        else:
            hypotheses = _read_hypotheses(Path(outputs))
    by_speaker: dict[str, list] = {}
    for record in records:
        by_speaker.setdefault(record.speaker, []).append(record)
    speakers = sorted(by_speaker)
    items, missing = [], []
    for index, record in enumerate(records):
        output = None
        if spec.audio_output:
            output = str(_reference_output(kind, manifest, record, noisy) if reference or noisy
                         else Path(outputs) / f"{record.id}.wav")
            if not Path(output).is_file():
                missing.append(record.id)
        elif record.id not in hypotheses:
            missing.append(record.id)
        same = by_speaker[record.speaker]
        partner = same[(same.index(record) + 1) % len(same)] if reference and len(same) > 1 else None
        others = [s for s in speakers if s != record.speaker]
        other = by_speaker[others[index % len(others)]][0] if others else None
        items.append(Item(record, output, hypotheses.get(record.id), partner, other, str(manifest)))
    if missing:
        raise DataError(f"{len(missing)} of {len(records)} outputs are missing (first: {', '.join(missing[:3])})")
    return items


def _reference_output(kind: str, manifest: Path, record: Any, noisy: bool) -> Path:
    if kind == "enhance":
        return resolve_audio(manifest, record.noisy_audio if noisy else record.clean_audio)
    if isinstance(record, S2STRecord):
        return resolve_audio(manifest, record.tgt_audio)
    return resolve_audio(manifest, record.audio)


def _read_hypotheses(path: Path) -> dict[str, dict]:
    path = path / "hypotheses.jsonl" if path.is_dir() else path
    if not path.is_file():
        raise DataError(f"no hypotheses file at {path} (JSONL lines of id, src_text, tgt_text)")
    hypotheses = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                entry = json.loads(line)
                hypotheses[str(entry["id"])] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                raise DataError(f"{path}:{number}: expected a JSON object with an 'id'") from None
    return hypotheses


def evaluate(kind: str, items: list[Item], mel: MelConfig, jobs: int = 2, progress: bool = True,
             asr: str = DEFAULT_ASR, cache: str | os.PathLike | None = None) -> tuple[dict, list[dict]]:
    """Score ``items`` with the kind's judges (``jobs`` worker processes) hearing audio at ``mel``'s rate ->
    (summary, per-utterance rows). ``asr`` picks the English recognisers (`diffs2st.judges.ASR_CHOICES`; the
    first gives the unsuffixed scores); digits get Moonshine's second opinion when ``asr`` includes it.

    ``cache``: a JSONL file of judged rows (`RowCache`): each row is appended as soon as it is judged, and a row
    already there is reused when its `row_key` matches, so a run that was killed resumes where it stopped. The
    result is the same as without the cache (rows in the order of ``items``, each as it reads back from JSON)."""
    spec = KINDS.get(kind)
    specs = judge_specs(spec.judges, asr, digit_second_opinion="moonshine" in ASR_CHOICES.get(asr, ()))
    if cache is None:
        rows = map_with_judges(spec.score, items, specs, mel, jobs, desc=f"eval {kind}", progress=progress)
        return spec.summarize(rows), rows
    store = RowCache(cache)
    code = judge_code_fingerprint(spec.score)
    keys = [row_key(kind, item, specs, mel, code) for item in items]
    rows: list = [store.rows.get(key) for key in keys]
    todo = [index for index, row in enumerate(rows) if row is None]

    def keep(position: int, row: dict) -> None:
        index = todo[position]
        rows[index] = store.add(keys[index], items[index].record.id, row)

    map_with_judges(spec.score, [items[index] for index in todo], specs, mel, jobs,
                    desc=f"eval {kind} ({len(items) - len(todo)} cached)", progress=progress, on_result=keep)
    return spec.summarize(rows), rows


def file_digest(path: str | os.PathLike | None) -> str | None:
    """SHA-256 of a file's bytes; None when there is no such file."""
    return None if path is None or not Path(path).is_file() else file_sha256(path)


def judge_code_fingerprint(score: Callable) -> str:
    """SHA-256 of the code that makes a row: the kind's score function and every module of `diffs2st.judges`
    (a judge whose code changed makes every stored row stale)."""
    from . import judges

    digest = hashlib.sha256(inspect.getsource(score).encode())
    for path in sorted(Path(judges.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _record_files(item: Item, record: Any) -> dict[str, str | None]:
    """Content digests of the audio files a record names (fields ending in ``audio``), by field name."""
    return {name: file_digest(resolve_audio(item.manifest, value)) for name, value in to_dict(record).items()
            if name.endswith("audio") and isinstance(value, str)}


def row_key(kind: str, item: Item, specs: JudgeSpecs, mel: MelConfig, code: str) -> str:
    """What one row is judged from, hashed (SHA-256): the kind, the judges and their options, the audio config, the
    judges' code (`judge_code_fingerprint`), the record and its partner records with the content of every audio
    file they name, the output's content (audio kinds) or the hypothesis (text kinds). Any change -> another key."""
    material = {"kind": kind, "judges": specs, "mel": to_dict(mel), "code": code, "hypothesis": item.hypothesis,
                "output": file_digest(item.output), "output_named": item.output is not None}
    for role in ("record", "same_speaker", "other_speaker"):
        record = getattr(item, role)
        material[role] = None if record is None else {"fields": to_dict(record),
                                                       "files": _record_files(item, record)}
    encoded = json.dumps(material, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """JSON form of the numpy scalars and arrays a judge may return."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a row")


class RowCache:
    """Judged rows in a JSONL file, one ``{"key", "id", "row"}`` object a line, appended and flushed one at a time,
    so that a killed run loses only the rows being judged. Reading keeps the last row of each key and skips a last
    line cut short by a kill (the first `add` removes it); any other line that is not such an object is a DataError
    (the file is not a cache)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.rows: dict[str, dict] = {}
        self._whole: int | None = None  # bytes before a last line a kill cut short (dropped by the next `add`)
        if not self.path.is_file():
            return
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            self._whole = len(text[:text.rfind("\n") + 1].encode("utf-8"))
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self.rows[entry["key"]] = entry["row"]
            except (json.JSONDecodeError, KeyError, TypeError):
                if number == len(lines) and not text.endswith("\n"):  # the line a kill cut short
                    continue
                raise DataError(f"{self.path}:{number}: not a row cache line (JSON with key, id, row)") from None

    def add(self, key: str, record_id: str, row: dict) -> dict:
        """Append one judged row (flushed at once); returns the row as it reads back from the file."""
        line = json.dumps({"key": key, "id": record_id, "row": row}, ensure_ascii=False, default=_plain)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._whole is not None:
            os.truncate(self.path, self._whole)
            self._whole = None
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
        stored = json.loads(line)["row"]
        self.rows[key] = stored
        return stored


def judged_by_v2(rows: list[dict]) -> bool:
    """Whether per-utterance rows were judged by judges v2 (Moonshine, with pocketsphinx's column beside it)."""
    return any("transcript_pocketsphinx" in row for row in rows)


def read_judges_v2_report(path: str | os.PathLike, wait_seconds: float = 0, poll_seconds: float = 30) -> dict:
    """A report JSON whose rows were judged by judges v2, waiting up to ``wait_seconds`` for a run that is still
    writing it (e.g. a ceilings run on the other core); otherwise a DataError."""
    waited = 0.0
    while not judged_by_v2((report := json.loads(Path(path).read_text()))["per_utterance"]):
        if waited >= wait_seconds:
            raise DataError(f"{path} was not judged by judges v2 (Moonshine + pocketsphinx): run the benchmark again")
        time.sleep(poll_seconds)
        waited += poll_seconds
    return report


def _reference_text(record: Any) -> str:
    return record.tgt_text if isinstance(record, S2STRecord) else record.text


def _score_asr_only(item: Item, judges: dict, mel: MelConfig) -> dict:
    return {"id": item.record.id, **judges["asr"](_output_audio(item, mel), _reference_text(item.record))}


def rejudge_asr(kind: str, items: list[Item], previous_rows: list[dict], mel: MelConfig, jobs: int = 2,
                progress: bool = True) -> tuple[dict, list[dict]]:
    """Re-judge a stored report of the same outputs (``previous_rows``, made when pocketsphinx was the only ASR
    judge) under judges v2, running only the new judge: Moonshine hears each output, pocketsphinx's stored
    transcript becomes ``transcript_pocketsphinx`` with its WER recomputed under the current normaliser, and every
    other score (speaker similarity, DNSMOS, PESQ — judges that did not change) is carried over. The outputs must
    be the ones the stored report judged (same ids, same references); -> (summary, rows) as `evaluate` gives."""
    if kind not in ("s2st", "vocoder"):
        raise DataError(f"only s2st and vocoder reports have an ASR judge to re-run, not {kind!r}")
    stored = {str(row["id"]): row for row in previous_rows}
    if judged_by_v2(previous_rows):
        raise DataError("the stored report was already made under judges v2 (it has a pocketsphinx column)")
    missing = [item.record.id for item in items if item.record.id not in stored]
    if missing:
        raise DataError(f"{len(missing)} of {len(items)} records are not in the stored report (first: {missing[0]})")
    for item in items:
        if stored[item.record.id].get("reference") != _reference_text(item.record):
            raise DataError(f"record {item.record.id}: the stored report judged another reference text")
    heard = map_with_judges(_score_asr_only, items, judge_specs(("asr",), "moonshine"), mel, jobs,
                            desc=f"re-judge {kind}", progress=progress)
    rows = []
    for item, new in zip(items, heard):
        old = stored[item.record.id]
        row = {key: value for key, value in old.items() if not key.startswith(("transcript", "wer"))}
        row["voice"] = voice_label(item.record)
        row.update({"transcript": new["transcript"], "wer": new["wer"],
                    "transcript_pocketsphinx": old["transcript"],
                    "wer_pocketsphinx": utterance_wer(old["transcript"], _reference_text(item.record))})
        rows.append(row)
    return KINDS.get(kind).summarize(rows), rows
