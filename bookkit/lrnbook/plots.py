"""Figures of the book: learning curves, sample grids, the Fig. 2 grid, the architecture.

Every function takes plain arrays or tables and returns a ``matplotlib.figure.Figure``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import imageops, metrics, models

PERSON_COLOUR = np.array([255, 64, 64], np.float32)
TRUTH_OUTLINE = (230, 40, 40)
"""The truth's outline drawn over photos, masks and label maps (RGB), in every figure and widget."""
MASK_GREYS = (30, 235)
"""Background and person of a mask as drawn (uint8 grey levels)."""
TEXT_WIDTH_IN = 7.2
"""Width of the figures that fill the book's text column, in inches (672 px at 96 px per inch):
drawn at this width, a 10 pt label shows at about 13 px, close to the body text."""


def with_outline(picture: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A copy of ``picture`` (uint8 ``(H, W, 3)``) with the inner outline of ``truth`` (bool ``(H, W)``)
    drawn in :data:`TRUTH_OUTLINE`."""
    from skimage.segmentation import find_boundaries

    shown = np.array(picture, np.uint8, copy=True)
    shown[find_boundaries(np.asarray(truth, bool), mode="inner")] = TRUTH_OUTLINE
    return shown


def mask_with_outline(mask: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A mask (bool ``(H, W)``) in :data:`MASK_GREYS` with the truth's outline on it: uint8 ``(H, W, 3)``."""
    grey = np.where(np.asarray(mask, bool), MASK_GREYS[1], MASK_GREYS[0]).astype(np.uint8)
    return with_outline(np.repeat(grey[..., None], 3, axis=2), truth)


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
        epochs = np.arange(1, len(part) + 1)  # by position: Keras can carry its epoch count from stage 1 into stage 2
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


def level_curves(history: pd.DataFrame, title: str = "", watched: str = "val_loss") -> plt.Figure:
    """LRN's loss per level (BCE of s1 .. s6), training and validation, one small panel per level.

    A model with one output (U-Net) gets one panel of its loss. Epochs are counted across
    stages (a -VGG run's stage 2 follows its stage 1, shaded); the best epoch of the ``watched``
    validation loss (:func:`lrnbook.stopping.watched_loss`) is marked.
    """
    levels = [c[:-5] for c in history.columns if c.startswith("s") and c.endswith("_loss")]
    names = [f"{level}_loss" for level in levels] or ["loss"]
    epochs = np.arange(1, len(history) + 1)
    best = int(np.argmin(history[watched].to_numpy())) + 1 if watched in history else None
    stage_two = (int(np.argmax(history["stage"].to_numpy() == 2)) + 1
                 if "stage" in history and (history["stage"] == 2).any() else None)  # first epoch of stage 2
    columns = min(3, len(names))
    rows = int(np.ceil(len(names) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(max(TEXT_WIDTH_IN * columns / 3, 5.0), 2.4 * rows + 0.8),
                             squeeze=False, sharey=True, layout="constrained")
    for ax in axes.flat[len(names):]:
        ax.remove()
    for ax, name in zip(axes.flat, names):
        ax.plot(epochs, history[name], label="training")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        if best is not None:
            ax.axvline(best, color="0.5", lw=0.8, ls="--", label="best epoch (lowest total validation loss)"
                       if watched == "val_loss" else f"best epoch (lowest validation loss of {watched[4:-5]})")
        if stage_two is not None:  # a -VGG run: its second stage (all layers trained) shaded
            ax.axvspan(stage_two - 0.5, len(history) + 0.5, color="0.9", zorder=0, label="stage 2 (all layers)")
        if levels:  # one panel per level; a single panel is named by the figure's title
            ax.set_title(name.removesuffix("_loss"), fontsize=11)
        ax.set_xlabel("epoch", fontsize=10)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("BCE", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def compare_curves(histories: dict, columns=("val_loss", "val_s6_loss"), titles=None) -> plt.Figure:
    """Validation curves of several runs in one figure: one panel per history column.

    ``histories``: ``{label: history table}`` (as in ``run/history.csv``); a run without a
    column is left out of that panel. Epochs are marked, so a one-epoch run shows as a point.
    """
    titles = titles or {"val_loss": "validation loss as trained (sum over the supervised outputs)",
                        "val_s6_loss": "validation BCE of s6 (comparable across runs)"}
    fig, axes = plt.subplots(1, len(columns), figsize=(TEXT_WIDTH_IN, 3.6), squeeze=False)
    for ax, column in zip(axes[0], columns):
        for label, history in histories.items():
            if column in history:
                ax.plot(np.arange(1, len(history) + 1), history[column], marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch", fontsize=10)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel("loss", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.set_title("\n".join(_wrap(titles.get(column, column), 34)), fontsize=10)
        ax.grid(alpha=0.3)
    # One legend for every panel, below them (the runs are the same in each).
    handles = {}
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.tight_layout()
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=2, fontsize=9, frameon=False)
    return fig


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most about ``width`` characters, broken at spaces."""
    import textwrap

    return textwrap.wrap(text, width) or [text]


def sample_grid(images: np.ndarray, masks: np.ndarray, ids, columns: int = 3) -> plt.Figure:
    """Photos with their masks' outlines (:data:`TRUTH_OUTLINE`), titled by id: a first look at a split."""
    n = len(images)
    rows = int(np.ceil(n / columns))
    side = TEXT_WIDTH_IN / columns
    fig, axes = plt.subplots(rows, columns, figsize=(TEXT_WIDTH_IN, (side + 0.3) * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, mask, name in zip(axes.flat, images, masks, ids):
        ax.imshow(with_outline(image, mask))
        ax.set_title(f"training photo {name}", fontsize=10)
    fig.tight_layout()
    return fig


def figure2(photos: np.ndarray, truths: np.ndarray, predictions: dict, ids, scores: dict | None = None,
            hausdorff: dict | None = None, row_labels: list[str] | None = None) -> plt.Figure:
    """The paper's Fig. 2: one row per image: photo, ground truth, one column per model.

    Every prediction (thresholded at 0.5) carries the truth's outline in red, so that what a
    model adds or misses shows at a glance.

    Parameters
    ----------
    photos : (N, H, W, 3) uint8; truths : (N, H, W) bool
    predictions : {model display name: (N, H, W) float probability maps}
    scores, hausdorff : optional {model display name: (N,) Jaccard % / Hausdorff px} shown under each prediction.
    row_labels : optional, one label per row (e.g. why it was chosen), shown left of the photo.
    """
    names = list(predictions)
    columns = 2 + len(names)
    width = TEXT_WIDTH_IN / columns
    fig, axes = plt.subplots(len(photos), columns, figsize=(TEXT_WIDTH_IN, (width + 0.35) * len(photos) + 0.3),
                             squeeze=False)
    for row, (photo, truth, name) in enumerate(zip(photos, truths, ids)):
        axes[row, 0].imshow(photo)
        label = f"{row_labels[row]}\n{name}" if row_labels else str(name)
        axes[row, 0].set_ylabel(label, fontsize=9)
        axes[row, 1].imshow(truth, cmap="gray", vmin=0, vmax=1)
        for col, model in enumerate(names, start=2):
            axes[row, col].imshow(mask_with_outline(metrics.threshold_prob(predictions[model][row]), truth))
            parts = []
            if scores is not None:
                parts.append(f"J {scores[model][row]:.1f} %")
            if hausdorff is not None:
                parts.append(f"H {hausdorff[model][row]:.1f} px")
            if parts:
                axes[row, col].set_xlabel("\n".join(parts), fontsize=9)
    for col, title in enumerate(["photo", "truth"] + names):
        axes[0, col].set_title(title, fontsize=10)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def level_maps(levels: list[np.ndarray], titles=None, cmap: str = "viridis") -> plt.Figure:
    """LRN's label maps s1..s6 of one image side by side (each at its own resolution), in the
    explorer's colours (:data:`lrnbook.widgets.CMAP`), with a colour bar."""
    titles = titles or [f"s{k}" for k in range(1, len(levels) + 1)]
    fig, axes = plt.subplots(1, len(levels), figsize=(TEXT_WIDTH_IN, TEXT_WIDTH_IN / len(levels) + 1.2))
    for ax, level, title in zip(axes, levels, titles):
        shown = ax.imshow(level, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{title}\n{level.shape[0]}x{level.shape[1]}", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.colorbar(shown, ax=list(axes), orientation="horizontal", fraction=0.06, pad=0.04,
                 label="probability of person (0 background, 1 person)")
    return fig


ARCHITECTURE_WIDTH_IN = TEXT_WIDTH_IN
"""Width of the architecture figure in inches: about the book's text column (672 px at 96 px
per inch), so that its 12 pt labels show at about the body text's 16 px."""


def architecture(path=None) -> plt.Figure:
    """A diagram of LRN above U-Net, drawn from the tables in :mod:`lrn.models`.

    Drawn at :data:`ARCHITECTURE_WIDTH_IN` wide with 12 pt labels, so that shown at the width
    of the book's text column its labels are as large as the body text.
    """
    label = {"ha": "center", "va": "center", "fontsize": 12}
    fig, (ax_lrn, ax_unet) = plt.subplots(2, 1, figsize=(ARCHITECTURE_WIDTH_IN, 11.5))
    sizes = [224, 112, 56, 28, 14, 7]
    enc_x, enc_w = 0.0, 3.8  # encoder boxes
    dec_x, dec_w = 4.6, 3.9  # refinement units / decoder blocks
    out_x, out_w = 9.1, 2.0  # label maps
    for ax, name in ((ax_lrn, "LRN (this paper)"), (ax_unet, "U-Net reference")):
        ax.set_xlim(-0.2, 11.3)
        ax.set_ylim(-0.8, 6.9)
        ax.axis("off")
        ax.set_title(name, fontsize=14)
        for level, (block, _, filters) in enumerate(models.VGG16_BLOCKS):
            y = 5.5 - level
            ax.add_patch(plt.Rectangle((enc_x, y - 0.35), enc_w, 0.7, color="#9ecae1"))
            ax.text(enc_x + enc_w / 2, y, f"block{block}: {filters} ch, {sizes[level]} px", **label)
            if level < 4:
                ax.annotate("", (enc_x + enc_w / 2, y - 0.65), (enc_x + enc_w / 2, y - 0.35),
                            arrowprops={"arrowstyle": "->"})
        ax.add_patch(plt.Rectangle((enc_x, -0.5), enc_w, 0.7, color="#6baed6"))
        ax.text(enc_x + enc_w / 2, -0.15, "block5 pool: 7 px", **label)
        ax.annotate("", (enc_x + enc_w / 2, 0.2), (enc_x + enc_w / 2, 5.5 - 4 - 0.35),
                    arrowprops={"arrowstyle": "->"})  # block5 -> its max-pool
    # LRN: one refinement unit and one label map per resolution
    step = 5.65 / 5
    for k, size in enumerate(reversed(sizes), start=1):
        y = -0.15 + (k - 1) * step
        ax_lrn.add_patch(plt.Rectangle((dec_x, y - 0.3), dec_w, 0.6, color="#fdae6b"))
        ax_lrn.text(dec_x + dec_w / 2, y, f"RU{k}: conv 64, conv 1", **label)
        ax_lrn.add_patch(plt.Rectangle((out_x, y - 0.3), out_w, 0.6, color="#a1d99b"))
        ax_lrn.text(out_x + out_w / 2, y, f"s{k}: {size} px", **label)
        ax_lrn.annotate("", (out_x, y), (dec_x + dec_w, y), arrowprops={"arrowstyle": "->"})
        source_y = -0.15 if k == 1 else 5.5 - (5 - k + 1)
        ax_lrn.annotate("", (dec_x, y), (enc_x + enc_w, source_y), arrowprops={"arrowstyle": "->", "color": "grey"})
        if k > 1:
            ax_lrn.annotate("", (dec_x + dec_w / 2, y - 0.3), (out_x + out_w / 2, y - step + 0.3),
                            arrowprops={"arrowstyle": "->", "color": "green", "linestyle": "--"})
    ax_lrn.text(-0.1, 6.5, "grey: skip features; green dashed: the previous map, upsampled x2",
                fontsize=12, va="center")
    # U-Net: five decoder levels, one output
    for level, filters in enumerate(models.UNET_DECODER_FILTERS):
        y = 0.9 + level * 1.13
        ax_unet.add_patch(plt.Rectangle((dec_x, y - 0.3), dec_w, 0.6, color="#fdae6b"))
        ax_unet.text(dec_x + dec_w / 2, y, f"up, concat, 2 conv {filters}", **label)
        ax_unet.annotate("", (dec_x, y), (enc_x + enc_w, 5.5 - (4 - level)),
                         arrowprops={"arrowstyle": "->", "color": "grey"})
        below = (enc_x + enc_w, -0.15) if level == 0 else (dec_x + dec_w / 2, y - 1.13 + 0.3)
        ax_unet.annotate("", (dec_x + dec_w / 2 if level else dec_x, y - 0.3 if level else y - 0.2), below,
                         arrowprops={"arrowstyle": "->", "color": "green", "linestyle": "--"})
    top = 0.9 + 4 * 1.13
    ax_unet.add_patch(plt.Rectangle((out_x, top + 0.9 - 0.3), out_w, 0.6, color="#a1d99b"))
    ax_unet.text(out_x + out_w / 2, top + 0.9, "mask: 224 px", **label)
    ax_unet.annotate("", (out_x + out_w / 2, top + 0.6), (dec_x + dec_w, top), arrowprops={"arrowstyle": "->"})
    ax_unet.text(-0.1, 6.5, "grey: skip features; green dashed: upsampled decoder features", fontsize=12, va="center")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def level_changes(photo: np.ndarray, levels: list[np.ndarray], title: str | None = None) -> plt.Figure:
    """Where each refinement changes the label: s_{k-1} versus s_k, both at the photo's size.

    ``levels`` are probability maps (any sizes), resized bilinearly to the photo's size and
    thresholded at 0.5. Red: pixels that s_k adds to the person; blue: pixels it removes.
    ``title``: written above the row (e.g. the photo's id), so that a row can be told from the others.
    """
    labels = [metrics.threshold_prob(imageops.resize_prob(level, photo.shape[:2])) for level in levels]
    n = len(labels) - 1
    fig, axes = plt.subplots(1, n, figsize=(TEXT_WIDTH_IN, TEXT_WIDTH_IN / n + (0.9 if title else 0.6)))
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    grey = photo.mean(axis=2, keepdims=True).repeat(3, axis=2) / 255 * 0.6 + 0.2
    for k, ax in enumerate(axes, start=2):
        before, after = labels[k - 2], labels[k - 1]
        image = grey.copy()
        image[after & ~before] = (0.9, 0.1, 0.1)
        image[before & ~after] = (0.1, 0.3, 0.95)
        changed = 100 * np.mean(before != after)
        ax.imshow(image)
        ax.set_title(f"s{k - 1} → s{k}\n{changed:.1f} %", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig
