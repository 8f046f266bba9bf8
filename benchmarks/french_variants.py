"""How well the speech translator hears each espeak-ng French variant, on the same sentences and speaker transforms.

    python benchmarks/french_variants.py --manifest corpora/synth-cvss-v2/dev.jsonl --per-gender 40 \
        --out docs/corpora/french-variants

Chooses the French voices of corpus v2's flite speakers (DESIGN §4): their French must be said by espeak-ng
variants that no espeak-ng family speaker uses (else the same kind of French clip is followed by two kinds of
English voice), and the speech translator must still hear it. The first ``--per-gender`` flite records of each
gender in ``--manifest`` (a dev split) are said again in every variant of that gender in ``--variants`` with the
record's own WORLD transform and rate; the checkpoint decodes each variant's clips. Reports source WER and target
BLEU per variant (Whisper-normalised text, `diffs2st.judges.text_scores`) and writes french_variants.{json,md}.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from diffs2st.cli.transcribe import load_translator
from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.data.voices import ESPEAK_VARIANTS, speak, spec_from_dict
from diffs2st.judges import text_scores
from diffs2st.reports import report_heading, write_json, write_markdown
from diffs2st.translation import translate_waves

VARIANT_GENDERS = {"f1": "f", "f2": "f", "f3": "f", "f4": "f", "f5": "f", "m1": "m", "m2": "m", "m3": "m",
                   "m4": "m", "m6": "m", "m7": "m", "m8": "m", "michel": "m", "Denis": "m", "gustave": "m"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True, help="a dev manifest of corpus v2 (not a test split)")
    parser.add_argument("--checkpoint", default="pretrained/st")
    parser.add_argument("--variants", nargs="+", default=list(VARIANT_GENDERS))
    parser.add_argument("--per-gender", type=int, default=40)
    parser.add_argument("--out", default="docs/corpora/french-variants")
    args = parser.parse_args()
    unknown = sorted(set(args.variants) - set(VARIANT_GENDERS))
    if unknown:
        parser.error(f"no gender known for variants {unknown} (known: {', '.join(VARIANT_GENDERS)})")
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    model = load_translator(args.checkpoint).eval()
    flite = [r for r in read_manifest(args.manifest, S2STRecord) if (r.speaker_spec or {}).get("family") == "flite"]
    rows = []
    for gender in ("f", "m"):
        records = [r for r in flite if r.speaker_spec["gender"] == gender][: args.per_gender]
        for variant in [v for v in args.variants if VARIANT_GENDERS[v] == gender]:
            waves = [speak(r.src_text, "fr", replace(spec_from_dict(r.speaker_spec), french_voice=variant))
                     for r in tqdm(records, desc=f"espeak-ng fr+{variant}")]
            results = translate_waves(model, waves, batch_size=16)
            source = text_scores([x.src_text for x in results], [r.src_text for r in records], "fr")
            target = text_scores([x.tgt_text for x in results], [r.tgt_text for r in records], "en")
            rows.append({"variant": variant, "gender": gender, "records": len(records),
                         "espeak_ng_family": variant in ESPEAK_VARIANTS, "src_wer": source["wer"],
                         "tgt_bleu": target["bleu"]})
            print(rows[-1], flush=True)
    out = Path(args.out)
    write_json(out / "french_variants.json", {"command": command, "checkpoint": args.checkpoint,
                                              "manifest": args.manifest, "rows": rows})
    lines = report_heading("French variants: what the speech translator hears", command)
    lines += [f"Checkpoint `{args.checkpoint}`; the first {args.per_gender} flite records of each gender of "
              f"`{args.manifest}`, their French said again by each variant with the record's transform.", "",
              "| variant | gender | used by the espeak-ng family | records | source WER | target BLEU |",
              "|---|---|---|---:|---:|---:|"]
    lines += [f"| {r['variant']} | {r['gender']} | {'yes' if r['espeak_ng_family'] else 'no'} | {r['records']} | "
              f"{r['src_wer']:.3f} | {r['tgt_bleu']:.1f} |" for r in rows]
    write_markdown(out / "french_variants.md", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
