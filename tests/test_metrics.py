"""lrn.metrics: hand-made fixtures with known answers, and agreement with medpy."""
import math

import numpy as np
import pytest
from medpy.metric.binary import hd, jc
from scipy import ndimage as ndi
from skimage.metrics import hausdorff_distance
from skimage.segmentation import find_boundaries

from lrn import metrics
from lrn.errors import InputError
from lrn.metrics import (
    EVAL_SIZE,
    threshold_prob,
    boundary,
    count_one_empty,
    format_mean_std,
    hausdorff,
    hausdorff_batch,
    jaccard,
    jaccard_batch,
    mean_std,
)


def square(shift_rows=0):
    """64 x 64 grid with the filled square of rows 12..51 and columns 12..51 (inclusive)."""
    mask = np.zeros((64, 64), bool)
    mask[12 + shift_rows : 52 + shift_rows, 12:52] = True
    return mask


def holed_square():
    """The square with the 8 x 8 block of rows 28..35, columns 28..35 cleared."""
    mask = square()
    mask[28:36, 28:36] = False
    return mask


# ---- hand-made fixtures -------------------------------------------------------------


def test_square_with_hole():
    # 1536 of 1600 pixels overlap; the hole's rim is 15 pixels from the outer edge.
    assert jaccard(square(), holed_square()) == 96.0
    assert hausdorff(square(), holed_square()) == 15.0
    assert hausdorff(holed_square(), square()) == 15.0


def test_square_moved_down_three_rows():
    assert hausdorff(square(), square(shift_rows=3)) == 3.0
    assert jaccard(square(), square(shift_rows=3)) == pytest.approx(37 / 43 * 100)


def test_square_moved_diagonally_by_one():
    moved = np.roll(square(), (1, 1), axis=(0, 1))
    assert hausdorff(square(), moved) == math.sqrt(2)


@pytest.mark.parametrize("offset, expected", [((0, 0), 0.0), ((0, 1), 1.0), ((1, 1), math.sqrt(2)), ((2, 1), math.sqrt(5))])
def test_single_pixels(offset, expected):
    a, b = np.zeros((9, 9), bool), np.zeros((9, 9), bool)
    a[4, 4] = True
    b[4 + offset[0], 4 + offset[1]] = True
    assert hausdorff(a, b) == expected


def test_window_search_looks_beyond_its_corners():
    # A lone far pixel among many target pixels is first searched in a 7 x 7 window. Its
    # nearest target here is 4 rows down, just outside the window, while the window's
    # corner holds one at sqrt(18): the answer must be 4, not sqrt(18).
    src, dst = np.zeros((21, 21), bool), np.zeros((21, 21), bool)
    src[10, 10] = True
    dst[14, 10] = dst[13, 13] = True
    dst[0, :5] = True  # enough other targets for the window search to be used
    assert metrics._directed(src, dst) == 4.0
    dst[14, 10] = False
    assert metrics._directed(src, dst) == math.sqrt(18)


def test_jaccard_identical_and_disjoint():
    assert jaccard(square(), square()) == 100.0
    other = np.zeros((64, 64), bool)
    other[:5, :5] = True
    assert jaccard(square(), other) == 0.0


def test_boundary_of_single_pixel_is_that_pixel():
    mask = np.zeros((7, 9), bool)
    mask[3, 4] = True
    np.testing.assert_array_equal(boundary(mask), mask)


def test_boundary_of_full_image_is_its_frame():
    frame = np.ones((6, 8), bool)
    frame[1:-1, 1:-1] = False
    np.testing.assert_array_equal(boundary(np.ones((6, 8), bool)), frame)


def test_boundary_uses_four_neighbours():
    # The centre of a plus sign has all four 4-neighbours inside: not on the boundary,
    # although its diagonal neighbours are outside.
    plus = np.zeros((5, 5), bool)
    plus[2, 1:4] = plus[1:4, 2] = True
    expected = plus.copy()
    expected[2, 2] = False
    np.testing.assert_array_equal(boundary(plus), expected)


def test_boundary_of_square_is_its_outline():
    outline = square() & ~ndi.binary_erosion(square(), np.ones((3, 3)))
    np.testing.assert_array_equal(boundary(square()), outline)
    assert boundary(square()).sum() == 4 * 39


