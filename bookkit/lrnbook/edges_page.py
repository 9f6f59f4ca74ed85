"""The model card's *Edges at the photo's resolution*: tables, sentences and the zoomed figure.

The scores come from :func:`lrn.edges.cutout_scores` (long tables: one row per photo and
option); here they become what the page shows.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrn import edges
from lrnbook import plots


def option_label(option: str) -> str:
    return {"raw": "raw", "cleaned": "cleaned"}.get(option, f"cleaned + {option}")


HAUSDORFF = "Hausdorff (px, photo's size)"
MS_ADDED = "ms added"
"""Column of the milliseconds an option adds per photo after the map (cleaning, refinement)."""


def option_rows(table: pd.DataFrame) -> list[dict]:
    """One model's long score table -> one row per option: its mean ± std and the ms it adds per photo."""
    return [{"edges": option_label(r.option), "Jaccard (%)": f"{r.jaccard_mean:.2f} ± {r.jaccard_std:.2f}",
             HAUSDORFF: f"{r.hausdorff_mean:.2f} ± {r.hausdorff_std:.2f}", MS_ADDED: f"{r.ms_per_photo:.0f}"}
            for r in edges.summary(table).itertuples()]


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """One model's long score table -> one row per option, mean ± std, ms added per photo."""
    return pd.DataFrame(option_rows(table))


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


def sets_table(scored: dict, model: str) -> pd.DataFrame:
    """One model's table: one row per set and option, Jaccard and Hausdorff (mean ± std) and the
    milliseconds the option adds per photo for this model's maps.

    One table per model keeps it inside the text column; the set's name (with its number of
    photos) stands on its first row only.
    """
    rows = []
    for name, scores in scored.items():
        table = scores[model]
        for k, row in enumerate(option_rows(table)):
            rows.append({"photos": f"{name} ({table['id'].nunique()})" if k == 0 else "", **row})
    return pd.DataFrame(rows)


def means(table: pd.DataFrame, option: str) -> tuple[float, float]:
    part = table[table["option"] == option]
    return float(part["jaccard"].mean()), float(part["hausdorff"].mean())


def standing_text(val_scores: pd.DataFrame, runs: str | None, photos: str = "validation photos") -> str:
    """Where the refinement ``lrn whiten`` runs (``runs``, an option of ``val_scores``; ``None`` when
    it runs none) stands among the refinements scored on these photos, against the cleaned map.

    No option is chosen here: ``make model`` chose on four validation sets (the haze page).
    ``photos``: what the photos of ``val_scores`` are, after their number (e.g. ``"EG1800
    validation portraits"``).
    """
    table = edges.summary(val_scores).set_index("option")
    refined = table.drop(index=[o for o in ("raw", "cleaned") if o in table.index])
    jc, hc = table.loc["cleaned", "jaccard_mean"], table.loc["cleaned", "hausdorff_mean"]
    n = val_scores["id"].nunique()
    best_j, best_h = refined["jaccard_mean"].idxmax(), refined["hausdorff_mean"].idxmin()
    text = (f"On the {n} {photos}, the cleaned map without refinement scores {jc:.2f} % Jaccard and {hc:.2f} px "
            f"Hausdorff (at the photos' own size). ")
    if runs is None:
        text += "`lrn whiten` runs no refinement for this model (its card's steps). "
    else:
        j, h = table.loc[runs, "jaccard_mean"], table.loc[runs, "hausdorff_mean"]
        j_rank = int((refined["jaccard_mean"] > j).sum()) + 1
        h_rank = int((refined["hausdorff_mean"] < h).sum()) + 1
        text += (f"The refinement `lrn whiten` runs, **{runs}**, scores {j:.2f} % and {h:.2f} px: "
                 f"{_place(j_rank)} of the {len(refined)} by Jaccard and {_place(h_rank)} by Hausdorff. ")
    text += (f"The highest Jaccard here is {best_j}'s ({refined.loc[best_j, 'jaccard_mean']:.2f} %), the lowest Hausdorff "
             f"{best_h}'s ({refined.loc[best_h, 'hausdorff_mean']:.2f} px).")
    return text


