"""Paired comparisons of per-image scores: is one model better than another on the same images?

The paper reports one run per model on 48 images with large standard deviations. Two models
scored on the same test images are compared by the per-image *difference*: its mean with a
percentile bootstrap 95 % interval, and a Wilcoxon signed-rank p-value.
"""
from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from lrn.errors import InputError


def paired_difference(a, b, n_boot: int = 10_000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Compare per-image scores ``a`` and ``b`` (same images, same order).

    Returns
    -------
    dict with ``mean_diff`` (mean of a - b), ``ci_low`` and ``ci_high`` (percentile bootstrap
    interval of that mean, resampling images), ``p_wilcoxon`` (two-sided Wilcoxon signed-rank
    test of a - b; 1.0 when every difference is zero), ``n`` and ``a_better`` (images with a > b).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError(f"paired scores need two 1-D arrays of the same length, got {a.shape} and {b.shape}")
    if len(a) < 2:
        raise InputError(f"paired comparison needs at least 2 images, got {len(a)}")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    diff = a - b
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(axis=1)
    tail = (1 - confidence) / 2
    p_value = 1.0 if not np.any(diff) else float(scipy_stats.wilcoxon(diff).pvalue)
    return {"mean_diff": float(diff.mean()), "ci_low": float(np.quantile(means, tail)),
            "ci_high": float(np.quantile(means, 1 - tail)), "p_wilcoxon": p_value, "n": int(len(diff)),
            "a_better": int(np.sum(diff > 0))}


def error_rates(truths: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image false-positive and false-negative rates, in percent.

    False positives: background pixels labelled person, as a share of the true background.
    False negatives: person pixels labelled background, as a share of the true person.
    An image without background (or without person) gets 0 for that rate.
    """
    truths, preds = np.asarray(truths, bool), np.asarray(preds, bool)
    if truths.shape != preds.shape or truths.ndim != 3:
        raise InputError(f"need two (N, H, W) mask stacks of one shape, got {truths.shape} and {preds.shape}")
    axes = (1, 2)
    background, person = (~truths).sum(axes), truths.sum(axes)
    false_pos = (preds & ~truths).sum(axes)
    false_neg = (~preds & truths).sum(axes)
    fp_rate = np.divide(100.0 * false_pos, background, out=np.zeros(len(truths)), where=background > 0)
    fn_rate = np.divide(100.0 * false_neg, person, out=np.zeros(len(truths)), where=person > 0)
    return fp_rate, fn_rate


def interval_text(result: dict, unit: str) -> str:
    """A paired difference as a page prints it: ``"+1.23 pp [-0.45, +2.90]"`` (mean and 95 %
    interval of :func:`paired_difference`, two decimals, in ``unit``)."""
    return f"{result['mean_diff']:+.2f} {unit} [{result['ci_low']:+.2f}, {result['ci_high']:+.2f}]"
