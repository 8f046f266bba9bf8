"""Moonshine base-en in a child process: run as a script (``python moonshine_child.py PACKAGE_FOLDER``), it loads
the model once and answers transcription requests on stdin/stdout until stdin closes.

Why a child: the library's ``moonshine_transcribe`` leaks ~40 MB per call (measured: 1.9 GB after 30 calls, growing
on the same clips again), so a long evaluation in one process ran the machine out of memory. `MoonshineASR`
restarts this child every few dozen calls, which returns the memory to the system.

Protocol (little-endian): request = uint64 sample count + that many float32 samples at 16 kHz; reply = int32 status
(0 ok, else the library's error code) + uint32 byte count + UTF-8 text. Standard library only, so a start costs the
model load and nothing else (no torch, no package import).
"""

import ctypes
import struct
import sys
from pathlib import Path

BASE_MODEL_TYPE = 1  # MOONSHINE_MODEL_TYPE_BASE in moonshine's C API


def load(folder: Path):
    """(library, model handle) from the installed moonshine-cpp package folder."""
    runtime = sorted(folder.glob("libonnxruntime.so*")) + sorted(folder.glob("libonnxruntime*.dylib"))
    library_path = folder / ("libmoonshine.dylib" if (folder / "libmoonshine.dylib").exists() else "libmoonshine.so")
    if not runtime or not library_path.exists():
        raise SystemExit(f"moonshine-cpp at {folder} has no ONNX Runtime or libmoonshine library")
    ctypes.CDLL(str(runtime[0]), mode=ctypes.RTLD_GLOBAL)  # libmoonshine links against this exact runtime
    library = ctypes.CDLL(str(library_path))
    library.moonshine_load_model.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32)
    library.moonshine_load_model.restype = ctypes.c_int
    library.moonshine_transcribe.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                             ctypes.POINTER(ctypes.c_char_p))
    library.moonshine_transcribe.restype = ctypes.c_int
    library.moonshine_free_text.argtypes = (ctypes.c_char_p,)
    library.moonshine_free_text.restype = None
    models = folder / "models" / "base-en"
    files = [models / name for name in ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise SystemExit(f"moonshine-cpp is missing its base-en model files: {', '.join(missing)}")
    handle = library.moonshine_load_model(*(str(path).encode() for path in files), BASE_MODEL_TYPE)
    if handle < 0:
        raise SystemExit(f"moonshine could not load its model from {models}")
    return library, handle


def transcribe(library, handle: int, samples: bytes) -> tuple[int, bytes]:
    count = len(samples) // 4
    if count == 0:
        return 0, b""  # the C API refuses an empty buffer; an empty clip has no words
    buffer = (ctypes.c_float * count).from_buffer_copy(samples)
    text = ctypes.c_char_p()
    status = library.moonshine_transcribe(handle, buffer, count, ctypes.byref(text))
    if status != 0:
        return status, b""
    try:
        return 0, text.value or b""
    finally:
        if text.value is not None:
            library.moonshine_free_text(text)


def read_exactly(stream, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def main() -> int:
    library, handle = load(Path(sys.argv[1]))
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    replies.write(struct.pack("<iI", 0, 0))  # ready
    replies.flush()
    while True:
        header = read_exactly(requests, 8)
        if header is None:
            return 0
        (count,) = struct.unpack("<Q", header)
        samples = read_exactly(requests, 4 * count)
        if samples is None:
            return 0
        status, text = transcribe(library, handle, samples)
        replies.write(struct.pack("<iI", status, len(text)) + text)
        replies.flush()


if __name__ == "__main__":
    sys.exit(main())
