"""`diffs2st generate digits ...`: class-conditional spoken-digit generation."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ConfigError, OutputPathError
from ..pretrained import default_vocoder, model_or_bundled
from .main import add_command

# diffs2st.diffusion.SAMPLERS.names(), written out so that `--help` imports no torch; tests/test_cold_start.py keeps
# the two equal.
SAMPLER_NAMES = ("ddim", "ddpm", "euler_maruyama", "ode_adaptive", "ode_euler", "ode_heun", "pc")


def _digits(args) -> int:
    import torch

    from ..audio import save_audio
    from ..checkpoint import load_model
    from ..digits import DigitDiffusion
    from ..digits.classifier import DigitClassifier
    from ..plotting import spectrogram_grid
    from ..vocoders import load_vocoder

    out_dir = Path(args.out)
    if not out_dir.parent.is_dir():
        raise OutputPathError(f"output folder {out_dir.parent} does not exist")
    if args.n < 1 or args.steps < 1:
        raise ConfigError("--n and --steps must be at least 1")
    if args.classifier_scale > 0 and args.classifier is None:
        raise ConfigError("--classifier-scale needs --classifier (a digit classifier checkpoint)")
    model = load_model(model_or_bundled(args.model, "digits"), DigitDiffusion, "digit model")
    classifier = None
    if args.classifier is not None:
        classifier = load_model(args.classifier, DigitClassifier, "digit classifier")
        model.check_classifier(classifier)
    vocoder = load_vocoder(args.vocoder, iters=args.griffin_lim_iters, mel=model.config.mel)
    digits = [args.digit] * args.n if args.digit is not None else [i % 10 for i in range(args.n)]
    start = time.perf_counter()
    mels = model.generate(digits, sampler=args.sampler, steps=args.steps, guidance=args.guidance, seed=args.seed,
                          progress=True, classifier=classifier, classifier_scale=args.classifier_scale)
    elapsed = time.perf_counter() - start
    out_dir.mkdir(exist_ok=True)
    config = model.config.mel
    seconds = 0.0
    for index, (digit, mel) in enumerate(zip(digits, mels)):
        with torch.inference_mode():
            wave = vocoder(mel).numpy()
        seconds += len(wave) / config.sample_rate
        save_audio(out_dir / f"digit{digit}_{index:03d}.wav", wave, config.sample_rate)
    grid = spectrogram_grid([m.numpy() for m in mels], [f"{d}" for d in digits], out_dir / "spectrograms.png",
                            config, suptitle=f"{args.sampler}, {args.steps} steps, guidance {args.guidance}"
                            + (f", classifier {args.classifier_scale}" if args.classifier_scale else ""))
    print(f"generated {len(digits)} digits in {elapsed:.2f} s (sampling RTF {elapsed / seconds:.3f}); "
          f"WAVs and {grid.name} in {out_dir}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "generate")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    parser = add_command(kinds, "digits", "spoken digits 0-9 (DDPM/DDIM with classifier-free guidance)")
    parser.add_argument("--model", help="digit model checkpoint directory (default: the bundled digits, in "
                        "$DIFFS2ST_PRETRAINED or the repository's pretrained/)")
    parser.add_argument("--digit", type=int, choices=range(10), default=None,
                        help="digit to generate (default: cycle through 0-9)")
    parser.add_argument("--n", type=int, default=8, help="how many clips")
    parser.add_argument("--sampler", default="ddim", choices=SAMPLER_NAMES, help="sampler")
    parser.add_argument("--steps", type=int, default=25, help="sampling steps")
    parser.add_argument("--guidance", type=float, default=2.0, help="classifier-free guidance weight w")
    parser.add_argument("--classifier", default=None,
                        help="noise-aware digit classifier checkpoint for classifier guidance")
    parser.add_argument("--classifier-scale", type=float, default=0.0,
                        help="classifier guidance weight (0: off; needs --classifier)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--vocoder", default=default_vocoder(),
                        help="vocoder checkpoint directory or 'griffin-lim' (default: the bundled one if present)")
    parser.add_argument("--griffin-lim-iters", type=int, default=32, help="Griffin-Lim iterations")
    parser.add_argument("-o", "--out", required=True, help="output folder (created)")
    parser.set_defaults(func=_digits)
