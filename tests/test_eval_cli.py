"""`diffs2st eval` end to end on tiny fixture corpora: reports exist with their fields; missing outputs fail."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig
from diffs2st.cli.main import main
from diffs2st.data.manifest import EnhancementRecord, S2STRecord, SpeechRecord, write_manifest
from diffs2st.data.tts import espeak, flite

SR = MelConfig().sample_rate
PAIRS = [("le chat noir dort", "the black cat is sleeping"), ("il mange une pomme", "he eats an apple"),
         ("nous allons au marché", "we are going to the market")]
VOICES = [("awb", "m1"), ("awb", "m1"), ("slt", "f2")]


@pytest.fixture(scope="module")
def s2st_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("s2st")
    records = []
    for index, ((fr, en), (voice, variant)) in enumerate(zip(PAIRS, VOICES)):
        sf.write(root / f"src{index}.wav", espeak(fr, "fr", variant), SR)
        sf.write(root / f"tgt{index}.wav", flite(en, voice), SR)
        records.append(S2STRecord(id=f"utt{index}", speaker=voice, src_audio=f"src{index}.wav", src_text=fr,
                                  tgt_text=en, tgt_audio=f"tgt{index}.wav"))
    return write_manifest(root / "test.jsonl", records)


@pytest.mark.slow
def test_s2st_ceiling_then_system_with_fraction(s2st_corpus, tmp_path, capsys, moonshine):
    assert main(["eval", "s2st", str(s2st_corpus), "--reference", "-o", str(tmp_path), "--name", "ceiling",
                 "--jobs", "1"]) == 0
    ceiling = json.loads((tmp_path / "ceiling.json").read_text())
    assert ceiling["summary"]["asr_bleu"] > 40 and len(ceiling["per_utterance"]) == 3
    # Moonshine (unsuffixed) and pocketsphinx side by side, per base voice too
    assert ceiling["asr"] == ["moonshine", "pocketsphinx"]
    assert ceiling["moonshine_runtime"] in ("library", "onnxruntime")  # which of Moonshine's two ran the judge
    assert {"asr_bleu_pocketsphinx", "asr_wer_pocketsphinx"} <= set(ceiling["summary"])
    assert ceiling["summary"]["asr_wer"] <= 0.1  # Moonshine hears clean flite (awb: "he ate an apple")
    assert set(ceiling["summary"]["by_voice"]) == {"awb", "slt"}
    assert ceiling["summary"]["by_voice"]["awb"]["utterances"] == 2
    assert ceiling["summary"]["asr_loop_rate"] == 0.0  # the references say no word twice in a row
    assert "asr_bleu_pocketsphinx" in (tmp_path / "ceiling.md").read_text()
    assert {"sim_to_source", "sim_to_target", "sim_wrong_speaker", "dnsmos_ovrl"} <= set(ceiling["summary"])
    alone = [row for row in ceiling["per_utterance"] if row["voice"] == "slt"]  # slt says one sentence only:
    assert len(alone) == 1 and "sim_to_target" not in alone[0] and "ref_f0_median" not in alone[0]  # no self-pair
    assert ceiling["summary"]["f0_utterances"] == 2 and 0.8 < ceiling["summary"]["f0_median_ratio"] < 1.25
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for index in range(3):  # a "system" that speaks every answer with the female voice
        sf.write(outputs / f"utt{index}.wav", flite(PAIRS[index][1], "slt"), SR)
    assert main(["eval", "s2st", str(s2st_corpus), "--outputs", str(outputs), "-o", str(tmp_path),
                 "--ceiling", str(tmp_path / "ceiling.json"), "--jobs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "fraction of ceiling" in printed
    report = (tmp_path / "report.md").read_text()
    assert "diffs2st eval s2st" in report and (tmp_path / "report_distributions.png").exists()
    system = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert system["sim_to_target"] < ceiling["summary"]["sim_to_target"]  # wrong voice for the male speakers


@pytest.mark.slow
def test_judges_leave_the_callers_process_as_it_was(s2st_corpus, moonshine):
    # judges run in worker processes: the caller's torch threads and CPU affinity do not change (they used to be
    # set to one thread in the caller when jobs <= 1)
    import os

    import torch

    from diffs2st.evaluation import evaluate, plan_items

    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not 1, so a judge setting one thread in this process would show
    try:
        affinity = os.sched_getaffinity(0)
        items = plan_items("s2st", s2st_corpus, None, reference=True, limit=2)
        summary, rows = evaluate("s2st", items, MelConfig(), jobs=1, asr="moonshine", progress=False)
        assert len(rows) == 2 and "asr_bleu" in summary and "asr_bleu_pocketsphinx" not in summary
        assert torch.get_num_threads() == 3 and os.sched_getaffinity(0) == affinity
    finally:
        torch.set_num_threads(before)


def test_missing_outputs_are_one_line_error(s2st_corpus, tmp_path, capsys):
    outputs = tmp_path / "partial"
    outputs.mkdir()
    shutil.copy(s2st_corpus.parent / "tgt0.wav", outputs / "utt0.wav")
    code = main(["eval", "s2st", str(s2st_corpus), "--outputs", str(outputs), "-o", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "2 of 3 outputs are missing (first: utt1, utt2)" in err[0]


def test_st_text_hypotheses(s2st_corpus, tmp_path):
    hypotheses = tmp_path / "hyp.jsonl"
    hypotheses.write_text("\n".join(json.dumps({"id": f"utt{i}", "src_text": fr, "tgt_text": en if i else "a dog"})
                                    for i, (fr, en) in enumerate(PAIRS)) + "\n")
    assert main(["eval", "st", str(s2st_corpus), "--outputs", str(hypotheses), "-o", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert summary["src_bleu"] == pytest.approx(100.0) and summary["src_wer"] == 0.0
    assert 0 < summary["tgt_wer"] < 1 and summary["tgt_bleu"] < 100


@pytest.mark.slow
def test_enhance_noisy_floor_vs_clean_ceiling(tmp_path):
    clean = flite("four green apples are on the table", "rms")
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(clean.size).astype(np.float32)
    sf.write(tmp_path / "clean.wav", clean, SR)
    sf.write(tmp_path / "noisy.wav", noisy, SR)
    manifest = write_manifest(tmp_path / "test.jsonl", [EnhancementRecord(
        id="e0", speaker="rms", clean_audio="clean.wav", noisy_audio="noisy.wav", noise_family="white", snr_db=5.0)])
    for flag, name in (("--reference", "clean"), ("--noisy", "noisy")):
        assert main(["eval", "enhance", str(manifest), flag, "-o", str(tmp_path), "--name", name,
                     "--jobs", "1"]) == 0
    top = json.loads((tmp_path / "clean.json").read_text())["summary"]
    floor = json.loads((tmp_path / "noisy.json").read_text())["summary"]
    assert top["pesq"] > 4.4 and floor["pesq"] < top["pesq"] - 1 and floor["si_sdr"] < top["si_sdr"]
    assert "by_family/white" in floor and "by_snr/5" in floor


@pytest.mark.slow
def test_digits_accuracy(tmp_path, moonshine):
    records = []
    for digit, word in enumerate(["zero", "one", "two"]):
        sf.write(tmp_path / f"{digit}.wav", flite(word, "awb"), SR)
        records.append(SpeechRecord(id=str(digit), speaker="awb", audio=f"{digit}.wav", text=word, label=str(digit)))
    manifest = write_manifest(tmp_path / "digits.jsonl", records)
    assert main(["eval", "digits", str(manifest), "--reference", "-o", str(tmp_path), "--jobs", "1"]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["accuracy"] == 1.0


@pytest.mark.slow
def test_data_check_on_a_tiny_corpus(s2st_corpus, tmp_path, capsys, moonshine):
    """Two speakers in a 3-utterance corpus: WER per speaker, same/different-speaker EER, durations."""
    import shutil as sh

    corpus = tmp_path / "corpus"
    sh.copytree(s2st_corpus.parent, corpus)
    (corpus / "test.jsonl").rename(corpus / "test-seen-speakers.jsonl")
    assert main(["data", "check", str(corpus), "--jobs", "1"]) == 0
    report = json.loads((corpus / "selfcheck" / "selfcheck.json").read_text())
    overall = report["summary"]["overall"]
    assert overall["utterances"] == 3 and overall["speakers"] == 2 and overall["target_wer"] < 0.3
    assert set(overall["wer_by_speaker"]) == {"awb", "slt"}
    assert overall["sim_same_target_target"] > overall["sim_different_target_target"]
    assert (corpus / "selfcheck" / "selfcheck_wer_by_speaker.png").exists()
    assert "Goals:" in (corpus / "selfcheck" / "selfcheck.md").read_text()
    code = main(["data", "check", str(tmp_path / "nothing")])
    assert code == 2 and "holds none of the manifests" in capsys.readouterr().err


def test_same_base_voice_pairs_only_compare_speakers_of_one_flite_voice():
    """The within-base-voice EER's different-speaker pairs share a base voice; same-speaker pairs are unchanged."""
    import random

    from diffs2st.data.selfcheck import _pair_scores

    rows = [{"speaker": s, "base_voice": v, "tgt_embedding": np.array(e, dtype=float)}
            for s, v, e in [("a", "slt", [1, 0]), ("a", "slt", [1, 0]), ("b", "slt", [0.6, 0.8]),
                            ("c", "awb", [0, 1]), ("c", "awb", [0, 1])]]
    same, different = _pair_scores(rows, "tgt_embedding", "tgt_embedding", False, random.Random(0))
    same_voice, different_voice = _pair_scores(rows, "tgt_embedding", "tgt_embedding", False, random.Random(0),
                                               same_base_voice=True)
    assert sorted(same) == sorted(same_voice) == [1.0] * 4
    assert sorted(different_voice) == pytest.approx([0.6] * 4)  # a-b both ways; never a-c or b-c
    assert len(different) == 16 and min(different) == 0.0


