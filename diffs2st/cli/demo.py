"""`diffs2st demo`: the most complete end-to-end path, on bundled resources only, offline.

With the direct S2ST components bundled (pretrained/{st, speaker-encoder, synthesizer, vocoder}): say a French
sentence in a voice no model has heard (a speaker of synth-cvss v2's test-unseen-voices kind, `DEMO_FAMILY`'s
held-out base voice), translate it to English speech in that voice, and score the result with the judges (Moonshine
and pocketsphinx ASR-BLEU, Resemblyzer similarity to the source and to the same speaker's true English, DNSMOS).
Before that, and always: the front-end path (espeak-ng / flite, log-mel, Griffin-Lim) and, when only the speech
translator is bundled, its text output.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..pretrained import bundled, pretrained_dir
from .main import add_command

SOURCE_TEXT = "le chat noir dort dans la petite maison"
TARGET_TEXT = "the black cat is sleeping in the small house"
# A sentence of the grammar (not in synth-cvss train for the default seed) for the translation part.
ST_SOURCE = "Mes voisines ont trouvé les petites maisons blanches."
ST_TARGET = "My neighbors found the small white houses."


def run_demo(out_dir: Path, griffin_lim_iters: int = 32) -> dict:
    """Run the demo into ``out_dir``; returns a summary dict (paths, durations, timings)."""
    import numpy as np

    from ..audio import DEFAULT_MEL, griffin_lim, log_mel, save_audio
    from ..data.tts import espeak, flite

    config = DEFAULT_MEL  # no model: the synthesizers' audio through the project's front end and back
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for tag, text, synthesize in (("fr", SOURCE_TEXT, lambda t: espeak(t, "fr", "f3")),
                                  ("en", TARGET_TEXT, lambda t: flite(t, "slt"))):
        start = time.perf_counter()
        wave = synthesize(text)
        synth_s = time.perf_counter() - start
        mel = log_mel(wave, config)
        start = time.perf_counter()
        resynth = griffin_lim(mel, config, n_iter=griffin_lim_iters).numpy()
        gl_s = time.perf_counter() - start
        original_path = save_audio(out_dir / f"{tag}_original.wav", wave, config.sample_rate)
        resynth_path = save_audio(out_dir / f"{tag}_griffin_lim.wav", resynth, config.sample_rate)
        np.save(out_dir / f"{tag}_log_mel.npy", mel.numpy())
        seconds = len(wave) / config.sample_rate
        summary[tag] = {"text": text, "seconds": seconds, "mel_shape": list(mel.shape),
                        "synthesis_s": synth_s, "griffin_lim_rtf": gl_s / seconds,
                        "original": str(original_path), "resynthesized": str(resynth_path)}
    return summary


# The family whose held-out voice says the demo's French. espeak-ng (its variant m5) while the bundled direct path is
# wave 1's, which understands no Kokoro voice (v2 dev text BLEU 0.8); "kokoro" (the held-out jf_nezumi) once the
# direct path is retrained on corpus v2 (issue #27).
DEMO_FAMILY = "espeak-ng"


def demo_voice(family: str = DEMO_FAMILY):
    """The demo's voice, drawn like a test-unseen-voices speaker of ``family`` (fixed, so runs compare)."""
    import random

    from ..data.voices import sample_voices

    return sample_voices({family: 1}, "unseen-voices", random.Random(2026), "demo")[0]


def kokoro_cache() -> Path:
    """Where the demo joins Kokoro's model once (the user's cache, as a corpus build does in its folder)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "diffs2st" / "kokoro"


def speak_demo(text: str, lang: str):
    """``text`` said in ``lang`` by `demo_voice` at the corpus rate; (wave, voice)."""
    from ..data.voices import speak

    voice = demo_voice()
    return speak(text, lang, voice, kokoro_cache()), voice


def describe_voice(voice: dict) -> str:
    """A `VoiceSpec`'s dict in words: "kokoro jf_nezumi 0.6 + jf_alpha 0.4, F0 x0.97, warp 1.01"."""
    blend = " + ".join(f"{anchor} {weight:g}" for anchor, weight in voice["blend"].items()) if voice["blend"] else ""
    return f"{voice['family']} {blend or voice['base_voice']}, F0 x{voice['f0_scale']}, warp {voice['warp']}"


