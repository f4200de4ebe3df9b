#!/usr/bin/env python3
"""Reference values from scikit-learn for the `sweep-metrics` crate.

`sweep-metrics` promises that its accuracy, ROC AUC, confusion matrices,
precision/recall/F1, sensitivity/specificity and classification report agree
with scikit-learn to 1e-6, edge cases included. This script builds a handful
of small, seeded prediction sets that exercise those edge cases (tied scores,
all-equal scores, single-class labels, classes that are never true or never
predicted, probabilities of exactly 0.5, samples with no labels) and records
scikit-learn's answers next to the inputs. The Rust test
`crates/sweep-metrics/tests/sklearn_agreement.rs` reads the output and checks
every number.

Regenerate (needs numpy and scikit-learn; the project's PyTorch virtualenv
has both, or `pip install scikit-learn` into it):

    "${SWEEP_TORCH_VENV:-$HOME/.cache/sweep/torch-2.13.0-venv}/bin/python" \\
        scripts/metric_fixtures.py

It writes `crates/sweep-metrics/tests/fixtures/sklearn_metrics.json`; pass a
path to write elsewhere. The output is deterministic for a given numpy and
scikit-learn version (both are recorded in the file).

Conventions in the JSON:

* `kind` is `binary`, `multi-class` or `multi-label`; `y` and `probs` are
  flat, row-major (`n × n_outputs` for probabilities and multi-label labels,
  one class index per sample otherwise). Binary tasks have one output, the
  probability of class 1.
* Sigmoid outputs are predicted positive when `prob >= 0.5`; multi-class
  predictions are `argmax`.
* Values scikit-learn reports as `nan` (an AUC with one class in `y_true`)
  are `null`. `auc_macro_sklearn` is scikit-learn's own macro AUC (so `null`
  as soon as one output is undefined); `auc_macro_defined` is the mean over
  the defined outputs, the crate's definition.
* Multi-class and binary metrics use `labels=range(k)` (`[0, 1]` for binary)
  so every class appears, even one absent from both `y_true` and `y_pred`.
* Everything uses `zero_division=0`; specificity is `tn / (tn + fp)` from
  `multilabel_confusion_matrix`, 0 when there are no negatives.
* `flat` holds the flattened metrics of sigmoid tasks (`y.ravel()` against
  `probs.ravel()` and `pred.ravel()`): `auc`, `accuracy`, the macro and
  weighted precision/recall/F1 and the classification report of classes 0
  and 1. It is `null` for multi-class cases, where sweep leaves them
  undefined.
* `studies` rebuilds a published table from its printed counts: ChestMNIST's
  per-label TN/FP/FN/TP (Table II of the ChestMNIST/RetinaMNIST CNN study)
  become label and prediction columns, and scikit-learn scores them. The
  flattened weighted F1 and accuracy must also round to the study's own
  Table I values (`printed`, to `decimals` places).
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

THRESHOLD = 0.5
DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent
    / "crates/sweep-metrics/tests/fixtures/sklearn_metrics.json"
)


def num(x):
    """A JSON number, or None for nan."""
    x = float(x)
    return None if np.isnan(x) else x


def safe_div(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def auc_or_none(y, s):
    return num(roc_auc_score(y, s))


def prfs(y, pred, labels, averages):
    p, r, f, s = precision_recall_fscore_support(
        y, pred, labels=labels, average=None, zero_division=0
    )
    out = {
        "per_class": {
            "precision": [float(v) for v in p],
            "recall": [float(v) for v in r],
            "f1": [float(v) for v in f],
            "support": [int(v) for v in s],
        }
    }
    for avg in averages:
        p, r, f, _ = precision_recall_fscore_support(
            y, pred, labels=labels, average=avg, zero_division=0
        )
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return out


def rates(mcm):
    tn, fp, fn, tp = (mcm[:, 0, 0], mcm[:, 0, 1], mcm[:, 1, 0], mcm[:, 1, 1])
    sens = safe_div(tp, tp + fn)
    spec = safe_div(tn, tn + fp)
    return {
        "per_class_counts": [[int(v) for v in cell] for cell in zip(tn, fp, fn, tp)],
        "sensitivity_per_class": [float(v) for v in sens],
        "specificity_per_class": [float(v) for v in spec],
        "sensitivity_macro": float(sens.mean()),
        "specificity_macro": float(spec.mean()),
    }


def report(y, pred, labels):
    d = classification_report(y, pred, labels=labels, output_dict=True, zero_division=0)
    # "accuracy" maps to a number, every other key to a row of numbers.
    return {
        k: {kk: float(vv) for kk, vv in v.items()} if isinstance(v, dict) else float(v)
        for k, v in d.items()
    }


def flat_block(y, probs, pred):
    """Flattened metrics: every label of every sample as one binary decision."""
    y, pred = np.ravel(y), np.ravel(pred)
    out = {"auc": None if probs is None else auc_or_none(y, np.ravel(probs))}
    out["accuracy"] = float(accuracy_score(y, pred))
    for avg in ["macro", "weighted"]:
        p, r, f, _ = precision_recall_fscore_support(
            y, pred, labels=[0, 1], average=avg, zero_division=0
        )
        out[f"precision_{avg}"] = float(p)
        out[f"recall_{avg}"] = float(r)
        out[f"f1_{avg}"] = float(f)
    assert abs(out["f1_weighted"] - f1_score(y, pred, average="weighted", zero_division=0)) < 1e-15
    out["classification_report"] = report(y, pred, [0, 1])
    return out


def auc_block(per_class, sklearn_macro):
    defined = [v for v in per_class if v is not None]
    macro_defined = float(np.mean(defined)) if defined else None
    if sklearn_macro is not None:
        assert abs(sklearn_macro - macro_defined) < 1e-12
    return {
        "auc_per_class": per_class,
        "auc_macro_sklearn": sklearn_macro,
        "auc_macro_defined": macro_defined,
        "auc_skipped": len(per_class) - len(defined),
    }


def binary_case(name, y, probs):
    y = np.asarray(y, dtype=int)
    probs = np.asarray(probs, dtype=float)
    pred = (probs >= THRESHOLD).astype(int)
    labels = [0, 1]
    auc = auc_or_none(y, probs)
    expected = {
        **auc_block([auc], auc),
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": num(balanced_accuracy_score(y, pred)),
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        **rates(multilabel_confusion_matrix(y, pred, labels=[1])),
        "prfs": prfs(y, pred, labels, ["macro", "micro", "weighted"]),
        "classification_report": report(y, pred, labels),
        "flat": flat_block(y, probs, pred),
    }
    return case(name, "binary", 1, y, probs, expected)


def multiclass_case(name, y, probs):
    y = np.asarray(y, dtype=int)
    probs = np.asarray(probs, dtype=float)
    n, k = probs.shape
    pred = probs.argmax(axis=1)
    labels = list(range(k))
    per_class = [auc_or_none((y == c).astype(int), probs[:, c]) for c in labels]
    sk_macro = num(roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels))
    r = rates(multilabel_confusion_matrix(y, pred, labels=labels))
    p = prfs(y, pred, labels, ["macro", "micro", "weighted"])
    assert np.allclose(r["sensitivity_per_class"], p["per_class"]["recall"])
    expected = {
        **auc_block(per_class, sk_macro),
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": num(balanced_accuracy_score(y, pred)),
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        **r,
        "prfs": p,
        "classification_report": report(y, pred, labels),
        "flat": None,
    }
    return case(name, "multi-class", k, y, probs, expected)


def multilabel_case(name, y, probs):
    y = np.asarray(y, dtype=int)
    probs = np.asarray(probs, dtype=float)
    n, L = probs.shape
    pred = (probs >= THRESHOLD).astype(int)
    labels = list(range(L))
    per_class = [auc_or_none(y[:, l], probs[:, l]) for l in labels]
    sk_macro = num(roc_auc_score(y, probs, average="macro"))
    # Element-wise accuracy, computed as the mean of per-label accuracy_score.
    acc = float(np.mean([accuracy_score(y[:, l], pred[:, l]) for l in labels]))
    assert abs(acc - float((pred == y).mean())) < 1e-15
    r = rates(multilabel_confusion_matrix(y, pred))
    p = prfs(y, pred, labels, ["macro", "micro", "weighted", "samples"])
    assert np.allclose(r["sensitivity_per_class"], p["per_class"]["recall"])
    expected = {
        **auc_block(per_class, sk_macro),
        "accuracy": acc,
        "balanced_accuracy": None,
        "confusion_matrix": None,
        **r,
        "prfs": p,
        "classification_report": report(y, pred, labels),
        "flat": flat_block(y, probs, pred),
    }
    return case(name, "multi-label", L, y, probs, expected)


def case(name, kind, n_outputs, y, probs, expected):
    return {
        "name": name,
        "kind": kind,
        "n_outputs": n_outputs,
        "y": [int(v) for v in np.ravel(y)],
        "probs": [float(v) for v in np.ravel(probs)],
        "expected": expected,
    }


def softmax_like(rng, n, alpha):
    """Rows of probabilities in steps of 1/1000 (short JSON, realistic ties)."""
    d = rng.dirichlet(alpha, size=n)
    c = np.floor(d * 1000).astype(int)
    c[np.arange(n), c.argmax(axis=1)] += 1000 - c.sum(axis=1)
    return c


def build_cases():
    cases = []

    # --- binary -----------------------------------------------------------
    rng = np.random.default_rng(20240601)
    y = rng.integers(0, 2, size=40)
    s = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, size=40), 0, 1).round(1)
    assert (s == 0.5).any() and len(np.unique(s)) < 15
    cases.append(binary_case("binary_ties", y, s))

    cases.append(binary_case("binary_all_equal", [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1], [0.5] * 12))
    cases.append(binary_case("binary_all_equal_below", [1, 0, 0, 1, 0], [0.25] * 5))

    rng = np.random.default_rng(7)
    cases.append(binary_case("binary_one_class", [1] * 10, rng.random(10).round(3)))

    cases.append(binary_case("binary_hand", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
    cases.append(binary_case("binary_hand_threshold", [0, 1, 0, 1, 1], [0.5, 0.5, 0.49, 0.51, 0.2]))

    # --- multi-class ------------------------------------------------------
    # Five classes: class 3 never occurs in y_true, class 4 is never predicted.
    rng = np.random.default_rng(11)
    n, k = 60, 5
    c = softmax_like(rng, n, [2.0, 2.0, 2.0, 1.0, 0.4])
    rows = np.nonzero(c.argmax(axis=1) == 4)[0]
    c[rows, 4], c[rows, 0] = c[rows, 0], c[rows, 4].copy()
    p = c / 1000
    assert (p.argmax(axis=1) != 4).all()
    w = p.copy()
    w[:, 3] = 0
    w /= w.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in w])
    assert 3 not in y and 4 in y and 3 in p.argmax(axis=1)
    cases.append(multiclass_case("multiclass_5_missing", y, p))

    # Four classes, all present, with argmax ties; sklearn's macro is defined.
    rng = np.random.default_rng(12)
    n, k = 50, 4
    c = softmax_like(rng, n, [1.5] * k)
    c[0] = [400, 400, 100, 100]
    c[1] = [100, 300, 300, 300]
    p = c / 1000
    y = np.array([rng.choice(k, p=0.5 * row + 0.5 / k) for row in p])
    assert set(y) == set(range(k))
    cases.append(multiclass_case("multiclass_4_all_present", y, p))

    # Three classes by hand; class 2 occurs nowhere (neither true nor predicted).
    p = np.array(
        [
            [0.6, 0.3, 0.1],
            [0.2, 0.7, 0.1],
            [0.45, 0.45, 0.1],
            [0.3, 0.6, 0.1],
            [0.5, 0.2, 0.3],
        ]
    )
    cases.append(multiclass_case("multiclass_hand_empty_class", [0, 1, 1, 0, 1], p))

    # --- multi-label ------------------------------------------------------
    # Four labels: label 2 has no positives, label 3 has no negatives.
    rng = np.random.default_rng(13)
    n, L = 30, 4
    y = np.zeros((n, L), dtype=int)
    y[:, 0] = rng.random(n) < 0.3
    y[:, 1] = rng.random(n) < 0.5
    y[:, 3] = 1
    logits = 2.0 * (y - 0.5) + rng.normal(0, 1.2, size=(n, L))
    s = (1 / (1 + np.exp(-logits))).round(2)
    s[0, :] = 0.5
    s[1, 2] = 0.5
    cases.append(multilabel_case("multilabel_4_degenerate", y, s))

    # Three labels, all with both classes: sklearn's macro AUC is defined.
    rng = np.random.default_rng(14)
    n, L = 25, 3
    y = (rng.random((n, L)) < [0.2, 0.5, 0.7]).astype(int)
    s = (0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.25, size=(n, L))).clip(0, 1).round(1)
    assert all(0 < y[:, l].sum() < n for l in range(L))
    cases.append(multilabel_case("multilabel_3_defined", y, s))

    # By hand: row 0 has no true and no predicted labels, row 3 only false
    # positives, row 4 true labels but nothing predicted.
    y = [[0, 0, 0], [1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]]
    s = [[0.1, 0.2, 0.3], [0.9, 0.4, 0.5], [0.2, 0.8, 0.7], [0.6, 0.1, 0.5], [0.3, 0.4, 0.2]]
    cases.append(multilabel_case("multilabel_hand", y, s))

    return cases


# ChestMNIST test set, per label: TN, FP, FN, TP, as printed in Table II of
# the ChestMNIST/RetinaMNIST CNN study; its Table I prints the weighted F1
# 0.9265 and the binary accuracy 0.9479 of the same predictions.
CHEST_TABLE_II = [
    [20010, 3, 2418, 2],
    [21824, 27, 550, 32],
    [19150, 529, 2078, 676],
    [18453, 42, 3893, 45],
    [21299, 1, 1132, 1],
    [21098, 0, 1335, 0],
    [22191, 0, 242, 0],
    [21344, 0, 1089, 0],
    [21476, 0, 957, 0],
    [22020, 0, 413, 0],
    [21924, 0, 509, 0],
    [22071, 0, 362, 0],
    [21699, 0, 734, 0],
    [22391, 0, 42, 0],
]


def columns_from_counts(counts):
    """Label and prediction matrices (one column per label) with exactly
    these per-label TN/FP/FN/TP, in the order TN, FP, FN, TP down each column.
    Per-label and flattened metrics depend only on the counts, so the row
    order the study does not print cannot change them."""
    ys, ps = [], []
    for tn, fp, fn, tp in counts:
        ys.append([0] * (tn + fp) + [1] * (fn + tp))
        ps.append([0] * tn + [1] * fp + [0] * fn + [1] * tp)
    assert len({len(c) for c in ys}) == 1, "every label needs the same sample count"
    return np.array(ys).T, np.array(ps).T


def study_case():
    y, pred = columns_from_counts(CHEST_TABLE_II)
    flat = flat_block(y, None, pred)
    printed = {"flat_f1_weighted": 0.9265, "flat_accuracy": 0.9479}
    assert round(flat["f1_weighted"], 4) == printed["flat_f1_weighted"]
    assert round(flat["accuracy"], 4) == printed["flat_accuracy"]
    return {
        "name": "chestmnist_cnn_table_ii",
        "source": "ChestMNIST/RetinaMNIST CNN study, Tables I and II",
        "n_labels": len(CHEST_TABLE_II),
        "counts": CHEST_TABLE_II,
        "printed": printed,
        "decimals": 4,
        "expected": {
            "flat": flat,
            "f1_weighted_per_label": float(
                f1_score(y, pred, average="weighted", zero_division=0)
            ),
        },
    }


def dumps(obj, indent=0):
    """JSON with one line per scalar list, so the file stays short and diffable."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        scalar_lists = (
            isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v) for v in obj
        )
        if all(scalar_lists):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        items = [f"{inner}{dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    with warnings.catch_warnings():
        # Undefined AUCs and zero divisions are the point of several cases.
        warnings.simplefilter("ignore")
        cases = build_cases()
    doc = {
        "generator": "scripts/metric_fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "threshold": THRESHOLD,
        "cases": cases,
        "studies": [study_case()],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(doc) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
