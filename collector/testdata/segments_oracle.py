"""Oracle for collector/segments_integration_test.go: every mlmon_segment_*
series computed with pandas groupby and scikit-learn from the raw rows.

stdin: {"bin": [row...], "est": [row...], "reg": [row...], "min_samples": int,
"f_num_edges": [float...]}, rows as segRow marshals them; f_num_edges are the
exporter's bin edges of seg_bin's numeric feature (the reference's approximate
quantiles, which pandas does not reproduce). stdout: {"name{labels}": value}, keyed as the test
flattens a scrape.
"""
import json
import math
import sys

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (accuracy_score, f1_score, mean_absolute_error, mean_squared_error,
                             precision_recall_fscore_support)

OTHER = "__other__"
EPS = 0.0001

inp = json.load(sys.stdin)
min_samples = inp["min_samples"]
out = {}


def key(name, **labels):
    return name + "{" + ",".join('%s="%s"' % (k, labels[k]) for k in sorted(labels)) + "}"


def top_values(values, n):
    """The n most frequent non-null values, ties by value (as strings)."""
    counts = values.dropna().value_counts()
    return sorted(counts.index, key=lambda v: (-counts[v], v))[:n]


def slot_column(df, col, n):
    ref = df[df.window == "ref"][col]
    top = top_values(ref, n)
    return df[col].map(lambda v: v if v in top else OTHER), [*top, OTHER]


def psi(r, c):
    r, c = np.asarray(r, float) / sum(r), np.asarray(c, float) / sum(c)
    r, c = np.where(r == 0, EPS, r), np.where(c == 0, EPS, c)
    return float(((c - r) * np.log(c / r)).sum())


def segments(df, model, segs, task, psi_of_classes=True):
    # The output's bins: the reference's classes by count, ties by value,
    # then every other class (classification only).
    if task == "classification":
        ref_pred = df[df.window == "ref"]["pred"]
        cats = top_values(ref_pred, 20)
        df = df.assign(obin=df["pred"].map(lambda p: p if p in cats else OTHER))
        bins = [*cats, OTHER]
    for name, col, n in segs:
        slot, values = slot_column(df, col, n)
        d = df.assign(slot=slot)
        for v in values:
            g = d[d.slot == v]
            for window, wname in (("cur", "current"), ("ref", "reference")):
                gw = g[g.window == window]
                out[key("mlmon_segment_predictions", model=model, segment=name, segment_value=v, window=wname)] = len(gw)
                lab = gw[gw["label"].notna()] if task == "classification" else gw[gw["label_f"].notna()]
                if window == "cur":
                    out[key("mlmon_segment_labeled_predictions", model=model, segment=name, segment_value=v)] = len(lab)
                if len(lab) < min_samples:
                    continue
                lw = dict(model=model, segment=name, segment_value=v, window=wname)
                if task == "classification":
                    out[key("mlmon_segment_accuracy_ratio", **lw)] = accuracy_score(lab["label"], lab["pred"])
                    out[key("mlmon_segment_f1_score", average="macro", **lw)] = f1_score(lab["label"], lab["pred"], average="macro")
                else:
                    out[key("mlmon_segment_mae", **lw)] = mean_absolute_error(lab["label_f"], lab["pred_f"])
                    out[key("mlmon_segment_rmse", **lw)] = math.sqrt(mean_squared_error(lab["label_f"], lab["pred_f"]))
            if task == "classification" and psi_of_classes:
                rc = g[g.window == "ref"].obin.value_counts().reindex(bins, fill_value=0)
                cc = g[g.window == "cur"].obin.value_counts().reindex(bins, fill_value=0)
                if rc.sum() >= min_samples and cc.sum() >= min_samples:
                    out[key("mlmon_segment_prediction_psi", model=model, segment=name, segment_value=v)] = psi(rc, cc)


def feature_bins(d, feature, edges, cats):
    """Bin counts of a feature's present values: numeric at the edges (bin =
    number of edges <= x), categorical by the top categories and __other__."""
    vals = d[feature].dropna()
    if edges is not None:
        return np.bincount(np.searchsorted(edges, vals.to_numpy(float), side="right"), minlength=len(edges) + 1)
    return vals.map(lambda v: v if v in cats else OTHER).value_counts().reindex([*cats, OTHER], fill_value=0).to_numpy()


def segment_feature_psi(df, model, segs, features):
    """mlmon_segment_feature_psi: each feature's PSI within each value,
    current rows against the same value's reference rows, both with at
    least min_samples present values."""
    for name, col, n in segs:
        slot, values = slot_column(df, col, n)
        d = df.assign(slot=slot)
        for v in values:
            g = d[d.slot == v]
            for feature, edges in features:
                cats = None
                if edges is None:
                    cats = top_values(df[df.window == "ref"][feature], 20)  # max_categories' default
                rc = feature_bins(g[g.window == "ref"], feature, edges, cats)
                cc = feature_bins(g[g.window == "cur"], feature, edges, cats)
                if rc.sum() >= min_samples and cc.sum() >= min_samples:
                    out[key("mlmon_segment_feature_psi", model=model, segment=name, segment_value=v, feature=feature)] = psi(rc, cc)


b = pd.DataFrame(inp["bin"])
b["app"] = b["app"].astype(str)
segments(b, "seg_bin", [("country", "country", 3), ("app", "app", 2), ("uid", "uid", 5)], "classification")
segment_feature_psi(b, "seg_bin", [("country", "country", 3), ("app", "app", 2)],
                    [("f_num", np.asarray(inp["f_num_edges"], float)), ("f_cat", None)])
e = pd.DataFrame(inp["est"])
# seg_est's output is its score, binned at the reference's approximate
# quantiles: its PSI is not reproduced here (the test skips it).
segments(e, "seg_est", [("country", "country", 3)], "classification", psi_of_classes=False)
# The label-free estimate per segment value: isotonic regression of the
# label on the score over the reference's labelled rows, applied to each
# current row; expected accuracy = mean of p (predicted 1) or 1 - p.
ref = e[e.window == "ref"]
fit = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref.score, (ref.label == "1").astype(float))
slot, values = slot_column(e, "country", 3)
cur = e.assign(slot=slot)[e.window == "cur"]
for v in values:
    g = cur[cur.slot == v]
    if len(g) < min_samples:
        continue
    p = fit.predict(g.score)
    out[key("mlmon_segment_estimated_accuracy_ratio", model="seg_est", segment="country", segment_value=v)] = float(
        np.where(g.pred == "1", p, 1 - p).mean())
    # Expected macro F1: every row twice, a positive with weight p and a
    # negative with 1 - p (as the whole-model estimate's oracle does).
    pred = (g.pred == "1").astype(int).to_numpy()
    _, _, f1, _ = precision_recall_fscore_support(np.concatenate([np.ones(len(p)), np.zeros(len(p))]),
                                                  np.concatenate([pred, pred]), sample_weight=np.concatenate([p, 1 - p]),
                                                  average="macro")
    out[key("mlmon_segment_estimated_f1_score", model="seg_est", segment="country", segment_value=v, average="macro")] = float(f1)
r = pd.DataFrame(inp["reg"])
segments(r, "seg_reg", [("country", "country", 3)], "regression")
json.dump(out, sys.stdout)
