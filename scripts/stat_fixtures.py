#!/usr/bin/env python3
"""Reference values for the statistical tests of the `sweep-report` crate.

`sweep report --baseline …` prints p-values that end up in papers, so each
test it runs is checked against an independent reference:

* paired t-test: `scipy.stats.ttest_rel` (two-sided);
* Wilcoxon signed-rank: `scipy.stats.wilcoxon(x, y)` with its defaults
  (`zero_method="wilcox"`, `correction=False`, `method="auto"`): the exact
  null distribution for n <= 50 without ties or zeros, an exact sign-flip
  permutation test for n <= 13 with ties or zeros, and the tie-corrected
  normal approximation otherwise;
* Holm's step-down correction: written out below in numpy (it is a few lines
  and statsmodels is not a dependency); missing p-values are left out of
  the family;
* DeLong's test for two correlated ROC AUCs on the same samples: scipy has no
  function for it, so it is implemented here in numpy from the papers, not
  from any package: DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44,
  837-845, with the structural components computed from midranks as in
  Sun & Xu (2014), IEEE Signal Processing Letters 21, 1389-1393. Each
  implementation is checked against the other in this script: the midrank
  components must equal the brute-force pairwise kernel of the 1988 paper.

  Multi-label and multi-class (one-vs-rest) tasks get one DeLong test per
  output and one for the macro AUC, the mean over the outputs with at least
  two positives and two negatives. The variance of the macro difference
  uses per-sample influence terms: for output l a positive sample i
  contributes (V10_i - auc) / sqrt(m (m - 1)) and a negative one
  (V01_i - auc) / sqrt(n (n - 1)); the covariance of two AUCs is the sum
  over samples of the products of their terms. For two AUCs of the same
  output this is exactly DeLong's S10/m + S01/n; across outputs it is the
  same estimator applied to the shared samples.

Regenerate (needs numpy and scipy; the project's PyTorch virtualenv has
numpy, `pip install scipy` into it if missing):

    "${SWEEP_TORCH_VENV:-$HOME/.cache/sweep/torch-2.13.0-venv}/bin/python" \\
        scripts/stat_fixtures.py

It writes `crates/sweep-report/tests/fixtures/stats.json` (or the path given
as the first argument). The output is deterministic for a given numpy and
scipy version (both are recorded). `NaN` results are written as `null`.
"""

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent
    / "crates"
    / "sweep-report"
    / "tests"
    / "fixtures"
    / "stats.json"
)


def num(v):
    """A float for JSON: `None` for NaN, the strings "inf"/"-inf" for ±∞."""
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


# ---- paired t-test and Wilcoxon -----------------------------------------


def paired_cases(rng):
    """(name, x, y) pairs covering the shapes a sweep produces."""
    cases = []
    for n in (2, 3, 5, 8, 10, 20, 30):
        x = rng.normal(0.8, 0.05, n)
        y = x - rng.normal(0.01, 0.02, n)
        cases.append((f"normal_n{n}", x, y))
    # Clear effect: small p-values.
    x = rng.normal(0.9, 0.01, 12)
    cases.append(("large_effect_n12", x, x - 0.05 - rng.normal(0, 0.005, 12)))
    # Negative direction.
    x = rng.normal(0.7, 0.03, 6)
    cases.append(("negative_n6", x, x + rng.normal(0.02, 0.01, 6)))
    # Ties among |d| (rounded values), small n: permutation test in scipy.
    x = np.round(rng.normal(0.8, 0.05, 9), 2)
    y = np.round(x - rng.normal(0.0, 0.02, 9), 2)
    cases.append(("ties_n9", x, y))
    # Zeros, small n.
    x = np.array([0.81, 0.79, 0.80, 0.83, 0.78, 0.82, 0.77])
    y = np.array([0.80, 0.79, 0.78, 0.83, 0.79, 0.80, 0.74])
    cases.append(("zeros_n7", x, y))
    # Ties and zeros, n between 14 and 50: normal approximation.
    x = np.round(rng.normal(0.8, 0.05, 25), 2)
    y = np.round(x - rng.normal(0.005, 0.02, 25), 2)
    cases.append(("ties_zeros_n25", x, y))
    # No ties, n = 50 (exact) and n = 60 (normal approximation).
    for n in (50, 60):
        x = rng.normal(0.0, 1.0, n)
        y = x - rng.normal(0.2, 1.0, n)
        cases.append((f"continuous_n{n}", x, y))
    # Constant (exactly representable) differences: the t statistic is
    # infinite and p is 0; every |d| ties, so Wilcoxon permutes.
    x = np.array([0.5, 0.75, 1.0, 1.25])
    cases.append(("constant_shift_n4", x, x - 0.25))
    # All equal: the t statistic is undefined (NaN); Wilcoxon gives p = 1.
    x = np.array([0.5, 0.5, 0.75, 0.75, 1.0])
    cases.append(("identical_n5", x, x.copy()))
    # Exact pair values as reported with 4 decimals.
    cases.append(
        (
            "auc_four_decimals_n5",
            np.array([0.7412, 0.7388, 0.7455, 0.7401, 0.7392]),
            np.array([0.7301, 0.7322, 0.7351, 0.7310, 0.7399]),
        )
    )
    return cases


def ttest_entry(x, y):
    # Constant differences make SciPy warn about precision loss; the result
    # (t = ±inf or nan) is what the fixture records.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = stats.ttest_rel(x, y)
    return {
        "statistic": num(r.statistic),
        "df": num(r.df),
        "pvalue": num(r.pvalue),
        "mean_difference": float(np.mean(np.asarray(x) - np.asarray(y))),
    }


def wilcoxon_method(x, y):
    """Which branch `scipy.stats.wilcoxon(method="auto")` takes."""
    d = np.asarray(x) - np.asarray(y)
    nz = d[d != 0]
    has_ties = len(np.unique(np.abs(nz))) < len(nz)
    if len(d) > 50:
        return "normal"
    if not has_ties and len(nz) == len(d):
        return "exact"
    return "permutation" if len(d) <= 13 else "normal"


def wilcoxon_entry(x, y):
    d = np.asarray(x) - np.asarray(y)
    if np.all(d == 0):
        with np.errstate(all="ignore"):
            r = stats.wilcoxon(x, y)
        return {"statistic": num(r.statistic), "pvalue": num(r.pvalue), "method": "none"}
    r = stats.wilcoxon(x, y)
    return {
        "statistic": num(r.statistic),
        "pvalue": num(r.pvalue),
        "method": wilcoxon_method(x, y),
    }


# ---- Holm -----------------------------------------------------------------


def holm(pvalues):
    """Holm (1979) step-down adjusted p-values; `None` entries are skipped."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    p = np.array([pvalues[i] for i in idx], dtype=float)
    m = len(p)
    out = [None] * len(pvalues)
    if m == 0:
        return out
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, j in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[j]))
        adjusted[j] = running
    for k, i in enumerate(idx):
        out[i] = float(adjusted[k])
    return out


def holm_cases(rng):
    cases = [
        [0.01, 0.04, 0.03, 0.005],
        [0.5, 0.5, 0.5],
        [0.001],
        [0.02, None, 0.03, 0.2, None],
        [0.9, 0.01, 0.04, 0.04, 0.2, 0.6],
        [None, None],
    ]
    cases.append([float(v) for v in rng.uniform(0, 0.2, 10)])
    return [{"pvalues": c, "adjusted": holm(c)} for c in cases]


# ---- DeLong ---------------------------------------------------------------


def midranks(x):
    """1-based ranks with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks_sorted = np.zeros(n)
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        ranks_sorted[i:j] = 0.5 * (i + j - 1) + 1
        i = j
    out = np.empty(n)
    out[order] = ranks_sorted
    return out


def components_midrank(pos, neg):
    """AUC and structural components V10 (per positive), V01 (per negative)."""
    m, n = len(pos), len(neg)
    tz = midranks(np.concatenate([pos, neg]))
    tx = midranks(pos)
    ty = midranks(neg)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return auc, v10, v01


def components_bruteforce(pos, neg):
    """The 1988 definition: psi(X, Y) = 1, 1/2, 0 for X > Y, X = Y, X < Y."""
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(), psi.mean(axis=1), psi.mean(axis=0)


def delong_single(y, a, b):
    """Paired DeLong test of AUC(a) - AUC(b) for 0/1 labels `y`."""
    pos_mask = y == 1
    out = {}
    comps = []
    for s in (a, b):
        auc, v10, v01 = components_midrank(s[pos_mask], s[~pos_mask])
        auc_b, v10_b, v01_b = components_bruteforce(s[pos_mask], s[~pos_mask])
        assert abs(auc - auc_b) < 1e-12
        assert np.allclose(v10, v10_b, atol=1e-12) and np.allclose(v01, v01_b, atol=1e-12)
        comps.append((auc, v10, v01))
    m, n = pos_mask.sum(), (~pos_mask).sum()
    s10 = np.cov(np.vstack([comps[0][1], comps[1][1]]))
    s01 = np.cov(np.vstack([comps[0][2], comps[1][2]]))
    cov = s10 / m + s01 / n
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = comps[0][0] - comps[1][0]
    out["auc_a"] = float(comps[0][0])
    out["auc_b"] = float(comps[1][0])
    out["difference"] = float(diff)
    out["variance"] = float(var)
    if var > 0:
        z = diff / math.sqrt(var)
        out["z"] = float(z)
        out["pvalue"] = float(2 * stats.norm.sf(abs(z)))
    elif diff == 0:
        out["z"] = 0.0
        out["pvalue"] = 1.0
    else:
        out["z"] = None
        out["pvalue"] = None
    return out


def influence(y, s):
    """Per-sample influence terms of AUC(s) (see the module docstring)."""
    pos_mask = y == 1
    m, n = pos_mask.sum(), (~pos_mask).sum()
    auc, v10, v01 = components_midrank(s[pos_mask], s[~pos_mask])
    psi = np.empty(len(y))
    psi[pos_mask] = (v10 - auc) / math.sqrt(m * (m - 1))
    psi[~pos_mask] = (v01 - auc) / math.sqrt(n * (n - 1))
    return auc, psi


