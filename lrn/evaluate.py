"""Scores of predictions on a split: a per-image table and the paper's mean +- std summary.

Evaluation is always at 224x224, as in the paper: the truth is the nearest-resized mask,
probability maps of any size are resized bilinearly to 224x224 and thresholded at 0.5.
The finest output (s6; U-Net: its only output) is the model's prediction and is scored
raw (the paper's format) and cleaned (largest component, holes filled); for LRN every
level s1..s6 is also scored raw after the same resize.

Scoring works on stored predictions (:func:`score_levels`), so a new metric never needs
the model; :func:`evaluate` predicts first, for a model at hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lrn import imageops, metrics, postprocess, provenance
from lrn.data import Split
from lrn.errors import InputError
from lrn.predict import model_size, predict_levels, to_eval_size
from lrn.shapes import EVAL_SIZE

def score_maps(truths: np.ndarray, prob_maps: np.ndarray, clean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard (%) and Hausdorff (px) per image of (N, h, w) probability maps against (N, S, S) truths.

    The maps are resized to the truths' size first. ``clean``: score the largest connected
    component with holes filled (:mod:`lrn.postprocess`).
    """
    preds = metrics.threshold_prob(to_eval_size(prob_maps, truths.shape[1]))
    if clean:
        preds = postprocess.clean_batch(preds)
    return metrics.jaccard_batch(truths, preds), metrics.hausdorff_batch(truths, preds)


def score_levels(ids, levels: list[np.ndarray], truths: np.ndarray) -> pd.DataFrame:
    """Per-image scores of stored predictions.

    Parameters
    ----------
    ids : sequence of str
        The N image ids, in the order of ``levels`` and ``truths``.
    levels : list of numpy.ndarray
        One float ``(N, h_k, w_k)`` probability map per output, coarse to fine.
    truths : numpy.ndarray
        ``bool (N, 224, 224)``: the truth masks at the evaluation size.

    Returns
    -------
    DataFrame with columns ``id``, ``jaccard`` (%), ``hausdorff`` (px) of the finest output,
    ``jaccard_clean`` and ``hausdorff_clean`` of the same output cleaned, and for a six-level
    LRN ``jaccard_s1`` .. ``jaccard_s6``, ``hausdorff_s1`` .. ``hausdorff_s6`` (raw); the level
    names follow the outputs' order, coarse to fine, as in :data:`lrn.models.LEVEL_NAMES`.
    """
    if truths.shape[1:] != (EVAL_SIZE, EVAL_SIZE):
        raise InputError(f"truth masks must be {EVAL_SIZE}x{EVAL_SIZE} (the evaluation size), "
                         f"got {truths.shape[1:]}")
    if any(len(level) != len(truths) for level in levels) or len(ids) != len(truths):
        raise InputError(f"{len(ids)} ids, {[len(level) for level in levels]} predictions per level and "
                         f"{len(truths)} truths: they must all be the same images")
    table = {"id": [str(i) for i in ids]}
    table["jaccard"], table["hausdorff"] = score_maps(truths, levels[-1])
    table["jaccard_clean"], table["hausdorff_clean"] = score_maps(truths, levels[-1], clean=True)
    if len(levels) > 1:  # LRN: every level, s1 (coarsest) first; importing lrn.models would need TensorFlow
        for k, maps in enumerate(levels, start=1):
            table[f"jaccard_s{k}"], table[f"hausdorff_s{k}"] = score_maps(truths, maps)
    return pd.DataFrame(table)


