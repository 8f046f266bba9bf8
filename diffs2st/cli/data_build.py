"""`diffs2st data build {synth-cvss,synth-digits,synth-noisy} --out DIR ...`: build a synthetic corpus (resumable:
run the same command again after an interruption and it completes)."""

from __future__ import annotations

from pathlib import Path

from .main import add_command


def _ready(name: str, manifests: dict) -> int:
    print(f"{name} ready: " + ", ".join(f"{split} -> {path}" for split, path in manifests.items()))
    return 0


def _cvss(args) -> int:
    from ..data.builders import synth_cvss, synth_cvss_v2
    from ..errors import DataError

    module = synth_cvss if args.voices == "v1" else synth_cvss_v2
    options = {name: getattr(args, name) if getattr(args, name) is not None else default
               for name, default in module.DEFAULTS.items()}
    if args.voices == "v1" and (args.unseen_voices is not None or args.mix is not None):
        raise DataError("--unseen-voices and --mix belong to --voices v2")
    if args.voices == "v2":
        options["mix"] = args.mix
    manifests = module.build(Path(args.out), **options, seed=args.seed, jobs=args.jobs)
    return _ready("synth-cvss", manifests)


def _digits(args) -> int:
    from ..data.builders.synth_digits import build

    manifests = build(Path(args.out), args.speakers, args.test_speakers, args.repetitions, args.lang, args.seed,
                      args.jobs)
    return _ready("synth-digits", manifests)


def _noisy(args) -> int:
    from ..data.builders.synth_noisy import build

    manifests = build(Path(args.out), args.train, args.test, args.speakers, args.heldout, args.seed, args.jobs)
    return _ready("synth-noisy", manifests)


def register(subparsers) -> None:
    parser = add_command(subparsers, "build", "build a synthetic corpus with espeak-ng, flite and WORLD")
    corpora = parser.add_subparsers(dest="corpus", metavar="CORPUS", required=True)

    cvss = add_command(corpora, "synth-cvss", "French->English S2ST pairs in matched voices")
    cvss.add_argument("--out", required=True, help="corpus folder")
    cvss.add_argument("--voices", choices=("v1", "v2"), default="v2",
                      help="v2: espeak-ng, Kokoro and flite/festival families with held-out voices and test-noisy; "
                           "v1: the old espeak-ng + flite corpus, byte for byte")
    cvss.add_argument("--train", type=int, default=None, help="training pairs (default 10000)")
    cvss.add_argument("--dev", type=int, default=None, help="dev pairs (default 500)")
    cvss.add_argument("--test", type=int, default=None, help="pairs in each synthesized test split (default 500)")
    cvss.add_argument("--speakers", type=int, default=None, help="training (seen) speakers (default v2 240, v1 40)")
    cvss.add_argument("--unseen-speakers", type=int, default=None,
                      help="speakers only in test-unseen-speakers (default v2 30, v1 10)")
    cvss.add_argument("--unseen-voices", type=int, default=None,
                      help="v2: speakers of held-out base voices in test-unseen-voices (default 12)")
    cvss.add_argument("--mix", default=None,
                      help="v2: share of each voice family, e.g. espeak-ng=0.45,flite=0.40,kokoro=0.15 (the default)")
    cvss.add_argument("--seed", type=int, default=0, help="random seed")
    cvss.add_argument("--jobs", type=int, default=2, help="worker processes")
    cvss.set_defaults(func=_cvss)

    digits = add_command(corpora, "synth-digits", "spoken digits 0-9 in the AudioMNIST layout")
    digits.add_argument("--out", required=True, help="corpus folder")
    digits.add_argument("--speakers", type=int, default=60, help="speakers in all")
    digits.add_argument("--test-speakers", type=int, default=12, help="speakers held out for the test split")
    digits.add_argument("--repetitions", type=int, default=5, help="recordings of each digit per speaker")
    digits.add_argument("--lang", choices=("en", "fr"), default="en", help="language of the digit words")
    digits.add_argument("--seed", type=int, default=0, help="random seed")
    digits.add_argument("--jobs", type=int, default=2, help="worker processes")
    digits.set_defaults(func=_digits)

    noisy = add_command(corpora, "synth-noisy", "clean/noisy pairs in the VoiceBank-DEMAND layout")
    noisy.add_argument("--out", required=True, help="corpus folder")
    noisy.add_argument("--train", type=int, default=4000, help="training pairs")
    noisy.add_argument("--test", type=int, default=800, help="test pairs")
    noisy.add_argument("--speakers", type=int, default=24, help="training speakers (test speakers are unseen)")
    noisy.add_argument("--heldout", default="babble", help="noise family kept out of train")
    noisy.add_argument("--seed", type=int, default=0, help="random seed")
    noisy.add_argument("--jobs", type=int, default=2, help="worker processes")
    noisy.set_defaults(func=_noisy)
