"""How a photo enters a network: letterboxed or squashed to its square input, and the map back.

A model is fed the way it was trained (its *feed*, :data:`lrn.cutout_model.FEEDS`):
``"pad"`` letterboxes the photo with its aspect ratio kept (:mod:`lrn.letterbox`),
``"squash"`` resizes it to the input size.
"""
from __future__ import annotations

import numpy as np

from lrn import imageops, letterbox
from lrn.errors import InputError


def network_input(photo: np.ndarray, feed: str, size: tuple[int, int]) -> tuple[np.ndarray, letterbox.Box | None]:
    """``photo`` (uint8, H x W x 3) as a network with input ``size`` (height, width) takes it.

    Returns ``x``, float32 ``(1, h, w, 3)`` in 0-255, and the letterbox
    :class:`lrn.letterbox.Box` that :func:`map_back` needs (``None`` for ``"squash"``).
    """
    if feed == "squash":
        return imageops.resize_photo(photo, size)[np.newaxis].astype(np.float32), None
    if size[0] != size[1]:
        raise InputError(f"feed='pad' needs a square model input; this model takes {size[0]}x{size[1]}")
    small, box = letterbox.letterbox_photo(photo, size[0])
    return small[np.newaxis].astype(np.float32), box


def map_back(fine: np.ndarray, box: letterbox.Box | None, shape: tuple[int, int]) -> np.ndarray:
    """A map at the network's resolution (h, w) back at the photo's ``shape`` (H, W), bilinear."""
    return letterbox.unletterbox(fine, box) if box is not None else imageops.resize_prob(fine, shape)
