import json, sys, math
from collections import defaultdict
for path in sys.argv[1:]:
    d=json.load(open(path)); rows=d["per_utterance"]
    agg=defaultdict(lambda:[0,0,[],[]])
    for r in rows:
        v=r.get("voice") or r.get("speaker")
        ref=r.get("ref_f0_median"); out=r.get("f0_median")
        if ref is None or (isinstance(ref,float) and math.isnan(ref)): continue
        a=agg[v]; a[0]+=1
        if out is None or (isinstance(out,float) and math.isnan(out)): a[1]+=1
        else: a[2].append(out); a[3].append(ref)
    print(path)
    for v,(n,unv,o,rf) in sorted(agg.items()):
        print(f"  {v:28s} n={n:2d} unvoiced={unv:2d} out={sum(o)/max(1,len(o)):6.1f} ref={sum(rf)/max(1,len(rf)):6.1f}")
