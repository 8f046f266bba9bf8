"""Corpus v2 voice families: how intelligible each base voice is to the ASR judge, and what one utterance costs.

    python benchmarks/voice_families.py --sentences 12 --out docs/corpora            # the registered families
    python benchmarks/voice_families.py --screen-espeak --sentences 12 --out docs/corpora   # espeak-ng candidates

Family mode: for every base voice of every family, ``--sentences`` grammar pairs said by speakers of that base voice
(WORLD transforms and rates drawn as for training speakers), French and English; Moonshine WER of the English, CPU
seconds per utterance (this process plus the synthesizer subprocesses it starts, so the number does not depend on
how busy the machine is) and audio seconds. Screen mode: the raw English of espeak-ng variants in ``en`` and
``en-us``, to choose the bilingual variants. Writes voice_families.{json,md} (or espeak_screen.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from diffs2st.audio import MelConfig
from diffs2st.data import tts
from diffs2st.data.builders.runner import finish_audio
from diffs2st.data.speakers import ESPEAK_WORDS_PER_MINUTE
from diffs2st.data.text import generate_pairs
from diffs2st.data.voices import FAMILIES, sample_voices, speak
from diffs2st.judges import build_recognizer, text_scores
from diffs2st.reports import report_heading

SCREEN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "Andy", "Annie",
                   "Michael", "Storm", "steph", "aunty", "Alex", "edward", "john", "robert", "max", "paul")


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (espeak-ng, flite, festival)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def screen(asr, references: list[str], variants: list[str], words_per_minute: int) -> dict:
    results = {}
    for variant in variants:
        for voice in ("en", "en-us"):
            heard = [asr.transcribe(tts.espeak(text, voice, variant, words_per_minute)) for text in references]
            results[f"{voice}+{variant}"] = text_scores(heard, references)["wer"]
            print(f"{voice}+{variant}: {results[f'{voice}+{variant}']:.3f}", flush=True)
    return results


def families(asr, pairs, seed: int, cache_dir: Path) -> dict:
    results = {}
    for name in FAMILIES:
        family = FAMILIES.get(name)
        per_base = len(family.trained()) * 3
        speakers = sample_voices({name: per_base}, "seen", random.Random(seed), "bench")
        if family.heldout:
            speakers += sample_voices({name: len(family.heldout) * 3}, "unseen-voices", random.Random(seed), "held")
        if name == "kokoro":  # the first call loads the model: keep it out of the per-utterance cost
            speak("warm up.", "en", speakers[0], cache_dir)
        for base in family.bases:
            mine = [s for s in speakers if s.base_voice == base]
            cpu, audio, heard = {"fr": 0.0, "en": 0.0}, {"fr": 0.0, "en": 0.0}, []
            for index, pair in enumerate(pairs):
                spec = mine[index % len(mine)]
                for lang, text in (("fr", pair.fr), ("en", pair.en)):
                    start = cpu_seconds()
                    wave = finish_audio(speak(text, lang, spec, cache_dir))  # as the corpus stores it
                    cpu[lang] += cpu_seconds() - start
                    audio[lang] += wave.size / MelConfig().sample_rate
                    if lang == "en":
                        heard.append(asr.transcribe(wave))
            n = len(pairs)
            results[f"{name}:{base}"] = {
                "family": name, "base_voice": base, "heldout": base in family.heldout,
                "wer": text_scores(heard, [p.en for p in pairs])["wer"],
                "cpu_seconds_per_pair": (cpu["fr"] + cpu["en"]) / n,
                "cpu_seconds_fr": cpu["fr"] / n, "cpu_seconds_en": cpu["en"] / n,
                "audio_seconds_fr": audio["fr"] / n, "audio_seconds_en": audio["en"] / n}
            print(name, base, {k: round(v, 3) for k, v in results[f"{name}:{base}"].items()
                               if isinstance(v, float)}, flush=True)
    for name in FAMILIES:
        rows = [r for r in results.values() if r["family"] == name]
        results[f"{name}:all"] = {"family": name, "base_voice": "all", "heldout": False,
                                  **{key: float(np.mean([r[key] for r in rows])) for key in (
                                      "wer", "cpu_seconds_per_pair", "cpu_seconds_fr", "cpu_seconds_en",
                                      "audio_seconds_fr", "audio_seconds_en")}}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="docs/corpora")
    parser.add_argument("--screen-espeak", action="store_true", help="screen espeak-ng variants instead")
    parser.add_argument("--variants", nargs="+", default=list(SCREEN_VARIANTS), help="variants to screen")
    parser.add_argument("--wpm", type=int, default=ESPEAK_WORDS_PER_MINUTE, help="espeak-ng rate when screening")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    asr = build_recognizer("moonshine", MelConfig())
    pairs = generate_pairs(args.sentences, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.screen_espeak:
        results = screen(asr, [p.en for p in pairs], args.variants, args.wpm)
        lines = [*report_heading(f"espeak-ng variants: Moonshine WER of their raw English at {args.wpm} words per "
                                 "minute", command),
                 "| variant | WER |", "| --- | --- |"]
        lines += [f"| {k} | {v:.3f} |" for k, v in sorted(results.items(), key=lambda kv: kv[1])]
        stem = "espeak_screen"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = families(asr, pairs, args.seed, Path(tmp))
        lines = [*report_heading("Voice families of corpus v2: intelligibility and cost", command),
                 f"{args.sentences} grammar pairs per base voice, said by training-style speakers (WORLD transform "
                 "and rate drawn as in the corpus). CPU seconds are this process plus its synthesizer "
                 "subprocesses, on one core.", "",
                 "| family | base voice | held out | Moonshine WER (en) | CPU s / pair | CPU s fr | CPU s en | "
                 "audio s fr | audio s en |", "|" + " --- |" * 9]
        lines += [f"| {r['family']} | {r['base_voice']} | {'yes' if r['heldout'] else ''} | {r['wer']:.3f} | "
                  f"{r['cpu_seconds_per_pair']:.2f} | {r['cpu_seconds_fr']:.2f} | {r['cpu_seconds_en']:.2f} | "
                  f"{r['audio_seconds_fr']:.2f} | {r['audio_seconds_en']:.2f} |" for r in results.values()]
        stem = "voice_families"
    document = {"command": command, "sentences": args.sentences, "seconds": round(time.perf_counter() - started, 1),
                "results": results}
    (out / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
