"""Oracle for collector/segments_multiclass_integration_test.go: the
label-free estimate per segment value of a multiclass model with scores,
computed by scikit-learn from the raw rows (not from histograms).

stdin: {"model": str, "segment": str, "classes": [str, ...], "min_samples": int,
        "ref": [[label, s_0, ..., s_K-1], ...],
        "cur": [{"value": str, "label": int, "s": [s_0, ...], "scored": bool}, ...]}
       labels are class indexes; the prediction is the argmax of the scores;
       "value" is the row's segment value as the exporter names it
       (__other__ for every untracked value and NULL).
stdout: {"name{labels}": value}, keyed as the test flattens a scrape.

The definitions (README, "Label-free performance estimate", multiclass, as
estimate_multiclass_oracle.py computes the whole model's): f_ij is the
isotonic regression of [label = j] on score j over the reference rows
predicted i (the whole model's reference); a segment value's current rows
predicted i expect e_ij = sum f_ij(s_j) rows of class j, renormalised to
the n_i rows predicted i; accuracy and macro F1 of that expected matrix.
Only rows whose every score is finite count; a value with fewer than
min_samples of them has no estimate.
"""
import json
import sys
from collections import defaultdict

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

inp = json.load(sys.stdin)
K = len(inp["classes"])
ref = np.array(inp["ref"], dtype=float)
yr, sr = ref[:, 0].astype(int), ref[:, 1:]
pr = sr.argmax(1)
fits = [[IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(sr[pr == i, j], (yr[pr == i] == j).astype(float))
         for j in range(K)] for i in range(K)]

by_value = defaultdict(list)
for r in inp["cur"]:
    if r["scored"]:
        by_value[r["value"]].append(r["s"])

out = {}
for value, rows in by_value.items():
    if len(rows) < inp["min_samples"]:
        continue
    sc = np.array(rows, dtype=float)
    pc = sc.argmax(1)
    C = np.zeros((K, K))  # [actual j][predicted i]
    for i in range(K):
        if not (pc == i).any():
            continue
        e = np.array([fits[i][j].predict(sc[pc == i, j]).sum() for j in range(K)])
        C[:, i] = (pc == i).sum() * e / e.sum()
    ya = np.repeat(np.arange(K), K)
    yp = np.tile(np.arange(K), K)
    w = C.reshape(-1)
    lab = 'model="%s",segment="%s",segment_value="%s"' % (inp["model"], inp["segment"], value)
    out["mlmon_segment_estimated_accuracy_ratio{%s}" % lab] = float(accuracy_score(ya, yp, sample_weight=w))
    _, _, f1, _ = precision_recall_fscore_support(ya, yp, sample_weight=w, average="macro", labels=list(range(K)))
    out['mlmon_segment_estimated_f1_score{average="macro",%s}' % lab] = float(f1)
json.dump(out, sys.stdout)
