"""The one shape rule of the networks: sides are positive multiples of 32 pixels.

The VGG-16 encoder halves the image five times (2x2 max-pools), so an input side must be
divisible by 2**5 = 32 for every level of the decoder to line up with its skip features.
"""
from __future__ import annotations

import numpy as np

from lrn.errors import InputError

ENCODER_STRIDE = 32
"""Total downsampling of the encoder: five 2x2 max-pools."""


def check_side(value: object, what: str = "size") -> int:
    """Return ``value`` as an int, or raise :class:`InputError` unless it is a positive multiple of 32.

    Parameters
    ----------
    value : int
        An image side in pixels.
    what : str
        Its name in the message (``"size"``, ``"input height"``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0 or value % ENCODER_STRIDE:
        raise InputError(f"{what}={value!r}; expected a positive multiple of {ENCODER_STRIDE} pixels "
                         f"(five 2x2 max-pools), e.g. 224, 256, 320")
    return int(value)


EVAL_SIZE = 224
"""Side in pixels of the square images every score is computed on (the paper's 224 x 224)."""
