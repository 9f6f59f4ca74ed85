"""The cut-out scored at the photo's own resolution: raw, cleaned, and with refined edges.

``lrn whiten`` predicts at the model's input size (224x224) and works at the photo's size
(600x800 for EG1800). :func:`cutout_scores` scores exactly what it cuts out, per photo and
per option: the map resized to the photo (``raw``), cleaned (:func:`lrn.cutout.clean_probability`),
and cleaned then refined with each :class:`lrn.cutout.Refinement`, all thresholded at 0.5
against the full-resolution mask. :func:`best_option` picks an option on such a table (of
validation photos, never test photos). What ``lrn whiten`` runs is chosen by ``make model``
for the model it installs, refinement, cleaning and ramp together, and written on the model's
card (:data:`lrn.cutout.DEFAULT_REFINEMENT`); the model card page reruns this refinement-only
choice on EG1800's validation portraits beside it.
"""
from __future__ import annotations

import time

import pandas as pd

from lrn import cutout, metrics
from lrn.errors import InputError


def cutout_scores(predict, ids, pairs, refinements: dict) -> pd.DataFrame:
    """Per photo and option: Jaccard (%), Hausdorff (photo px) and the option's seconds.

    Parameters
    ----------
    predict : callable
        ``photo uint8 (H, W, 3) -> probability (H, W)`` at the photo's resolution, e.g.
        ``lambda photo: lrn.cutout.segment(model, photo)``, or a peer model's prediction
        resized the same way.
    ids : list of str
    pairs : list of (photo uint8 (H, W, 3), mask bool (H, W))
        Full-resolution photos and masks (e.g. :func:`lrn.data.eg1800.originals`).
    refinements : dict of str to Refinement
        Named refinements, each applied after cleaning.

    Returns
    -------
    pandas.DataFrame
        Long format: ``id``, ``option`` (``raw``, ``cleaned``, then the names of
        ``refinements``), ``jaccard``, ``hausdorff``, ``seconds`` (the option's own work:
        cleaning, or cleaning plus refinement; 0 for ``raw``).
    """
    if len(ids) != len(pairs):
        raise InputError(f"{len(ids)} ids but {len(pairs)} photo/mask pairs")
    rows = []
    for i, (photo, truth) in zip(ids, pairs):
        raw = predict(photo)
        start = time.perf_counter()
        cleaned = cutout.clean_probability(raw)
        clean_seconds = time.perf_counter() - start
        maps = {"raw": (raw, 0.0), "cleaned": (cleaned, clean_seconds)}
        for name, r in refinements.items():
            start = time.perf_counter()
            matte = r.apply(photo, cleaned)
            maps[name] = (matte, clean_seconds + time.perf_counter() - start)
        for option, (prob, seconds) in maps.items():
            pred = metrics.threshold_prob(prob)
            rows.append({"id": str(i), "option": option, "jaccard": metrics.jaccard(truth, pred),
                         "hausdorff": metrics.hausdorff(truth, pred), "seconds": seconds})
    return pd.DataFrame(rows)


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of each option, in the order the options first appear."""
    order = list(dict.fromkeys(scores["option"]))
    grouped = scores.groupby("option", sort=False)
    table = pd.DataFrame({
        "option": order,
        "jaccard_mean": grouped["jaccard"].mean()[order].to_numpy(),
        "jaccard_std": grouped["jaccard"].std(ddof=1)[order].to_numpy(),
        "hausdorff_mean": grouped["hausdorff"].mean()[order].to_numpy(),
        "hausdorff_std": grouped["hausdorff"].std(ddof=1)[order].to_numpy(),
        "ms_per_photo": 1000 * grouped["seconds"].mean()[order].to_numpy(),
    })
    return table


def best_option(scores: pd.DataFrame, among=None) -> str:
    """The option with the lowest sum of its ranks by mean Jaccard and by mean Hausdorff.

    Both measures count equally, as in the paper's table; ties go to the higher mean
    Jaccard. ``among``: the options to choose from (default all).
    """
    table = summary(scores)
    if among is not None:
        table = table[table["option"].isin(list(among))]
    if table.empty:
        raise InputError("no option to choose from")
    ranks = table["jaccard_mean"].rank(ascending=False) + table["hausdorff_mean"].rank(ascending=True)
    ranked = table.assign(ranks=ranks, neg=-table["jaccard_mean"]).sort_values(["ranks", "neg"], kind="stable")
    return str(ranked["option"].iloc[0])


def refinement_grid(radius_fractions=(0.01, 0.02, 0.04), eps=(1e-4, 1e-3, 1e-2), coarse_side: int = 150) -> dict:
    """Named refinements over a grid, e.g. ``{"guided r=0.02 eps=0.001": Refinement(...)}``."""
    return {f"guided r={r:g} eps={e:g}": cutout.Refinement(r, e, coarse_side) for r in radius_fractions for e in eps}