def _place(rank: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(rank, f"{rank}th")


def choice_photos(val_ids) -> tuple[list[str], str]:
    """The validation photos the refinement is chosen on, from a model card's ``val_ids``, and what they are.

    The EG1800 ones (``"eg1800/00017"`` -> ``"00017"``), read by :func:`lrn.data.eg1800.originals`:
    ``(ids, "EG1800 validation portraits")``. A card of a model trained on EG1800 alone lists
    bare ids: ``(all of them, "validation photos")``.
    """
    portraits = [i.removeprefix("eg1800/") for i in val_ids if i.startswith("eg1800/")]
    return (portraits, "EG1800 validation portraits") if portraits else (list(val_ids), "validation photos")


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
                 f"{j:.2f} % and {h:.2f} px (Hausdorff at the photos' own size). {verdict}.")
    return text


def zoom_boxes(mask: np.ndarray, fraction: float = 0.18) -> dict[str, tuple[int, int, int, int]]:
    """Square crops ``(y0, y1, x0, x1)`` on the outline of a person mask: the top of the head
    (hair) and a shoulder, where the outline crosses the row two thirds of the way from the
    top of the head to the bottom of the photo (its left side, or its right side where the
    left one lies on the photo's border)."""
    h, w = mask.shape
    side = max(16, int(fraction * min(h, w)))
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError("the mask holds no person")
    top = int(ys.min())
    head_x = int(np.median(xs[ys == top]))
    row = min(h - 1, top + 2 * (h - top) // 3)
    while row > top and not mask[row].any():
        row -= 1
    cols = np.nonzero(mask[row])[0]
    shoulder_x = int(cols.min()) if cols.min() > 0 or cols.max() >= w - 1 else int(cols.max())

    def box(cy, cx):
        y0 = int(np.clip(cy - side // 2, 0, h - side))
        x0 = int(np.clip(cx - side // 2, 0, w - side))
        return y0, y0 + side, x0, x0 + side

    return {"hair": box(top + side // 4, head_x), "shoulder": box(row, shoulder_x)}


CHECKS = (0.45, 0.7)
"""Grey levels of the checkerboard behind the zoomed cut-outs: dark and light enough that a
see-through edge shows on a bright photo (where white would hide it) and on a dark one."""


def on_checkerboard(photo: np.ndarray, opacity: np.ndarray, square: int = 8) -> np.ndarray:
    """``photo`` (uint8 ``(H, W, 3)``) over a grey checkerboard of ``square``-pixel checks with
    ``opacity`` (``(H, W)`` in [0, 1]) as its alpha: uint8 ``(H, W, 3)``. Whatever the cut-out lets
    through shows as the checks, the convention of image editors."""
    h, w = opacity.shape
    yy, xx = np.mgrid[:h, :w]
    board = np.where(((yy // square + xx // square) % 2 == 0), CHECKS[0], CHECKS[1]) * 255.0
    a = np.clip(opacity, 0.0, 1.0)[..., np.newaxis]
    return np.clip(np.rint(a * photo + (1 - a) * board[..., np.newaxis]), 0, 255).astype(np.uint8)


def zoom_figure(photo: np.ndarray, truth: np.ndarray, opacities: dict, boxes: dict, title: str) -> plt.Figure:
    """Rows: the crops of ``boxes`` (:func:`zoom_boxes`); columns: the photo with the truth's
    outline, then each of ``opacities`` (label -> ``(H, W)`` opacity at the photo's size) as a
    cut-out on a grey checkerboard (:func:`on_checkerboard`)."""
    panels = [("photo, true outline", plots.with_outline(photo, truth))]
    panels += [(label, on_checkerboard(photo, a)) for label, a in opacities.items()]
    fig, axes = plt.subplots(len(boxes), len(panels), figsize=(plots.TEXT_WIDTH_IN, 3.0 * len(boxes)), squeeze=False)
    for row, (name, (y0, y1, x0, x1)) in enumerate(boxes.items()):
        for ax, (label, image) in zip(axes[row], panels):
            ax.imshow(image[y0:y1, x0:x1], interpolation="nearest")
            ax.set_title(f"{name}:\n{label}", fontsize=10)
            ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(h_pad=1.5)
    return fig


def crop_errors(truth: np.ndarray, opacity: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Inside one crop ``(y0, y1, x0, x1)``: the share (%) of the true person's pixels an opacity
    leaves out (below one half) and of the true background's it keeps (one half or more); NaN
    where the crop holds none of them."""
    y0, y1, x0, x1 = box
    person, kept = truth[y0:y1, x0:x1], opacity[y0:y1, x0:x1] >= 0.5
    left_out = 100 * float(np.mean(~kept[person])) if person.any() else float("nan")
    background = 100 * float(np.mean(kept[~person])) if (~person).any() else float("nan")
    return left_out, background


def crops_text(truth: np.ndarray, opacities: dict, boxes: dict) -> str:
    """What :func:`zoom_figure` shows, in numbers (:func:`crop_errors`), one clause per crop and opacity."""
    parts = []
    for name, box in boxes.items():
        cells = [f"{label} {left:.1f} % / {kept:.1f} %" for label, a in opacities.items()
                 for left, kept in [crop_errors(truth, a, box)]]
        parts.append(f"{name}: " + ", ".join(cells))
    return ("Inside the crops, the share of the true person left out (opacity below one half) / of the true "
            "background kept (one half or more): " + "; ".join(parts) + ".")


def compare_word(after: float, before: float) -> str:
    """``"more"``, ``"less"``, ``"as much"`` or ``"none"`` (both 0), as the two shares read at one decimal."""
    a, b = round(after, 1), round(before, 1)
    return "more" if a > b else "less" if a < b else "none" if a == 0 else "as much"


def crops_named(names: list[str], total: int) -> str:
    """``"the hair crop"``, ``"the hair and shoulder crops"``, ``"both crops"``, ``"every crop"``."""
    if len(names) == total > 1:
        return "both crops" if total == 2 else "every crop"
    return f"the {' and '.join(names)} crop" + ("s" if len(names) > 1 else "")


def refinement_text(truth: np.ndarray, before: np.ndarray, after: np.ndarray, boxes: dict,
                    scores: pd.DataFrame, option: str, set_name: str) -> str:
    """What refinement did inside the crops of one photo, and what it does over the whole set.

    Parameters
    ----------
    truth : (H, W) bool
        The photo's true mask.
    before, after : (H, W) float
        Opacities without and with refinement (the stretched map with the ramp; ``lrn whiten``).
    boxes : dict
        Crops ``(y0, y1, x0, x1)`` by name (:func:`zoom_boxes`).
    scores : DataFrame
        The set's long score table (:func:`lrn.edges.cutout_scores`), with ``cleaned`` and ``option``.
    option : str
        The refinement ``after`` applies.
    set_name : str
        The set's name, for the last sentence.

    Returns
    -------
    str
        Per crop, whether refinement leaves out more or less of the person and keeps more or
        less of the background (:func:`crop_errors`, as printed at one decimal); why it can cut
        into the person; and the change of the set's mean Jaccard, saying so when one photo's
        crops and the mean point different ways.
    """
    measures = (("leaves out", "of the person", 0), ("keeps", "of the background", 1))
    errors = {name: (crop_errors(truth, before, box), crop_errors(truth, after, box)) for name, box in boxes.items()}
    clauses, cut_in, cut_back = [], False, False
    for verb, what, k in measures:
        groups: dict[str, list[str]] = {}
        for name, (b, a) in errors.items():
            if not (np.isnan(b[k]) or np.isnan(a[k])):
                groups.setdefault(compare_word(a[k], b[k]), []).append(name)
        said = [(f"no more {what} than without it (none) in {crops_named(names, len(boxes))}" if word == "none" else
                 f"{word} {what} in {crops_named(names, len(boxes))}") for word, names in groups.items()]
        if said:
            clauses.append(f"{verb} " + " and ".join(said))
        if k == 0:
            cut_in, cut_back = "more" in groups, "less" in groups
    text = "On this photo, refinement " + ", and ".join(clauses) + "."
    if cut_in:
        text += (" A guided filter moves the map's edge toward the photo's own edges: where the person and the "
                 "background have similar colours there is no edge to follow, and it can cut into the person.")
    j, _ = means(scores, option)
    jc, _ = means(scores, "cleaned")
    n = scores["id"].nunique()
    text += f" Over the {n} photos of *{set_name}*, refinement changes the mean Jaccard index by {j - jc:+.2f} points"
    disagree = (cut_in and not cut_back and j > jc) or (cut_back and not cut_in and j < jc)
    return text + (": one photo's crops do not show the set's mean." if disagree else ".")
