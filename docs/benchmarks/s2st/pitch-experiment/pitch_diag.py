"""Male dev records: target pYIN voicing and DIO voiced share vs the output's predicted voiced share (synthesizer F0)
and its pYIN voicing. usage: pitch_diag.py BUNDLE N"""
import json, sys, numpy as np, torch, librosa
sys.path.insert(0, ".")  # run from the repository root
from diffs2st.audio import load_audio
from diffs2st.data.manifest import resolve_audio
from diffs2st.s2st.pitch import frame_f0
from diffs2st.s2st.translator import Translator
torch.set_num_threads(1)
bundle, n = sys.argv[1], int(sys.argv[2])
tr = Translator.from_pretrained(bundle)
syn = tr.synthesizer
seen = {}
original = syn.synthesize
def spy(*a, **k):
    out = original(*a, **k); seen["f0"] = out.f0; seen["len"] = out.lengths; return out
syn.synthesize = spy
man = "corpora/synth-cvss-v2/dev.jsonl"
rows = [json.loads(l) for l in open(man)]
male = [r for r in rows if r["speaker_spec"].get("gender") == "m"][:n]
def pyin_voiced(w):
    f0, vf, vp = librosa.pyin(w, fmin=50, fmax=500, sr=16000)
    return float(np.mean(vf))
for r in male:
    src = load_audio(resolve_audio(man, r["src_audio"]), 16000)
    tgt = load_audio(resolve_audio(man, r["tgt_audio"]), 16000)
    res = tr.translate(src)
    dio = frame_f0(tgt, syn.mel)
    pred = "-" if seen.get("f0") is None else "%.2f med %.0f" % (
        float((seen["f0"][0, :seen["len"][0]] > 0).float().mean()),
        float(seen["f0"][seen["f0"] > 0].median()) if (seen["f0"] > 0).any() else 0)
    s = r["speaker_spec"]
    print(r["id"], s["family"], s["base_voice"], "ref pyin %.2f dio %.2f med %.0f | pred voiced %s | out pyin %.2f" % (
        pyin_voiced(tgt), (dio > 0).mean(), np.median(dio[dio > 0]), pred, pyin_voiced(res.wave)))
