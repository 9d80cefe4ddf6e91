"""Independent oracle for the collector's integration test.

Reads the raw rows the test seeded into ClickHouse (JSON on stdin) and
computes the expected metrics the straightforward way: filter the rows in
pandas, join predictions to their latest label, and call scikit-learn and
numpy. It shares no code with the exporter. Prints {"metric{labels}": value}.
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn import metrics as skm

doc = json.load(sys.stdin)
out = {}


def key(name, **labels):
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def in_window(df, w):
    return df[(df.ts >= w[0]) & (df.ts < w[1])]


def joined(preds, labels, w):
    """Predictions of window w with their newest label arriving from w's start."""
    p = in_window(preds, w)
    l = labels[labels.ts >= w[0]].sort_values("ts").groupby("request_id").tail(1)
    return p.merge(l, on="request_id", how="left", suffixes=("", "_label"), indicator=True)


for m in doc["models"]:
    name = m["name"]
    preds = pd.DataFrame(m["predictions"])
    labels = pd.DataFrame(m["labels"])
    cur = in_window(preds, m["current"])
    out[key("mlmon_predictions", model=name, window="current")] = len(cur)
    out[key("mlmon_predictions", model=name, window="reference")] = len(in_window(preds, m["reference"]))
    out[key("mlmon_prediction_rate", model=name)] = len(cur) / (m["current"][1] - m["current"][0])
    lookback = preds[(preds.ts >= m["lookback"][0]) & (preds.ts < m["lookback"][1])]
    out[key("mlmon_last_prediction_timestamp_seconds", model=name)] = int(lookback.ts.max())
    lat = cur.latency.dropna().to_numpy() / 1000
    for q in (0.5, 0.95, 0.99):
        out[key("mlmon_prediction_latency_seconds", model=name, quantile=str(q))] = float(np.quantile(lat, q))
    if m.get("error_column"):
        out[key("mlmon_prediction_error_ratio", model=name)] = cur.error.sum() / len(cur)

    actual = {}
    for window, w in (("current", m["performance"]), ("reference", m["reference"])):
        j = joined(preds, labels, w)
        lab = j[j._merge == "both"]
        actual[window] = lab.label.astype(str).value_counts()
        if window == "current":
            out[key("mlmon_labeled_predictions", model=name)] = len(lab)
            out[key("mlmon_label_coverage_ratio", model=name)] = len(lab) / len(j)
            out[key("mlmon_last_label_timestamp_seconds", model=name)] = int(lab.ts_label.max())
        if m["task"] == "regression":
            y = lab.label.astype(float).to_numpy()
            p = lab.prediction.astype(float).to_numpy()
            nz = y != 0
            out[key("mlmon_mae", model=name, window=window)] = skm.mean_absolute_error(y, p)
            out[key("mlmon_rmse", model=name, window=window)] = np.sqrt(skm.mean_squared_error(y, p))
            out[key("mlmon_mape_ratio", model=name, window=window)] = float(np.mean(np.abs((p[nz] - y[nz]) / y[nz])))
            out[key("mlmon_r2", model=name, window=window)] = skm.r2_score(y, p)
            continue
        y = lab.label.astype(str).to_numpy()
        p = lab.prediction.astype(str).to_numpy()
        out[key("mlmon_accuracy_ratio", model=name, window=window)] = skm.accuracy_score(y, p)
        for avg in ("macro", "weighted", "micro"):
            pr, rc, f1, _ = skm.precision_recall_fscore_support(y, p, average=avg)
            out[key("mlmon_precision_ratio", model=name, window=window, average=avg)] = pr
            out[key("mlmon_recall_ratio", model=name, window=window, average=avg)] = rc
            out[key("mlmon_f1_score", model=name, window=window, average=avg)] = f1
        if m["task"] == "binary_classification":
            scored = lab[lab.score.notna()]
            ys = (scored.label.astype(str) == m["positive_class"]).astype(int).to_numpy()
            s = scored.score.astype(float).clip(0, 1).to_numpy()
            out[key("mlmon_roc_auc", model=name, window=window)] = skm.roc_auc_score(ys, s)
            out[key("mlmon_log_loss", model=name, window=window)] = skm.log_loss(ys, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1])
            out[key("mlmon_brier_score", model=name, window=window)] = skm.brier_score_loss(ys, s)
        if window != "current":
            continue
        classes = sorted(set(y) | set(p))
        pr, rc, f1, _ = skm.precision_recall_fscore_support(y, p, labels=classes, average=None)
        for i, c in enumerate(classes):
            out[key("mlmon_class_precision_ratio", model=name, **{"class": c})] = pr[i]
            out[key("mlmon_class_recall_ratio", model=name, **{"class": c})] = rc[i]
            out[key("mlmon_class_f1_score", model=name, **{"class": c})] = f1[i]
        cm = skm.confusion_matrix(y, p, labels=classes)
        for i, a in enumerate(classes):
            for k, b in enumerate(classes):
                if cm[i][k]:
                    out[key("mlmon_confusion_matrix", model=name, actual=a, predicted=b)] = int(cm[i][k])

    if m["task"] != "regression":
        # Label drift: the reference's classes, most frequent first (ties by
        # name), then one bin for the rest; PSI with 0.0001 for empty bins,
        # JS divergence in bits.
        ref, cur = actual["reference"], actual["current"]
        top = sorted(ref.index, key=lambda c: (-ref[c], c))[:50]
        r = np.array([ref[c] for c in top] + [ref.sum() - sum(ref[c] for c in top)], dtype=float)
        c = np.array([cur.get(t, 0) for t in top] + [cur.sum() - sum(cur.get(t, 0) for t in top)], dtype=float)
        rp, cp = r / r.sum(), c / c.sum()
        re, ce = np.where(rp == 0, 1e-4, rp), np.where(cp == 0, 1e-4, cp)
        out[key("mlmon_label_psi", model=name)] = float(np.sum((ce - re) * np.log(ce / re)))
        mid = (rp + cp) / 2
        kl = lambda p: sum(pi * np.log2(pi / mi) for pi, mi in zip(p, mid) if pi > 0)
        out[key("mlmon_label_js_divergence", model=name)] = 0.5 * kl(rp) + 0.5 * kl(cp)

json.dump({k: float(v) for k, v in out.items()}, sys.stdout, indent=1, sort_keys=True)
