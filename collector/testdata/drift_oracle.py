"""Independent oracle for the drift integration test.

Reads the raw rows (JSON on stdin) and computes the drift and data-quality
metrics straight from docs/statistics.md's definitions with numpy and scipy. Shares no
code with the exporter. Prints {"metric{labels}": value}.
"""
import json
import sys

import numpy as np
from scipy import stats

doc = json.load(sys.stdin)
model, bins, max_cat, min_samples = doc["model"], doc["bins"], doc["max_categories"], doc["min_samples"]
out = {}


def key(name, **labels):
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def window(rows, w):
    return [r for r in rows if w[0] <= r["ts"] < w[1]]


ref_rows, cur_rows = window(doc["rows"], doc["reference"]), window(doc["rows"], doc["current"])


def present(rows, f, numeric):
    vals = [r.get(f) for r in rows]
    if numeric:
        return np.array([v for v in vals if v is not None and np.isfinite(v)], dtype=float)
    return [v for v in vals if v is not None]


def psi(r, c):
    r, c = r / r.sum(), c / c.sum()
    r, c = np.where(r == 0, 1e-4, r), np.where(c == 0, 1e-4, c)
    return float(np.sum((c - r) * np.log(c / r)))


def js(r, c):
    r, c = r / r.sum(), c / c.sum()
    m = (r + c) / 2
    kl = lambda p: float(np.sum([pi * np.log2(pi / mi) for pi, mi in zip(p, m) if pi > 0]))
    return 0.5 * kl(r) + 0.5 * kl(c)


def compare(name, r, c, extra):
    n, m = r.sum(), c.sum()
    out[key(name + "_psi", model=model, **extra)] = psi(r, c)
    out[key(name + "_js_divergence", model=model, **extra)] = js(r, c)
    if name != "mlmon_feature":
        return
    used = (r > 0) | (c > 0)
    table = np.array([r[used], c[used]])
    out[key("mlmon_feature_chi2_p_value", model=model, **extra)] = float(stats.chi2_contingency(table, correction=False)[1])
    out[key("mlmon_feature_psi_critical_value", model=model, **extra)] = (1 / n + 1 / m) * stats.chi2.ppf(0.95, used.sum() - 1)


for f in doc["features"]:
    name, numeric = f["name"], f["type"] == "numeric"
    rv, cv = present(ref_rows, name, numeric), present(cur_rows, name, numeric)
    labels = {"feature": name}
    for w, rows, vals in (("reference", ref_rows, rv), ("current", cur_rows, cv)):
        out[key("mlmon_feature_samples", model=model, window=w, **labels)] = len(vals)
        if len(rows) >= min_samples:
            out[key("mlmon_feature_missing_ratio", model=model, window=w, **labels)] = 1 - len(vals) / len(rows)
    if numeric:
        edges = np.unique(np.quantile(rv, [i / bins for i in range(1, bins)]))
        # bin = number of edges <= x, so x == edge goes to the upper bin
        r = np.bincount(np.searchsorted(edges, rv, side="right"), minlength=len(edges) + 1).astype(float)
        c = np.bincount(np.searchsorted(edges, cv, side="right"), minlength=len(edges) + 1).astype(float)
        if len(cv) >= min_samples:
            out[key("mlmon_feature_out_of_range_ratio", model=model, **labels)] = float(np.mean((cv < rv.min()) | (cv > rv.max())))
    else:
        counts = {}
        for v in rv:
            counts[v] = counts.get(v, 0) + 1
        top = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:max_cat]
        r = np.array([counts[v] for v in top] + [len(rv) - sum(counts[v] for v in top)], dtype=float)
        c = np.array([sum(1 for v in cv if v == t) for t in top] + [sum(1 for v in cv if v not in top)], dtype=float)
        if len(cv) >= min_samples:
            out[key("mlmon_feature_unseen_category_ratio", model=model, **labels)] = sum(1 for v in cv if v not in counts) / len(cv)
    if len(rv) < min_samples or len(cv) < min_samples:
        continue
    compare("mlmon_feature", r, c, labels)
    if numeric:
        cr, cc = np.cumsum(r) / r.sum(), np.cumsum(c) / c.sum()
        out[key("mlmon_feature_ks_statistic", model=model, **labels)] = float(np.max(np.abs(cr - cc)))
        grid = [(i + 0.5) / 20 for i in range(20)]
        out[key("mlmon_feature_wasserstein", model=model, **labels)] = float(
            np.mean(np.abs(np.quantile(rv, grid) - np.quantile(cv, grid))) / np.std(rv))

# Prediction drift: class proportions over the reference's top classes.
rp, cp = [r["prediction"] for r in ref_rows], [r["prediction"] for r in cur_rows]
counts = {}
for v in rp:
    counts[v] = counts.get(v, 0) + 1
top = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:max_cat]
r = np.array([counts[v] for v in top] + [len(rp) - sum(counts[v] for v in top)], dtype=float)
c = np.array([cp.count(t) for t in top] + [sum(1 for v in cp if v not in top)], dtype=float)
compare("mlmon_prediction", r, c, {})
out[key("mlmon_predictions", model=model, window="reference")] = len(ref_rows)

json.dump(out, sys.stdout, indent=1, sort_keys=True)