def test_both_empty():
    empty = np.zeros((64, 64), bool)
    assert jaccard(empty, empty) == 100.0
    assert hausdorff(empty, empty) == 0.0


@pytest.mark.parametrize("shape", [(64, 64), (EVAL_SIZE, EVAL_SIZE), (30, 50)])
def test_one_empty_gives_the_diagonal(shape):
    empty = np.zeros(shape, bool)
    full = np.ones(shape, bool)
    diagonal = math.sqrt(shape[0] ** 2 + shape[1] ** 2)
    assert jaccard(full, empty) == 0.0 and jaccard(empty, full) == 0.0
    assert hausdorff(full, empty) == diagonal and hausdorff(empty, full) == diagonal


def test_diagonal_at_eval_size():
    one = np.zeros((EVAL_SIZE, EVAL_SIZE), bool)
    one[100, 100] = True
    assert round(hausdorff(one, np.zeros_like(one)), 2) == 316.78


def test_integer_masks_accepted():
    assert jaccard(square().astype(np.uint8), holed_square().astype(np.int64)) == 96.0
    assert hausdorff(square().astype(np.uint8), holed_square().astype(np.int32)) == 15.0


@pytest.mark.parametrize(
    "truth, pred, words",
    [
        (np.zeros((2, 8, 8), bool), np.zeros((2, 8, 8), bool), ["2-D", "(2, 8, 8)"]),
        (np.zeros(8, bool), np.zeros(8, bool), ["2-D", "(8,)"]),
        (np.zeros((8, 8), bool), np.zeros((8, 9), bool), ["same shape", "(8, 8)", "(8, 9)"]),
        (np.zeros((8, 8), bool), np.full((8, 8), 2, np.uint8), ["0 and 1", "uint8", "[2]"]),
        (np.zeros((8, 8), bool), -np.ones((8, 8), int), ["0 and 1", "[-1]"]),
        (np.zeros((0, 8), bool), np.zeros((0, 8), bool), ["no pixels", "(0, 8)"]),
        (np.zeros((8, 8), bool), np.full((8, 8), 0.7), ["float64", "threshold_prob"]),
    ],
)
def test_bad_input(truth, pred, words):
    for function in (jaccard, hausdorff):
        with pytest.raises(InputError) as error:
            function(truth, pred)
        for word in words:
            assert word in str(error.value)
    assert issubclass(InputError, ValueError)


def test_bad_batch_input():
    with pytest.raises(InputError, match="3-D"):
        jaccard_batch(np.zeros((8, 8), bool), np.zeros((8, 8), bool))
    with pytest.raises(InputError, match="same shape"):
        hausdorff_batch(np.zeros((2, 8, 8), bool), np.zeros((3, 8, 8), bool))
    with pytest.raises(InputError, match="0 and 1"):
        count_one_empty(np.zeros((2, 8, 8), bool), np.full((2, 8, 8), 3))


# ---- agreement with medpy ------------------------------------------------------------


def random_mask(rng, shape):
    """A non-empty random mask: smooth blobs (often touching the border), noise or a few dots."""
    kind = rng.integers(3)
    while True:
        if kind == 0:
            field = ndi.gaussian_filter(rng.standard_normal(shape), rng.uniform(1, 8), mode="wrap")
            mask = field > rng.uniform(-0.5, 1.0) * field.std()
        elif kind == 1:
            mask = rng.random(shape) < rng.uniform(0.05, 0.7)
        else:
            mask = np.zeros(shape, bool)
            mask[rng.integers(shape[0], size=3), rng.integers(shape[1], size=3)] = True
        if mask.any():
            return mask


SHAPES = [(EVAL_SIZE, EVAL_SIZE), (64, 64), (48, 96), (97, 31), (1, 40), (5, 3), (1, 1)]


def random_pairs(n=50, seed=0):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        shape = SHAPES[i % len(SHAPES)]
        truth = random_mask(rng, shape)
        # Half the predictions are a perturbed truth (the realistic case), half unrelated.
        pred = truth ^ (rng.random(shape) < 0.02) if i % 2 else random_mask(rng, shape)
        if not pred.any():
            pred = truth.copy()
        pairs.append((truth, pred))
    return pairs


PAIRS = random_pairs()


