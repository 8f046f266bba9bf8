"""Is run d's flite gap the pitch path? Teacher-forced synthesis (reference English tokens and the translator's
states for them, as in teacher_forced.py) with oracle parts swapped in, one output folder per condition:

- ``refdur``: durations from the reference alignment (monotonic alignment of the reference mel to the priors, as
  in training), predicted F0 on them;
- ``refdur-reff0``: the same durations and the reference clip's own F0 (pyworld, the training target);

and, on the reference durations, how far the predicted F0 is from the reference's per voice family (voicing
agreement, RMSE of log-F0 in cents on frames both call voiced) in OUT_ROOT-f0_error.json.

    python docs/benchmarks/s2st/pitch-experiment/oracle_pitch.py out/bundles/d2000 out/dev/d2000-oracle
    python benchmarks/asr_screen.py corpora/synth-cvss-v2/dev-200.jsonl --outputs out/dev/d2000-tf \
        out/dev/d2000-oracle-refdur out/dev/d2000-oracle-refdur-reff0 --out docs/benchmarks/s2st/pitch-experiment/oracle
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from diffs2st.evaluation import voice_family, voice_label
from diffs2st.s2st.alignment import gaussian_log_likelihood, length_regulate, monotonic_alignment
from diffs2st.s2st.pitch import f0_from_prediction
from teacher_forced import item_inputs, save_output, teacher_forced_inputs


def main() -> int:
    bundle, root = Path(sys.argv[1]), sys.argv[2]
    synthesizer, vocoder, records, items = teacher_forced_inputs(bundle)
    if not synthesizer.config.pitch:
        raise SystemExit(f"{bundle}'s synthesizer predicts no pitch")
    folders = {name: Path(f"{root}-{name}") for name in ("refdur", "refdur-reff0")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    errors = defaultdict(lambda: {"frames": 0, "voicing_agree": 0, "both_voiced": 0, "cents_squared": 0.0})
    with torch.inference_mode():
        for record, item in zip(tqdm(records), items):
            tokens, token_lengths, speaker, states = item_inputs(item)
            mel, f0_reference = item["mel"][None], item["f0"][None]
            frame_lengths = torch.tensor([mel.shape[-1]])
            h, mu, _ = synthesizer.encode(tokens, token_lengths, states, speaker)
            y = synthesizer.normalizer.normalize(mel)
            durations = monotonic_alignment(gaussian_log_likelihood(y, mu), token_lengths, frame_lengths)
            h_frames, _ = length_regulate(h.transpose(1, 2), durations)
            frames = min(h_frames.shape[-1], f0_reference.shape[-1])
            mask = torch.ones(1, frames)
            predicted = f0_from_prediction(*synthesizer.pitch_predictor(h_frames[..., :frames], mask))[0]
            reference = f0_reference[0, :frames]
            both = (predicted > 0) & (reference > 0)
            label = voice_label(record)
            for key in (voice_family(label), label):
                stats = errors[key]
                stats["frames"] += frames
                stats["voicing_agree"] += int(((predicted > 0) == (reference > 0)).sum())
                stats["both_voiced"] += int(both.sum())
                stats["cents_squared"] += float(((1200 * torch.log2(predicted[both] / reference[both])) ** 2).sum())
            for name, f0 in (("refdur", None), ("refdur-reff0", f0_reference)):
                result = synthesizer.synthesize(tokens, token_lengths, speaker, states, steps=4, voice_guidance=1.0,
                                                temperature=0.1, seed=0, f0=f0, durations=durations)
                save_output(folders[name] / f"{record.id}.wav", result, synthesizer, vocoder)
    summary = {family: {"voicing_agreement": s["voicing_agree"] / max(s["frames"], 1),
                        "log_f0_rmse_cents": (s["cents_squared"] / max(s["both_voiced"], 1)) ** 0.5,
                        "frames": s["frames"]} for family, s in sorted(errors.items())}
    Path(f"{root}-f0_error.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
