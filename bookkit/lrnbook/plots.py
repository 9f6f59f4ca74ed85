"""Figures of the book: learning curves, sample grids, the Fig. 2 grid, the architecture.

Every function takes plain arrays or tables and returns a ``matplotlib.figure.Figure``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import imageops, models

PERSON_COLOUR = np.array([255, 64, 64], np.float32)


def overlay(photo: np.ndarray, mask: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The photo (H, W, 3 uint8) with the mask (H, W bool or [0, 1] float) tinted red."""
    weight = alpha * np.asarray(mask, np.float32)[..., None]
    return np.clip(photo * (1 - weight) + PERSON_COLOUR * weight, 0, 255).astype(np.uint8)


def learning_curves(history: pd.DataFrame, title: str = "") -> plt.Figure:
    """Training and validation loss per epoch; one panel per stage (the -VGG runs have two)."""
    stages = sorted(history["stage"].unique()) if "stage" in history else [1]
    fig, axes = plt.subplots(1, len(stages), figsize=(5 * len(stages), 3.2), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        part = history[history["stage"] == stage] if "stage" in history else history
        epochs = part["epoch"] + 1
        ax.plot(epochs, part["loss"], label="training loss")
        if "val_loss" in part:
            ax.plot(epochs, part["val_loss"], label="validation loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (sum of BCE over outputs)")
        name = {1: "stage 1", 2: "stage 2 (encoder unfrozen)"}.get(stage, f"stage {stage}")
        ax.set_title(f"{title} {name}".strip() if len(stages) > 1 else title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def level_curves(history: pd.DataFrame, title: str = "") -> plt.Figure:
    """LRN's loss per level (BCE of s1 .. s6), training and validation, one small panel per level.

    A model with one output (U-Net) gets one panel of its loss. Epochs are counted across
    stages (a -VGG run's stage 2 follows its stage 1); the best validation epoch is marked.
    """
    levels = [c[:-5] for c in history.columns if c.startswith("s") and c.endswith("_loss")]
    names = [f"{level}_loss" for level in levels] or ["loss"]
    epochs = np.arange(1, len(history) + 1)
    best = int(np.argmin(history["val_loss"].to_numpy())) + 1 if "val_loss" in history else None
    fig, axes = plt.subplots(1, len(names), figsize=(min(2.2 * len(names), 13), 2.6), squeeze=False,
                             sharey=True)
    for ax, name in zip(axes[0], names):
        ax.plot(epochs, history[name], label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        if best is not None:
            ax.axvline(best, color="0.5", lw=0.8, ls="--")
        ax.set_title(name.removesuffix("_loss") if levels else "loss", fontsize=11)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("BCE")
    axes[0][-1].legend(fontsize=9)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def compare_curves(histories: dict, columns=("val_loss", "val_s6_loss"), titles=None) -> plt.Figure:
    """Validation curves of several runs in one figure: one panel per history column.

    ``histories``: ``{label: history table}`` (as in ``run/history.csv``); a run without a
    column is left out of that panel. Epochs are marked, so a one-epoch run shows as a point.
    """
    titles = titles or {"val_loss": "validation loss as trained (sum over the supervised outputs)",
                        "val_s6_loss": "validation BCE of s6 (comparable across runs)"}
    fig, axes = plt.subplots(1, len(columns), figsize=(6 * len(columns), 3.6), squeeze=False)
    for ax, column in zip(axes[0], columns):
        for label, history in histories.items():
            if column in history:
                ax.plot(np.arange(1, len(history) + 1), history[column], marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel("loss")
        ax.set_title(titles.get(column, column), fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sample_grid(images: np.ndarray, masks: np.ndarray, ids, columns: int = 6) -> plt.Figure:
    """Photos with their masks tinted, titled by id: a first look at a split."""
    n = len(images)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, mask, name in zip(axes.flat, images, masks, ids):
        ax.imshow(overlay(image, mask))
        ax.set_title(str(name), fontsize=9)
    fig.tight_layout()
    return fig


def figure2(photos: np.ndarray, truths: np.ndarray, predictions: dict, ids, scores: dict | None = None) -> plt.Figure:
    """The paper's Fig. 2: one row per image: photo, ground truth, one column per model.

    Parameters
    ----------
    photos : (N, H, W, 3) uint8; truths : (N, H, W) bool
    predictions : {model display name: (N, H, W) float probability maps}
    scores : optional {model display name: (N,) Jaccard %} shown under each prediction.
    """
    names = list(predictions)
    columns = 2 + len(names)
    fig, axes = plt.subplots(len(photos), columns, figsize=(2.0 * columns, 2.1 * len(photos)), squeeze=False)
    for row, (photo, truth, name) in enumerate(zip(photos, truths, ids)):
        axes[row, 0].imshow(photo)
        axes[row, 0].set_ylabel(str(name))
        axes[row, 1].imshow(truth, cmap="gray", vmin=0, vmax=1)
        for col, model in enumerate(names, start=2):
            axes[row, col].imshow(predictions[model][row] > 0.5, cmap="gray", vmin=0, vmax=1)
            if scores is not None:
                axes[row, col].set_xlabel(f"J {scores[model][row]:.1f} %", fontsize=8)
    for col, title in enumerate(["photo", "truth"] + names):
        axes[0, col].set_title(title, fontsize=10)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def level_maps(levels: list[np.ndarray], titles=None) -> plt.Figure:
    """LRN's label maps s1..s6 of one image side by side (each at its own resolution)."""
    titles = titles or [f"s{k}" for k in range(1, len(levels) + 1)]
    fig, axes = plt.subplots(1, len(levels), figsize=(1.9 * len(levels), 2.1))
    for ax, level, title in zip(axes, levels, titles):
        ax.imshow(level, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{title} {level.shape[0]}x{level.shape[1]}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def architecture(path=None) -> plt.Figure:
    """A diagram of LRN beside U-Net, drawn from the tables in :mod:`lrn.models`."""
    fig, (ax_lrn, ax_unet) = plt.subplots(1, 2, figsize=(12, 5.2))
    sizes = [224, 112, 56, 28, 14, 7]
    for ax, name in ((ax_lrn, "LRN (this paper)"), (ax_unet, "U-Net reference")):
        ax.set_xlim(-0.5, 11)
        ax.set_ylim(-0.8, 6.6)
        ax.axis("off")
        ax.set_title(name)
        for level, (block, _, filters) in enumerate(models.VGG16_BLOCKS):
            y = 5.5 - level
            ax.add_patch(plt.Rectangle((0, y - 0.35), 3, 0.7, color="#9ecae1"))
            ax.text(1.5, y, f"block{block}: {filters} ch, {sizes[level]}px", ha="center", va="center", fontsize=8)
            if level < 4:
                ax.annotate("", (1.5, y - 0.65), (1.5, y - 0.35), arrowprops={"arrowstyle": "->"})
        ax.add_patch(plt.Rectangle((0, -0.35 - 0.15), 3, 0.7, color="#6baed6"))
        ax.text(1.5, -0.15, "block5_pool 7px", ha="center", va="center", fontsize=8)
        ax.annotate("", (1.5, 0.2 - 0.15), (1.5, 0.15), arrowprops={"arrowstyle": "->"})
    # LRN: one refinement unit and one label map per resolution
    for k, size in enumerate(reversed(sizes), start=1):
        y = -0.15 + (k - 1) * (5.65 / 5)
        ax_lrn.add_patch(plt.Rectangle((5, y - 0.3), 2.6, 0.6, color="#fdae6b"))
        ax_lrn.text(6.3, y, f"RU{k}: conv 64 + conv 1", ha="center", va="center", fontsize=8)
        ax_lrn.add_patch(plt.Rectangle((8.4, y - 0.3), 1.8, 0.6, color="#a1d99b"))
        ax_lrn.text(9.3, y, f"s{k} {size}px", ha="center", va="center", fontsize=8)
        ax_lrn.annotate("", (8.4, y), (7.6, y), arrowprops={"arrowstyle": "->"})
        source_y = -0.15 if k == 1 else 5.5 - (5 - k + 1)
        ax_lrn.annotate("", (5, y), (3, source_y), arrowprops={"arrowstyle": "->", "color": "grey"})
        if k > 1:
            ax_lrn.annotate("", (6.3, y - 0.3), (9.3, y - 5.65 / 5 + 0.3),
                            arrowprops={"arrowstyle": "->", "color": "green", "linestyle": "--"})
    ax_lrn.text(5, 6.35, "grey: skip features; dashed: x2 bilinear up of the previous map", fontsize=7)
    # U-Net: five decoder levels, one output
    for level, filters in enumerate(models.UNET_DECODER_FILTERS):
        y = 0.9 + level * 1.13
        ax_unet.add_patch(plt.Rectangle((5, y - 0.3), 3, 0.6, color="#fdae6b"))
        ax_unet.text(6.5, y, f"up + concat, 2x conv {filters}", ha="center", va="center", fontsize=8)
        ax_unet.annotate("", (5, y), (3, 5.5 - (4 - level)), arrowprops={"arrowstyle": "->", "color": "grey"})
        below = (3, -0.15) if level == 0 else (6.5, y - 1.13 + 0.3)
        ax_unet.annotate("", (6.5 if level else 5, y - 0.3 if level else y - 0.2), below,
                         arrowprops={"arrowstyle": "->", "color": "green", "linestyle": "--"})
    ax_unet.add_patch(plt.Rectangle((8.5, 5.22 - 0.3), 2, 0.6, color="#a1d99b"))
    ax_unet.text(9.5, 5.22, "mask 224px", ha="center", va="center", fontsize=8)
    ax_unet.annotate("", (8.5, 5.22), (8.0, 5.42), arrowprops={"arrowstyle": "->"})
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def level_changes(photo: np.ndarray, levels: list[np.ndarray]) -> plt.Figure:
    """Where each refinement changes the label: s_{k-1} versus s_k, both at the photo's size.

    ``levels`` are probability maps (any sizes), resized bilinearly to the photo's size and
    thresholded at 0.5. Red: pixels that s_k adds to the person; blue: pixels it removes.
    """
    labels = [imageops.resize_prob(level, photo.shape[:2]) > 0.5 for level in levels]
    fig, axes = plt.subplots(1, len(labels) - 1, figsize=(2.3 * (len(labels) - 1), 2.6))
    grey = photo.mean(axis=2, keepdims=True).repeat(3, axis=2) / 255 * 0.6 + 0.2
    for k, ax in enumerate(axes, start=2):
        before, after = labels[k - 2], labels[k - 1]
        image = grey.copy()
        image[after & ~before] = (0.9, 0.1, 0.1)
        image[before & ~after] = (0.1, 0.3, 0.95)
        changed = 100 * np.mean(before != after)
        ax.imshow(image)
        ax.set_title(f"s{k - 1} → s{k}: {changed:.1f} %", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
