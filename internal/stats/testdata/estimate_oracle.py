"""Oracle for internal/stats/estimate_test.go: the label-free estimate with
scikit-learn, from rows (not histograms).

stdin: {"ref": [[score, label], ...], "cur": [[score, predicted_positive], ...],
        "grid": [score, ...]}
stdout: JSON of the expected values.
"""
import json
import sys

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

d = json.load(sys.stdin)
ref = np.array(d["ref"], dtype=float)
cur = np.array(d["cur"], dtype=float)
xr, yr = ref[:, 0], ref[:, 1]

iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(xr, yr)
out = {"predict": [float(v) for v in iso.predict(np.array(d["grid"]))]}

# Each unlabelled row twice: label 1 with weight p, label 0 with weight 1 - p.
p = iso.predict(cur[:, 0])
pred = cur[:, 1].astype(int)
y_true = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
y_pred = np.concatenate([pred, pred])
w = np.concatenate([p, 1 - p])
scores = np.concatenate([cur[:, 0], cur[:, 0]])
out["accuracy"] = float(accuracy_score(y_true, y_pred, sample_weight=w))
for avg in ["macro", "weighted", "micro"]:
    pr, rc, f1, _ = precision_recall_fscore_support(y_true, y_pred, sample_weight=w, average=avg)
    out["precision_" + avg], out["recall_" + avg], out["f1_" + avg] = float(pr), float(rc), float(f1)
pr, rc, f1, _ = precision_recall_fscore_support(y_true, y_pred, sample_weight=w, labels=[0, 1], average=None)
out["f1_class0"], out["f1_class1"] = float(f1[0]), float(f1[1])
out["roc_auc"] = float(roc_auc_score(y_true, scores, sample_weight=w))


def ece(prob, label):
    """10 equal-width bins, the last closed: sum_b n_b/N |mean prob - rate|."""
    k = np.minimum((np.clip(prob, 0, 1) * 10).astype(int), 9)
    total = 0.0
    for b in range(10):
        m = k == b
        if m.any():
            total += m.sum() / len(prob) * abs(prob[m].mean() - label[m].mean())
    return float(total)


out["ece_raw"] = ece(xr, yr)
# Cross-fitted: distinct scores alternately in two halves, each calibrated
# by the fit on the other.
distinct = np.unique(xr)
half = np.searchsorted(distinct, xr) % 2
cal = np.empty(len(xr))
for h in (0, 1):
    fit = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(xr[half != h], yr[half != h])
    cal[half == h] = fit.predict(xr[half == h])
out["ece_crossfit"] = ece(cal, yr)
json.dump(out, sys.stdout)
