"""The row cache of `diffs2st.evaluation.evaluate`: a killed run resumes, stale rows are judged again, and the result
is the one an uncached run gives. Text kinds (``st``: no judge models) keep these tests fast."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig
from diffs2st.cli.main import main
from diffs2st.data.manifest import S2STRecord, write_manifest
from diffs2st.errors import DataError
from diffs2st.evaluation import KINDS, RowCache, evaluate, judge_code_fingerprint, judge_specs, plan_items, row_key

PAIRS = [("le chat noir dort", "the black cat is sleeping"), ("il mange une pomme", "he eats an apple"),
         ("nous allons au marché", "we are going to the market"), ("elle lit un livre", "she reads a book"),
         ("le train part", "the train leaves")]
SR = MelConfig().sample_rate


class Heard(dict):
    """A hypothesis that records which utterances the scorer read, and can stop the run at one of them."""

    def __init__(self, entry: dict, log: list, stop: bool = False) -> None:
        super().__init__(entry)
        self.log, self.stop = log, stop

    def get(self, key, default=None):
        if self.stop:
            raise KeyboardInterrupt  # the run is killed while judging this utterance
        if key == "tgt_text":
            self.log.append(self["id"])
        return super().get(key, default)


@pytest.fixture()
def corpus(tmp_path):
    records = [S2STRecord(id=f"utt{i}", speaker=f"spk{i % 2}", src_audio=f"src{i}.wav", src_text=fr, tgt_text=en,
                          tgt_audio=f"tgt{i}.wav", speaker_spec={"family": ("kokoro", "flite")[i % 2],
                                                                 "base_voice": "v"})
               for i, (fr, en) in enumerate(PAIRS)]
    rng = np.random.default_rng(0)
    for i in range(len(PAIRS)):
        for side in ("src", "tgt"):
            sf.write(tmp_path / f"{side}{i}.wav", 0.1 * rng.standard_normal(SR // 10).astype(np.float32), SR)
    manifest = write_manifest(tmp_path / "test.jsonl", records)
    hypotheses = tmp_path / "hyp.jsonl"
    hypotheses.write_text("".join(json.dumps({"id": r.id, "src_text": r.src_text,
                                              "tgt_text": r.tgt_text if i % 3 else "a dog"}) + "\n"
                                  for i, r in enumerate(records)))
    return manifest, hypotheses


def watched(items, log, stop_at=None):
    return [type(item)(item.record, item.output, Heard(item.hypothesis, log, index == stop_at), item.same_speaker,
                       item.other_speaker, item.manifest) for index, item in enumerate(items)]


def test_a_killed_run_resumes_and_equals_an_uncached_run(corpus, tmp_path):
    manifest, hypotheses = corpus
    items = plan_items("st", manifest, hypotheses)
    expected = evaluate("st", items, MelConfig(), progress=False)
    cache = tmp_path / "rows.jsonl"
    log: list = []
    with pytest.raises(KeyboardInterrupt):  # killed while judging the fourth utterance: three rows are kept
        evaluate("st", watched(items, log, stop_at=3), MelConfig(), progress=False, cache=cache)
    assert log == ["utt0", "utt1", "utt2"] and len(cache.read_text().splitlines()) == 3
    log.clear()
    assert evaluate("st", watched(items, log), MelConfig(), progress=False, cache=cache) == expected
    assert log == ["utt3", "utt4"]  # only the rest was judged
    log.clear()
    assert evaluate("st", watched(items, log), MelConfig(), progress=False, cache=cache) == expected
    assert log == [] and len(cache.read_text().splitlines()) == 5


def test_a_changed_output_is_judged_again(corpus, tmp_path):
    manifest, hypotheses = corpus
    cache = tmp_path / "rows.jsonl"
    evaluate("st", plan_items("st", manifest, hypotheses), MelConfig(), progress=False, cache=cache)
    lines = hypotheses.read_text().splitlines()
    lines[1] = json.dumps({"id": "utt1", "src_text": "x", "tgt_text": "a cat"})
    hypotheses.write_text("\n".join(lines) + "\n")
    items, log = plan_items("st", manifest, hypotheses), []
    summary, rows = evaluate("st", watched(items, log), MelConfig(), progress=False, cache=cache)
    assert log == ["utt1"] and rows[1]["tgt_hypothesis"] == "a cat"
    assert (summary, rows) == evaluate("st", items, MelConfig(), progress=False)


def test_row_key_follows_the_audio_content_partners_and_judges(corpus):
    manifest, _ = corpus
    spec, mel = KINDS.get("s2st"), MelConfig()
    code = judge_code_fingerprint(spec.score)

    def key(items, asr="both"):
        return row_key("s2st", items[0], judge_specs(spec.judges, asr), mel, code)

    items = plan_items("s2st", manifest, None, reference=True)
    first = key(items)
    assert key(plan_items("s2st", manifest, None, reference=True)) == first  # the same inputs, the same key
    assert key(items, asr="moonshine") != first  # other judges
    output = manifest.parent / "tgt0.wav"
    wave, _ = sf.read(output)
    sf.write(output, wave * 0.5, SR)  # the output's content changed (same path, same size)
    assert key(items) != first
    sf.write(output, wave, SR)
    assert key(items) == first
    sf.write(manifest.parent / "tgt2.wav", wave, SR)  # the same-speaker partner's audio (utt2) changed
    assert key(items) != first
    assert row_key("st", items[0], {}, mel, code) != row_key("st", items[0], {}, mel, code + "0")  # judge code


def test_a_cut_last_line_is_skipped_and_a_foreign_file_refused(tmp_path):
    cache = tmp_path / "rows.jsonl"
    cache.write_text(json.dumps({"key": "a", "id": "x", "row": {"v": 1.5}}) + "\n" + '{"key": "b", "id"')
    store = RowCache(cache)
    assert store.rows == {"a": {"v": 1.5}}
    store.add("c", "y", {"v": np.float32(2.0), "n": float("nan")})
    again = RowCache(cache).rows
    assert set(again) == {"a", "c"} and again["c"]["v"] == 2.0 and np.isnan(again["c"]["n"])
    assert len(cache.read_text().splitlines()) == 2  # the cut line is gone
    foreign = tmp_path / "manifest.jsonl"
    foreign.write_text('{"id": "utt0"}\n{"id": "utt1"}\n')
    with pytest.raises(DataError, match="not a row cache line"):
        RowCache(foreign)


def test_eval_cli_cache_option(corpus, tmp_path):
    manifest, hypotheses = corpus
    cache = tmp_path / "cache" / "rows.jsonl"
    for name in ("first", "second"):
        assert main(["eval", "st", str(manifest), "--outputs", str(hypotheses), "-o", str(tmp_path), "--name", name,
                     "--cache", str(cache)]) == 0
    assert len(cache.read_text().splitlines()) == len(PAIRS)  # the second run judged nothing new
    first, second = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("first", "second"))
    assert first["summary"] == second["summary"] and first["per_utterance"] == second["per_utterance"]
    assert main(["eval", "st", str(manifest), "--outputs", str(hypotheses), "-o", str(tmp_path), "--cache",
                 str(cache), "--rejudge-from", str(tmp_path / "first.json")]) == 2
