"""Synthetic corpus builders (synth-cvss, synth-digits, synth-noisy): deterministic plans from a seed, run in
parallel, resumable, every file written atomically."""