def run_translation_demo(out_dir: Path, model_dir: Path | None = None) -> dict | None:
    """French in an unseen voice -> transcript + translation with the bundled ST model (None if none is bundled)."""
    model_dir = Path(model_dir or bundled("st"))
    if not (model_dir / "config.yaml").is_file():
        return None
    from ..audio import DEFAULT_MEL, save_audio
    from ..checkpoint import load_checkpoint
    from ..judges import text_scores

    wave, voice = speak_demo(ST_SOURCE, "fr")
    rate = DEFAULT_MEL.sample_rate  # the voices speak at the corpus rate
    path = save_audio(out_dir / "st_source.wav", wave, rate)
    model = load_checkpoint(model_dir).model
    start = time.perf_counter()
    result = model.translate([wave])[0]
    elapsed = time.perf_counter() - start
    return {"voice": voice.to_dict(), "audio": str(path), "seconds": wave.size / rate,
            "elapsed_s": elapsed, "src_text": result.src_text, "tgt_text": result.tgt_text,
            "src_wer": text_scores([result.src_text], [ST_SOURCE], "fr")["wer"],
            "tgt_bleu": text_scores([result.tgt_text], [ST_TARGET])["bleu"]}


def s2st_components_present(directory: Path | None = None) -> bool:
    from ..s2st.translator import direct_translator_name

    directory = Path(directory or pretrained_dir())
    return all((directory / part / "model.safetensors").is_file()
               for part in (direct_translator_name(directory), "speaker-encoder", "synthesizer", "vocoder"))


def run_s2st_demo(out_dir: Path, directory: Path | None = None, steps: int = 4) -> dict:
    """French in an unseen voice -> English speech in that voice with the bundled direct model, judged."""
    from ..audio import DEFAULT_MEL, save_audio
    from ..judges import ASR_CHOICES, DNSMOS, SpeakerSimilarity, build_judge, text_scores
    from ..judges.asr import JudgeUnavailable
    from ..s2st.translator import Translator

    rate = DEFAULT_MEL.sample_rate  # the voices speak at the corpus rate
    source, voice = speak_demo(ST_SOURCE, "fr")
    reference, _ = speak_demo(ST_TARGET, "en")  # the same voice saying the true translation
    source_path = save_audio(out_dir / "s2st_source_fr.wav", source, rate)
    save_audio(out_dir / "s2st_reference_en.wav", reference, rate)
    translator = Translator.from_pretrained(directory)
    result = translator.translate(source, steps=steps)
    output_path = save_audio(out_dir / "s2st_output_en.wav", result.wave, translator.mel.sample_rate)
    mel = translator.mel
    try:
        scores = build_judge("asr", mel, recognizers=ASR_CHOICES["both"])(result.wave, ST_TARGET)
        heard, heard_pocketsphinx, moonshine_problem = scores["transcript"], scores["transcript_pocketsphinx"], None
    except JudgeUnavailable as error:  # the Moonshine wheel is missing: pocketsphinx alone
        scores = build_judge("asr", mel, recognizers=ASR_CHOICES["pocketsphinx"])(result.wave, ST_TARGET)
        heard, heard_pocketsphinx, moonshine_problem = None, scores["transcript"], str(error)
    similarity = SpeakerSimilarity(mel)
    seconds = source.size / rate
    return {"voice": voice.to_dict(), "source": str(source_path), "output": str(output_path),
            "src_text": result.src_text, "tgt_text": result.tgt_text, "heard": heard, "steps": steps,
            "heard_pocketsphinx": heard_pocketsphinx,
            "src_wer": text_scores([result.src_text], [ST_SOURCE], "fr")["wer"],
            "text_bleu": text_scores([result.tgt_text], [ST_TARGET])["bleu"],
            "asr_bleu": None if heard is None else text_scores([heard], [ST_TARGET])["bleu"],
            "moonshine_problem": moonshine_problem,
            "asr_bleu_pocketsphinx": text_scores([heard_pocketsphinx], [ST_TARGET])["bleu"],
            "sim_to_source": similarity.similarity(result.wave, source),
            "sim_to_reference": similarity.similarity(result.wave, reference),
            "dnsmos_ovrl": DNSMOS(mel)(result.wave)["dnsmos_ovrl"], "seconds": seconds,
            "rtf": {stage: value / seconds for stage, value in result.timings.items()}}


