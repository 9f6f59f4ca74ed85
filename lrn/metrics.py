"""Segmentation scores: Jaccard index and Hausdorff distance between binary masks.

Plain NumPy/SciPy functions on arrays, in the style of ``skimage.metrics``.

Evaluation convention (applied by the caller; nothing is resized here): scores are always
computed at ``EVAL_SIZE`` x ``EVAL_SIZE`` = 224 x 224 pixels so that they compare with the
paper's. The truth is the nearest-neighbour-resized 224 x 224 mask; a prediction made at
another size is resized bilinearly to 224 x 224 as probabilities and then thresholded with
:func:`threshold_prob` (probability > 0.5). Scores are computed per image and summarised with
:func:`mean_std`.

Empty masks: the Jaccard index of two empty masks is 100 %. The Hausdorff distance of two
empty masks is 0 and, when exactly one mask is empty, the image diagonal
``sqrt(H**2 + W**2)`` (316.78 pixels at 224 x 224), the largest distance two pixels of the
image can be apart; :func:`count_one_empty` counts how many images hit that rule.
"""
import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from lrn.errors import InputError
from lrn.shapes import EVAL_SIZE  # noqa: F401  (scores are computed at EVAL_SIZE x EVAL_SIZE)


def _check_mask(mask, name="mask", ndim=2):
    """Return ``mask`` as a bool array with ``ndim`` axes; accept bool or 0/1 integer arrays only."""
    mask = np.asarray(mask)
    axes = "(H, W)" if ndim == 2 else "(N, H, W)"
    if mask.ndim != ndim:
        raise InputError(f"{name} must be a {ndim}-D array {axes}, got shape {mask.shape}")
    if 0 in mask.shape[-2:]:
        raise InputError(f"{name} has no pixels: shape {mask.shape}")
    if mask.dtype == bool:
        return mask
    if not np.issubdtype(mask.dtype, np.integer):
        raise InputError(
            f"{name} must be boolean or a 0/1 integer array, got dtype {mask.dtype}; "
            "threshold probabilities with lrn.metrics.threshold_prob first"
        )
    if mask.size and (mask.min() < 0 or mask.max() > 1):
        bad = np.unique(mask[(mask != 0) & (mask != 1)])[:5].tolist()
        raise InputError(f"{name} (dtype {mask.dtype}) must hold only 0 and 1, found values {bad}")
    return mask.astype(bool)


def _check_pair(truth, pred, ndim=2):
    """Validate a truth/prediction pair of masks (or stacks of masks) of the same shape."""
    plural = "s" if ndim == 3 else ""
    truth = _check_mask(truth, "truth" + plural, ndim)
    pred = _check_mask(pred, "pred" + plural, ndim)
    if truth.shape != pred.shape:
        raise InputError(
            f"truth{plural} and pred{plural} must have the same shape, got {truth.shape} and {pred.shape}"
        )
    return truth, pred