def test_st_scores_each_voice_family(tmp_path):
    families = ["kokoro", "kokoro", "espeak-ng"]
    records = [S2STRecord(id=f"utt{i}", speaker=f"spk{i}", src_audio=f"src{i}.wav", src_text=fr, tgt_text=en,
                          speaker_spec={"family": family, "base_voice": f"voice{i}"})
               for i, ((fr, en), family) in enumerate(zip(PAIRS, families))]
    manifest = write_manifest(tmp_path / "test.jsonl", records)
    hypotheses = tmp_path / "hyp.jsonl"  # the espeak-ng utterance is mistranslated, the kokoro ones are exact
    hypotheses.write_text("\n".join(json.dumps({"id": r.id, "src_text": r.src_text,
                                                "tgt_text": r.tgt_text if i < 2 else "a dog"})
                                    for i, r in enumerate(records)) + "\n")
    assert main(["eval", "st", str(manifest), "--outputs", str(hypotheses), "-o", str(tmp_path)]) == 0
    by_family = json.loads((tmp_path / "report.json").read_text())["summary"]["by_family"]
    assert {f: s["utterances"] for f, s in by_family.items()} == {"espeak-ng": 1, "kokoro": 2}
    assert by_family["kokoro"]["tgt_bleu"] == pytest.approx(100.0) and by_family["espeak-ng"]["tgt_bleu"] < 50
    assert by_family["espeak-ng"]["src_wer"] == 0.0


