"""The haze measures: mean opacity over the true background and the share of it above 5 %."""
import math

import numpy as np
import pytest

from lrn import haze
from lrn.errors import InputError


def example():
    """A 3x4 truth with 4 person pixels and 8 background pixels of known opacity."""
    truth = np.array([[0, 1, 1, 0],
                      [0, 1, 1, 0],
                      [0, 0, 0, 0]], bool)
    alpha = np.array([[0.0, 1.0, 0.9, 0.05],
                      [0.2, 1.0, 1.0, 0.0],
                      [0.0, 0.4, 0.06, 0.0]])
    return alpha, truth


def test_hand_computed_values():
    alpha, truth = example()
    # background: 0, 0.05, 0.2, 0, 0, 0.4, 0.06, 0 -> sum 0.71 over 8 pixels
    assert haze.background_alpha(alpha, truth) == pytest.approx(0.71 / 8)
    # above 0.05 (strictly): 0.2, 0.4, 0.06 -> 3 of 8; 0.05 itself does not count
    assert haze.hazy_share(alpha, truth) == pytest.approx(3 / 8)
    assert haze.hazy_share(alpha, truth, threshold=0.0) == pytest.approx(4 / 8)
    assert haze.haze(alpha, truth) == {"background_alpha": pytest.approx(0.71 / 8), "hazy_share": pytest.approx(3 / 8)}
    assert haze.HAZE_ALPHA == 0.05


def test_a_perfect_cut_out_has_no_haze_and_a_full_ghost_has_all():
    _, truth = example()
    assert haze.background_alpha(truth.astype(float), truth) == 0.0
    assert haze.hazy_share(truth.astype(float), truth) == 0.0
    assert haze.background_alpha(np.ones(truth.shape), truth) == 1.0
    assert haze.hazy_share(np.ones(truth.shape), truth) == 1.0


def test_the_person_does_not_count_and_pixel_order_does_not_matter():
    alpha, truth = example()
    changed = np.where(truth, 0.0, alpha)  # any opacity on the person
    assert haze.haze(changed, truth) == haze.haze(alpha, truth)
    rng = np.random.default_rng(0)
    order = rng.permutation(alpha.size)
    shuffled = alpha.ravel()[order].reshape(4, 3), truth.ravel()[order].reshape(4, 3)
    assert haze.haze(*shuffled) == pytest.approx(haze.haze(alpha, truth))
    assert haze.haze(alpha.T, truth.T) == pytest.approx(haze.haze(alpha, truth))


def test_more_opacity_on_the_background_never_lowers_the_measures():
    rng = np.random.default_rng(1)
    truth = rng.random((40, 30)) < 0.3
    alpha = rng.random((40, 30)) * 0.2
    more = np.clip(alpha + rng.random((40, 30)) * 0.1, 0, 1)
    assert haze.background_alpha(more, truth) >= haze.background_alpha(alpha, truth)
    assert haze.hazy_share(more, truth) >= haze.hazy_share(alpha, truth)


def test_an_8_bit_mask_reads_as_opacity_and_integer_truths_are_accepted():
    alpha, truth = example()
    a8 = np.rint(alpha * 255).astype(np.uint8)
    assert haze.background_alpha(a8, truth.astype(np.uint8)) == pytest.approx(haze.background_alpha(alpha, truth),
                                                                             abs=1 / 255)
    assert haze.hazy_share(a8, truth) == pytest.approx(4 / 8)  # 0.05 is 13 / 255 = 0.051 in 8 bits: above


def test_no_background_pixel_gives_nan():
    truth = np.ones((5, 6), bool)
    assert math.isnan(haze.background_alpha(np.zeros((5, 6)), truth))
    assert math.isnan(haze.hazy_share(np.zeros((5, 6)), truth))


def test_bad_input_names_what_is_wrong():
    alpha, truth = example()
    with pytest.raises(InputError, match=r"\(3, 4\).*\(4, 3\)"):
        haze.background_alpha(alpha, truth.T)
    with pytest.raises(InputError, match=r"\(2, 3, 4\)"):
        haze.hazy_share(np.stack([alpha, alpha]), truth)
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        haze.background_alpha(alpha * 2, truth)
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        haze.background_alpha(np.where(truth, np.nan, alpha), truth)
    with pytest.raises(InputError, match="0/1"):
        haze.background_alpha(alpha, truth * 2)
    with pytest.raises(InputError, match="dtype int64"):
        haze.background_alpha(np.zeros((3, 4), np.int64), truth)
    with pytest.raises(InputError, match="threshold"):
        haze.hazy_share(alpha, truth, threshold=1.0)
