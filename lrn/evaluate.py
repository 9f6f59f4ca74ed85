"""Scores of a trained model on a split: a per-image table and the paper's mean +- std summary.

Evaluation follows ``shared/docs/model-spec.md``: always at 224x224. The split is loaded at
224x224 (truth = nearest-resized mask); a model of another input size sees the photos
bilinearly resized to its size and its probability maps are resized bilinearly back to
224x224, then P = probability > 0.5. Only s6 (the last output) is scored as the model's
prediction; for LRN every level s1..s6 is also scored after the same resize.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lrn import imageops, metrics, models, postprocess
from lrn.data import Split
from lrn.errors import InputError


def model_size(model) -> tuple[int, int]:
    """(H, W) of the model's input."""
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


def to_eval_size(prob_maps: np.ndarray, size: int = metrics.EVAL_SIZE) -> np.ndarray:
    """Resize (N, h, w) probability maps bilinearly to (N, size, size) (no-op at that size)."""
    if prob_maps.shape[1:] == (size, size):
        return prob_maps
    return np.stack([imageops.resize_prob(p, (size, size)) for p in prob_maps])


def score_maps(truths: np.ndarray, prob_maps: np.ndarray, clean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard (%) and Hausdorff (px) per image of (N, h, w) probability maps against 224x224 truths.

    ``clean``: score the largest connected component with holes filled (:mod:`lrn.postprocess`).
    """
    preds = metrics.binarize(to_eval_size(prob_maps, truths.shape[1]))
    if clean:
        preds = postprocess.clean_batch(preds)
    return metrics.jaccard_batch(truths, preds), metrics.hausdorff_batch(truths, preds)


def evaluate(model, split: Split, batch_size: int = 8, progress: bool = True) -> pd.DataFrame:
    """Per-image scores of ``model`` on ``split`` (which must be loaded at 224x224).

    Returns
    -------
    DataFrame with columns ``id``, ``jaccard`` (%), ``hausdorff`` (px) for the scored output
    (s6 for LRN; the paper's raw format), ``jaccard_clean`` and ``hausdorff_clean`` for the
    same output after keeping its largest component with holes filled, and, for LRN,
    ``jaccard_s1`` .. ``jaccard_s6`` and ``hausdorff_s1`` .. ``hausdorff_s6`` (raw).
    """
    if split.masks.shape[1:] != (metrics.EVAL_SIZE, metrics.EVAL_SIZE):
        raise InputError(f"evaluation split {split.name!r} must be loaded at {metrics.EVAL_SIZE}x"
                         f"{metrics.EVAL_SIZE} (size={metrics.EVAL_SIZE}), got {split.masks.shape[1:]}")
    table = {"id": list(split.ids)}
    chunks = range(0, len(split), 64)  # bounded memory for large splits
    per_level: list[list[tuple]] = []
    cleaned: list[tuple] = []
    for start in tqdm(chunks, desc=f"evaluate {split.name}", disable=not progress):
        levels = predict_levels(model, split.images[start:start + 64], batch_size)
        truths = split.masks[start:start + 64]
        per_level.append([score_maps(truths, maps) for maps in levels])
        cleaned.append(score_maps(truths, levels[-1], clean=True))
    n_outputs = len(per_level[0])
    scores = [tuple(np.concatenate([chunk[k][m] for chunk in per_level]) for m in (0, 1))
              for k in range(n_outputs)]
    table["jaccard"], table["hausdorff"] = scores[-1]
    table["jaccard_clean"] = np.concatenate([c[0] for c in cleaned])
    table["hausdorff_clean"] = np.concatenate([c[1] for c in cleaned])
    if n_outputs == len(models.LEVEL_NAMES):
        for name, (jac, hd) in zip(models.LEVEL_NAMES, scores):
            table[f"jaccard_{name}"], table[f"hausdorff_{name}"] = jac, hd
    return pd.DataFrame(table)


def summarize(table: pd.DataFrame) -> dict:
    """Mean and sample standard deviation of every score column, plus the paper's format.

    Returns ``{"n": N, "one_empty": count, "jaccard": {"mean", "std", "text"}, ...}`` for
    ``jaccard``, ``hausdorff`` and any per-level columns; ``text`` is like ``"91.67 ± 5.63"``.
    ``one_empty`` counts images whose Hausdorff hit the image-diagonal rule (one mask empty).
    """
    summary = {"n": int(len(table))}
    diagonal = float(np.hypot(metrics.EVAL_SIZE, metrics.EVAL_SIZE))
    summary["one_empty"] = int(np.isclose(table["hausdorff"], diagonal).sum())
    for column in table.columns:
        if column == "id":
            continue
        mean, std = metrics.mean_std(table[column].to_numpy())
        summary[column] = {"mean": mean, "std": std, "text": metrics.format_mean_std(mean, std)}
    return summary


def save_scores(table: pd.DataFrame, out_dir, provenance_record: dict, name: str = "test") -> dict:
    """Write ``<name>_per_image.csv`` and ``<name>_summary.json`` (both with provenance).

    Returns the summary.
    """
    from pathlib import Path

    from lrn import provenance

    out_dir = Path(out_dir)
    provenance.write_csv(table, out_dir / f"{name}_per_image.csv", provenance_record)
    summary = summarize(table)
    provenance.write_json(summary, out_dir / f"{name}_summary.json", provenance_record)
    return summary


def evaluate_originals(model, ids: list[str], pairs: list[tuple[np.ndarray, np.ndarray]],
                       batch_size: int = 8) -> pd.DataFrame:
    """Per-image scores at each photo's own resolution (e.g. 600x800) instead of 224x224.

    ``pairs`` holds ``(photo uint8 (H, W, 3), mask bool (H, W))`` as read by
    :func:`lrn.data.eg1800.originals`. The photo is resized to the model's input, the last
    output's probability map is resized bilinearly back to (H, W) and thresholded at 0.5:
    what ``lrn whiten`` cuts out. Hausdorff distances are in the photo's pixels.

    Returns a DataFrame with ``id``, ``jaccard``, ``hausdorff``, ``jaccard_clean``,
    ``hausdorff_clean`` (largest component, holes filled).
    """
    if len(ids) != len(pairs):
        raise InputError(f"{len(ids)} ids but {len(pairs)} photo/mask pairs")
    h, w = model_size(model)
    small = np.stack([imageops.resize_photo(photo, (h, w)) for photo, _ in pairs])
    finest = predict_levels(model, small, batch_size)[-1]
    rows = []
    for i, prob, (_, truth) in zip(ids, finest, pairs):
        pred = metrics.binarize(imageops.resize_prob(prob, truth.shape))
        clean = postprocess.largest_component_filled(pred)
        rows.append({"id": i, "jaccard": metrics.jaccard(truth, pred), "hausdorff": metrics.hausdorff(truth, pred),
                     "jaccard_clean": metrics.jaccard(truth, clean),
                     "hausdorff_clean": metrics.hausdorff(truth, clean)})
    return pd.DataFrame(rows)
