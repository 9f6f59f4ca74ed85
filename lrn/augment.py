"""Batches for training and evaluation as ``tf.data`` pipelines, with joint augmentation.

Augmentation applies the *same* random horizontal flip, zoom and rotation to a photo
(bilinear) and its mask (nearest), as one affine warp; pixels pulled from outside the
frame repeat the nearest edge pixel, so the torso keeps reaching the bottom edge.

With ``backgrounds=True`` (the paper's future work, "dynamic backgrounds"), half of the
training photos get a new background before the warp: the person (by its mask) is pasted on
another training photo, and where that photo's own person would show, the original
background is kept, so that no second person appears labelled as background.

Randomness is stateless and derived from ``(seed, epoch, image index)``: the stream of
batches of epoch ``e`` is the same whether training started at epoch 0 or resumed at
``e`` after an interruption. This is what makes resumed runs match uninterrupted ones.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from lrn.errors import InputError
from lrn.losses import N_LEVELS, level_targets

AUTOTUNE = tf.data.AUTOTUNE
BACKGROUND_SEED_OFFSET = 7_919  # separates the background draws from the warp draws


def affine_matrix(seed, height: int, width: int, zoom: float, rotation_deg: float, flip: bool):
    """The 8 projective-transform parameters (output -> input coordinates) of one random warp.

    ``seed`` is a shape-(2,) int tensor. Zoom factor z ~ U(1 - zoom, 1 + zoom) (z > 1 magnifies),
    angle ~ U(-rotation_deg, rotation_deg), mirror with probability 1/2 if ``flip``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 3)
    z = tf.random.stateless_uniform([], seeds[0], 1.0 - zoom, 1.0 + zoom)
    theta = tf.random.stateless_uniform([], seeds[1], -rotation_deg, rotation_deg) * (math.pi / 180.0)
    mirror = tf.random.stateless_uniform([], seeds[2]) < 0.5 if flip else tf.constant(False)
    f = tf.where(mirror, -1.0, 1.0)
    cos, sin = tf.cos(theta) / z, tf.sin(theta) / z
    # input = A @ (output - c) + c with A = rotation(theta) @ diag(f, 1) / z
    a00, a01, a10, a11 = f * cos, -sin, f * sin, cos
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return tf.stack([a00, a01, cx - a00 * cx - a01 * cy,
                     a10, a11, cy - a10 * cx - a11 * cy, 0.0, 0.0])


def warp(image, transform, interpolation: str):
    """Apply a projective transform to one H x W x C float image."""
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[tf.newaxis], transforms=transform[tf.newaxis],
        output_shape=tf.shape(image)[:2], fill_value=0.0,
        interpolation=interpolation, fill_mode="NEAREST")
    return out[0]


def augment_pair(image, mask, seed, zoom=0.1, rotation_deg=10.0, flip=True):
    """Jointly augment one photo (H, W, 3 float) and mask (H, W, 1 float)."""
    h, w = image.shape[0], image.shape[1]
    transform = affine_matrix(seed, h, w, zoom, rotation_deg, flip)
    return warp(image, transform, "BILINEAR"), warp(mask, transform, "NEAREST")


def swap_background(image, mask, other_image, other_mask):
    """Paste the person of ``image`` onto the background of ``other_image``.

    All four are float tensors, photos (H, W, 3) and masks (H, W, 1) of 0/1. Where the other
    photo has its own person, the first photo's background is kept instead.
    """
    background = other_mask * image + (1.0 - other_mask) * other_image
    return mask * image + (1.0 - mask) * background


def check_arrays(images: np.ndarray, masks: np.ndarray) -> None:
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise InputError(f"images must be N x H x W x 3 uint8, got {images.shape} {images.dtype}")
    if masks.shape != images.shape[:3]:
        raise InputError(f"masks must be N x H x W matching images {images.shape[:3]}, got {masks.shape}")
    if len(images) == 0:
        raise InputError("no images to make batches from")


def with_targets(n_levels: int):
    """Map (photo, mask) batches to (photo, targets): per-level targets for LRN, the mask for U-Net."""
    def fn(image, mask):
        return image, (level_targets(mask, n_levels) if n_levels > 1 else mask)
    return fn


def training_batches(images: np.ndarray, masks: np.ndarray, batch_size: int, *, n_levels: int = N_LEVELS,
                     seed: int = 0, start_epoch: int = 0, epochs: int = 1, augment: bool = True,
                     zoom: float = 0.1, rotation_deg: float = 10.0, flip: bool = True,
                     backgrounds: bool = False) -> tf.data.Dataset:
    """Augmented, shuffled batches for epochs ``start_epoch .. epochs - 1`` in one stream.

    Parameters
    ----------
    images : uint8 array (N, H, W, 3); masks : bool array (N, H, W)
    n_levels : 6 for LRN (targets s1..s6), 1 for U-Net.
    backgrounds : swap the background of each photo with probability 1/2
        (:func:`swap_background`, partner photo drawn at random per epoch).

    Returns
    -------
    tf.data.Dataset of ``(photos float32 (B, H, W, 3) in [0, 255], targets)``, with
    ``ceil(N / batch_size)`` batches per epoch: in-memory photos, per-epoch seeded shuffle,
    augment (parallel, order kept), batch, prefetch. Use with ``steps_per_epoch`` so Keras keeps one iterator across epochs.
    """
    check_arrays(images, masks)
    n = len(images)
    seed_value = int(seed)
    # The decoded photos stay in memory (the cache); each epoch is a seeded permutation (the
    # shuffle), drawn statelessly so that epoch e is the same batches however training got there.
    photos = tf.constant(images)
    labels = tf.constant(masks.astype(np.float32)[..., None])

    def load(epoch, index):
        image, mask = tf.cast(tf.gather(photos, index), tf.float32), tf.gather(labels, index)
        if backgrounds:
            # Its own seed stream, so that the warps are those of a run without swaps.
            draw = tf.stack([tf.constant(seed_value + BACKGROUND_SEED_OFFSET, tf.int64), epoch * n + index])
            coin, pick = tf.unstack(tf.random.experimental.stateless_split(draw, 2))
            partner = tf.random.stateless_uniform([], pick, 0, n, dtype=tf.int64)
            swapped = swap_background(image, mask, tf.cast(tf.gather(photos, partner), tf.float32),
                                      tf.gather(labels, partner))
            image = tf.where(tf.random.stateless_uniform([], coin) < 0.5, swapped, image)
        if augment:
            seed = tf.stack([tf.constant(seed_value, tf.int64), epoch * n + index])
            image, mask = augment_pair(image, mask, seed, zoom, rotation_deg, flip)
        return image, mask

    def one_epoch(epoch):
        order = tf.argsort(tf.random.stateless_uniform([n], tf.stack([tf.constant(seed_value, tf.int64), epoch])))
        indices = tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64))
        return (indices.map(lambda index: load(epoch, index), num_parallel_calls=AUTOTUNE)
                .batch(batch_size))  # batches never straddle two epochs

    stream = tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)
    return stream.map(with_targets(n_levels), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def eval_batches(images: np.ndarray, masks: np.ndarray, batch_size: int, *,
                 n_levels: int = N_LEVELS) -> tf.data.Dataset:
    """Batches in order, without augmentation, for validation loss: cache, batch, prefetch."""
    check_arrays(images, masks)
    ds = tf.data.Dataset.from_tensor_slices((images, masks.astype(np.float32)[..., None])).cache()
    ds = ds.map(lambda image, mask: (tf.cast(image, tf.float32), mask))
    return ds.batch(batch_size).map(with_targets(n_levels), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    return math.ceil(n_images / batch_size)
