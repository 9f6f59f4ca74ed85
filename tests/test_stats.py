"""Paired comparisons and error rates."""
import numpy as np
import pytest
from scipy import stats as scipy_stats

from lrnbook import stats
from lrn.errors import InputError


def test_paired_difference_of_a_clear_gap():
    rng = np.random.default_rng(0)
    b = rng.uniform(80, 95, 48)
    a = b + 2.0 + rng.normal(0, 0.5, 48)
    result = stats.paired_difference(a, b)
    assert result["mean_diff"] == pytest.approx(np.mean(a - b))
    assert result["ci_low"] < result["mean_diff"] < result["ci_high"]
    assert 1.5 < result["ci_low"] and result["ci_high"] < 2.5
    assert result["p_wilcoxon"] == pytest.approx(scipy_stats.wilcoxon(a - b).pvalue)
    assert result["p_wilcoxon"] < 1e-6 and result["a_better"] == 48 and result["n"] == 48


def test_paired_difference_without_a_gap_straddles_zero():
    rng = np.random.default_rng(1)
    a, b = rng.normal(90, 5, 48), rng.normal(90, 5, 48)
    result = stats.paired_difference(a, b)
    assert result["ci_low"] < 0 < result["ci_high"]
    assert result["p_wilcoxon"] > 0.05
    same = stats.paired_difference(a, a)
    assert same["mean_diff"] == 0 and same["p_wilcoxon"] == 1.0


def test_paired_difference_refuses_unpaired_input():
    with pytest.raises(InputError, match="same length"):
        stats.paired_difference([1, 2, 3], [1, 2])
    with pytest.raises(InputError, match="at least 2"):
        stats.paired_difference([1.0], [2.0])


def test_error_rates_by_hand():
    truth = np.zeros((1, 4, 4), bool)
    truth[0, :2] = True                      # 8 person, 8 background pixels
    pred = np.zeros((1, 4, 4), bool)
    pred[0, 0] = True                         # 4 of the person found
    pred[0, 3, 0] = True                      # 1 background pixel called person
    fp, fn = stats.error_rates(truth, pred)
    assert fp[0] == pytest.approx(100 / 8) and fn[0] == pytest.approx(50.0)
    full = np.ones((1, 4, 4), bool)
    fp, fn = stats.error_rates(full, full)
    assert fp[0] == 0 and fn[0] == 0
