"""Draws docs/architecture.png (the direct S2ST data flow and the cascade baseline): python docs/architecture.py"""
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

fig, ax = plt.subplots(figsize=(14.6, 6.6), dpi=110)
ax.set_xlim(0, 14.7); ax.set_ylim(0, 6.6); ax.axis("off")
COLORS = {"io": "#eeeeee", "st": "#cfe2f3", "spk": "#fce5cd", "syn": "#d9ead3", "voc": "#ead1dc", "casc": "#ffffff"}

def box(x, y, w, h, text, kind, dashed=False, size=9.5):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04,rounding_size=0.12", fc=COLORS[kind],
                                ec="#444444", lw=1.2, ls="--" if dashed else "-"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, wrap=True)
    return (x, y, w, h)

def arrow(a, b, text=None, dashed=False, rad=0.0, offset=(0, 0.12)):
    ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-|>", lw=1.3, color="#333333",
                ls="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}"))
    if text:
        ax.text((a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1], text, ha="center", va="bottom",
                fontsize=8, color="#333333", style="italic")

ax.text(0.1, 6.35, "diffs2st: direct speech-to-speech translation (French speech → English speech in the same voice)",
        fontsize=12, weight="bold")

src = box(0.1, 3.55, 1.7, 0.9, "French speech\n16 kHz mono", "io")
mel = box(2.2, 3.55, 1.3, 0.9, "log-mel\n(MelConfig)", "io")
enc = box(3.9, 3.55, 1.8, 0.9, "speech encoder\n(Conformer)", "st")
srcdec = box(6.3, 4.75, 2.5, 0.8, "source decoder\n→ French transcript", "st")
tgtdec = box(6.3, 3.3, 2.5, 0.95, "target decoder\n(attends to the source\ndecoder's states)", "st")
ref = box(0.1, 1.85, 1.7, 0.9, "voice reference\n(default: the source)", "io", size=9)
spk = box(3.9, 1.85, 1.8, 0.9, "speaker encoder\n(ours) → voice s", "spk")
syn = box(9.6, 2.45, 2.9, 1.8, "acoustic synthesizer\ndurations (MAS) → frame prior μ\nflow-matching decoder\n"
          "D(x_t, t | μ, s) + voice guidance", "syn", size=9)
voc = box(13.0, 2.9, 1.4, 0.9, "vocoder\n(iSTFT)", "voc")
out = box(12.8, 1.35, 1.8, 0.9, "English speech\nin the same voice", "io")
text = box(9.6, 4.75, 2.9, 0.8, "English text", "io")

arrow((1.8, 4.0), (2.2, 4.0)); arrow((3.5, 4.0), (3.9, 4.0))
arrow((5.7, 4.15), (6.3, 5.1)); arrow((5.7, 3.85), (6.3, 3.75))
arrow((7.55, 4.75), (7.55, 4.25), "states", offset=(0.35, -0.12))
arrow((8.8, 4.0), (9.6, 5.0), "tokens", offset=(-0.3, 0.05))
arrow((8.8, 3.6), (9.6, 3.6), "h", offset=(0.0, 0.05))
arrow((1.8, 2.3), (3.9, 2.3)); arrow((5.7, 2.3), (9.6, 2.8), "s", offset=(0, 0.05))
arrow((12.5, 3.35), (13.0, 3.35), "mel", offset=(0, 0.05)); arrow((13.7, 2.9), (13.7, 2.25))
arrow((0.95, 3.55), (0.95, 2.75), dashed=True)

ax.text(0.1, 0.95, "Cascade baseline (same judges, same data):", fontsize=9.5, weight="bold")
c1 = box(0.1, 0.1, 2.9, 0.65, "speech translator → transcript", "casc", dashed=True, size=8.5)
c2 = box(3.5, 0.1, 2.9, 0.65, "text MT (French → English)", "casc", dashed=True, size=8.5)
c3 = box(6.9, 0.1, 4.0, 0.65, "characters-only TTS (the synthesizer's recipe)", "casc", dashed=True, size=8.5)
c4 = box(11.4, 0.1, 1.8, 0.65, "the same vocoder", "casc", dashed=True, size=8.5)
arrow((3.0, 0.42), (3.5, 0.42), dashed=True); arrow((6.4, 0.42), (6.9, 0.42), dashed=True)
arrow((10.9, 0.42), (11.4, 0.42), dashed=True)

ax.text(14.6, 6.0, "bundles in pretrained/:\nst/, direct-st/, speaker-encoder/,\nsynthesizer/, vocoder/ (direct);\n"
        "text-mt/, cascade-tts/ (cascade)", fontsize=8, ha="right", va="top", color="#333333")
fig.savefig(Path(__file__).with_suffix(".png"), bbox_inches="tight")
