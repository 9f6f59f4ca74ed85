"""The LRN training loss: binary cross-entropy summed over every refinement level.

The paper supervises every label map s1..s6. Its target at level k is the 224x224 mask
*area-averaged* down to s_k's size (a soft target: the fraction of person pixels in each
cell). The paper does not say how its coarse targets are made; area averaging is this
package's choice, and the one that keeps a coarse cell's target equal to the share of the
person it covers. U-Net has a single level, so its loss is plain binary cross-entropy.
"""
from __future__ import annotations

import keras
import tensorflow as tf

N_LEVELS = 6


def level_factors(n_levels: int = N_LEVELS) -> list[int]:
    """Downsampling factor of each level, coarse to fine: ``[32, 16, 8, 4, 2, 1]`` for 6."""
    return [2 ** (n_levels - 1 - k) for k in range(n_levels)]


def level_targets(masks, n_levels: int = N_LEVELS) -> tuple:
    """Area-averaged targets for s1..s_n.

    Parameters
    ----------
    masks : float tensor, shape (batch, H, W, 1), values in [0, 1]
        H and W multiples of ``2 ** (n_levels - 1)``.

    Returns
    -------
    tuple of n_levels float32 tensors, coarse to fine, shapes (batch, H/f, W/f, 1).
    """
    masks = tf.cast(masks, tf.float32)
    return tuple(
        masks if f == 1 else tf.nn.avg_pool2d(masks, ksize=f, strides=f, padding="VALID")
        for f in level_factors(n_levels)
    )


def bce():
    """Binary cross-entropy on probabilities, mean over pixels (Keras' definition)."""
    return keras.losses.BinaryCrossentropy(name="bce")
