"""Streaming and long-form S2ST: VAD segmentation, the streaming translator, the long-form command, subtitles."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig
from diffs2st.audio.vad import VADS, Segmenter, build_vad, segment_wave
from diffs2st.errors import ConfigError

RATE = MelConfig().sample_rate


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Two flite sentences between pauses of 0.6-0.9 s, and where the speech of each lies (samples)."""
    from diffs2st.data.tts import flite

    pieces, spans, position = [], [], 0
    for text, pause in (("The black cat is sleeping.", 0.6), ("Where is the station?", 0.9)):
        gap, said = np.zeros(int(pause * RATE), np.float32), flite(text, "slt")
        loud = np.flatnonzero(np.abs(said) > 0.02)  # flite's clips start and end with some silence
        spans.append((position + gap.size + loud[0], position + gap.size + loud[-1]))
        pieces += [gap, said]
        position += gap.size + said.size
    pieces.append(np.zeros(int(0.5 * RATE), np.float32))
    return np.concatenate(pieces), spans


def bursts(seconds: float, on: float = 1.5, off: float = 0.8, seed: int = 0) -> np.ndarray:
    """Harmonic bursts ``on`` s long every ``on + off`` s (the energy VAD hears them as speech)."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 5)) * ((t % (on + off)) < on)
    return (0.3 * wave + 1e-4 * np.random.default_rng(seed).standard_normal(t.size)).astype(np.float32)


def spans(segments) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in segments]


@pytest.mark.parametrize("vad", ["silero", "webrtc", "energy"])
def test_every_chunk_size_gives_the_same_segments(speech, vad):
    wave, truth = speech
    reference = segment_wave(wave, vad, RATE, chunk_samples=wave.size)  # all at once
    assert len(reference) == 2
    for (start, end), (said_start, said_end) in zip(spans(reference), truth):  # each sentence whole, in one piece
        assert start <= said_start and end >= said_end - int(0.1 * RATE)
    for chunk in (7, 320, 1600, 4000):  # below a frame, 20 ms, 100 ms, 250 ms
        again = segment_wave(wave, vad, RATE, chunk_samples=chunk)
        assert spans(again) == spans(reference)
        assert all(np.array_equal(a.wave, wave[a.start:a.end]) for a in again)


def test_a_trimmed_lead_in_starts_each_segment_at_its_first_sound(speech):
    wave, _ = speech
    padded = segment_wave(wave, "silero", RATE)
    trimmed = segment_wave(wave, "silero", RATE, trim_lead_db=-50.0)
    assert spans(segment_wave(wave, "silero", RATE, chunk_samples=333, trim_lead_db=-50.0)) == spans(trimmed)
    for a, b in zip(padded, trimmed):
        first = a.start + int(np.flatnonzero(np.abs(a.wave) > 10 ** -2.5 * np.abs(a.wave).max())[0])
        assert b.start == first > a.start and b.end == a.end and np.array_equal(b.wave, wave[b.start:b.end])


@pytest.mark.parametrize("noise", ["white", "pink", "hum", "bursts"])
def test_silence_and_noise_alone_hold_no_speech(noise):
    from diffs2st.data.noise import NOISES

    assert segment_wave(np.zeros(3 * RATE, np.float32), "silero", RATE) == []
    loud = 0.1 * NOISES.get(noise)(3 * RATE, np.random.default_rng(0), RATE)
    assert segment_wave(loud, "silero", RATE) == []


def test_long_speech_is_cut_at_the_maximum_length_and_nothing_is_dropped():
    wave = bursts(10.0, on=10.0, off=0.0)  # 10 s without a pause
    segments = segment_wave(wave, "energy", RATE, max_segment_seconds=2.0)
    assert len(segments) >= 5 and all(s.end - s.start <= 2 * RATE for s in segments)
    assert all(a.end == b.start for a, b in zip(segments, segments[1:]))  # cut pieces touch
    assert segments[0].start == 0 and segments[-1].end == wave.size
    assert np.array_equal(np.concatenate([s.wave for s in segments]), wave)


def test_segments_are_ordered_padded_and_never_overlap():
    wave = bursts(12.0)
    segments = segment_wave(wave, "energy", RATE)
    on = np.flatnonzero(np.abs(wave) > 0.01)
    assert len(segments) == 6
    assert all(a.end <= b.start for a, b in zip(segments, segments[1:]))
    covered = np.zeros(wave.size, bool)
    for s in segments:
        covered[s.start:s.end] = True
        assert s.start <= s.speech_end <= s.end <= s.decided
    assert covered[on].all()  # every loud sample is in a segment


def test_a_guess_comes_before_each_final_segment_and_is_replaced_when_speech_goes_on():
    wave = np.concatenate([bursts(4.6, on=1.5, off=0.8), bursts(3.18, on=1.5, off=0.18),  # pauses 0.8 s, then 0.18 s
                           np.zeros(RATE // 2, np.float32)])
    segmenter, events = Segmenter(build_vad("energy", RATE), speculate_seconds=0.13), []
    for start in range(0, wave.size, 640):
        events += segmenter.push(wave[start:start + 640])
    events += segmenter.flush()
    finals = [e for e in events if e.final]
    assert [(f.start, f.end) for f in finals] == spans(segment_wave(wave, "energy", RATE))  # guesses change nothing
    guesses = [g for g in events if not g.final]
    kept = [g for g in guesses if any((g.start, g.end) == (f.start, f.end) for f in finals)]
    assert len(finals) == 3 and len(kept) == 3 and len(guesses) == 4  # the 0.18 s pause's guess is dropped
    for guess in kept:
        final = next(f for f in finals if f.start == guess.start)
        assert guess.decided < final.decided and np.array_equal(guess.wave, final.wave)


def test_vad_registry_and_options_fail_clearly():
    assert set(VADS.names()) >= {"silero", "webrtc", "energy"}
    with pytest.raises(ConfigError, match="known: .*silero"):
        build_vad("nope", RATE)
    with pytest.raises(ConfigError, match="16000"):
        build_vad("silero", 22050)
    with pytest.raises(ConfigError, match="pad_seconds"):
        Segmenter(build_vad("energy", RATE), min_silence_seconds=0.1, pad_seconds=0.2)
    from diffs2st.errors import AudioError

    with pytest.raises(AudioError, match="NaN"):
        Segmenter(build_vad("energy", RATE)).push(np.array([0.0, np.nan], np.float32))


def test_long_input_is_segmented_in_bounded_memory(tmp_path):
    """A long file read block by block through the segmenter: peak traced memory does not grow with its length
    (the 1-hour case scaled down: 1 vs 4 minutes)."""
    from diffs2st.s2st.streaming import file_blocks

    def peak_for(minutes: int) -> tuple[int, int]:
        path = tmp_path / f"{minutes}.wav"
        with sf.SoundFile(str(path), "w", RATE, 1, "PCM_16") as handle:
            for _ in range(minutes):
                handle.write(bursts(60.0, on=1.5, off=0.5))  # 30 bursts a minute
        segmenter, found = Segmenter(build_vad("energy", RATE)), 0
        tracemalloc.start()
        for block in file_blocks(path, RATE, block_seconds=1.0):
            found += len(segmenter.push(block))
        found += len(segmenter.flush())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, found

    short_peak, short_found = peak_for(1)
    long_peak, long_found = peak_for(4)
    assert (short_found, long_found) == (30, 120)  # every burst found
    four_minutes = 4 * 60 * RATE * 4  # bytes of the whole input as float32
    assert long_peak < 1.2 * short_peak + 100_000 and long_peak < four_minutes / 20


def test_file_blocks_match_a_whole_file_decode(tmp_path):
    from diffs2st.audio import load_audio
    from diffs2st.s2st.streaming import file_blocks, pcm_blocks

    stereo = np.stack([bursts(3.0), 0.5 * bursts(3.0)], axis=1)
    import soxr

    path = tmp_path / "in.wav"
    sf.write(path, soxr.resample(stereo, RATE, 44100), 44100)
    whole = load_audio(path, RATE)
    streamed = np.concatenate(list(file_blocks(path, RATE, block_seconds=0.37)))
    assert abs(streamed.size - whole.size) <= 1
    n = min(streamed.size, whole.size)
    assert np.corrcoef(streamed[:n], whole[:n])[0, 1] > 0.999

    import io

    pcm = (bursts(1.0) * 32767).astype("<i2")
    blocks = list(pcm_blocks(io.BytesIO(pcm.tobytes() + b"\x01"), RATE, block_seconds=0.0313))  # odd block bytes
    assert np.allclose(np.concatenate(blocks), pcm / 32768.0)


def tiny_translator(tmp_path):
    from test_s2st import tiny_pretrained

    from diffs2st.s2st.translator import Translator

    folder = tiny_pretrained(tmp_path / "pretrained")
    return folder, Translator.from_pretrained(folder, vocoder="griffin-lim")


def test_stream_yields_each_segment_with_times_text_audio_and_latency(tmp_path, speech):
    wave, truth = speech
    _, translator = tiny_translator(tmp_path)
    chunks = [wave[i:i + 640] for i in range(0, wave.size, 640)]  # 40 ms chunks
    segments = list(translator.stream(iter(chunks), steps=1))
    assert len(segments) == 2 and [s.index for s in segments] == [0, 1]
    for segment, (said_start, said_end) in zip(segments, truth):
        assert segment.start * RATE <= said_start and segment.tgt_text and segment.wave.size
        assert segment.ready_at >= segment.end >= segment.speech_end and segment.latency > 0
    assert segments[1].ready_at > segments[0].ready_at
    # the voice is learnt from what was heard: a fixed reference gives other audio for the same words
    fixed = list(translator.stream(iter(chunks), voice=wave[truth[1][0]:truth[1][1]], steps=1))
    assert [s.tgt_text for s in fixed] == [s.tgt_text for s in segments]
    assert not np.allclose(fixed[0].wave, segments[0].wave)
    assert list(translator.stream(iter([np.zeros(RATE, np.float32)] * 3), steps=1)) == []
    # translating on a guess (the default) hands out the same segments as waiting for the whole pause
    waited = list(translator.stream(iter(chunks), steps=1, speculate_seconds=None))
    assert [(s.start, s.end, s.tgt_text) for s in waited] == [(s.start, s.end, s.tgt_text) for s in segments]
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(waited, segments))


def test_keep_timing_places_segments_at_their_source_start():
    import torch

    from diffs2st.s2st.streaming import MAX_STRETCH, OutputTimeline, StreamSegment, stretch_mel

    def segment(start, end, seconds):
        frames = int(seconds * RATE / 256)
        return StreamSegment(0, start, end, end, "fr", "en", np.full(frames * 256, 0.1, np.float32),
                             np.zeros((80, frames), np.float32), end, 0.1, 0.1)

    vocoder = lambda mel: torch.full((mel.shape[-1] * 256,), 0.2)  # noqa: E731 - a stand-in: 256 samples a frame
    timeline = OutputTimeline(RATE, keep_timing=True, vocoder=vocoder)
    first, placed = timeline.place(segment(1.0, 3.0, 1.5))
    assert placed == RATE and first.size == RATE + int(1.5 * RATE / 256) * 256  # silence, then as it was
    second, placed = timeline.place(segment(3.2, 4.2, 2.0))  # too long for its 1 s: sped up by at most 1.25
    assert placed == int(3.2 * RATE) and second.size - (placed - int(first.size)) == round(
        int(2.0 * RATE / 256) / MAX_STRETCH) * 256
    timeline.tail(10.0)
    assert timeline.cursor == 10 * RATE  # silence to the source's end: the dub is as long as the source
    assert stretch_mel(np.ones((80, 100), np.float32), 1.25).shape == (80, 80)
    plain = OutputTimeline(RATE)
    a, _ = plain.place(segment(1.0, 3.0, 1.0))
    b, at = plain.place(segment(5.0, 6.0, 1.0))
    assert at == a.size + int(0.15 * RATE) and plain.tail(10.0).size == 0  # back to back with a short pause


def test_long_form_command_writes_audio_subtitles_and_segments(tmp_path, speech, capsys):
    import srt
    import webvtt

    from diffs2st.cli.main import main

    wave, _ = speech
    folder, _ = tiny_translator(tmp_path)
    source = tmp_path / "talk.wav"
    sf.write(source, wave, RATE)
    common = ["--model", str(folder), "--vocoder", "griffin-lim", "--steps", "1"]
    out = tmp_path / "out.wav"
    assert main(["translate", str(source), "-o", str(out), "--srt", str(tmp_path / "s.srt"),
                 "--vtt", str(tmp_path / "s.vtt"), "--segments-json", str(tmp_path / "s.json"), *common]) == 0
    rows = json.loads((tmp_path / "s.json").read_text())["segments"]
    assert len(rows) == 2 and sf.info(out).frames > 0
    cues = list(srt.parse((tmp_path / "s.srt").read_text()))
    assert [c.content for c in cues] == [f"{r['src_text']}\n{r['tgt_text']}" for r in rows]
    assert np.allclose([c.start.total_seconds() for c in cues], [r["start"] for r in rows], atol=1e-3)
    captions = webvtt.read(str(tmp_path / "s.vtt")).captions
    assert [c.text for c in captions] == [c.content for c in cues]
    assert np.allclose([float(c.end[-6:]) for c in captions], [r["end"] for r in rows], atol=1e-3)

    # streaming from raw PCM on stdin, dubbed at source times: as long as the input
    capsys.readouterr()
    pcm = (wave * 32767).astype("<i2").tobytes()
    import io
    import sys

    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(pcm))
    try:
        assert main(["translate", "--stream", "-", "-o", str(tmp_path / "dub.wav"), "--keep-timing",
                     "--chunk-ms", "20", *common]) == 0
    finally:
        sys.stdin = stdin
    printed = capsys.readouterr().out
    assert printed.count("latency") == 3 and sf.info(tmp_path / "dub.wav").frames == wave.size

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(20 * RATE, np.float32), RATE)
    assert main(["translate", str(silent), "-o", str(tmp_path / "none.wav"), *common]) == 0
    assert "no speech found" in capsys.readouterr().out and sf.info(tmp_path / "none.wav").frames == 0
    assert main(["translate", str(source), "-o", str(out), "--srt", str(tmp_path / "s.txt"), *common]) == 2
    before = out.read_bytes()
    assert main(["translate", str(source), "-o", str(out), "--max-seconds", "1", *common]) == 2
    assert out.read_bytes() == before and not list(tmp_path.glob(".*partial"))  # nothing written, nothing left


def test_the_voice_is_the_mean_of_the_speaker_heard_so_far_and_restarts_for_a_new_one():
    import torch

    from diffs2st.s2st.streaming import SpeakerTracker

    class Encoder:  # hands out preset unit embeddings, one per call
        def __init__(self, vectors):
            self.vectors = iter(torch.nn.functional.normalize(torch.tensor(vectors), dim=-1)[:, None])

        def embed_waves(self, waves):
            return next(self.vectors)

    tracker = SpeakerTracker(Encoder([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0], [0.5, 0.5]]))
    first, memory = tracker.propose(None, 2.0)
    tracker.accept(memory)
    second, memory = tracker.propose(None, 2.0)  # the same speaker: the mean of both
    tracker.accept(memory)
    assert 0.0 < float(second[0, 1]) < 0.3 / np.hypot(0.9, 0.3)
    third, memory = tracker.propose(None, 1.0)  # far from it: a new speaker, heard alone
    assert torch.allclose(third, torch.tensor([[0.0, 1.0]]))
    guess, _ = tracker.propose(None, 1.0)  # the memory only moves when a segment is accepted
    assert float(torch.nn.functional.cosine_similarity(guess, second)) > 0.9
