"""Edges at the photo's resolution: the guided filter (He, Sun and Tang, 2010).

A model sees the photo at 224x224; its probability map, stretched back to a 600x800 photo,
has edges three pixels wide at best and no hair. The guided filter refines that map with the
full-resolution photo as guide: in every window of radius ``r`` the output is an affine
function of the photo's colours, fitted to the map by least squares with ridge ``eps``. Where
the photo has an edge, the map's edge snaps to it; where the photo is flat, the map is
smoothed. The result is a soft matte in [0, 1], usable directly as alpha.

Everything is box filters (``scipy.ndimage.uniform_filter``), so the cost is a few passes
over the photo whatever ``r`` is. :func:`guided_filter` fits on a photo subsampled by
``subsample`` and upsamples the affine coefficients (the "fast guided filter", He and Sun
2015): nearly the same output for a fraction of the time.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from lrn import imageops
from lrn.errors import InputError


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a ``(2 r + 1)^2`` window of the two leading axes (edges reflected)."""
    size = (2 * radius + 1, 2 * radius + 1) + (1,) * (x.ndim - 2)
    return ndimage.uniform_filter(x, size=size, mode="reflect")


def _resize(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of the two leading axes to ``shape``, channel by channel (Pillow)."""
    if x.ndim == 2:
        return imageops.resize_prob(x, shape)
    return np.stack([imageops.resize_prob(x[..., k], shape) for k in range(x.shape[-1])], axis=-1)


def _solve_symmetric3(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m^-1 v`` for a field of symmetric positive definite 3x3 matrices ``m (..., 3, 3)``.

    Cofactors written out: several times faster than ``numpy.linalg.solve`` on many tiny systems.
    """
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 1], m[..., 1, 2], m[..., 2, 2]
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([c00 * x + c01 * y + c02 * z, c01 * x + c11 * y + c12 * z,
                     c02 * x + c12 * y + c22 * z], axis=-1) / det[..., None]


def guided_filter(photo: np.ndarray, prob: np.ndarray, radius: int = 8, eps: float = 1e-3,
                  subsample: int = 1) -> np.ndarray:
    """Refine ``prob`` with ``photo`` as guide (colour guided filter).

    Parameters
    ----------
    photo : numpy.ndarray
        ``uint8`` RGB guide, ``(H, W, 3)``.
    prob : numpy.ndarray
        Probability of "person", ``(H, W)`` float in [0, 1] (e.g. the model's map resized to
        the photo).
    radius : int
        Window radius in pixels of the full-resolution photo (> 0).
    eps : float
        Ridge of the local fit, in squared colour units of [0, 1]-scaled RGB (> 0): larger
        is smoother, smaller follows the photo's edges more closely.
    subsample : int
        Fit on the photo shrunk by this factor (1 = exact); the radius shrinks with it.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float32 matte in [0, 1].
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise InputError(f"the guide must be an H x W x 3 uint8 photo, got {photo.shape} {photo.dtype}")
    if prob.shape != photo.shape[:2]:
        raise InputError(f"probability map {prob.shape} does not match the photo {photo.shape[:2]}")
    if not (isinstance(radius, (int, np.integer)) and radius > 0) or not eps > 0:
        raise InputError(f"the guided filter needs radius > 0 (an integer) and eps > 0, got {radius}, {eps}")
    if not (isinstance(subsample, (int, np.integer)) and subsample >= 1):
        raise InputError(f"subsample must be an integer >= 1, got {subsample!r}")
    full_shape = prob.shape
    guide_full = photo.astype(np.float32) / 255.0
    guide, p, r = guide_full, prob.astype(np.float32), radius
    if subsample > 1:
        small = (max(1, full_shape[0] // subsample), max(1, full_shape[1] // subsample))
        guide, p, r = _resize(guide_full, small), _resize(p, small), max(1, radius // subsample)

    mean_i = _box(guide, r)                                   # (h, w, 3)
    mean_p = _box(p, r)                                       # (h, w)
    cov_ip = _box(guide * p[..., None], r) - mean_i * mean_p[..., None]
    products = guide[..., :, None] * guide[..., None, :]      # (h, w, 3, 3)
    var_i = _box(products.reshape(*guide.shape[:2], 9), r).reshape(*guide.shape[:2], 3, 3)
    var_i = var_i - mean_i[..., :, None] * mean_i[..., None, :] + eps * np.eye(3, dtype=np.float32)
    a = _solve_symmetric3(var_i, cov_ip)                      # (h, w, 3): the local affine fit
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    mean_a, mean_b = _box(a, r), _box(b, r)
    if subsample > 1:
        mean_a, mean_b = _resize(mean_a, full_shape), _resize(mean_b, full_shape)
    out = np.einsum("hwc,hwc->hw", mean_a, guide_full) + mean_b
    return np.clip(out, 0.0, 1.0).astype(np.float32)
