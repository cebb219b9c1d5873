import numpy as np
import pytest

from tfcompress.training import classification_loss


def test_label_smoothing_spreads_the_target_over_every_class():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], dtype=np.float32)
    labels = np.array([0, 1])
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    eps, k = 0.1, logits.shape[1]
    target = np.full_like(logits, eps / k)
    target[np.arange(2), labels] += 1 - eps
    expected = -(target * log_p).sum(1).mean()
    assert float(classification_loss(eps)(labels, logits)) == pytest.approx(expected, rel=1e-5)
    assert float(classification_loss(0.0)(labels, logits)) == pytest.approx(-log_p[np.arange(2), labels].mean(),
                                                                             rel=1e-5)


def test_smoothing_takes_labels_of_any_leading_shape():
    logits = np.random.default_rng(0).normal(size=(2, 3, 5)).astype(np.float32)
    labels = np.array([[0, 1, 2], [3, 4, 0]])
    flat = classification_loss(0.1)(labels.reshape(-1), logits.reshape(-1, 5))
    assert float(classification_loss(0.1)(labels, logits)) == pytest.approx(float(flat), rel=1e-5)