def test_random_pairs_cover_the_hard_cases():
    touching = sum(t[0].any() or t[-1].any() or t[:, 0].any() or t[:, -1].any() for t, _ in PAIRS)
    assert touching > 20
    assert any(t.shape[0] != t.shape[1] for t, _ in PAIRS)
    assert len({hausdorff(t, p) for t, p in PAIRS}) > 20  # not all trivially equal


@pytest.mark.parametrize("index", range(len(PAIRS)))
def test_agrees_with_medpy(index):
    truth, pred = PAIRS[index]
    assert abs(hausdorff(truth, pred) - hd(pred, truth)) <= 1e-9
    assert abs(jaccard(truth, pred) - 100 * jc(pred, truth)) <= 1e-9


@pytest.mark.parametrize("brute_force_max", [0, 1 << 62], ids=["k-d tree", "all pairs"])
def test_both_nearest_neighbour_paths_agree_with_medpy(monkeypatch, brute_force_max):
    monkeypatch.setattr(metrics, "_BRUTE_FORCE_MAX", brute_force_max)
    for truth, pred in PAIRS[:: 3]:
        assert abs(hausdorff(truth, pred) - hd(pred, truth)) <= 1e-9


def test_agrees_with_scikit_image_on_boundary_images():
    """A second reference: skimage's Hausdorff distance between the two boundary images."""
    for truth, pred in PAIRS:
        # padded by one background pixel: the outside of the image counts as outside
        edges = [find_boundaries(np.pad(m, 1), connectivity=1, mode="inner")[1:-1, 1:-1] for m in (truth, pred)]
        assert np.array_equal(edges[0], metrics.boundary(truth)) and np.array_equal(edges[1], metrics.boundary(pred))
        assert abs(hausdorff(truth, pred) - hausdorff_distance(*edges)) <= 1e-9


def test_large_unrelated_blobs_agree_with_medpy():
    # Far-apart boundaries at full size go through the block bounds and the k-d tree.
    rng = np.random.default_rng(7)
    for _ in range(6):
        truth, pred = (random_mask(rng, (EVAL_SIZE, EVAL_SIZE)) for _ in range(2))
        assert abs(hausdorff(truth, pred) - hd(pred, truth)) <= 1e-9


# ---- batches and summaries ------------------------------------------------------------


def test_batches_agree_with_scalars():
    rng = np.random.default_rng(3)
    truths = np.stack([random_mask(rng, (40, 40)) for _ in range(6)])
    preds = np.stack([random_mask(rng, (40, 40)) for _ in range(6)])
    preds[2] = False  # one empty prediction
    truths[4] = preds[4] = False  # both empty
    j, h = jaccard_batch(truths, preds), hausdorff_batch(truths, preds)
    assert j.dtype == h.dtype == np.float64 and j.shape == h.shape == (6,)
    np.testing.assert_array_equal(j, [jaccard(t, p) for t, p in zip(truths, preds)])
    np.testing.assert_array_equal(h, [hausdorff(t, p) for t, p in zip(truths, preds)])
    assert h[2] == math.hypot(40, 40) and h[4] == 0.0
    assert count_one_empty(truths, preds) == 1
    assert jaccard_batch(truths[:0], preds[:0]).shape == (0,)


def test_count_one_empty():
    masks = np.zeros((4, 5, 5), bool)
    masks[1, 2, 2] = masks[3, 0, 0] = True
    other = masks.copy()
    other[1] = False  # truth only
    other[2, 1, 1] = True  # prediction only
    assert count_one_empty(masks, other) == 2
    assert count_one_empty(masks, masks) == 0


def test_binarize_is_strictly_above_threshold():
    prob = np.array([[0.0, 0.5, 0.500001], [1.0, 0.49, 0.7]])
    np.testing.assert_array_equal(threshold_prob(prob), [[False, False, True], [True, False, True]])
    np.testing.assert_array_equal(threshold_prob(prob, threshold=0.6), [[False, False, False], [True, False, True]])


def test_mean_std_uses_sample_std():
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))  # ddof=1; ddof=0 would be sqrt(5/4)
    assert mean_std(np.array([7.5])) == (7.5, 0.0)
    with pytest.raises(InputError):
        mean_std([])


def test_format_mean_std():
    assert format_mean_std(91.666, 5.634) == "91.67 ± 5.63"
    assert format_mean_std(3.0, 0.26, decimals=1) == "3.0 ± 0.3"
    assert format_mean_std(*mean_std([90.0, 92.0])) == "91.00 ± 1.41"
