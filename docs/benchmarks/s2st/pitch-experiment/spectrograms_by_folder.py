"""Log-mel spectrograms of the first COUNT records of one voice family: the reference English and each output
folder's clip side by side, one row per record.

    python docs/benchmarks/s2st/pitch-experiment/spectrograms_by_folder.py corpora/synth-cvss-v2/dev-200.jsonl \
        flite 2 docs/benchmarks/s2st/pitch-experiment/oracle/spectrograms-flite.png \
        out/dev/base200-fix out/dev/d2000-tf out/dev/d2000-oracle-refdur-reff0
"""

from __future__ import annotations

import sys
from pathlib import Path

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.audio.mel import log_mel
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.evaluation import voice_family, voice_label
from diffs2st.plotting import spectrogram_grid


def mel_of(path: Path):
    return log_mel(load_audio(path, DEFAULT_MEL.sample_rate), DEFAULT_MEL).numpy()


def main() -> int:
    manifest, family, count, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    folders = [Path(f) for f in sys.argv[5:]]
    records = [r for r in read_manifest(manifest, S2STRecord) if voice_family(voice_label(r)) == family][:count]
    mels, titles = [], []
    for record in records:
        mels.append(mel_of(resolve_audio(manifest, record.tgt_audio)))
        titles.append(f"{record.id} reference ({voice_label(record)})")
        for folder in folders:
            mels.append(mel_of(folder / f"{record.id}.wav"))
            titles.append(f"{record.id} {folder.name}")
    spectrogram_grid(mels, titles, out, DEFAULT_MEL, columns=len(folders) + 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
