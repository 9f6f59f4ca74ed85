"""Framings of one full-body photo, from a head-and-torso portrait out to the whole frame.

EG1800's portraits are all framed alike (head and shoulders filling a 3:4 frame); a model
trained on them alone learns that framing rather than people. :func:`windows` cuts one
street photo into several crops that go from the head-and-torso box of
:func:`lrn.data.ccp.head_torso_box` (``t = 0``) to the whole frame (``t = 1``), so the same
person is seen large and small. Each crop is an axis-aligned box, linearly interpolated
between the two, corner by corner.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lrn.data.ccp import head_torso_box
from lrn.errors import InputError

STEPS = (0.0, 0.5, 1.0)
"""Default framings: the head-and-torso box, halfway, and the whole frame."""


def interpolate(box: tuple[int, int, int, int], frame: tuple[int, int], t: float) -> tuple[int, int, int, int]:
    """The box ``t`` of the way from ``box`` (``t = 0``) to the whole ``frame`` (``t = 1``).

    Parameters
    ----------
    box : (top, left, height, width)
        Pixels, inside the frame.
    frame : (rows, cols)
        The photo's size in pixels.
    t : float in [0, 1]

    Returns
    -------
    (top, left, height, width) : tuple of int
        Corners interpolated linearly and rounded; at least 1 x 1, inside the frame.
    """
    if not 0.0 <= t <= 1.0:
        raise InputError(f"framing t={t!r}; expected a number in [0, 1]")
    top, left, height, width = box
    rows, cols = frame
    y0 = round((1 - t) * top)
    x0 = round((1 - t) * left)
    y1 = round((1 - t) * (top + height) + t * rows)
    x1 = round((1 - t) * (left + width) + t * cols)
    return y0, x0, max(1, y1 - y0), max(1, x1 - x0)


def windows(mask: np.ndarray, steps: Sequence[float] = STEPS) -> list[tuple[int, int, int, int]]:
    """Crops of a full-body photo at the framings ``steps`` (see the module docstring).

    Parameters
    ----------
    mask : numpy.ndarray
        ``bool (rows, cols)`` person mask of the whole photo, at least one person pixel.
    steps : sequence of float in [0, 1]
        0 = head-and-torso box, 1 = whole frame.

    Returns
    -------
    list of (top, left, height, width)
        One box per step, in pixels: ``photo[top:top + height, left:left + width]``.
    """
    box = head_torso_box(mask)
    return [interpolate(box, mask.shape, float(t)) for t in steps]


def crop(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``array[top:top + height, left:left + width]`` for a box of :func:`windows`."""
    top, left, height, width = box
    return array[top:top + height, left:left + width]