def _print_s2st(item: dict) -> None:
    print(f"\nDirect speech-to-speech translation, French in a voice no model heard "
          f"({describe_voice(item['voice'])}) -> {item['source']}")
    print(f"  said:              {ST_SOURCE}")
    print(f"  transcript:        {item['src_text']}  (WER {item['src_wer']:.2f})")
    print(f"  translation:       {item['tgt_text']}  (reference: {ST_TARGET}; BLEU {item['text_bleu']:.1f})")
    print(f"  English speech ({item['steps']} sampling steps) -> {item['output']}")
    if item["heard"] is None:
        print(f"  ({item['moonshine_problem']})")
        heard = (f"pocketsphinx hears \"{item['heard_pocketsphinx']}\" (ASR-BLEU "
                 f"{item['asr_bleu_pocketsphinx']:.1f})")
    else:
        heard = (f"Moonshine hears \"{item['heard']}\" (ASR-BLEU {item['asr_bleu']:.1f}; pocketsphinx "
                 f"{item['asr_bleu_pocketsphinx']:.1f})")
    print(f"  judges: {heard}; Resemblyzer "
          f"similarity to the source {item['sim_to_source']:.3f}, to the same speaker's true English "
          f"{item['sim_to_reference']:.3f}; DNSMOS OVRL {item['dnsmos_ovrl']:.2f}")
    rtf = item["rtf"]
    stages = ", ".join(f"{stage} {value:.3f}" for stage, value in rtf.items() if stage != "total")
    print(f"  {item['seconds']:.2f} s of speech, real-time factor {rtf['total']:.3f} ({stages})")


def _run(args) -> int:
    out_dir = Path(args.out)
    direct = s2st_components_present()
    if not direct:
        print("diffs2st demo: no direct S2ST model is bundled, so this runs the front-end path and speech "
              "translation.")
    summary = run_demo(out_dir, args.griffin_lim_iters)
    for tag, item in summary.items():
        language = {"fr": "French (espeak-ng)", "en": "English (flite)"}[tag]
        print(f"\n{language}: \"{item['text']}\"")
        print(f"  synthesized {item['seconds']:.2f} s in {item['synthesis_s']:.2f} s -> {item['original']}")
        print(f"  log-mel {item['mel_shape'][0]} bins x {item['mel_shape'][1]} frames "
              f"-> {out_dir / (tag + '_log_mel.npy')}")
        print(f"  Griffin-Lim ({args.griffin_lim_iters} iterations, RTF {item['griffin_lim_rtf']:.3f}) "
              f"-> {item['resynthesized']}")
    if direct:
        _print_s2st(run_s2st_demo(out_dir, steps=args.steps))
        print(f"\nall files are in {out_dir.resolve()}")
        return 0
    translation = run_translation_demo(out_dir)
    if translation is None:
        print(f"\n(no speech-translation model at {bundled('st')}; skipping translation)")
    else:
        print(f"\nSpeech translation, French in a voice no model heard ({describe_voice(translation['voice'])}) "
              f"-> {translation['audio']}")
        print(f"  said:        {ST_SOURCE}\n  transcript:  {translation['src_text']}  "
              f"(WER {translation['src_wer']:.2f})")
        print(f"  translation: {translation['tgt_text']}  (reference: {ST_TARGET}; BLEU {translation['tgt_bleu']:.1f})")
        print(f"  {translation['seconds']:.2f} s of speech translated in {translation['elapsed_s']:.2f} s")
    print(f"\nall files are in {out_dir.resolve()}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "demo", "run the end-to-end demo on bundled resources (offline)")
    parser.add_argument("-o", "--out", default="out/demo", help="folder for the demo's files")
    parser.add_argument("--griffin-lim-iters", type=int, default=32, help="Griffin-Lim iterations")
    parser.add_argument("--steps", type=int, default=4, help="sampling steps of the S2ST synthesizer")
    parser.set_defaults(func=_run)
