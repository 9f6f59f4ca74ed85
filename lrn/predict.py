"""A model's probability maps of every level, and the one resize rule to the evaluation size.

A model of any input size sees photos bilinearly resized to its size; each output level
comes back at its own resolution (LRN: s1 at H/32 .. s6 at H; U-Net: one H x W map).
Scoring resizes maps bilinearly to 224 x 224 (:data:`lrn.shapes.EVAL_SIZE`) before the 0.5
threshold.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lrn import imageops
from lrn.shapes import EVAL_SIZE


def model_size(model) -> tuple[int, int]:
    """(H, W) of the model's input, in pixels."""
    _, h, w, _ = model.input.shape
    return int(h), int(w)


def predict_levels(model, images: np.ndarray, batch_size: int = 8) -> list[np.ndarray]:
    """Probability maps of every output for ``images`` (N, H, W, 3 uint8, any H, W).

    Photos are resized to the model's input size first. Returns one float32 array per output,
    coarse to fine, each (N, h_k, w_k) at the model's own resolution of that level.
    """
    h, w = model_size(model)
    if images.shape[1:3] != (h, w):
        images = np.stack([imageops.resize_photo(im, (h, w)) for im in images])
    outputs = model.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o)[..., 0] for o in outputs]


def to_eval_size(prob_maps: np.ndarray, size: int = EVAL_SIZE) -> np.ndarray:
    """Resize (N, h, w) probability maps bilinearly to (N, size, size) (no-op at that size)."""
    if prob_maps.shape[1:] == (size, size):
        return prob_maps
    return np.stack([imageops.resize_prob(p, (size, size)) for p in prob_maps])


def save_predictions(path, ids, levels: list[np.ndarray]) -> Path:
    """Store probability maps of every output, quantised to uint8 (1/255 steps), compressed.

    ``ids``: the N image ids; ``levels``: one (N, h_k, w_k) float array per output, coarse
    to fine. Read back with :func:`load_predictions`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"level{k}": np.rint(np.clip(level, 0, 1) * 255).astype(np.uint8)
              for k, level in enumerate(levels, start=1)}
    np.savez_compressed(path, ids=np.array(ids), **arrays)
    return path


def load_predictions(path) -> tuple[list[str], list[np.ndarray]]:
    """``(ids, levels)`` as stored by :func:`save_predictions`, levels float32 in [0, 1]."""
    with np.load(path) as stored:
        n = len([k for k in stored.files if k.startswith("level")])
        return ([str(i) for i in stored["ids"]],
                [stored[f"level{k}"].astype(np.float32) / 255 for k in range(1, n + 1)])
