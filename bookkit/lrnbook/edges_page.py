"""The model card's *Edges at the photo's resolution*: tables, sentences and the zoomed figure.

The scores come from :func:`lrn.edges.cutout_scores` (long tables: one row per photo and
option); here they become what the page shows.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import cutout, edges


def option_label(option: str) -> str:
    return {"raw": "raw", "cleaned": "cleaned"}.get(option, f"cleaned + {option}")


def summary_table(scores: dict) -> pd.DataFrame:
    """``{model: long score table}`` -> one row per model and option, mean ± std, ms per photo."""
    rows = []
    for model, table in scores.items():
        for r in edges.summary(table).itertuples():
            rows.append({"model": model, "edges": option_label(r.option),
                         "Jaccard (%)": f"{r.jaccard_mean:.2f} ± {r.jaccard_std:.2f}",
                         "Hausdorff (px)": f"{r.hausdorff_mean:.2f} ± {r.hausdorff_std:.2f}",
                         "extra ms per photo": f"{r.ms_per_photo:.0f}"})
    return pd.DataFrame(rows)


def score_sets(sets: dict, predictors: dict, refinements: dict) -> dict:
    """``{set: {model: long score table}}`` (:func:`lrn.edges.cutout_scores`).

    ``sets``: name -> ``(ids, load)`` where ``load()`` returns the set's full-resolution
    ``(photo, mask)`` pairs (loaded one set at a time); ``predictors``: model name ->
    ``photo -> probability at the photo's resolution``.
    """
    out = {}
    for name, (ids, load) in sets.items():
        pairs = load()
        out[name] = {model: edges.cutout_scores(predict, ids, pairs, refinements) for model, predict in predictors.items()}
        del pairs
    return out


def sets_table(scored: dict) -> pd.DataFrame:
    """:func:`summary_table` of every set of :func:`score_sets`, with the set and its size first."""
    parts = []
    for name, scores in scored.items():
        n = next(iter(scores.values()))["id"].nunique()
        parts.append(summary_table(scores).assign(photos=f"{name} ({n})"))
    table = pd.concat(parts, ignore_index=True)
    return table[["photos", *[c for c in table.columns if c != "photos"]]]


def means(table: pd.DataFrame, option: str) -> tuple[float, float]:
    part = table[table["option"] == option]
    return float(part["jaccard"].mean()), float(part["hausdorff"].mean())


def choice_text(val_scores: pd.DataFrame, chosen: str, default: str) -> str:
    """What the validation photos chose, against the cleaned map, and whether it is the default."""
    j, h = means(val_scores, chosen)
    jc, hc = means(val_scores, "cleaned")
    n = val_scores["id"].nunique()
    same = ("It is the refinement `lrn whiten` uses by default." if chosen == default else
            f"**It is not the default of `lrn whiten` ({default})**: the default was chosen on an earlier run.")
    return (f"On the {n} validation photos the rule (lowest sum of the ranks by mean Jaccard and by mean "
            f"Hausdorff) chooses **{chosen}**: Jaccard {j:.2f} % against {jc:.2f} % cleaned without refinement, "
            f"Hausdorff {h:.2f} px against {hc:.2f} px. {same}")


def test_text(scores: dict, ours: str, peer: str | None, option: str) -> str:
    """Refined against cleaned for our model, and our refined against the peer's, in numbers."""
    j, h = means(scores[ours], option)
    jc, hc = means(scores[ours], "cleaned")
    text = (f"On the test photos, refinement changes the shipped model's mean Jaccard by {j - jc:+.2f} points "
            f"and its mean Hausdorff distance by {h - hc:+.2f} px (cleaned maps, before and after).")
    if peer is not None and peer in scores:
        pj, ph = means(scores[peer], option)
        better = [m for m, ok in (("Jaccard", j > pj), ("Hausdorff", h < ph)) if ok]
        verdict = ("The shipped model is ahead on " + " and ".join(better) if better else
                   "The peer is ahead on both measures")
        text += (f" Refined the same way, {peer} scores {pj:.2f} % and {ph:.2f} px, the shipped model "
                 f"{j:.2f} % and {h:.2f} px. {verdict}.")
    return text


def zoom_boxes(mask: np.ndarray, fraction: float = 0.18) -> dict[str, tuple[int, int, int, int]]:
    """Square crops ``(y0, y1, x0, x1)`` on the outline of a person mask: the top of the head
    (hair) and the left shoulder (the outline's leftmost point in the lower third)."""
    h, w = mask.shape
    side = max(16, int(fraction * min(h, w)))
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError("the mask holds no person")
    top = int(ys.min())
    head_x = int(np.median(xs[ys == top]))
    lower = ys >= top + 2 * (h - top) // 3
    shoulder_y = int(np.median(ys[lower])) if lower.any() else int(ys.max())
    shoulder_x = int(xs[lower].min()) if lower.any() else int(xs.min())

    def box(cy, cx):
        y0 = int(np.clip(cy - side // 2, 0, h - side))
        x0 = int(np.clip(cx - side // 2, 0, w - side))
        return y0, y0 + side, x0, x0 + side

    return {"hair": box(top + side // 4, head_x), "shoulder": box(shoulder_y, shoulder_x)}


def zoom_figure(photo: np.ndarray, raw: np.ndarray, refined: np.ndarray, boxes: dict, title: str) -> plt.Figure:
    """Rows: the crops of ``boxes``; columns: the photo, the cut-out on white from the map
    stretched to the photo (soft ramp), and from the refined matte."""
    white_raw = cutout.compose(photo, cutout.alpha(raw, refined=False))
    white_refined = cutout.compose(photo, cutout.alpha(refined, refined=True))
    fig, axes = plt.subplots(len(boxes), 3, figsize=(9, 3.1 * len(boxes)), squeeze=False)
    for row, (name, (y0, y1, x0, x1)) in enumerate(boxes.items()):
        for col, (image, label) in enumerate(((photo, "photo"), (white_raw, "map stretched to the photo"),
                                              (white_refined, "refined with the photo as guide"))):
            ax = axes[row, col]
            ax.imshow(image[y0:y1, x0:x1], interpolation="nearest")
            ax.set_title(f"{name}: {label}", fontsize=9)
            ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
