"""Letterboxing: fit a photo of any shape into the model's square input without squashing it.

EG1800's loader squashes every photo to ``size x size`` whatever its aspect ratio; a tall
street photo then shows a person half as wide as they are. :func:`letterbox_photo` instead
scales the photo so that its longer side is ``size`` and pads the shorter side equally on
both ends with :data:`FILL`; :func:`unletterbox` crops a map predicted on that square back to
the photo and resizes it to the photo's own resolution. The pad is marked background in a
letterboxed mask (:func:`letterbox_mask`), so a model trained on letterboxed pairs learns
that the pad holds no person; at inference the pad is cropped away anyway.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrn import imageops
from lrn.errors import InputError

FILL = (124, 116, 104)
"""Pad colour, uint8 RGB: the ImageNet mean (0.485, 0.456, 0.406) x 255, which both of the
model's preprocessing modes (``caffe`` and ``torch``) map to about zero."""


@dataclass(frozen=True)
class Box:
    """Where a ``height x width`` photo sits inside a ``size x size`` letterboxed square.

    ``top``, ``left``: offset of the scaled photo in the square (pixels); ``inner_height``,
    ``inner_width``: its scaled size (the longer one equals ``size``).
    """

    height: int
    width: int
    size: int
    top: int
    left: int
    inner_height: int
    inner_width: int

    @property
    def inner(self) -> tuple[slice, slice]:
        """Row and column slices of the photo inside the square."""
        return slice(self.top, self.top + self.inner_height), slice(self.left, self.left + self.inner_width)


def fit_square(height: int, width: int, size: int) -> Box:
    """The :class:`Box` of a ``height x width`` photo in a ``size x size`` square.

    The longer side becomes ``size``; the shorter is scaled by the same factor, rounded to
    the nearest pixel (at least 1), and centred (an odd leftover pixel goes to the bottom or
    right pad).
    """
    for name, value in (("height", height), ("width", width), ("size", size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name}={value!r}; expected a positive number of pixels")
    scale = size / max(height, width)
    inner_h = max(1, min(size, int(round(height * scale))))
    inner_w = max(1, min(size, int(round(width * scale))))
    return Box(int(height), int(width), int(size), (size - inner_h) // 2, (size - inner_w) // 2, inner_h, inner_w)


def letterbox_photo(photo: np.ndarray, size: int) -> tuple[np.ndarray, Box]:
    """``photo`` (uint8 ``(H, W, 3)``) scaled bilinearly into a ``size x size`` square padded with :data:`FILL`.

    Returns the uint8 ``(size, size, 3)`` square and its :class:`Box`.
    """
    photo = np.asarray(photo)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise InputError(f"photo array has shape {photo.shape} and dtype {photo.dtype}; expected uint8 (H, W, 3)")
    box = fit_square(photo.shape[0], photo.shape[1], size)
    square = np.empty((size, size, 3), np.uint8)
    square[:] = FILL
    square[box.inner] = imageops.resize_photo(photo, (box.inner_height, box.inner_width))
    return square, box


def letterbox_mask(mask: np.ndarray, box: Box) -> np.ndarray:
    """A bool ``(H, W)`` mask placed like its photo in :func:`letterbox_photo` (nearest neighbour; pad = background)."""
    mask = np.asarray(mask)
    if mask.shape != (box.height, box.width):
        raise InputError(f"mask is {mask.shape[:2]}, its photo was {(box.height, box.width)}")
    square = np.zeros((box.size, box.size), bool)
    square[box.inner] = imageops.resize_mask(mask, (box.inner_height, box.inner_width))
    return square


def unletterbox(prob: np.ndarray, box: Box, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A map predicted on the letterboxed square, cropped to the photo and resized to ``shape``.

    ``prob``: ``(s, s)`` float map at any square resolution ``s`` (a coarse level such as
    s1's 7x7 works too: the crop is scaled to it). ``shape``: ``(rows, cols)`` of the result,
    default the photo's ``(box.height, box.width)``. Returns float32 ``shape``.
    """
    prob = np.asarray(prob, dtype=np.float32)
    if prob.ndim != 2 or prob.shape[0] != prob.shape[1]:
        raise InputError(f"probability map has shape {prob.shape}; expected a square (s, s) map")
    s = prob.shape[0]
    if s == box.size:
        crop = prob[box.inner]
    else:  # a coarser (or finer) level: the same region, in that level's pixels, kept at least one pixel wide
        scale = s / box.size
        top, left = int(np.floor(box.top * scale)), int(np.floor(box.left * scale))
        bottom = max(top + 1, int(np.ceil((box.top + box.inner_height) * scale)))
        right = max(left + 1, int(np.ceil((box.left + box.inner_width) * scale)))
        crop = prob[top:bottom, left:right]
    return imageops.resize_prob(crop, shape or (box.height, box.width))
