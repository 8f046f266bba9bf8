"""Readers of real corpora, run on tiny corpora written in the real layouts (tests/fixtures_real_corpora.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffs2st.cli.main import main
from diffs2st.data.manifest import EnhancementRecord, S2STRecord, SpeechRecord, read_manifest, resolve_audio
from diffs2st.data.readers import READERS, read_corpus
from diffs2st.errors import ConfigError, DataError
from fixtures_real_corpora import (CVSS_ROWS, MP3_AVAILABLE, MP3_SKIP_REASON, VCTK, VOICEBANK, clip_name,
                                   make_audiomnist, make_cvss, make_fsdd, make_vctk, make_voicebank, write_tone)

needs_mp3 = pytest.mark.skipif(not MP3_AVAILABLE, reason=MP3_SKIP_REASON)
WAV_TOLERANCE = 1e-3
MP3_TOLERANCE = 0.06  # encoder delay/padding: up to about two 1152-sample frames at 48 kHz


def resolves_to(manifest_dir: Path, relative: str, expected: Path) -> bool:
    """`resolve_audio` of ``relative`` (from a manifest in ``manifest_dir``) is ``expected`` and exists."""
    resolved = resolve_audio(manifest_dir / "manifest.jsonl", relative)
    return resolved == expected.resolve() and resolved.is_file()


def test_registry_holds_the_six_readers():
    assert READERS.names() == ["audiomnist", "cvss-c", "cvss-t", "fsdd", "vctk", "voicebank-demand"]
    with pytest.raises(ConfigError, match="known: audiomnist"):
        READERS.get("librispeech")


# --- CVSS ----------------------------------------------------------------------------------------------------

@pytest.fixture
def cvss(tmp_path):
    if not MP3_AVAILABLE:
        pytest.skip(MP3_SKIP_REASON)
    return make_cvss(tmp_path / "cvss_c", tmp_path / "cv-corpus-4" / "fr")


@needs_mp3
@pytest.mark.parametrize("name", ["cvss-c", "cvss-t"])
def test_cvss_records_pair_common_voice_sources_with_cvss_targets(cvss, tmp_path, name):
    manifests = tmp_path / "manifests" / "deep"
    manifests.mkdir(parents=True)
    result = read_corpus(name, tmp_path / "cvss_c", manifests, source_root=cvss["cv_root"])  # default: train
    rows = CVSS_ROWS["train"]
    assert [r.id for r in result.records] == [clip_name(n).removesuffix(".mp3") for n, *_ in rows]
    for record, (number, english, french, client, seconds) in zip(result.records, rows):
        assert isinstance(record, S2STRecord)
        assert (record.speaker, record.src_text, record.tgt_text) == (client, french, english)
        assert (record.src_lang, record.tgt_lang) == ("fr", "en")
        assert not Path(record.src_audio).is_absolute() and record.src_audio.startswith("../../")
        assert resolves_to(manifests, record.src_audio, cvss["cv_root"] / "clips" / clip_name(number))
        assert resolves_to(manifests, record.tgt_audio, cvss["cvss_dir"] / "train" / f"{clip_name(number)}.wav")
        assert record.src_duration == pytest.approx(seconds, abs=MP3_TOLERANCE)
        assert record.tgt_duration == pytest.approx(seconds + 0.2, abs=WAV_TOLERANCE)
    assert result.hours == pytest.approx(sum(r.src_duration for r in result.records) / 3600)
    assert result.missing == []


@needs_mp3
def test_cvss_dev_split_and_unnested_release_folder(tmp_path):
    make_cvss(tmp_path / "cvss_t_fr_en_v1.0", tmp_path / "cv", nested=False)
    result = read_corpus("cvss-t", tmp_path / "cvss_t_fr_en_v1.0", tmp_path, split="dev", source_root=tmp_path / "cv")
    assert [(r.id, r.tgt_text) for r in result.records] == [("common_voice_fr_19176154", "where is the station?")]


@needs_mp3
def test_cvss_missing_target_audio_is_an_error_unless_skipped(cvss, tmp_path):
    lost = cvss["cvss_dir"] / "train" / f"{clip_name(17732750)}.wav"
    lost.unlink()
    with pytest.raises(DataError, match=r"1 of 3 rows .*_17732750: tgt_audio .* missing.*--skip-missing"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, source_root=cvss["cv_root"])
    result = read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, source_root=cvss["cv_root"], skip_missing=True)
    assert [r.id for r in result.records] == ["common_voice_fr_17732749", "common_voice_fr_17732751"]
    assert [row_id for row_id, _ in result.missing] == ["common_voice_fr_17732750"]
    assert str(lost) in result.missing[0][1]


@needs_mp3
def test_cvss_clip_without_common_voice_row_or_source_audio_is_reported(cvss, tmp_path):
    (cvss["cv_root"] / "train.tsv").unlink()  # the only tsv listing clip 17732751
    (cvss["cv_root"] / "clips" / clip_name(17732749)).unlink()
    result = read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, source_root=cvss["cv_root"], skip_missing=True)
    problems = dict(result.missing)
    assert [r.id for r in result.records] == ["common_voice_fr_17732750"]
    assert "in no Common Voice tsv" in problems["common_voice_fr_17732751"]
    assert "src_audio" in problems["common_voice_fr_17732749"]


@needs_mp3
def test_cvss_layout_errors_name_what_is_missing(cvss, tmp_path):
    with pytest.raises(DataError, match="--source-root"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path)
    with pytest.raises(DataError, match=r"missing CVSS root folder .*nowhere.*expected layout"):
        read_corpus("cvss-c", tmp_path / "nowhere", tmp_path, source_root=cvss["cv_root"])
    with pytest.raises(DataError, match=r"no clips/ folder in Common Voice root"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, source_root=tmp_path / "cvss_c")
    (cvss["cvss_dir"] / "test.tsv").write_text(f"{clip_name(1)}\tone\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing CVSS test target audio folder .*fr/test"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, split="test", source_root=cvss["cv_root"])
    with pytest.raises(DataError, match="has no split 'validation'"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, split="validation", source_root=cvss["cv_root"])


@needs_mp3
def test_cvss_tsv_with_a_wrong_column_count_names_the_line(cvss, tmp_path):
    (cvss["cvss_dir"] / "dev.tsv").write_text("only_one_column\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.tsv:1: expected 2 tab-separated columns"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, split="dev", source_root=cvss["cv_root"])
    (cvss["cvss_dir"] / "dev.tsv").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.tsv lists no clips"):
        read_corpus("cvss-c", tmp_path / "cvss_c", tmp_path, split="dev", source_root=cvss["cv_root"])


# --- VoiceBank-DEMAND ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("split, stem", [("train", "trainset_28spk"), ("test", "testset")])
def test_voicebank_pairs_with_text_noise_and_snr(tmp_path, split, stem):
    root = tmp_path / "DS_10283_2791"
    make_voicebank(root)
    result = read_corpus("voicebank-demand", root, tmp_path, split=split)
    expected = VOICEBANK[stem]
    assert [r.id for r in result.records] == [row[0] for row in expected]
    for record, (utterance_id, text, noise, snr, seconds) in zip(result.records, expected):
        assert isinstance(record, EnhancementRecord)
        assert (record.speaker, record.text, record.noise_family, record.snr_db) == (utterance_id[:4], text, noise, snr)
        assert record.duration == pytest.approx(seconds, abs=WAV_TOLERANCE)
        assert resolves_to(tmp_path, record.clean_audio, root / f"clean_{stem}_wav" / f"{utterance_id}.wav")
        assert resolves_to(tmp_path, record.noisy_audio, root / f"noisy_{stem}_wav" / f"{utterance_id}.wav")


def test_voicebank_without_optional_text_and_log(tmp_path):
    make_voicebank(tmp_path / "vb", with_text=False, with_log=False)
    result = read_corpus("voicebank-demand", tmp_path / "vb", tmp_path, split="test")
    assert [(r.text, r.noise_family, r.snr_db) for r in result.records] == [(None, None, None)]
    assert any("no transcript folder" in note for note in result.notes)


def test_voicebank_missing_noisy_file_and_missing_folder(tmp_path):
    root = tmp_path / "vb"
    make_voicebank(root)
    (root / "noisy_trainset_28spk_wav" / "p226_002.wav").unlink()
    with pytest.raises(DataError, match=r"1 of 3 rows .*p226_002: noisy_audio"):
        read_corpus("voicebank-demand", root, tmp_path)
    assert len(read_corpus("voicebank-demand", root, tmp_path, skip_missing=True).records) == 2
    with pytest.raises(DataError, match=r"missing clean train56 folder .*clean_trainset_56spk_wav"):
        read_corpus("voicebank-demand", root, tmp_path, split="train56")


def test_an_unreadable_audio_file_is_reported_not_crashing(tmp_path):
    root = tmp_path / "vb"
    make_voicebank(root)
    (root / "clean_testset_wav" / "p232_001.wav").write_bytes(b"not audio at all")
    with pytest.raises(DataError, match=r"p232_001: clean_audio .* unreadable"):
        read_corpus("voicebank-demand", root, tmp_path, split="test")


# --- VCTK ----------------------------------------------------------------------------------------------------

def test_vctk_092_flac_prefers_mic1_falls_back_to_mic2_and_notes_untranscribed_audio(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    make_vctk(root)
    result = read_corpus("vctk", root, tmp_path)
    assert [(r.id, r.speaker, r.text) for r in result.records] == [(i, i[:4], t) for i, t, _ in VCTK]
    audio = {r.id: r.audio for r in result.records}
    assert audio["p225_001"].endswith("p225_001_mic1.flac") and audio["p226_001"].endswith("p226_001_mic2.flac")
    assert resolves_to(tmp_path, audio["p225_002"], root / "wav48_silence_trimmed" / "p225" / "p225_002_mic1.flac")
    assert [r.duration for r in result.records] == pytest.approx([0.30, 0.40, 0.55], abs=WAV_TOLERANCE)
    assert result.notes == ["1 utterances have audio but no transcript and were left out (p315_001)"]


def test_vctk_080_wav_layout_and_missing_audio(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    make_vctk(root, release="0.80")
    assert [r.audio.rsplit("/", 1)[1] for r in read_corpus("vctk", root, tmp_path).records] == [
        "p225_001.wav", "p225_002.wav", "p226_001.wav"]
    (root / "wav48" / "p226" / "p226_001.wav").unlink()
    with pytest.raises(DataError, match=r"1 of 3 rows .*p226_001: audio .*wav48/p226/p226_001.wav missing"):
        read_corpus("vctk", root, tmp_path)


def test_vctk_has_no_splits_and_needs_its_folders(tmp_path):
    make_vctk(tmp_path / "vctk")
    with pytest.raises(DataError, match="VCTK has no splits"):
        read_corpus("vctk", tmp_path / "vctk", tmp_path, split="train")
    with pytest.raises(DataError, match="takes no source root"):
        read_corpus("vctk", tmp_path / "vctk", tmp_path, source_root=tmp_path)
    (tmp_path / "bare" / "txt").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no VCTK audio folder \(wav48_silence_trimmed or wav48\)"):
        read_corpus("vctk", tmp_path / "bare", tmp_path)


# --- spoken digits -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("subfolder", ["", "data"])
def test_audiomnist_labels_words_speakers_and_durations(tmp_path, subfolder):
    files = make_audiomnist(tmp_path / "AudioMNIST")
    result = read_corpus("audiomnist", tmp_path / "AudioMNIST" / subfolder, tmp_path)
    by_id = {r.id: r for r in result.records}
    assert len(by_id) == len(files) == 8
    for speaker, digit, index, seconds in files:
        record = by_id[f"{digit}_{speaker}_{index}"]
        assert isinstance(record, SpeechRecord)
        assert (record.label, record.speaker, record.lang) == (digit, speaker, "en")
        assert record.text == {"0": "zero", "7": "seven", "9": "nine"}[digit]
        assert record.duration == pytest.approx(seconds, abs=WAV_TOLERANCE)
        assert resolves_to(tmp_path, record.audio, tmp_path / "AudioMNIST" / "data" / speaker / f"{record.id}.wav")


def test_audiomnist_odd_file_names_are_noted_and_missing_data_is_an_error(tmp_path):
    make_audiomnist(tmp_path / "am")
    write_tone(tmp_path / "am" / "data" / "01" / "vp01_take2.wav", 0.1, 48000)
    result = read_corpus("audiomnist", tmp_path / "am", tmp_path)
    assert len(result.records) == 8 and "vp01_take2.wav" in result.notes[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no speaker folders \(01..60\) in .*empty"):
        read_corpus("audiomnist", tmp_path / "empty", tmp_path)


@pytest.mark.parametrize("split, indices", [("all", {0, 4, 5, 7, 49}), ("test", {0, 4}), ("train", {5, 7, 49})])
def test_fsdd_official_split_by_recording_index(tmp_path, split, indices):
    files = make_fsdd(tmp_path / "fsdd")
    result = read_corpus("fsdd", tmp_path / "fsdd", tmp_path, split=split)
    expected = sorted(f"{d}_{s}_{i}" for s, d, i, _ in files if i in indices)
    assert sorted(r.id for r in result.records) == expected
    for record in result.records:
        digit, speaker, index = record.id.split("_")
        assert (record.label, record.speaker) == (digit, speaker)
        assert record.text == {"1": "one", "4": "four", "8": "eight"}[digit]
        assert record.duration == pytest.approx(0.25 + 0.02 * int(index), abs=WAV_TOLERANCE)


def test_fsdd_missing_recordings_folder(tmp_path):
    with pytest.raises(DataError, match=r"missing FSDD root folder .*nope"):
        read_corpus("fsdd", tmp_path / "nope", tmp_path)


# --- CLI -----------------------------------------------------------------------------------------------------

def test_cli_import_round_trip(tmp_path, capsys):
    make_fsdd(tmp_path / "fsdd")
    (tmp_path / "manifests").mkdir()
    out = tmp_path / "manifests" / "fsdd_test.jsonl"
    assert main(["data", "import", "fsdd", str(tmp_path / "fsdd"), "--out", str(out), "--split", "test"]) == 0
    summary = capsys.readouterr().out
    records = read_manifest(out, SpeechRecord)
    assert len(records) == 4 and "fsdd test: 4 records" in summary and str(out) in summary
    assert all(resolve_audio(out, r.audio).is_file() for r in records)
    hours = sum(r.duration for r in records) / 3600
    assert f"{hours:.2f} h" in summary


@needs_mp3
def test_cli_cvss_skip_missing_reports_and_writes_the_rest(cvss, tmp_path, capsys):
    (cvss["cvss_dir"] / "train" / f"{clip_name(17732751)}.wav").unlink()
    out = tmp_path / "cvss_train.jsonl"
    args = ["data", "import", "cvss-t", str(tmp_path / "cvss_c"), "--out", str(out),
            "--source-root", str(cvss["cv_root"])]
    assert main(args) == 2 and not out.exists()
    assert "common_voice_fr_17732751" in capsys.readouterr().err
    assert main([*args, "--skip-missing"]) == 0
    assert "skipped: 1 of 3 rows" in capsys.readouterr().err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        "common_voice_fr_17732749", "common_voice_fr_17732750"]
    assert len(read_manifest(out, S2STRecord)) == 2


def test_cli_missing_folder_is_one_error_line(tmp_path, capsys):
    code = main(["data", "import", "voicebank-demand", str(tmp_path / "missing"), "--out", str(tmp_path / "m.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: missing VoiceBank-DEMAND root folder") and "expected layout" in err