def evaluate(model, split: Split, batch_size: int = 8, inputs: Split | None = None) -> pd.DataFrame:
    """Per-image scores of ``model`` on ``split`` (loaded at 224x224): :func:`score_levels` of its predictions.

    ``inputs``: the same photos loaded at the model's input size (resized once from their
    originals, as :func:`lrn.fit.fit` predicts them); by default the model sees ``split``'s
    224x224 photos, resized again to its size.
    """
    if split.masks.shape[1:] != (EVAL_SIZE, EVAL_SIZE):
        raise InputError(f"evaluation split {split.name!r} must be loaded at {EVAL_SIZE}x{EVAL_SIZE} "
                         f"(size={EVAL_SIZE}), got {split.masks.shape[1:]}")
    if inputs is not None and list(inputs.ids) != list(split.ids):
        raise InputError(f"inputs {inputs.name!r} hold other images than the split {split.name!r}")
    photos = (inputs or split).images
    tables = []
    for start in range(0, len(split), 64):  # bounded memory for large splits
        chunk = slice(start, start + 64)
        levels = predict_levels(model, photos[chunk], batch_size)
        tables.append(score_levels(split.ids[chunk], levels, split.masks[chunk]))
    return pd.concat(tables, ignore_index=True)


def summarize(table: pd.DataFrame) -> dict:
    """Mean and sample standard deviation of every score column, plus the paper's format.

    Returns ``{"n": N, "one_empty": count, "jaccard": {"mean", "std", "text"}, ...}`` for
    ``jaccard``, ``hausdorff`` and any per-level columns; ``text`` is like ``"91.67 ± 5.63"``.
    ``one_empty`` counts images whose Hausdorff hit the image-diagonal rule (one mask empty).
    """
    summary = {"n": int(len(table))}
    diagonal = float(np.hypot(EVAL_SIZE, EVAL_SIZE))
    summary["one_empty"] = int(np.isclose(table["hausdorff"], diagonal).sum())
    for column in table.columns:
        if column == "id":
            continue
        mean, std = metrics.mean_std(table[column].to_numpy())
        summary[column] = {"mean": mean, "std": std, "text": metrics.format_mean_std(mean, std)}
    return summary


def save_scores(table: pd.DataFrame, out_dir, provenance_record: dict, name: str = "test") -> dict:
    """Write ``<name>_per_image.csv`` and ``<name>_summary.json`` (both with provenance); returns the summary."""
    out_dir = Path(out_dir)
    provenance.write_csv(table, out_dir / f"{name}_per_image.csv", provenance_record)
    summary = summarize(table)
    provenance.write_json(summary, out_dir / f"{name}_summary.json", provenance_record)
    return summary


def score_at_photo_size(ids, finest: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Per-image scores at each photo's own resolution (e.g. 600x800) instead of 224x224.

    ``finest``: the last output's (N, h, w) probability maps; ``pairs``: ``(photo uint8
    (H, W, 3), mask bool (H, W))`` as read by :func:`lrn.data.eg1800.originals`. Each map is
    resized bilinearly to (H, W) and thresholded at 0.5: what ``lrn whiten`` cuts out.
    Hausdorff distances are in the photo's pixels.

    Returns a DataFrame with ``id``, ``jaccard``, ``hausdorff``, ``jaccard_clean``,
    ``hausdorff_clean`` (largest component, holes filled).
    """
    if not len(ids) == len(pairs) == len(finest):
        raise InputError(f"{len(ids)} ids, {len(finest)} maps and {len(pairs)} photo/mask pairs")
    rows = []
    for i, prob, (_, truth) in zip(ids, finest, pairs):
        pred = metrics.threshold_prob(imageops.resize_prob(prob, truth.shape))
        clean = postprocess.largest_component_filled(pred)
        rows.append({"id": str(i), "jaccard": metrics.jaccard(truth, pred), "hausdorff": metrics.hausdorff(truth, pred),
                     "jaccard_clean": metrics.jaccard(truth, clean),
                     "hausdorff_clean": metrics.hausdorff(truth, clean)})
    return pd.DataFrame(rows)


def evaluate_originals(model, ids: list[str], pairs: list[tuple[np.ndarray, np.ndarray]],
                       batch_size: int = 8) -> pd.DataFrame:
    """:func:`score_at_photo_size` of ``model``'s predictions from the original photos resized to its input."""
    if len(ids) != len(pairs):
        raise InputError(f"{len(ids)} ids but {len(pairs)} photo/mask pairs")
    h, w = model_size(model)
    small = np.stack([imageops.resize_photo(photo, (h, w)) for photo, _ in pairs])
    return score_at_photo_size(ids, predict_levels(model, small, batch_size)[-1], pairs)
