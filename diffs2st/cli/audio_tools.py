"""Front-end commands: `features` (audio -> log-mel .npy), `vocode` (audio or mel -> audio), `split` (cut long
audio at silences)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from ..errors import AudioError, ConfigError
from ..pretrained import default_vocoder
from .main import add_command

# diffs2st.audio.io.DEFAULT_MAX_SECONDS, written out so that `--help` imports no audio stack (torch);
# tests/test_cold_start.py keeps the two equal.
DEFAULT_MAX_SECONDS = 300.0


def _add_max_seconds(parser) -> None:
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS,
                        help="refuse inputs longer than this (0: no limit)")


def _load_mel(path: str, config, max_seconds: float):
    import numpy as np

    from ..audio import load_audio, log_mel

    if Path(path).suffix.lower() == ".npy":
        if not Path(path).is_file():
            raise AudioError(f"no such file: {path}")
        try:
            mel = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise AudioError(f"cannot read {path} as a .npy array ({exc})") from None
        if mel.ndim != 2 or mel.shape[0] != config.n_mels or not np.isfinite(mel).all():
            raise AudioError(f"{path} must be a finite ({config.n_mels}, frames) log-mel, got shape {mel.shape}")
        return mel
    return log_mel(load_audio(path, config.sample_rate, max_seconds=max_seconds), config).numpy()


def _checkpoint_mel(directory: str):
    """The MelConfig saved in a checkpoint directory."""
    from ..checkpoint import read_checkpoint_config

    _, config = read_checkpoint_config(directory)
    if not hasattr(config, "mel"):
        raise ConfigError(f"{directory} holds a model without a MelConfig")
    return config.mel


def _features(args) -> int:
    import numpy as np

    from ..audio import DEFAULT_MEL, check_output_path, load_audio, log_mel
    from ..audio.io import atomic_write_bytes

    config = _checkpoint_mel(args.mel_from) if args.mel_from else DEFAULT_MEL
    out = check_output_path(args.output)
    mel = log_mel(load_audio(args.input, config.sample_rate, max_seconds=args.max_seconds), config).numpy()
    buffer = io.BytesIO()
    np.save(buffer, mel.astype(np.float32))
    atomic_write_bytes(out, buffer.getvalue())
    print(f"{args.input}: log-mel {mel.shape[0]} x {mel.shape[1]} -> {out}")
    return 0


def _vocode(args) -> int:
    import torch

    from ..audio import check_output_path, save_audio
    from ..vocoders import load_vocoder

    out = check_output_path(args.output)
    vocoder = load_vocoder(args.vocoder, iters=args.iters)
    config = vocoder.mel
    mel = _load_mel(args.input, config, args.max_seconds)
    start = time.perf_counter()
    with torch.inference_mode():
        wave = vocoder(torch.from_numpy(mel)).numpy()
    elapsed = time.perf_counter() - start
    save_audio(out, wave, config.sample_rate)
    seconds = len(wave) / config.sample_rate
    name = f"griffin-lim ({args.iters} iterations)" if args.vocoder == "griffin-lim" else args.vocoder
    print(f"{args.input}: {seconds:.2f} s vocoded with {name} (RTF {elapsed / seconds:.3f}) -> {out}")
    return 0


def _split(args) -> int:
    from ..audio import DEFAULT_MEL, load_audio, save_audio, split_on_silence

    config = DEFAULT_MEL  # no model involved: segments at the project's rate
    out_dir = Path(args.out_dir)
    if not out_dir.parent.is_dir():
        raise AudioError(f"output folder {out_dir.parent} does not exist")
    wave = load_audio(args.input, config.sample_rate, max_seconds=None)
    segments = split_on_silence(wave, config.sample_rate, max_seconds=args.max_segment_seconds)
    out_dir.mkdir(exist_ok=True)
    for index, segment in enumerate(segments):
        path = save_audio(out_dir / f"{Path(args.input).stem}_{index:04d}.wav", wave[segment.start:segment.end],
                          config.sample_rate)
        print(f"{path}\t{segment.start / config.sample_rate:.2f}\t{segment.end / config.sample_rate:.2f}")
    print(f"{len(segments)} segments, {len(wave) / config.sample_rate:.1f} s in all, none dropped")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "features")
    parser.add_argument("input", help="audio file (WAV/FLAC/OGG/MP3, any rate and channel count)")
    parser.add_argument("-o", "--output", required=True, help="output .npy path")
    parser.add_argument("--mel-from", help="checkpoint directory whose MelConfig to use (default: the project's "
                        "front end, diffs2st.audio.DEFAULT_MEL)")
    _add_max_seconds(parser)
    parser.set_defaults(func=_features)

    parser = add_command(subparsers, "vocode")
    parser.add_argument("input", help="audio file or (n_mels, frames) log-mel .npy")
    parser.add_argument("-o", "--output", required=True, help="output audio path (.wav/.flac/.ogg)")
    parser.add_argument("--vocoder", default=default_vocoder(),
                        help="'griffin-lim' or a trained vocoder's checkpoint directory (default: the bundled "
                             "vocoder if present, else griffin-lim)")
    parser.add_argument("--iters", type=int, default=32, help="Griffin-Lim iterations")
    _add_max_seconds(parser)
    parser.set_defaults(func=_vocode)

    parser = add_command(subparsers, "split")
    parser.add_argument("input", help="audio file of any length")
    parser.add_argument("-o", "--out-dir", required=True, help="folder for the segments (created)")
    parser.add_argument("--max-segment-seconds", type=float, default=20.0, help="longest segment")
    parser.set_defaults(func=_split)
