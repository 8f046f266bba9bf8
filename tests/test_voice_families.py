"""Corpus v2: voice families (one renderer each), speaker sampling, held-out voices, the v2 builder's splits,
determinism from the seed, and seeded augmentation."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random

import numpy as np
import pytest

from diffs2st.cli.main import main
from diffs2st.data import kokoro
from diffs2st.data.augment import NOISY_TEST, AugmentConfig, Augmenter
from diffs2st.data.builders import synth_cvss_v2
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.data.tts import flite
from diffs2st.data.voices import (ESPEAK_VARIANTS, FAMILIES, FLITE_VOICES, VoiceSpec, heldout_anchors,
                                  sample_voices, speak, spec_from_dict, split_counts)
from diffs2st.errors import ConfigError, DataError

SR = 16000
NO_KOKORO = {"espeak-ng": 0.5, "flite": 0.5}


def digest(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "corpus.json" and ".cache" not in p.parts}


def test_every_family_is_registered_with_base_voices_and_heldout_voices_never_train():
    assert set(FAMILIES) == {"espeak-ng", "flite", "kokoro"}
    assert sum(len(FAMILIES.get(name).bases) for name in FAMILIES) >= 15
    seen = sample_voices({"espeak-ng": 30, "flite": 30, "kokoro": 30}, "seen", random.Random(0), "spk")
    unseen = sample_voices({"espeak-ng": 10, "flite": 10, "kokoro": 10}, "unseen-speakers", random.Random(1), "new")
    held = sample_voices({"espeak-ng": 4, "kokoro": 4}, "unseen-voices", random.Random(2), "voice")
    assert not set().union(*(s.anchors for s in seen + unseen)) & heldout_anchors()
    assert all(s.anchors & heldout_anchors() for s in held)
    assert {"espeak-ng", "kokoro"} == {s.family for s in held}
    blends = [s for s in seen if s.family == "kokoro" and len(s.blend) == 2]
    assert blends and all(abs(sum(w for _, w in s.blend) - 1) < 1e-6 for s in blends)
    for spec in seen[:5] + held[:3]:
        assert spec_from_dict(spec.to_dict()) == spec
    flite_french = {french for _, french in FLITE_VOICES.values()}  # no French clip shared by two English families
    assert len(flite_french) == len(FLITE_VOICES) and not flite_french & set(ESPEAK_VARIANTS)
    with pytest.raises(ConfigError, match="no base voice"):
        VoiceSpec("x", "flite", "m", "m3", "m3")
    with pytest.raises(ConfigError, match="holds no voice out"):
        sample_voices({"flite": 1}, "unseen-voices", random.Random(0), "x")


def test_sampling_is_deterministic_and_shares_add_up():
    a = sample_voices({"espeak-ng": 7, "kokoro": 5}, "seen", random.Random(3), "s")
    b = sample_voices({"espeak-ng": 7, "kokoro": 5}, "seen", random.Random(3), "s")
    assert a == b and len({s.id for s in a}) == 12
    assert split_counts(10, {"a": 0.45, "b": 0.40, "c": 0.15}) == {"a": 5, "b": 4, "c": 1}
    assert split_counts(3, {"a": 0.9, "b": 0.05, "c": 0.05}, at_least_one=True) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("family", ["espeak-ng", "flite"])
def test_a_family_speaks_both_languages_deterministically(family):
    spec = sample_voices({family: 1}, "seen", random.Random(0), "t")[0]
    french, english = speak("le chat dort.", "fr", spec), speak("the cat is sleeping.", "en", spec)
    assert french.dtype == np.float32 and 0.3 * SR < french.size and 0.3 * SR < english.size
    assert np.array_equal(english, speak("the cat is sleeping.", "en", spec))


def test_festival_kd_speaks_english():
    spec = VoiceSpec("kd", "flite", "m", "kd", "m7")
    wave = speak("the cat is sleeping.", "en", spec)
    assert wave.size > 0.5 * SR and np.abs(wave).max() > 0.05


@pytest.mark.slow
@pytest.mark.skipif(not kokoro.available(), reason="the Kokoro wheels are not installed (make setup installs them)")
def test_kokoro_blend_speaks_both_languages_peak_normalised(tmp_path):
    engine = kokoro.engine(tmp_path / "cache")
    assert (tmp_path / "cache" / kokoro.MODEL_NAME).is_file()
    assert "(" not in engine.phonemize("le week-end", "fr")  # no language-switch flags reach the model
    blend = (("jf_alpha", 0.5), ("jm_kumo", 0.5))
    wave, rate = engine.speak("The cat sleeps.", "en", blend)
    assert rate == 24000 and abs(float(np.abs(wave).max()) - kokoro.PEAK) < 1e-5 and wave.size > 0.4 * rate
    spec = VoiceSpec("k", "kokoro", "f", "jf_alpha", "jf_alpha", blend, 1.05, 1.0, 1.0)
    french = speak("Le chat dort.", "fr", spec, tmp_path / "cache")
    assert french.size > 0.4 * SR
    with pytest.raises(Exception, match="sum to 1"):
        kokoro.blend_style({"jf_alpha": 0.7, "jm_kumo": 0.7}, engine.styles)


def test_augmentation_is_seeded_and_steps_can_be_switched_off():
    wave = flite("the black cat is sleeping", "awb")
    everything = AugmentConfig(speed_probability=1, reverb_probability=1, bandlimit_probability=1,
                               codec_probability=1, noise_probability=1)
    state = np.random.get_state()[1].copy(), random.getstate()
    first, applied = Augmenter(everything)(wave, 11)
    again, _ = Augmenter(everything)(wave, 11)
    other, _ = Augmenter(everything)(wave, 12)
    assert np.array_equal(first, again) and not np.array_equal(first[:1000], other[:1000])
    assert set(applied) == {"speed", "reverb", "bandlimit", "codec", "noise"}
    assert Augmenter(everything).draw(11) == applied  # the steps alone, without audio
    assert np.array_equal(Augmenter(everything).apply(wave, applied), first)
    assert abs(first.size - wave.size / applied["speed"]) < 2
    assert np.array_equal(np.random.get_state()[1], state[0]) and random.getstate() == state[1]  # globals untouched
    nothing, applied = Augmenter(AugmentConfig(speed_probability=0, reverb_probability=0, bandlimit_probability=0,
                                               codec_probability=0, noise_probability=0))(wave, 11)
    assert applied == {} and np.allclose(nothing, wave)
    noisy, applied = Augmenter(NOISY_TEST)(wave, 3)
    assert set(applied) == {"reverb", "noise"} and 5 <= applied["noise"]["snr_db"] <= 20
    with pytest.raises(ConfigError, match="unknown noise family"):
        AugmentConfig(noise_families=("thunder",))


def test_silence_padding_is_drawn_last_and_adds_digital_silence():
    """Padding draws after every other step, so configurations without it (test-noisy) draw what they drew before;
    with it, the wave gains zeros before and after (then any later step, e.g. noise, covers them too)."""
    wave = np.full(1600, 0.1, dtype=np.float32)
    padded_config = dataclasses.replace(NOISY_TEST, pad_probability=1.0, pad_seconds=(0.1, 0.3))
    steps = Augmenter(padded_config).draw(3)
    assert {k: v for k, v in steps.items() if k != "pad"} == Augmenter(NOISY_TEST).draw(3)
    quiet = AugmentConfig(speed_probability=0, reverb_probability=0, bandlimit_probability=0, codec_probability=0,
                          noise_probability=0, pad_probability=1.0, pad_seconds=(0.1, 0.3))
    out, applied = Augmenter(quiet)(wave, 4)
    before, after = (round(seconds * 16000) for seconds in applied["pad"])
    assert 1600 <= before <= 4800 and 1600 <= after <= 4800 and out.size == wave.size + before + after
    assert not out[:before].any() and not out[out.size - after:].any() and np.allclose(out[before:before + 1600], 0.1)
    with pytest.raises(ConfigError, match="pad_seconds"):
        AugmentConfig(pad_seconds=(-0.1, 0.2))


@pytest.fixture(scope="module")
def tiny_v2(tmp_path_factory):
    root = tmp_path_factory.mktemp("v2")
    synth_cvss_v2.build(root / "a", train=8, dev=2, test=3, speakers=4, unseen_speakers=2, unseen_voices=1,
                        mix=NO_KOKORO, seed=5, jobs=2)
    return root


@pytest.mark.slow
def test_v2_splits_are_disjoint_and_held_out_voices_stay_out_of_train(tiny_v2):
    splits = {s: read_manifest(tiny_v2 / "a" / f"{s}.jsonl", S2STRecord) for s in synth_cvss_v2.SPLITS}
    assert [len(splits[s]) for s in synth_cvss_v2.SPLITS] == [8, 2, 3, 3, 3, 3, 2]
    train_text = {r.src_text for r in splits["train"]} | {r.tgt_text for r in splits["train"]}
    assert not any(r.src_text in train_text or r.tgt_text in train_text for s in synth_cvss_v2.SPLITS[1:]
                   for r in splits[s])
    train_speakers = {r.speaker for r in splits["train"]}
    for split in ("test-unseen-speakers", "test-unseen-voices"):
        assert {r.speaker for r in splits[split]}.isdisjoint(train_speakers)
    held = heldout_anchors()
    assert not set().union(*(spec_from_dict(r.speaker_spec).anchors for r in splits["train"])) & held
    assert all(spec_from_dict(r.speaker_spec).anchors & held for r in splits["test-unseen-voices"])
    noisy, clean = splits["test-noisy"], splits["test-unseen-speakers"]
    assert [r.tgt_audio for r in noisy] == [r.tgt_audio for r in clean]
    assert [r.src_text for r in noisy] == [r.src_text for r in clean]
    a = resolve_audio(tiny_v2 / "a" / "test-noisy.jsonl", noisy[0].src_audio)
    b = resolve_audio(tiny_v2 / "a" / "test-unseen-speakers.jsonl", clean[0].src_audio)
    assert a.read_bytes() != b.read_bytes()
    assert len((tiny_v2 / "a" / "test-noisy.conditions.jsonl").read_text().splitlines()) == 3
    dev_noisy, dev = splits["dev-noisy"], splits["dev"]  # the dev pairs, degraded with seeds of their own
    assert [(r.src_text, r.tgt_audio) for r in dev_noisy] == [(r.src_text, r.tgt_audio) for r in dev]
    seeds = {split: {json.loads(line)["seed"] for line in (tiny_v2 / "a" / f"{split}.conditions.jsonl").open()}
             for split in ("test-noisy", "dev-noisy")}
    assert len(seeds["dev-noisy"]) == 2 and seeds["dev-noisy"].isdisjoint(seeds["test-noisy"])


@pytest.mark.slow
def test_v2_same_seed_same_bytes_other_seed_other_plan(tiny_v2, tmp_path):
    synth_cvss_v2.build(tmp_path / "b", train=8, dev=2, test=3, speakers=4, unseen_speakers=2, unseen_voices=1,
                        mix=NO_KOKORO, seed=5, jobs=1)
    assert digest(tiny_v2 / "a") == digest(tmp_path / "b")
    plan = synth_cvss_v2.plan(tmp_path, 8, 2, 3, 4, 2, 1, NO_KOKORO, seed=6)[0]
    assert [j.fr for j in plan] != [j.fr for j in synth_cvss_v2.plan(tmp_path, 8, 2, 3, 4, 2, 1, NO_KOKORO, 5)[0]]


@pytest.mark.slow
def test_v2_renders_again_only_the_records_whose_voices_changed(tiny_v2, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_v2 / "a", copy)
    before = digest(copy)
    flite_family = FAMILIES.get("flite")  # flite speakers' French said by other espeak-ng variants
    monkeypatch.setattr(flite_family, "bases", {name: dataclasses.replace(voice, french="m8" if voice.gender == "m"
                                                                          else "f5")
                                                for name, voice in flite_family.bases.items()})
    rendered = []
    render_pair = synth_cvss_v2.render_pair
    monkeypatch.setattr(synth_cvss_v2, "render_pair", lambda job: (rendered.append(job.id), render_pair(job)))
    synth_cvss_v2.build(copy, train=8, dev=2, test=3, speakers=4, unseen_speakers=2, unseen_voices=1,
                        mix=NO_KOKORO, seed=5, jobs=1)
    records = {r.id: r for split in synth_cvss_v2.SYNTHESIZED
               for r in read_manifest(copy / f"{split}.jsonl", S2STRecord)}
    flite_ids = {uid for uid, r in records.items() if r.speaker_spec["family"] == "flite"}
    assert flite_ids and sorted(rendered) == sorted(flite_ids)
    assert {records[uid].speaker_spec["french_voice"] for uid in flite_ids} <= {"m8", "f5"}
    after = digest(copy)
    changed = {path for path in before if before[path] != after[path]}
    assert {path.split("/")[-1].split(".")[0] for path in changed if path.endswith(".fr.wav")} >= flite_ids
    assert not any(path.endswith(".wav") and path.split("/")[-1].split(".")[0] not in flite_ids
                   and "noisy" not in path for path in changed)


@pytest.mark.slow
def test_v2_split_manifests_appear_as_their_splits_finish(tmp_path, monkeypatch):
    # a build stopped in train (hours long at the default size) leaves the test and dev splits usable
    render = synth_cvss_v2.render_pair

    def stop_in_train(job):
        if job.split == "train":
            raise KeyboardInterrupt
        render(job)

    monkeypatch.setattr(synth_cvss_v2, "render_pair", stop_in_train)
    with pytest.raises(KeyboardInterrupt):
        synth_cvss_v2.build(tmp_path, train=8, dev=2, test=3, speakers=4, unseen_speakers=2, unseen_voices=1,
                            mix=NO_KOKORO, seed=5, jobs=1)
    assert {path.stem for path in tmp_path.glob("*.jsonl")} == {"test-seen-speakers", "test-unseen-speakers",
                                                              "test-unseen-voices", "dev"}
    assert len(read_manifest(tmp_path / "dev.jsonl", S2STRecord)) == 2


def test_v2_plan_at_default_size_meets_the_corpus_goals(tmp_path):
    """The default plan (no synthesis): ≥ 3 families, ≥ 200 training speakers, ≥ 15 base voices, and every
    family in every test split."""
    d = synth_cvss_v2.DEFAULTS
    jobs, noisy = synth_cvss_v2.plan(tmp_path, d["train"], d["dev"], d["test"], d["speakers"], d["unseen_speakers"],
                                     d["unseen_voices"], synth_cvss_v2.DEFAULT_MIX, 0)
    synth_cvss_v2.check_plan(jobs)
    train = [j for j in jobs if j.split == "train"]
    assert len({j.speaker.family for j in train}) >= 3 and len({j.speaker.id for j in train}) >= 200
    assert len(set().union(*(j.speaker.anchors for j in jobs))) >= 15
    for split in ("test-seen-speakers", "test-unseen-speakers"):
        assert {j.speaker.family for j in jobs if j.split == split} == set(FAMILIES)
    assert {j.speaker.family for j in jobs if j.split == "test-unseen-voices"} == {"espeak-ng", "kokoro"}
    assert len(noisy) == d["test"] + d["dev"]  # test-noisy and dev-noisy
    assert sum(n.id.startswith("dev-noisy-") for n in noisy) == d["dev"]


def test_v2_cli_errors_and_v1_options(tmp_path, capsys):
    assert main(["data", "build", "synth-cvss", "--out", str(tmp_path / "x"), "--mix", "opera=1"]) == 2
    assert "unknown voice family 'opera'" in capsys.readouterr().err
    assert main(["data", "build", "synth-cvss", "--voices", "v1", "--out", str(tmp_path / "y"), "--mix",
                 "flite=1"]) == 2
    assert "belong to --voices v2" in capsys.readouterr().err
    with pytest.raises(DataError, match="one seen speaker per family"):
        synth_cvss_v2.build(tmp_path / "z", train=1, dev=0, test=0, speakers=1, mix=NO_KOKORO)


@pytest.mark.slow
def test_data_check_reports_families_base_voices_and_goals(tiny_v2, tmp_path, moonshine):
    import json

    out = tmp_path / "check"
    assert main(["data", "check", str(tiny_v2 / "a"), "--jobs", "1", "--max-per-split", "2", "-o", str(out)]) == 0
    summary = json.loads((out / "selfcheck.json").read_text())["summary"]
    assert summary["corpus"]["families"] == ["espeak-ng", "flite"] and summary["corpus"]["train_speakers"] == 4
    assert "espeak-ng:m5" in summary["corpus"]["base_voices"]  # the held-out variant, from test-unseen-voices
    assert set(summary["families"]["test-unseen-voices"]) == {"espeak-ng"}
    assert "target_wer" not in summary["splits"]["test-noisy"]  # its targets are test-unseen-speakers' own
    assert "eer_encoder_target_target" in summary["overall"]
    assert summary["goals"][">= 200 training speakers"] is False
    assert (out / "selfcheck_families.png").is_file() and "By voice family" in (out / "selfcheck.md").read_text()


def test_self_check_samples_families_in_turn_and_v1_corpora_as_before():
    from diffs2st.data.selfcheck import balanced_sample

    def records(families):
        return [S2STRecord(id=str(i), speaker="s", src_audio="a", src_text="x", tgt_text="y",
                           speaker_spec={"family": f} if f else None) for i, f in enumerate(families)]

    picked = balanced_sample(records(["kokoro"] * 3 + ["flite"] * 17), 8, random.Random(0))
    assert sorted(r.speaker_spec["family"] for r in picked) == ["flite"] * 5 + ["kokoro"] * 3
    plain = records([None] * 20)
    shuffled = list(plain)
    random.Random(0).shuffle(shuffled)
    assert balanced_sample(plain, 5, random.Random(0)) == shuffled[:5]