def test_f0_summary_compares_outputs_with_their_references():
    from diffs2st.evaluation import f0_summary

    rows = [{"f0_median": 110.0, "ref_f0_median": 100.0, "f0_range": 4.0, "ref_f0_range": 5.0},
            {"f0_median": 200.0, "ref_f0_median": 200.0, "f0_range": 6.0, "ref_f0_range": 6.0},
            {"f0_median": 260.0, "ref_f0_median": 200.0, "f0_range": 2.0, "ref_f0_range": 7.0},
            {"f0_median": float("nan"), "ref_f0_median": 150.0},  # an output without pitch: a miss
            {"f0_median": 120.0, "ref_f0_median": float("nan")}]  # no reference pitch: not judged
    summary = f0_summary(rows)
    assert summary["f0_utterances"] == 4 and summary["f0_unvoiced"] == 0.25
    assert summary["f0_median"] == 200.0 and summary["ref_f0_median"] == 200.0 and summary["f0_median_ratio"] == 1.0
    assert summary["f0_within_tolerance"] == pytest.approx(2 / 4)  # 10 % off is within, 30 % and unvoiced are not
    assert summary["f0_range"] == 4.0 and summary["ref_f0_range"] == 6.0
    assert f0_summary([{"f0_median": float("nan"), "ref_f0_median": 1.0}]) == {
        "f0_utterances": 1, "f0_unvoiced": 1.0, "f0_within_tolerance": 0.0}
    assert f0_summary([{"f0_median": 1.0, "ref_f0_median": float("nan")}]) == {}


def test_encoder_similarity_pairs_like_the_judges(s2st_corpus, tmp_path):
    """Our encoder's similarity uses the judged pairs: the ceiling leaves the lone speaker out (no self-pair), a
    system is compared with each record's own reference (an output equal to it scores 1)."""
    from diffs2st.evaluation import encoder_similarity, plan_items
    from diffs2st.speaker import SpeakerEncoder, SpeakerEncoderConfig

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    encoder = SpeakerEncoder(SpeakerEncoderConfig(channels=8, dilations=(2,), attention_dim=4, embedding_dim=6,
                                                  speakers=("a", "b"))).eval()
    ceiling = encoder_similarity(plan_items("s2st", s2st_corpus, None, reference=True), encoder)
    assert ceiling["encoder_pairs"] == 2 and -1.0 <= ceiling["sim_to_target_encoder"] <= 1.0
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for index in range(3):  # a "system" that returns the reference itself
        shutil.copy(s2st_corpus.parent / f"tgt{index}.wav", outputs / f"utt{index}.wav")
    system = encoder_similarity(plan_items("s2st", s2st_corpus, outputs), encoder)
    assert system["encoder_pairs"] == 3 and system["sim_to_target_encoder"] == pytest.approx(1.0, abs=1e-5)