def _inner(mask):
    """Mask pixels whose four 4-neighbours are all in the mask (outside the image counts as out)."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    inner[[0, -1]] = False
    inner[:, [0, -1]] = False
    return inner


def _cross(mask):
    """Pixels with a 4-neighbour in ``mask``."""
    out = np.zeros_like(mask)
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _square(mask):
    """Dilation of ``mask`` by a 3 x 3 square: pixels with ``mask`` in their 8-neighbourhood or on it."""
    rows = mask.copy()
    rows[1:] |= mask[:-1]
    rows[:-1] |= mask[1:]
    out = rows.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def _coords(mask):
    """(K, 2) int array of the (row, column) of the True pixels of a 2-D mask."""
    return np.stack(np.divmod(np.flatnonzero(mask), mask.shape[1]), axis=1)


_WINDOW = 3  # half-side of the window searched around isolated far pixels
_OFFSETS = np.array([(i, j) for i in range(-_WINDOW, _WINDOW + 1) for j in range(-_WINDOW, _WINDOW + 1)])
_OFFSETS_SQ = (_OFFSETS**2).sum(axis=1)
_BLOCK = 16  # side of the blocks of far pixels that share one distance measurement
_BRUTE_FORCE_MAX = 1 << 17  # up to this many pixel pairs, compare all pairs instead of a k-d tree


def _directed(src, dst, floor=0.0):
    """Largest distance from a ``src`` pixel to its nearest ``dst`` pixel, or ``floor`` if larger.

    Exact, for non-empty (H, W) bool masks; the work goes only where the maximum can be.
    Pixels next to ``dst`` are settled with whole-image shifts, isolated far pixels by
    looking around them, the rest with a k-d tree on ``dst``.
    """
    far = src & ~_square(dst)  # no dst pixel among the 8 neighbours: distance >= 2
    if not far.any():  # every src pixel lies on dst (0), beside it (1) or diagonal to it (sqrt 2)
        off = src & ~dst
        near = 0.0 if not off.any() else math.sqrt(2) if (off & ~_cross(dst)).any() else 1.0
        return max(floor, near)
    pts = _coords(far)
    if np.count_nonzero(dst) > 4 * len(pts):
        # Few far pixels among many dst pixels: search the 7 x 7 window around each. A
        # nearest hit at squared distance <= 16 is exact, since pixels outside the window
        # are at least 4 away; if none is left unsettled the maximum is among them.
        padded = np.pad(dst, _WINDOW)
        hit = padded[pts[:, :1] + _OFFSETS[:, 0] + _WINDOW, pts[:, 1:] + _OFFSETS[:, 1] + _WINDOW]
        nearest_sq = np.where(hit, _OFFSETS_SQ, np.iinfo(np.int64).max).min(axis=1)
        unsettled = nearest_sq > (_WINDOW + 1) ** 2
        if not unsettled.any():
            return max(floor, math.sqrt(nearest_sq.max()))
        pts = pts[unsettled]  # all farther than the settled ones
    dst_pts = _coords(dst).astype(np.float64)
    tree = None

    def nearest(p):
        """Distance from each of the points ``p`` to the nearest dst pixel."""
        nonlocal tree
        p = p.astype(np.float64)
        if len(p) * len(dst_pts) <= _BRUTE_FORCE_MAX:
            return np.sqrt(cdist(p, dst_pts, "sqeuclidean").min(axis=1))
        if tree is None:
            tree = cKDTree(dst_pts, balanced_tree=False, compact_nodes=False)
        return tree.query(p)[0]

    # Measure one representative pixel per block first: its distance plus its offset bounds
    # the distance of every other pixel of the block (triangle inequality), so only the
    # pixels whose bound beats the best distance so far need measuring themselves.
    block = (pts[:, 0] // _BLOCK) * (src.shape[1] // _BLOCK + 1) + pts[:, 1] // _BLOCK
    first = np.empty(block.max() + 1, np.intp)
    first[block[::-1]] = np.arange(len(pts))[::-1]  # first pixel of each block
    rep = first[block]
    reps = np.flatnonzero(rep == np.arange(len(pts)))
    rep_dist = np.empty(len(pts))
    rep_dist[reps] = nearest(pts[reps])
    best = max(floor, rep_dist[reps].max())
    bound = rep_dist[rep] + np.hypot(*(pts - pts[rep]).T)
    rest = pts[bound > best - 1e-9]
    if len(rest):
        best = max(best, nearest(rest).max())
    return float(best)


def boundary(mask):
    """Boundary pixels of a binary mask.

    A boundary pixel is a mask pixel with at least one 4-neighbour outside the mask, the
    outside of the image counting as outside. This equals the mask minus its binary erosion
    by a 3 x 3 cross with ``border_value=0``, which is what ``medpy.metric.binary.hd`` uses,
    and ``skimage.segmentation.find_boundaries(mode="inner", connectivity=1)`` of the mask
    padded by one background pixel, which measured about 10x slower on 224 x 224 masks
    (the two are tested equal).

    Parameters
    ----------
    mask : (H, W) ndarray of bool, or of 0/1 integers
        The mask.

    Returns
    -------
    edge : (H, W) ndarray of bool
        True on the boundary pixels of ``mask``.

    Raises
    ------
    lrn.errors.InputError
        If ``mask`` is not 2-D or holds values other than 0/1.
    """
    mask = _check_mask(mask)
    return mask & ~_inner(mask)


def jaccard(truth, pred):
    """Jaccard index (intersection over union) of two binary masks, in percent.

    ``J = |L and P| / |L or P| * 100``; two empty masks score 100.

    Parameters
    ----------
    truth, pred : (H, W) ndarray of bool, or of 0/1 integers
        Ground-truth mask L and predicted mask P, same shape.

    Returns
    -------
    j : float
        Jaccard index in percent, in [0, 100].

    Raises
    ------
    lrn.errors.InputError
        If the masks are not 2-D, differ in shape or hold values other than 0/1.
    """
    truth, pred = _check_pair(truth, pred)
    union = np.count_nonzero(truth | pred)
    if union == 0:
        return 100.0
    return np.count_nonzero(truth & pred) / union * 100.0


def hausdorff(truth, pred):
    """Symmetric Hausdorff distance between the boundaries of two binary masks, in pixels.

    The largest Euclidean distance from a boundary pixel (see :func:`boundary`) of either
    mask to the nearest boundary pixel of the other, in pixel units. Agrees with
    ``medpy.metric.binary.hd(pred, truth)`` on non-empty masks. Parameters and errors as
    for :func:`jaccard`.

    Returns
    -------
    h : float
        Hausdorff distance in pixels. 0.0 if both masks are empty; the image diagonal
        ``sqrt(H**2 + W**2)`` (316.78 at 224 x 224) if exactly one is empty.
    """
    truth, pred = _check_pair(truth, pred)
    edge_t, edge_p = boundary(truth), boundary(pred)
    empty_t, empty_p = not edge_t.any(), not edge_p.any()
    if empty_t or empty_p:
        return 0.0 if empty_t and empty_p else math.hypot(*truth.shape)
    return _directed(edge_p, edge_t, floor=_directed(edge_t, edge_p))


def _per_pair(metric, truths, preds) -> np.ndarray:
    """``metric`` of each pair in two ``(N, H, W)`` stacks of masks, as float64 ``(N,)``."""
    truths, preds = _check_pair(truths, preds, ndim=3)
    return np.array([metric(t, p) for t, p in zip(truths, preds)], dtype=np.float64)


def jaccard_batch(truths, preds):
    """:func:`jaccard` of each pair in two stacks of masks.

    Parameters
    ----------
    truths, preds : (N, H, W) ndarray of bool, or of 0/1 integers

    Returns
    -------
    j : (N,) ndarray of float64
        Jaccard index of each pair, in percent.
    """
    return _per_pair(jaccard, truths, preds)


def hausdorff_batch(truths, preds):
    """:func:`hausdorff` of each pair in two stacks of masks (same parameters as :func:`jaccard_batch`).

    Returns
    -------
    h : (N,) ndarray of float64
        Hausdorff distance of each pair, in pixels.
    """
    return _per_pair(hausdorff, truths, preds)


def threshold_prob(prob, threshold=0.5):
    """Threshold probabilities into a binary mask.

    Parameters
    ----------
    prob : ndarray of float
        Foreground probabilities in [0, 1], any shape.
    threshold : float, optional
        Pixels with probability strictly above it are foreground.

    Returns
    -------
    mask : ndarray of bool
        ``prob > threshold``, same shape as ``prob``.
    """
    return np.asarray(prob) > threshold


def count_one_empty(truths, preds):
    """Number of pairs in which exactly one mask is empty.

    These are the images whose Hausdorff distance is set to the image diagonal.

    Parameters
    ----------
    truths, preds : (N, H, W) ndarray of bool, or of 0/1 integers

    Returns
    -------
    n : int
    """
    truths, preds = _check_pair(truths, preds, ndim=3)
    t_empty = ~truths.reshape(len(truths), -1).any(axis=1)
    p_empty = ~preds.reshape(len(preds), -1).any(axis=1)
    return int(np.count_nonzero(t_empty != p_empty))


def mean_std(values):
    """Mean and sample standard deviation of per-image scores.

    The standard deviation uses ``ddof=1`` (the sample estimate, dividing by N - 1), the
    usual choice when the test images are a sample; for a single value it is 0.0.

    Parameters
    ----------
    values : (N,) array_like of float
        Per-image scores, N >= 1.

    Returns
    -------
    mean, std : float
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise InputError("mean_std needs at least one value, got an empty array")
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def format_mean_std(mean, std, decimals=2):
    """Format a mean and standard deviation as ``"91.67 ± 5.63"``.

    Parameters
    ----------
    mean, std : float
    decimals : int, optional
        Digits after the decimal point.

    Returns
    -------
    text : str
    """
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"
