"""Intent metrics: accuracy, macro-F1 and, for CLINC150, in-scope accuracy and out-of-scope recall."""

from __future__ import annotations

import numpy as np


def intent_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...], oos_label: str | None = None
) -> dict[str, float]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    result = {"accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else 0.0,
              "macro_f1": macro_f1(y_true, y_pred, len(labels))}
    if oos_label is not None and oos_label in labels:
        oos = labels.index(oos_label)
        in_scope = y_true != oos
        result["in_scope_accuracy"] = float(np.mean(y_pred[in_scope] == y_true[in_scope]))
        result["oos_recall"] = float(np.mean(y_pred[~in_scope] == oos)) if (~in_scope).any() else 0.0
    result["examples"] = int(len(y_true))
    return result


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Mean F1 over the classes present in y_true or y_pred (sklearn's default behaviour)."""
    scores = []
    for c in range(num_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0