def delong_case(y, a, b, outputs):
    """Per-output tests and the macro test for row-major n x outputs arrays."""
    y = y.reshape(-1, outputs)
    a = a.reshape(-1, outputs)
    b = b.reshape(-1, outputs)
    per = []
    used = []
    c = np.zeros(y.shape[0])
    auc_a = []
    auc_b = []
    for l in range(outputs):
        m = int(y[:, l].sum())
        n = y.shape[0] - m
        if m < 2 or n < 2:
            per.append(None)
            continue
        per.append(delong_single(y[:, l], a[:, l], b[:, l]))
        used.append(l)
        aa, pa = influence(y[:, l], a[:, l])
        ab, pb = influence(y[:, l], b[:, l])
        auc_a.append(aa)
        auc_b.append(ab)
        c += pa - pb
    macro = None
    if used:
        k = len(used)
        c /= k
        var = float(np.sum(c * c))
        diff = float(np.mean(auc_a) - np.mean(auc_b))
        macro = {
            "auc_a": float(np.mean(auc_a)),
            "auc_b": float(np.mean(auc_b)),
            "difference": diff,
            "variance": var,
        }
        if var > 0:
            z = diff / math.sqrt(var)
            macro["z"] = z
            macro["pvalue"] = float(2 * stats.norm.sf(abs(z)))
        elif diff == 0:
            macro["z"] = 0.0
            macro["pvalue"] = 1.0
        else:
            macro["z"] = None
            macro["pvalue"] = None
        if k == 1:
            single = per[used[0]]
            assert abs(single["variance"] - var) < 1e-12, (single["variance"], var)
    # For one output the influence form must equal the classical DeLong variance.
    for l in used:
        aa, pa = influence(y[:, l], a[:, l])
        ab, pb = influence(y[:, l], b[:, l])
        assert abs(np.sum((pa - pb) ** 2) - per[l]["variance"]) < 1e-12
    return {
        "outputs": outputs,
        "y": [int(v) for v in y.ravel()],
        "a": [float(v) for v in a.ravel()],
        "b": [float(v) for v in b.ravel()],
        "per_output": per,
        "used": used,
        "macro": macro,
    }


def delong_cases(rng):
    cases = []
    # Binary, continuous scores, two correlated models.
    n = 80
    y = (rng.uniform(size=n) < 0.4).astype(int)
    signal = y + rng.normal(0, 1.0, n)
    a = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.5, n))))
    b = 1 / (1 + np.exp(-(0.6 * signal + rng.normal(0, 0.8, n))))
    cases.append(("binary_n80", y, a, b, 1))
    # Binary with heavy ties (scores rounded to one decimal).
    n = 60
    y = (rng.uniform(size=n) < 0.3).astype(int)
    a = np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1), 1)
    b = np.round(np.clip(0.2 * y + rng.uniform(0, 0.8, n), 0, 1), 1)
    cases.append(("binary_ties_n60", y, a, b, 1))
    # Identical models: difference 0, variance 0.
    cases.append(("binary_identical", y, a, a.copy(), 1))
    # Multi-label, 4 labels, one with a single positive (skipped).
    n = 120
    prev = np.array([0.3, 0.15, 0.5, 0.0])
    y = (rng.uniform(size=(n, 4)) < prev).astype(int)
    y[7, 3] = 1
    base = y + rng.normal(0, 0.9, (n, 4))
    a = 1 / (1 + np.exp(-base - rng.normal(0, 0.4, (n, 4))))
    b = 1 / (1 + np.exp(-0.7 * base - rng.normal(0, 0.6, (n, 4))))
    cases.append(("multilabel_4", y.ravel(), a.ravel(), b.ravel(), 4))
    # Multi-class, 3 classes one-vs-rest on softmax columns.
    n = 90
    cls = rng.integers(0, 3, n)
    onehot = np.eye(3, dtype=int)[cls]
    logits_a = 1.5 * onehot + rng.normal(0, 1, (n, 3))
    logits_b = 1.0 * onehot + rng.normal(0, 1, (n, 3))
    pa = np.exp(logits_a) / np.exp(logits_a).sum(axis=1, keepdims=True)
    pb = np.exp(logits_b) / np.exp(logits_b).sum(axis=1, keepdims=True)
    cases.append(("multiclass_3", onehot.ravel(), pa.ravel(), pb.ravel(), 3))
    out = []
    for name, y, a, b, k in cases:
        entry = delong_case(np.asarray(y), np.asarray(a, float), np.asarray(b, float), k)
        entry["name"] = name
        out.append(entry)
    return out


def main():
    out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    rng = np.random.default_rng(20240611)
    paired = []
    for name, x, y in paired_cases(rng):
        paired.append(
            {
                "name": name,
                "x": [float(v) for v in x],
                "y": [float(v) for v in y],
                "ttest": ttest_entry(x, y),
                "wilcoxon": wilcoxon_entry(x, y),
            }
        )
    doc = {
        "generator": "scripts/stat_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "paired": paired,
        "holm": holm_cases(rng),
        "delong": delong_cases(rng),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
