"""How intelligible each flite voice is to the ASR judge on grammar sentences, raw and through speaker transforms.

    python benchmarks/voice_intelligibility.py --sentences 40 --out docs/corpora

For each flite voice: pocketsphinx WER of the raw voice, and of the same sentences through training speakers'
WORLD transforms of that voice. Separates what the base voices + the judge's generic language model cost from what
our transforms cost. Writes voice_intelligibility.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from pathlib import Path

from diffs2st.data.speakers import F0_RANGE, sample_speakers, speak_english
from diffs2st.data.text import generate_pairs
from diffs2st.data.tts import flite
from diffs2st.audio import DEFAULT_MEL
from diffs2st.judges import RECOGNIZERS, build_recognizer, text_scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="docs/corpora")
    parser.add_argument("--asr", choices=RECOGNIZERS.names(), default="moonshine", help="English ASR judge")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    asr = build_recognizer(args.asr, DEFAULT_MEL)
    pairs = generate_pairs(args.sentences, args.seed)
    references = [p.en for p in pairs]
    speakers = sample_speakers(24, random.Random(args.seed))
    results = {}
    for voice in F0_RANGE:
        raw = [asr.transcribe(flite(text, voice)) for text in references]
        mine = [s for s in speakers if s.flite_voice == voice]
        transformed = [asr.transcribe(speak_english(text, mine[i % len(mine)])) for i, text in enumerate(references)]
        results[voice] = {"raw_wer": text_scores(raw, references)["wer"],
                          "transformed_wer": text_scores(transformed, references)["wer"], "speakers": len(mine)}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    Path(args.out, "voice_intelligibility.json").write_text(json.dumps({"command": command, "results": results},
                                                                       indent=2) + "\n")
    lines = ["# Intelligibility of the flite voices to the ASR judge (grammar sentences)", "", "```bash", command,
             "```", "", "| flite voice | WER raw | WER through speaker transforms | speakers |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {v} | {r['raw_wer']:.3f} | {r['transformed_wer']:.3f} | {r['speakers']} |" for v, r in
              results.items()]
    Path(args.out, "voice_intelligibility.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
