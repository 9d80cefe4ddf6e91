"""Oracle for collector/estimate_integration_test.go: the label-free estimate
computed by scikit-learn from the raw rows (not from histograms).

stdin: {"models": [{"name": str, "ref": [[score, label01], ...],
                    "cur": [[score, pred01, label01], ...]}]}
stdout: {"name{labels}": value}, keyed as the test flattens a scrape. Besides
the exporter's series: realised{model} is the accuracy of the current rows'
labels, naive{model} the expected accuracy with the raw scores taken as
probabilities (no calibration).
"""
import json
import sys

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

BUCKETS = 1000


def ece(prob, label):
    """Expected calibration error: 10 equal-width bins, the last closed."""
    prob = np.clip(prob, 0, 1)
    k = np.minimum((prob * 10).astype(int), 9)
    return float(sum(
        (k == b).sum() / len(prob) * abs(prob[k == b].mean() - label[k == b].mean())
        for b in range(10) if (k == b).any()))


def fit(x, y):
    return IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(x, y)


out = {}
for m in json.load(sys.stdin)["models"]:
    sel = '{model="%s"}' % m["name"]
    ref = np.array(m["ref"], dtype=float)
    cur = np.array(m["cur"], dtype=float)
    xr, yr = ref[:, 0], ref[:, 1]
    xc, pred, yc = cur[:, 0], cur[:, 1].astype(int), cur[:, 2]

    out["mlmon_calibration_samples" + sel] = len(xr)
    out['mlmon_calibration_error{model="%s",stage="raw"}' % m["name"]] = ece(xr, yr)
    # Cross-fitted over the 1000 score buckets: the distinct buckets
    # alternately in two halves, each calibrated by the fit on the other.
    xb = np.floor(np.clip(xr, 0, 1) * BUCKETS + 0.5) / BUCKETS
    half = np.searchsorted(np.unique(xb), xb) % 2
    cal = np.empty(len(xb))
    for h in (0, 1):
        cal[half == h] = fit(xb[half != h], yr[half != h]).predict(xb[half == h])
    out['mlmon_calibration_error{model="%s",stage="calibrated"}' % m["name"]] = ece(cal, yr)

    # Every current row twice: positive with weight p, negative with 1 - p.
    p = fit(xr, yr).predict(xc)
    y_true = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    y_pred = np.concatenate([pred, pred])
    w = np.concatenate([p, 1 - p])
    out["mlmon_estimated_accuracy_ratio" + sel] = float(accuracy_score(y_true, y_pred, sample_weight=w))
    for avg in ["macro", "weighted", "micro"]:
        pr, rc, f1, _ = precision_recall_fscore_support(y_true, y_pred, sample_weight=w, average=avg)
        lab = '{average="%s",model="%s"}' % (avg, m["name"])
        out["mlmon_estimated_precision_ratio" + lab] = float(pr)
        out["mlmon_estimated_recall_ratio" + lab] = float(rc)
        out["mlmon_estimated_f1_score" + lab] = float(f1)
    _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, sample_weight=w, labels=[0, 1], average=None)
    for c in (0, 1):
        out['mlmon_estimated_class_f1_score{class="%d",model="%s"}' % (c, m["name"])] = float(f1[c])
    out["mlmon_estimated_roc_auc" + sel] = float(roc_auc_score(y_true, np.concatenate([xc, xc]), sample_weight=w))

    out["realised" + sel] = float(accuracy_score(yc, pred))
    out["naive" + sel] = float(np.mean(np.where(pred == 1, np.clip(xc, 0, 1), 1 - np.clip(xc, 0, 1))))
json.dump(out, sys.stdout)
