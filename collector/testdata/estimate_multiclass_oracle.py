"""Oracle for collector/estimate_multiclass_integration_test.go: a multiclass
model's label-free estimate and realised one-vs-rest ROC AUC, computed by
scikit-learn from the raw rows (not from histograms).

stdin: {"classes": [str, ...], "models": [{"name": str,
         "ref": [[label, s_0, ..., s_K-1], ...], "cur": [[label, s_0, ...], ...]}]}
       labels are class indexes; the prediction is the argmax of the scores.
stdout: {"name{labels}": value}, keyed as the test flattens a scrape, plus
realised{model}: the accuracy of the current rows' labels.

The definitions (README, "Label-free performance estimate", multiclass):
f_ij is the isotonic regression of [label = j] on score j over the reference
rows predicted i; the current rows predicted i expect e_ij = sum f_ij(s_j) rows
of class j, renormalised to the n_i rows predicted i.
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


inp = json.load(sys.stdin)
classes = inp["classes"]
K = len(classes)
out = {}
for m in inp["models"]:
    name = m["name"]
    sel = '{model="%s"}' % name
    ref = np.array(m["ref"], dtype=float)
    cur = np.array(m["cur"], dtype=float)
    yr, sr = ref[:, 0].astype(int), ref[:, 1:]
    yc, sc = cur[:, 0].astype(int), cur[:, 1:]
    pr, pc = sr.argmax(1), sc.argmax(1)

    out["mlmon_calibration_samples" + sel] = len(yr)
    # Confidence (the predicted class's score) against being right.
    conf, right = sr[np.arange(len(yr)), pr], (pr == yr).astype(float)
    out['mlmon_calibration_error{model="%s",stage="raw"}' % name] = ece(conf, right)
    # Cross-fitted within each predicted class over the 1000 score buckets.
    cal = np.empty(len(yr))
    for i in range(K):
        rows = pr == i
        xb = np.floor(np.clip(conf[rows], 0, 1) * BUCKETS + 0.5) / BUCKETS
        half = np.searchsorted(np.unique(xb), xb) % 2
        ci = np.empty(rows.sum())
        for h in (0, 1):
            ci[half == h] = fit(xb[half != h], right[rows][half != h]).predict(xb[half == h])
        cal[rows] = ci
    out['mlmon_calibration_error{model="%s",stage="calibrated"}' % name] = ece(cal, right)

    # p[r, j] = f_{pred(r), j}(s_rj), unnormalised.
    p = np.zeros_like(sc)
    for i in range(K):
        for j in range(K):
            f = fit(sr[pr == i, j], (yr[pr == i] == j).astype(float))
            p[pc == i, j] = f.predict(sc[pc == i, j])
    C = np.zeros((K, K))  # [actual j][predicted i]
    for i in range(K):
        e = p[pc == i].sum(0)
        C[:, i] = (pc == i).sum() * e / e.sum()
    # The expected matrix as weighted rows (actual, predicted, weight).
    ya = np.repeat(np.arange(K), K)
    yp = np.tile(np.arange(K), K)
    w = C.reshape(-1)
    out["mlmon_estimated_accuracy_ratio" + sel] = float(accuracy_score(ya, yp, sample_weight=w))
    for avg in ["macro", "weighted", "micro"]:
        pr_, rc, f1, _ = precision_recall_fscore_support(ya, yp, sample_weight=w, average=avg, labels=list(range(K)))
        lab = '{average="%s",model="%s"}' % (avg, name)
        out["mlmon_estimated_precision_ratio" + lab] = float(pr_)
        out["mlmon_estimated_recall_ratio" + lab] = float(rc)
        out["mlmon_estimated_f1_score" + lab] = float(f1)
    _, _, f1, _ = precision_recall_fscore_support(ya, yp, sample_weight=w, labels=list(range(K)), average=None)
    for j in range(K):
        out['mlmon_estimated_class_f1_score{class="%s",model="%s"}' % (classes[j], name)] = float(f1[j])
    # Expected one-vs-rest AUC: each row a positive of class j with weight
    # p[r, j] and a negative with 1 - p[r, j]; the mean over the classes.
    n = len(yc)
    out["mlmon_estimated_roc_auc" + sel] = float(np.mean([
        roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[sc[:, j], sc[:, j]],
                      sample_weight=np.r_[p[:, j], 1 - p[:, j]]) for j in range(K)]))

    for window, y, s in (("current", yc, sc), ("reference", yr, sr)):
        out['mlmon_roc_auc{model="%s",window="%s"}' % (name, window)] = float(
            roc_auc_score(y, s, multi_class="ovr", average="macro", labels=list(range(K))))
    out["realised" + sel] = float(accuracy_score(yc, pc))
json.dump(out, sys.stdout)
