"""The paper's purpose: a photo of a person on a plain white background.

``segment`` predicts the person's probability at the model's input size and resizes the map
back to the photo's own resolution; ``composite_on_white`` blends photo and white with a soft
edge; ``whiten_file`` does both for a file and writes a PNG.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from scipy import ndimage

from lrn import fastforward, imageops, postprocess
from lrn.errors import InputError

WHITE = 255
EDGE_FRACTION = 0.02  # soft-edge band kept around the person, as a share of the photo's diagonal


def clean_probability(prob: np.ndarray) -> np.ndarray:
    """Keep one person: the largest region of ``prob > 0.5`` with its holes filled.

    Far from that region the probability becomes 0 (stray blobs vanish); in a band around
    it (2 % of the diagonal) it is kept, so the cut-out keeps its soft edge; holes inside
    become 1.
    """
    keep = postprocess.largest_component_filled(prob > 0.5)
    if not keep.any():
        return np.zeros_like(prob)
    band = max(1, int(round(EDGE_FRACTION * np.hypot(*prob.shape))))
    near = ndimage.binary_dilation(keep, iterations=band)
    cleaned = np.where(near, prob, 0.0).astype(np.float32)
    cleaned[keep & (prob <= 0.5)] = 1.0
    return cleaned


def segment(model, photo: np.ndarray, clean: bool = False, forward=None) -> np.ndarray:
    """Probability of "person" at every pixel of ``photo``.

    Parameters
    ----------
    model : keras.Model
        An ``lrn`` model (LRN: its last output s6 is used; U-Net: its only output).
    photo : uint8 array (H, W, 3), any H and W.
    clean : bool
        Keep only the largest person region, holes filled (:func:`clean_probability`).
    forward : callable, optional
        ``x (1, h, w, 3) float32 -> finest map (1, h, w, 1)`` in place of Keras' prediction,
        e.g. the TensorFlow Lite forward of :func:`lrn.fastforward.for_model_file`.

    Returns
    -------
    float32 array (H, W) in [0, 1] at the photo's own resolution (bilinear resize back).
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise InputError(f"photo must be an H x W x 3 uint8 array, got {photo.shape} {photo.dtype}")
    _, h, w, _ = model.input.shape
    small = imageops.resize_photo(photo, (int(h), int(w)))
    forward = forward or fastforward.keras_forward(model)  # predict_on_batch: compiled, unlike an eager call
    fine = forward(small[np.newaxis].astype(np.float32))
    prob = np.asarray(fine)[0, ..., 0]
    prob = np.clip(imageops.resize_prob(prob, photo.shape[:2]), 0.0, 1.0)
    return clean_probability(prob) if clean else prob


def edge_alpha(prob: np.ndarray, low: float = 0.3, high: float = 0.7) -> np.ndarray:
    """Opacity of the photo: 0 below ``low``, 1 above ``high``, a smooth ramp between (soft edge)."""
    if not 0 <= low < high <= 1:
        raise InputError(f"need 0 <= low < high <= 1 for the soft edge, got low={low}, high={high}")
    t = np.clip((prob - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # smoothstep: no visible seam where the ramp starts or ends


def composite_on_white(photo: np.ndarray, prob: np.ndarray, low: float = 0.3, high: float = 0.7) -> np.ndarray:
    """``alpha * photo + (1 - alpha) * white`` with ``alpha = edge_alpha(prob)``; uint8 (H, W, 3).

    Where ``prob <= low`` the result is pure white; where ``prob >= high`` it is the photo.
    """
    if prob.shape != photo.shape[:2]:
        raise InputError(f"probability map {prob.shape} does not match the photo {photo.shape[:2]}")
    alpha = edge_alpha(prob, low, high)[..., np.newaxis]
    out = alpha * photo.astype(np.float32) + (1.0 - alpha) * WHITE
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def whiten_file(model, photo_path, out_dir, low: float = 0.3, high: float = 0.7, clean: bool = True,
                forward=None) -> Path:
    """Read ``photo_path``, put the person on white at the photo's resolution, write ``<stem>_white.png``.

    ``clean`` (default): stray blobs away from the person are dropped (:func:`clean_probability`).
    ``forward``: see :func:`segment`.
    """
    photo = imageops.read_photo(photo_path)
    result = composite_on_white(photo, segment(model, photo, clean=clean, forward=forward), low, high)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"{Path(photo_path).stem}_white.png"
    Image.fromarray(result).save(out_path, compress_level=1)  # lossless; fast beats a few % smaller
    return out_path
