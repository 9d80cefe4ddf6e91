"""Independent oracle for the bin-ratio integration test.

Reads the raw rows (JSON on stdin) and bins each feature of both windows
with numpy: numeric features by numpy.histogram over the reference's
quantile edges (docs/statistics.md), categorical ones by the reference's top
categories. Shares no code with the exporter. Prints a list of
{"feature", "window", "index", "lower", "upper", "category", "other", "ratio"}.
"""
import json
import sys

import numpy as np

doc = json.load(sys.stdin)
bins, max_cat, min_samples = doc["bins"], doc["max_categories"], doc["min_samples"]
out = []


def window(rows, w):
    return [r for r in rows if w[0] <= r["ts"] < w[1]]


ref_rows, cur_rows = window(doc["rows"], doc["reference"]), window(doc["rows"], doc["current"])


def present(rows, f, numeric):
    vals = [r.get(f) for r in rows]
    if numeric:
        return np.array([v for v in vals if v is not None and np.isfinite(v)], dtype=float)
    return [v for v in vals if v is not None]


def top_categories(values):
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:max_cat]


for f in doc["features"]:
    name, numeric = f["name"], f["type"] == "numeric"
    rv, cv = present(ref_rows, name, numeric), present(cur_rows, name, numeric)
    if numeric:
        edges = np.unique(np.quantile(rv, [i / bins for i in range(1, bins)]))
        full = np.concatenate(([-np.inf], edges, [np.inf]))
        for w, vals in (("reference", rv), ("current", cv)):
            if len(vals) < min_samples:
                continue
            counts, _ = np.histogram(vals, bins=full)
            for i, n in enumerate(counts):
                out.append({"feature": name, "window": w, "index": i,
                            "lower": None if i == 0 else float(full[i]),
                            "upper": None if i == len(counts) - 1 else float(full[i + 1]),
                            "ratio": float(n) / len(vals)})
    else:
        top = top_categories(rv)
        for w, vals in (("reference", rv), ("current", cv)):
            if len(vals) < min_samples:
                continue
            for i, t in enumerate(top):
                out.append({"feature": name, "window": w, "index": i, "category": t,
                            "ratio": sum(1 for v in vals if v == t) / len(vals)})
            out.append({"feature": name, "window": w, "index": len(top), "other": True,
                        "ratio": sum(1 for v in vals if v not in top) / len(vals)})

json.dump(out, sys.stdout, indent=1)
