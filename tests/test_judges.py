"""Judges on cases with known answers: identical audio, speech vs noise, a known flite sentence, hand-computed
text metrics, same vs different speaker, digits."""

from __future__ import annotations

import numpy as np
import pytest

from diffs2st.audio import MelConfig
from diffs2st.data.tts import flite
from diffs2st.judges import (ASR_CHOICES, DIGIT_WORDS, build_judge, digit_from_transcript, equal_error_rate,
                             measure_rtf, normalize_text, si_sdr, text_scores)

SENTENCE = "the black cat is sleeping in the small house"
MEL = MelConfig()
# grammar-style sentences with the written/spoken forms a recogniser may change: numbers, contractions, spellings
CLEAN_SENTENCES = ("The black cat is sleeping in the small house.",
                   "She is ninety years old and she traveled to the theatre.",
                   "My brother doesn't eat the green apples at half past seven.")


@pytest.fixture(scope="module")
def speech():
    return {voice: flite(SENTENCE, voice) for voice in ("slt", "awb", "rms")}


@pytest.fixture(scope="module")
def noise():
    return (0.1 * np.random.default_rng(0).standard_normal(6 * 16000)).astype(np.float32)


def test_text_normalisation_english():
    # written and spoken forms of the same words compare equal: numbers, contractions, British/American spelling
    assert normalize_text("She's 90.") == normalize_text("she is ninety") == "she is 90"
    assert normalize_text("They travelled to the centre!") == normalize_text("they traveled to the center")
    assert normalize_text("Mr. Smith won't come") == "mister smith will not come"
    assert normalize_text("  The   CAT, sat. ") == "the cat sat"
    assert normalize_text("at seven o'clock") == normalize_text("at 7 o'clock")
    assert normalize_text("") == normalize_text("   ") == ""
    assert normalize_text("don’t") == normalize_text("don't")


def test_text_normalisation_other_languages():
    assert normalize_text("Le chat, l'été — « oui » ?", "fr") == "le chat l été oui"
    assert normalize_text("Est-ce que tu viens ?", "fr") == "est ce que tu viens"
    assert normalize_text("quatre-vingt-dix", "fr") == "quatre vingt dix"  # no English number rules on French


def test_text_scores_normalise_before_scoring():
    assert text_scores(["She's ninety."], ["she is 90"])["wer"] == 0.0
    assert text_scores(["elle a quatre-vingt-dix ans"], ["Elle a quatre vingt dix ans."], "fr")["wer"] == 0.0


def test_text_metrics_by_hand():
    # one substitution in 4 words -> WER 1/4; CER: "cat"->"bat" is 1 edit in 15 characters
    scores = text_scores(["the bat sat down"], ["the cat sat down"])
    assert scores["wer"] == pytest.approx(0.25)
    assert scores["cer"] == pytest.approx(1 / 16)
    # BLEU-4 with brevity penalty 1: precisions 3/4, 1/3, 0/2 -> 0 without smoothing; sacrebleu's default
    # "exp" smoothing keeps it positive but far below a perfect match
    assert text_scores(["The cat sat down."], ["the cat sat down"])["bleu"] == pytest.approx(100.0)
    assert 0 < scores["bleu"] < 50
    assert text_scores(["a b c d"], ["w x y z"])["chrf"] < 5


def test_moonshine_hears_clean_flite(moonshine):
    judge = build_judge("asr", MEL)  # Moonshine alone by default
    heard, said = [], []
    for voice in ("slt", "awb", "rms", "kal16"):
        for sentence in CLEAN_SENTENCES:
            heard.append(judge.asr.transcribe(flite(sentence, voice)))
            said.append(sentence)
    assert text_scores(heard, said)["wer"] <= 0.05, list(zip(heard, said))


def test_moonshine_on_empty_silent_and_noise_input(noise, moonshine):
    asr = build_judge("asr", MEL).asr
    assert asr.transcribe(np.zeros(0, np.float32)) == ""
    assert asr.transcribe(np.zeros(MEL.sample_rate, np.float32)) == ""
    assert asr.transcribe(noise[: 2 * MEL.sample_rate]) == ""


@pytest.mark.slow
def test_moonshine_child_is_renewed_and_answers_the_same(moonshine):
    # the library leaks ~40 MB a call: the judge runs it in a child process replaced every `recycle_every` calls
    from diffs2st.judges.asr import MoonshineASR, library_problem

    asr, wave = MoonshineASR(MEL, recycle_every=2, runtime="library"), flite(SENTENCE, "slt")
    if library_problem() is not None:
        pytest.skip(library_problem())
    first = asr.transcribe(wave)
    child = asr._child.pid
    assert asr.transcribe(wave) == first and asr._child.pid == child
    assert asr.transcribe(wave) == first and asr._child.pid != child
    asr.close()
    assert asr._child is None and asr.transcribe(wave) == first


