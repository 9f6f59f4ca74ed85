"""Haze: how much of the background shows through a cut-out.

``lrn whiten`` composes ``alpha * photo + (1 - alpha) * white``. Where the true background
gets an opacity above 0, the white is tinted by the photo: a ghost of railings, pavement or a
window around the person. Two numbers per photo measure it, both on the photo's own pixels
(the opacity ``lrn whiten`` composes with, against the true mask at the same resolution):

* :func:`background_alpha`: the mean opacity over the true background (0: clean white);
* :func:`hazy_share`: the share of true-background pixels whose opacity is above
  :data:`HAZE_ALPHA` (how much of the white is visibly tinted, however faintly).

Neither looks at the person: the Jaccard index and the Hausdorff distance
(:mod:`lrn.metrics`) say whether the person is there; these say whether the rest is white.
A photo whose true mask has no background pixels has no haze to measure: both are NaN.
"""
from __future__ import annotations

import numpy as np

from lrn.errors import InputError

HAZE_ALPHA = 0.05
"""Opacity above which a background pixel counts as hazy: 5 % of the photo shows through, about
13 grey levels on a bright background, which is visible on white."""


def _check(alpha, truth) -> tuple[np.ndarray, np.ndarray]:
    """``alpha`` as float64 in [0, 1] and ``truth`` as bool, both ``(H, W)``, or ``InputError``."""
    alpha, truth = np.asarray(alpha), np.asarray(truth)
    if alpha.ndim != 2 or truth.ndim != 2:
        raise InputError(f"alpha and truth must be 2-D (H, W) arrays, got shapes {alpha.shape} and {truth.shape}")
    if alpha.shape != truth.shape:
        raise InputError(f"alpha {alpha.shape} and truth {truth.shape} differ in shape: "
                         "compare them at the photo's own resolution")
    if truth.dtype != bool:
        if not np.issubdtype(truth.dtype, np.integer) or not np.isin(truth, (0, 1)).all():
            raise InputError(f"truth must be boolean or a 0/1 integer array, got dtype {truth.dtype}")
        truth = truth.astype(bool)
    if alpha.dtype == np.uint8:  # an 8-bit mask as lrn whiten --background mask writes it
        return alpha.astype(np.float64) / 255.0, truth
    if not np.issubdtype(alpha.dtype, np.floating):
        raise InputError(f"alpha must be float in [0, 1] or uint8 (0-255), got dtype {alpha.dtype}")
    if not (np.isfinite(alpha).all() and alpha.min(initial=0.0) >= 0.0 and alpha.max(initial=0.0) <= 1.0):
        raise InputError(f"alpha must lie in [0, 1] with no NaN, got values from {np.nanmin(alpha)} "
                         f"to {np.nanmax(alpha)}")
    return alpha.astype(np.float64), truth


def background_alpha(alpha, truth) -> float:
    """Mean opacity over the true background.

    Parameters
    ----------
    alpha : numpy.ndarray
        Opacity ``(H, W)``: float in [0, 1], or uint8 0-255 (an 8-bit mask, read as ``/ 255``),
        at the photo's own resolution.
    truth : numpy.ndarray
        True person mask ``(H, W)``, bool or 0/1 integers (True / 1 = person).

    Returns
    -------
    float
        In [0, 1]; NaN when ``truth`` has no background pixel.

    Raises
    ------
    lrn.errors.InputError
        Shapes that differ (both named), arrays that are not 2-D, ``alpha`` outside [0, 1].
    """
    alpha, truth = _check(alpha, truth)
    background = ~truth
    return float(alpha[background].mean()) if background.any() else float("nan")


def hazy_share(alpha, truth, threshold: float = HAZE_ALPHA) -> float:
    """Share of the true-background pixels whose opacity is above ``threshold``.

    Parameters
    ----------
    alpha, truth : numpy.ndarray
        As for :func:`background_alpha`.
    threshold : float
        Opacity in [0, 1); a pixel counts when its opacity is strictly above it
        (default :data:`HAZE_ALPHA`).

    Returns
    -------
    float
        A fraction in [0, 1] (not a percentage); NaN when ``truth`` has no background pixel.
    """
    if not 0.0 <= threshold < 1.0:
        raise InputError(f"threshold must be in [0, 1), got {threshold}")
    alpha, truth = _check(alpha, truth)
    background = ~truth
    return float((alpha[background] > threshold).mean()) if background.any() else float("nan")


def haze(alpha, truth, threshold: float = HAZE_ALPHA) -> dict[str, float]:
    """Both measures of one photo: ``{"background_alpha": ..., "hazy_share": ...}`` (fractions, see above)."""
    return {"background_alpha": background_alpha(alpha, truth), "hazy_share": hazy_share(alpha, truth, threshold)}
