"""Properties of lrn.metrics on small random masks (hypothesis)."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lrn.metrics import boundary, hausdorff, jaccard

FAST = settings(max_examples=75, deadline=None)

sides = st.integers(1, 24)


@st.composite
def masks(draw, count=2, non_empty=False):
    """``count`` bool masks of one random shape up to 24 x 24."""
    shape = (draw(sides), draw(sides))
    out = []
    for _ in range(count):
        mask = draw(arrays(bool, shape))
        if non_empty and not mask.any():
            mask[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))] = True
        out.append(mask)
    return out


def brute_force_hausdorff(a, b):
    """Reference: all pairs of boundary pixels (non-empty masks only)."""
    pa, pb = np.argwhere(boundary(a)), np.argwhere(boundary(b))
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2))
    return max(d.min(axis=1).max(), d.min(axis=0).max())


@FAST
@given(masks())
def test_jaccard_in_range_and_symmetric(pair):
    a, b = pair
    j = jaccard(a, b)
    assert 0.0 <= j <= 100.0
    assert j == jaccard(b, a)


@FAST
@given(masks(count=1, non_empty=True))
def test_jaccard_of_equal_masks_is_100(single):
    (a,) = single
    assert jaccard(a, a.copy()) == 100.0


@FAST
@given(masks())
def test_hausdorff_symmetric(pair):
    a, b = pair
    assert hausdorff(a, b) == hausdorff(b, a)


@FAST
@given(masks())
def test_scores_do_not_depend_on_orientation(pair):
    a, b = pair
    h, j = hausdorff(a, b), jaccard(a, b)
    for turn in (np.transpose, np.flipud, np.fliplr):
        assert hausdorff(turn(a), turn(b)) == h
        assert jaccard(turn(a), turn(b)) == j


@FAST
@given(masks(count=1))
def test_hausdorff_of_equal_masks_is_0(single):
    (a,) = single
    assert hausdorff(a, a.copy()) == 0.0


@FAST
@given(masks(non_empty=True))
def test_hausdorff_matches_all_pairs(pair):
    a, b = pair
    assert abs(hausdorff(a, b) - brute_force_hausdorff(a, b)) <= 1e-9


@FAST
@given(
    shape=arrays(bool, st.tuples(st.integers(1, 12), st.integers(1, 12))).filter(np.any),
    k=st.integers(1, 8),
    axis=st.sampled_from([0, 1]),
    margin=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
)
def test_moving_a_shape_by_k_pixels_gives_k(shape, k, axis, margin):
    # Place the shape and its copy moved by k along one axis on a canvas with room to spare,
    # so that neither touches the image border.
    top, bottom, left, right = margin
    h, w = shape.shape
    grow = (k, 0) if axis == 0 else (0, k)
    canvas = np.zeros((top + h + grow[0] + bottom, left + w + grow[1] + right), bool)
    a, b = canvas.copy(), canvas.copy()
    a[top : top + h, left : left + w] = shape
    b[top + grow[0] : top + grow[0] + h, left + grow[1] : left + grow[1] + w] = shape
    assert hausdorff(a, b) == float(k)


@FAST
@given(masks(count=3, non_empty=True))
def test_hausdorff_triangle_inequality(triple):
    a, b, c = triple
    assert hausdorff(a, c) <= hausdorff(a, b) + hausdorff(b, c) + 1e-9


@FAST
@given(masks(count=1, non_empty=True))
def test_one_empty_mask_gives_the_diagonal(single):
    (a,) = single
    assert hausdorff(a, np.zeros_like(a)) == math.hypot(*a.shape)