def test_moonshine_through_onnxruntime_hears_what_the_library_hears(moonshine):
    # the same model files run by onnxruntime in this process: on every CPU (the library needs AVX-512), and where
    # the library runs too, word for word what it writes
    from diffs2st.judges.asr import MoonshineASR, library_problem

    asr = MoonshineASR(MEL, runtime="onnxruntime")
    waves = [flite(sentence, "slt") for sentence in CLEAN_SENTENCES]
    heard = [asr.transcribe(wave) for wave in waves]
    assert asr.runtime == "onnxruntime" and asr._child is None
    assert text_scores(heard, list(CLEAN_SENTENCES))["wer"] <= 0.05, heard
    if library_problem() is None:
        assert [MoonshineASR(MEL, runtime="library").transcribe(wave) for wave in waves] == heard


def test_moonshine_vocabulary_reads_long_pieces_and_refuses_a_cut_file(tmp_path):
    from diffs2st.judges.moonshine_onnx import WORD_START, read_vocabulary

    long_piece = (WORD_START + "x" * 200).encode()  # 203 bytes: a two-byte length
    path = tmp_path / "tokenizer.bin"
    path.write_bytes(b"\x03<s>" + bytes([len(long_piece) % 128 + 128, len(long_piece) // 128]) + long_piece + b"\x00")
    assert read_vocabulary(path) == [b"<s>", long_piece, b""]
    path.write_bytes(b"\x05<s>")
    with pytest.raises(ValueError, match="ends inside token 0"):
        read_vocabulary(path)


def test_moonshine_runtime_must_be_known():
    from diffs2st.judges.asr import MoonshineASR

    with pytest.raises(ValueError, match="runtime must be one of"):
        MoonshineASR(MEL, runtime="gpu")


def test_moonshine_on_a_cpu_it_cannot_run_on_is_one_clear_error(monkeypatch):
    # the wheel's libmoonshine.so is built with AVX-512: its child dies of SIGILL on CPUs without it, which used to
    # read "did not start: no message"
    import signal
    import subprocess
    import sys

    from diffs2st.judges import asr as asr_module

    start = subprocess.Popen
    monkeypatch.setattr(asr_module.subprocess, "Popen", lambda args, **kwargs: start(
        [sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(signal.SIGILL)})"], **kwargs))
    with pytest.raises(asr_module.JudgeUnavailable, match="library cannot run on this CPU.*AVX-512.*onnxruntime"):
        asr_module.MoonshineASR(MEL, runtime="library").transcribe(np.full(1600, 0.1, np.float32))


def test_moonshine_resamples_other_rates(moonshine):
    slow = MelConfig(sample_rate=8000, n_fft=512, win_length=512, hop_length=128, n_mels=40, f_max=4000.0)
    import soxr

    wave = soxr.resample(flite(SENTENCE, "awb"), MEL.sample_rate, slow.sample_rate).astype(np.float32)
    assert text_scores([build_judge("asr", slow).asr.transcribe(wave)], [SENTENCE])["wer"] <= 0.15


def test_asr_judge_both_recognisers_side_by_side(speech, moonshine):
    scores = build_judge("asr", MEL, recognizers=ASR_CHOICES["both"])(speech["awb"], SENTENCE)
    assert set(scores) == {"transcript", "wer", "transcript_pocketsphinx", "wer_pocketsphinx"}
    assert scores["wer"] <= 0.05 and scores["wer_pocketsphinx"] <= 0.2


@pytest.mark.slow
def test_asr_transcript_does_not_depend_on_the_previous_clip(speech, noise):
    # pocketsphinx's noise removal used to carry its estimate from one utterance to the next: this noisy clip was
    # transcribed differently after a clip of loud noise
    asr = build_judge("asr", MEL, recognizers=ASR_CHOICES["pocketsphinx"]).asr
    clip = speech["awb"] + 0.2 * noise[: speech["awb"].size]
    first = asr.transcribe(clip)
    asr.transcribe(3 * noise)
    assert asr.transcribe(clip) == first


def test_digit_judge_on_flite_digits(moonshine):
    judge = build_judge("digit", MEL, second_opinion=True)
    scores = [judge(flite(word, "awb"), digit) for digit, word in enumerate(DIGIT_WORDS)]
    assert sum(s["correct"] for s in scores) >= 9
    assert sum(s["correct_moonshine"] for s in scores) >= 8


def test_digit_from_transcript():
    assert digit_from_transcript("Seven.") == 7 and digit_from_transcript("7") == 7
    assert digit_from_transcript("one") == 1 and digit_from_transcript("Zero!") == 0
    assert digit_from_transcript("") is None and digit_from_transcript("seven eight") is None
    assert digit_from_transcript("seventeen") is None
    assert digit_from_transcript("For.") == 4 and digit_from_transcript("Won") == 1  # homophones of a lone digit
    assert digit_from_transcript("Euro.") is None and digit_from_transcript("for you") is None


def test_speaker_similarity_same_vs_different(speech):
    judge = build_judge("speaker", MEL)
    other = flite("four green apples are on the table near the window", "awb")
    identical = judge(speech["awb"], speech["awb"])["similarity"]
    same_speaker = judge(speech["awb"], other)["similarity"]
    different = judge(speech["slt"], other)["similarity"]
    assert identical > 0.99
    assert same_speaker > different + 0.1


def test_pesq_estoi_si_sdr_identical_vs_noise(speech, noise):
    clean = speech["awb"]
    noisy = clean + 0.3 * noise[: clean.size] / np.abs(noise).max()
    assert build_judge("pesq", MEL)(clean, clean)["pesq"] >= 4.4
    assert build_judge("pesq", MEL)(noisy, clean)["pesq"] < 2.5
    assert build_judge("estoi", MEL)(clean, clean)["estoi"] > 0.99
    assert build_judge("estoi", MEL)(noisy, clean)["estoi"] < 0.9
    assert build_judge("si_sdr", MEL)(clean, clean)["si_sdr"] > 60
    assert build_judge("si_sdr", MEL)(noise[: clean.size], clean)["si_sdr"] < -10


def test_si_sdr_is_scale_invariant(speech, noise):
    clean, estimate = speech["rms"], speech["rms"] + 0.05 * noise[: speech["rms"].size]
    assert si_sdr(clean, 0.1 * estimate) == pytest.approx(si_sdr(clean, estimate), abs=1e-6)
    assert si_sdr(clean, estimate) > si_sdr(clean, clean + 0.5 * noise[: clean.size])


def test_dnsmos_prefers_speech_to_noise(speech, noise):
    judge = build_judge("dnsmos", MEL)
    clean = judge(speech["slt"])
    assert set(clean) == {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}
    assert clean["dnsmos_ovrl"] > judge(noise)["dnsmos_ovrl"] + 0.5


def test_equal_error_rate():
    assert equal_error_rate([0.9, 0.8, 0.95], [0.1, 0.2, 0.3])[0] == 0.0
    eer, _ = equal_error_rate(np.linspace(0, 1, 101), np.linspace(0, 1, 101))
    assert 0.45 <= eer <= 0.55
    with pytest.raises(ValueError):
        equal_error_rate([], [0.1])


def test_rtf_measures_wall_clock_per_audio_second(monkeypatch):
    import types

    from diffs2st.judges import speed

    # A clock that only the work moves (0.02 s a call), so a loaded machine cannot change the answer; the warm-up
    # call moves it too but must not be counted.
    now = [0.0]
    monkeypatch.setattr(speed, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    def run(seconds):
        now[0] += 0.02
        return seconds

    result = measure_rtf(run, [1.0, 1.0], warmup=1)
    assert result["audio_seconds"] == 2.0 and result["wall_seconds"] == pytest.approx(0.04)
    assert result["rtf"] == pytest.approx(0.02) and result["peak_rss_mib"] > 10


def test_s2st_summary_counts_word_loops_per_recogniser():
    from diffs2st.evaluation import KINDS

    rows = [{"transcript": "the table table", "transcript_pocketsphinx": "the table", "reference": "the table"},
            {"transcript": "a cat", "transcript_pocketsphinx": "a cat", "reference": "a cat"}]
    summary = KINDS.get("s2st").summarize(rows)
    assert summary["asr_loop_rate"] == 0.5 and summary["asr_loop_rate_pocketsphinx"] == 0.0


def _harmonic_tone(f0: float, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.1 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))).astype(np.float32)


def test_pitch_judge_hears_known_f0_and_no_pitch_in_silence_or_noise(noise):
    judge = build_judge("pitch", MEL)
    scores = judge(_harmonic_tone(120.0), _harmonic_tone(240.0))
    assert scores["f0_median"] == pytest.approx(120.0, rel=0.03)
    assert scores["ref_f0_median"] == pytest.approx(240.0, rel=0.03)
    assert scores["f0_range"] < 1.0 and scores["voiced_fraction"] > 0.8  # a steady tone: under a semitone
    for quiet in (np.zeros(16000, np.float32), noise[:16000], np.zeros(100, np.float32)):
        assert np.isnan(judge(quiet)["f0_median"])


def test_pitch_judge_tells_a_low_voice_from_a_high_one(speech):
    judge = build_judge("pitch", MEL)
    low, high = judge(speech["awb"])["f0_median"], judge(speech["slt"])["f0_median"]  # a man, a woman
    assert 70 < low < 160 < high < 300
