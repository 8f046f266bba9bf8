"""Output duration against the reference English's, per voice family: the mean of (output seconds / reference
seconds) over the records of a manifest, for each output folder.

    python docs/benchmarks/s2st/pitch-experiment/speaking_rate.py corpora/synth-cvss-v2/dev-200.jsonl \
        out/dev/base200-fix out/dev/d2000 out/dev/d2000-tf
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import soundfile

from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.evaluation import voice_family, voice_label


def main() -> int:
    manifest, folders = Path(sys.argv[1]), [Path(f) for f in sys.argv[2:]]
    records = read_manifest(manifest, S2STRecord)
    print("folder | all | " + " | ".join(sorted({voice_family(voice_label(r)) for r in records})))
    for folder in folders:
        ratios = defaultdict(list)
        for record in records:
            ratio = soundfile.info(str(folder / f"{record.id}.wav")).duration / record.tgt_duration
            ratios["all"].append(ratio)
            ratios[voice_family(voice_label(record))].append(ratio)
        means = {family: sum(values) / len(values) for family, values in ratios.items()}
        print(f"{folder} | " + " | ".join(f"{means[f]:.3f}" for f in ["all"] + sorted(set(means) - {"all"})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
