"""The page *Cut-outs without haze*: post-processing pipelines of the cut-out, scored on validation photos.

``lrn whiten`` turns the shipped model's map (at the photo's own resolution) into an opacity
and composes the photo on white with it. A *pipeline* is the sequence of steps that does it,
each a function ``(photo, map) -> map`` at the photo's resolution:

* ``clean``: one person, holes filled (:func:`lrn.cutout.clean_probability`);
* ``refine``: the guided filter with the photo as guide (:data:`lrn.cutout.DEFAULT_REFINEMENT`);
* ``ramp L/H``: the soft-edge ramp (:func:`lrn.cutout.edge_alpha`), 0 below ``L``, 1 above ``H``;
* ``matting``: closed-form matting (Levin, Lischinski and Weiss 2008; pymatting's
  ``estimate_alpha_cf``) on a trimap made from the map (:func:`closed_form_matte`).

The result is clipped to [0, 1] and is the opacity ``lrn whiten --mask`` writes (times 255).
The old default (:data:`DEFAULT`) is ``("refine",)``: the shipped model's card says its map is
not cleaned, and the refined matte was used as the opacity as it is, without the ramp
(:func:`lrn.cutout.alpha`). :func:`lrn.cutout.opacity` runs :data:`WHITEN`: the steps of
:data:`lrn.cutout.WHITEN_STEPS`, then the ramp; the page says whether that is its choice.

:func:`score_pipelines` scores every pipeline on every photo of a set: Jaccard (%) and
Hausdorff (px) at 224x224 like the rest of the book (the opacity resized bilinearly and
thresholded at 0.5, :mod:`lrn.metrics`), and the haze measures (:mod:`lrn.haze`) at the
photo's own resolution. :func:`choose` applies :data:`RULE`, fixed before any score was seen.
"""
from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import ndimage

from lrn import cutout, haze, imageops, metrics
from lrn.cutout_model import SOFT_EDGE
from lrn.errors import InputError
from lrn.shapes import EVAL_SIZE
from lrnbook import plots

SET_NAMES = ("EG1800 validation", "CCP head-and-torso validation", "CCP full-frame validation",
             "small people validation")
PER_SET = 60
"""Photos per set: validation photos spread evenly over each set's ids (small people: made
photos), so that the page's whole evaluation takes a few minutes."""

DEFAULT = "refine (old default)"
RAMP = "ramp {:g}/{:g}".format(*SOFT_EDGE)
"""The soft-edge ramp of ``lrn whiten`` as a pipeline step (:data:`lrn.cutout_model.SOFT_EDGE`)."""
PIPELINES = {
    DEFAULT: ("refine",),
    "clean, refine": ("clean", "refine"),
    f"refine, {RAMP}": ("refine", RAMP),
    f"clean, refine, {RAMP}": ("clean", "refine", RAMP),
    f"refine, clean, {RAMP}": ("refine", "clean", RAMP),
    f"clean, {RAMP}, refine": ("clean", RAMP, "refine"),
    "clean, refine, ramp 0.4/0.8": ("clean", "refine", "ramp 0.4/0.8"),
    "clean, refine, ramp 0.5/0.9": ("clean", "refine", "ramp 0.5/0.9"),
    "refine, ramp 0.5/0.9": ("refine", "ramp 0.5/0.9"),
    f"{RAMP} (no refinement)": (RAMP,),
    f"clean, {RAMP} (no refinement)": ("clean", RAMP),
    "clean, matting": ("clean", "matting"),
}
WHITEN_STEPS = (*cutout.WHITEN_STEPS, "ramp {:g}/{:g}".format(cutout.LOW, cutout.HIGH))
WHITEN = ", ".join(WHITEN_STEPS)
"""The pipeline ``lrn whiten`` runs with its default options (:func:`lrn.cutout.opacity`): the
steps of :data:`lrn.cutout.WHITEN_STEPS`, then the ramp (:data:`lrn.cutout.LOW`,
:data:`lrn.cutout.HIGH`), with ``refine`` the card's refinement
(:data:`lrn.cutout.DEFAULT_REFINEMENT`): all as ``make model`` chose them for the shipped model
(:mod:`lrnbook.whitening_choice`). ``--raw`` drops the cleaning step."""
PIPELINES.setdefault(WHITEN, WHITEN_STEPS)
"""Candidate pipelines by name: the old default, cleaning on, the order of cleaning, refinement
and ramp varied, steeper ramps, no refinement (``lrn whiten --refine none``, with and without
cleaning), closed-form matting, and ``lrn whiten``'s own (:data:`WHITEN`) if it is none of these."""

TRIMAP = SOFT_EDGE
"""Closed-form matting's trimap: sure background where the map is below the first value, sure
person above the second, unknown between; :data:`lrn.cutout.SOFT_EDGE`, the ramp's own band."""
TRIMAP_BAND = 0.01
"""Both sure regions are eroded by this share of the photo's diagonal, so that the unknown band
covers the map's blurred edge (a 224x224 map stretched to the photo)."""
MATTING_SIDE = 300
"""Closed-form matting runs on the photo shrunk to this shorter side (the alpha is resized back
bilinearly): its cost grows with the number of pixels, and at 600x800 it took about five times
as long as at 300x400."""

JACCARD_MARGIN = 0.5
HAUSDORFF_MARGIN = 1.0
RULE = (f"Among the pipelines within {JACCARD_MARGIN} points of the best mean Jaccard index and within "
        f"{HAUSDORFF_MARGIN:g} px of the best mean Hausdorff distance (each averaged over the four validation "
        "sets, every set counting once), choose the one that leaves the lowest mean opacity on the true "
        "background; if no pipeline is within both margins, the one with the lowest sum of its ranks by "
        "Jaccard and by Hausdorff. Ties go to the larger mean Jaccard.")
"""How a pipeline is chosen (:func:`choose`), here and by ``make model`` for ``lrn whiten``
(:mod:`lrnbook.whitening_choice`). A first version had the Jaccard margin alone; on the
validation photos of the model shipped then it chose a pipeline 2.6 px worse by Hausdorff than
the one beside it for 0.03 points less haze, so the Hausdorff margin was added, before the
candidates of ``make model`` were scored."""


def ramp_step(ramp: tuple[float, float]) -> str:
    """``(0.3, 0.7)`` -> ``"ramp 0.3/0.7"``: the ramp as a pipeline step (the inverse of :func:`ramp_band`)."""
    return "ramp {:g}/{:g}".format(*ramp)


def ramp_band(step: str) -> tuple[float, float]:
    """``"ramp 0.3/0.7"`` -> ``(0.3, 0.7)``."""
    try:
        low, high = (float(v) for v in step.removeprefix("ramp ").split("/"))
    except ValueError:
        raise InputError(f"cannot read the ramp step {step!r}: expected e.g. 'ramp 0.3/0.7'") from None
    return low, high


def closed_form_matte(photo: np.ndarray, prob: np.ndarray, trimap=TRIMAP, band: float = TRIMAP_BAND,
                      side: int = MATTING_SIDE) -> np.ndarray:
    """Closed-form matting of ``photo`` on a trimap made from ``prob``.

    Parameters
    ----------
    photo : uint8 array (H, W, 3)
    prob : float array (H, W) in [0, 1]
        The map at the photo's resolution.
    trimap : (float, float)
        Sure background below the first, sure person above the second (:data:`TRIMAP`).
    band : float
        Both sure regions eroded by this share of the diagonal (:data:`TRIMAP_BAND`).
    side : int
        Matting runs at this shorter side (:data:`MATTING_SIDE`); the alpha comes back bilinearly.

    Returns
    -------
    float32 array (H, W) in [0, 1]. Where the trimap has no sure person or no sure
    background, the ramp of the map (:func:`lrn.cutout.edge_alpha`) instead: matting needs both.
    """
    from pymatting import estimate_alpha_cf  # optional (lrn[matting]): numba compiles on first import

    h, w = prob.shape
    scale = min(1.0, side / min(h, w))
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    small_photo = imageops.resize_photo(photo, shape) if shape != (h, w) else photo
    small = imageops.resize_prob(prob.astype(np.float32), shape) if shape != (h, w) else prob
    erode = max(1, int(round(band * np.hypot(*shape))))
    person = ndimage.binary_erosion(small > trimap[1], iterations=erode)
    background = ndimage.binary_erosion(small < trimap[0], iterations=erode)
    if not person.any() or not background.any():
        return cutout.edge_alpha(prob, *trimap).astype(np.float32)
    tri = np.full(shape, 0.5)
    tri[person], tri[background] = 1.0, 0.0
    matte = estimate_alpha_cf(small_photo.astype(np.float64) / 255.0, tri)
    back = imageops.resize_prob(matte.astype(np.float32), (h, w)) if shape != (h, w) else matte
    return np.clip(back, 0.0, 1.0).astype(np.float32)


def apply_step(step: str, photo: np.ndarray, prob: np.ndarray, refinement=None) -> np.ndarray:
    """One step (see the module's docstring) on a map ``(H, W)`` at the photo's resolution;
    ``refine`` with ``refinement`` (default :data:`lrn.cutout.DEFAULT_REFINEMENT`)."""
    if step == "clean":
        return cutout.clean_probability(prob)
    if step == "refine":
        return (refinement or cutout.DEFAULT_REFINEMENT).apply(photo, prob)
    if step == "matting":
        return closed_form_matte(photo, prob)
    if step.startswith("ramp "):
        return cutout.edge_alpha(prob, *ramp_band(step)).astype(np.float32)
    raise InputError(f"unknown step {step!r}: expected clean, refine, matting or 'ramp L/H'")


def pipeline_alpha(steps, photo: np.ndarray, prob: np.ndarray, done: dict | None = None,
                   refinements: dict | None = None) -> np.ndarray:
    """The opacity of a pipeline: its steps in order on the raw map, clipped to [0, 1].

    Parameters
    ----------
    steps : sequence of str
        E.g. ``("clean", "refine", "ramp 0.3/0.7")``.
    photo : uint8 array (H, W, 3)
    prob : float array (H, W) in [0, 1]
        The model's raw map at the photo's resolution (``lrn.cutout.segment(model, photo)``).
    done : dict, optional
        Results of step prefixes already computed for this photo (filled in): pipelines that
        share a prefix compute it once. Each entry is ``(map, seconds)``, the seconds summed
        along the prefix.
    refinements : dict of str to lrn.cutout.Refinement, optional
        Named refinements: a step with one of these names refines with it (``refine`` is
        :data:`lrn.cutout.DEFAULT_REFINEMENT`).

    Returns
    -------
    float32 array (H, W) in [0, 1].
    """
    done = {} if done is None else done
    current, seconds = prob, 0.0
    for k in range(1, len(steps) + 1):
        prefix = tuple(steps[:k])
        if prefix not in done:
            start = time.perf_counter()
            step = prefix[-1]
            named = (refinements or {}).get(step)
            out = named.apply(photo, current) if named is not None else apply_step(step, photo, current)
            done[prefix] = (out, seconds + time.perf_counter() - start)
        current, seconds = done[prefix]
    return np.clip(current, 0.0, 1.0).astype(np.float32)


def pipeline_seconds(steps, done: dict) -> float:
    """The work of a pipeline already run with ``done`` (:func:`pipeline_alpha`), in seconds."""
    return done[tuple(steps)][1] if steps else 0.0


def photo_scores(alpha: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Scores of one opacity ``(H, W)`` against the true mask ``(H, W)`` (bool) at the photo's resolution.

    Returns ``jaccard`` (%) and ``hausdorff`` (px), both at 224x224 (the opacity resized
    bilinearly and thresholded at 0.5, the truth resized nearest), ``background_alpha`` and
    ``hazy_share`` (both in %, at the photo's resolution, :mod:`lrn.haze`).
    """
    truth = np.asarray(truth, bool)
    pred = metrics.threshold_prob(imageops.resize_prob(alpha, (EVAL_SIZE, EVAL_SIZE)))
    small_truth = imageops.resize_mask(truth, EVAL_SIZE)
    return {"jaccard": metrics.jaccard(small_truth, pred), "hausdorff": metrics.hausdorff(small_truth, pred),
            "background_alpha": 100.0 * haze.background_alpha(alpha, truth),
            "hazy_share": 100.0 * haze.hazy_share(alpha, truth)}


def score_pipelines(predict, ids, pairs, pipelines: dict | None = None, refinements: dict | None = None,
                    progress: str | None = None) -> pd.DataFrame:
    """Per photo and pipeline: the scores of :func:`photo_scores` and the pipeline's seconds.

    Parameters
    ----------
    predict : callable
        ``photo uint8 (H, W, 3) -> raw map (H, W)`` at the photo's resolution, e.g.
        ``lambda photo: lrn.cutout.segment(model, photo)`` (no cleaning, no refinement).
    ids : list of str
    pairs : list of (photo uint8 (H, W, 3), mask bool (H, W))
        Photos and true masks at their own resolution.
    pipelines : dict of str to tuple of str, optional
        Default :data:`PIPELINES`.
    refinements : dict of str to lrn.cutout.Refinement, optional
        Steps named after other refinements than the default (:func:`pipeline_alpha`).
    progress : str, optional
        A progress bar with this label on standard error (in a terminal only).

    Returns
    -------
    pandas.DataFrame
        Long format: ``id``, ``pipeline``, ``jaccard``, ``hausdorff``, ``background_alpha``,
        ``hazy_share``, ``seconds`` (the pipeline's own work, not the model's).
    """
    pipelines = PIPELINES if pipelines is None else pipelines
    if len(ids) != len(pairs):
        raise InputError(f"{len(ids)} ids but {len(pairs)} photo/mask pairs")
    from tqdm.auto import tqdm

    rows = []
    for i, (photo, truth) in tqdm(list(zip(ids, pairs)), desc=progress, unit="photo", disable=progress is None or None):
        raw, done = predict(photo), {}
        for name, steps in pipelines.items():
            alpha = pipeline_alpha(steps, photo, raw, done, refinements)
            rows.append({"id": str(i), "pipeline": name, **photo_scores(alpha, truth),
                         "seconds": pipeline_seconds(steps, done)})
    return pd.DataFrame(rows)


MEASURES = ("jaccard", "hausdorff", "background_alpha", "hazy_share")


def set_means(scored: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``{set: long table}`` -> one row per set and pipeline: the means of :data:`MEASURES` and ms
    per photo (photos without background pixels are left out of the haze means)."""
    rows = []
    for set_name, table in scored.items():
        grouped = table.groupby("pipeline", sort=False)
        for name, group in grouped:
            rows.append({"set": set_name, "pipeline": name, "photos": len(group),
                         **{m: float(np.nanmean(group[m])) for m in MEASURES},
                         "ms_per_photo": 1000.0 * float(group["seconds"].mean())})
    return pd.DataFrame(rows)


def overall(means: pd.DataFrame) -> pd.DataFrame:
    """One row per pipeline: each measure averaged over the sets (every set counts once), in
    the order the pipelines first appear."""
    order = list(dict.fromkeys(means["pipeline"]))
    table = means.groupby("pipeline", sort=False)[[*MEASURES, "ms_per_photo"]].mean()
    return table.loc[order].reset_index()


def near_best(table: pd.DataFrame, margin: float = JACCARD_MARGIN, hausdorff_margin: float = HAUSDORFF_MARGIN):
    """The rows of :func:`overall`'s ``table`` within both margins of :data:`RULE`."""
    return table[(table["jaccard"] >= table["jaccard"].max() - margin)
                 & (table["hausdorff"] <= table["hausdorff"].min() + hausdorff_margin)]


def choose(means: pd.DataFrame, margin: float = JACCARD_MARGIN, hausdorff_margin: float = HAUSDORFF_MARGIN) -> str:
    """The pipeline :data:`RULE` picks from the per-set means (:func:`set_means`)."""
    table = overall(means)
    if table.empty:
        raise InputError("no pipeline to choose from")
    near = near_best(table, margin, hausdorff_margin)
    if near.empty:
        ranks = table["jaccard"].rank(ascending=False) + table["hausdorff"].rank(ascending=True)
        ranked = table.assign(ranks=ranks).sort_values(["ranks", "jaccard"], ascending=[True, False], kind="stable")
    else:
        ranked = near.sort_values(["background_alpha", "jaccard"], ascending=[True, False], kind="stable")
    return str(ranked["pipeline"].iloc[0])


def results_table(means: pd.DataFrame, pipelines=None) -> pd.DataFrame:
    """The page's table: one row per pipeline and set (and over the sets), measures rounded for reading."""
    over = overall(means).assign(set="mean over the sets")
    table = pd.concat([means, over], ignore_index=True)
    if pipelines is not None:
        table = table[table["pipeline"].isin(list(pipelines))]
    order = list(dict.fromkeys(means["pipeline"]))
    table = table.assign(rank=table["pipeline"].map({p: k for k, p in enumerate(order)}))
    table = table.sort_values(["rank"], kind="stable")
    return pd.DataFrame({"pipeline": table["pipeline"], "set": table["set"],
                         **measure_columns(table, "extra ms per photo (steps after the map)")}).reset_index(drop=True)


def measure_columns(table: pd.DataFrame, ms_label: str = "extra ms per photo") -> dict[str, pd.Series]:
    """The measures of a table of means (:data:`MEASURES` and ``ms_per_photo``) as columns for
    reading: headers with their units, two decimals (whole milliseconds)."""
    return {"Jaccard (%)": table["jaccard"].map("{:.2f}".format),
            "Hausdorff (px)": table["hausdorff"].map("{:.2f}".format),
            "background opacity (%)": table["background_alpha"].map("{:.2f}".format),
            f"background > {100 * haze.HAZE_ALPHA:.0f} % (%)": table["hazy_share"].map("{:.2f}".format),
            ms_label: table["ms_per_photo"].map("{:.0f}".format)}


def choice_text(means: pd.DataFrame, chosen: str, default: str = DEFAULT) -> str:
    """A paragraph: the best Jaccard, who was within the margin, the choice and how it compares with today's."""
    table = overall(means).set_index("pipeline")
    best = table["jaccard"].idxmax()
    near = near_best(table.reset_index())
    c, d = table.loc[chosen], table.loc[default]
    shortest = table["hausdorff"].idxmin()
    text = (f"The best mean Jaccard over the sets is {table.loc[best, 'jaccard']:.2f} % (*{best}*), the best mean "
            f"Hausdorff distance {table.loc[shortest, 'hausdorff']:.2f} px (*{shortest}*); {len(near)} of "
            f"{len(table)} pipelines are within {JACCARD_MARGIN} points and {HAUSDORFF_MARGIN:g} px of them. ")
    if near.empty:
        text += f"By the sum of ranks the rule falls back on, *{chosen}* leaves "
    else:
        text += f"Among them, *{chosen}* leaves the least opacity on the true background: "
    text += (f"{c['background_alpha']:.2f} % on "
            f"average, with {c['hazy_share']:.2f} % of the background above {100 * haze.HAZE_ALPHA:.0f} % "
            f"opacity, at a mean Jaccard of {c['jaccard']:.2f} % and a mean Hausdorff distance of "
            f"{c['hausdorff']:.2f} px.")
    if chosen == default:
        return text + " That is the old default: it stays."
    return text + (f" The old default (*{default}*) leaves {d['background_alpha']:.2f} % and "
                   f"{d['hazy_share']:.2f} % at a mean Jaccard of {d['jaccard']:.2f} % and a mean Hausdorff "
                   f"distance of {d['hausdorff']:.2f} px: the choice replaces it.")


CONFIDENT_OPACITY = 50.0
"""A hazy background pixel is called *marked with confidence* when the least mean opacity the
means allow those pixels (:func:`opaque_lower_bound`) is at least this (%)."""


def sets_text(means: pd.DataFrame, chosen: str, small: str = SET_NAMES[3]) -> str:
    """How far the sets and the pipelines move the Jaccard index, and what haze the chosen
    pipeline leaves on the set where it leaves the most and on the set where it leaves the
    least: a paragraph, every comparison read from ``means`` (:func:`set_means`)."""
    chosen_rows = means[means["pipeline"] == chosen].set_index("set")
    across_sets = float(chosen_rows["jaccard"].max() - chosen_rows["jaccard"].min())
    across_pipelines = float(means.groupby("set")["jaccard"].agg(lambda j: j.max() - j.min()).max())
    lead = (f"The sets differ more than the pipelines do: with *{chosen}* the mean Jaccard index spans "
            f"{across_sets:.1f} points from one set to another, and no set moves more than "
            f"{across_pipelines:.1f} points from one pipeline to another."
            if across_sets > across_pipelines else
            f"The pipelines move the Jaccard index as much as the sets do: with *{chosen}* it spans "
            f"{across_sets:.1f} points from one set to another, and up to {across_pipelines:.1f} points from "
            "one pipeline to another within a set.")
    small_j = means[means["set"] == small]["jaccard"]
    others = chosen_rows.drop(index=small)["jaccard"]
    row = chosen_rows.loc[small]
    text = (f"{lead} On *{small}* the Jaccard index is {small_j.min():.1f} to {small_j.max():.1f} % whatever "
            f"the pipeline, " + ("the lowest of the sets" if row["jaccard"] < others.min() else "not the lowest")
            + f" (the others: {others.min():.1f} to {others.max():.1f} % with the chosen pipeline). "
            + haze_extremes_text(means, chosen))
    return text + (" Part of the background opacity of every set is the soft edge itself, a few pixels wide on the "
                   "true background around the person.")


def haze_extremes(means: pd.DataFrame, chosen: str) -> dict | None:
    """The sets on which ``chosen`` leaves the most and the least background opacity.

    Parameters
    ----------
    means : pandas.DataFrame
        :func:`set_means`.
    chosen : str
        A pipeline of ``means``.

    Returns
    -------
    dict or None
        ``{"most": set name, "least": set name (the same with one set), "rows": the chosen
        pipeline's rows indexed by set, "solid": the least mean opacity (%) of the hazy pixels
        of the *most* set (:func:`opaque_lower_bound`; NaN when none is hazy)}``; ``None`` when no
        set has a background pixel.
    """
    rows = means[means["pipeline"] == chosen].set_index("set").dropna(subset=["background_alpha"])
    if rows.empty:
        return None
    rows = rows.sort_values("background_alpha", kind="stable")
    most, least = rows.index[-1], rows.index[0]
    solid = opaque_lower_bound(rows.loc[most, "background_alpha"], rows.loc[most, "hazy_share"])
    return {"most": most, "least": least, "rows": rows, "solid": solid}


def solid(extremes: dict) -> bool:
    """Whether the haze of the *most* set of :func:`haze_extremes` is solid background: its hazy
    pixels at least :data:`CONFIDENT_OPACITY` opaque on average."""
    return bool(np.isfinite(extremes["solid"]) and extremes["solid"] >= CONFIDENT_OPACITY)


def haze_extremes_text(means: pd.DataFrame, chosen: str) -> str:
    """The haze ``chosen`` leaves on the set with the most background opacity and on the set with
    the least (:func:`haze_extremes`), and whether the most is solid background kept rather than
    a faint haze; a few sentences."""
    found = haze_extremes(means, chosen)
    if found is None:
        return "No set has a background pixel to measure the haze on."
    above = f"{100 * haze.HAZE_ALPHA:.0f} % opacity"
    most, least, rows = found["most"], found["least"], found["rows"]
    where = f"on *{most}*" if most != least else f"on its one set, *{most}*"
    text = (f"With the chosen pipeline the background keeps the most opacity {where}: "
            f"{rows.loc[most, 'background_alpha']:.1f} % on average, with {rows.loc[most, 'hazy_share']:.1f} % of it "
            f"above {above}.")
    if solid(found):
        text += (f" Those pixels are at least {found['solid']:.0f} % opaque on average: background kept as solid "
                 "patches, not a faint haze, which the map marks with confidence and no post-processing can tell "
                 "from the person.")
    if least != most:
        text += (f" The least is on *{least}*: {rows.loc[least, 'background_alpha']:.1f} % on average, with "
                 f"{rows.loc[least, 'hazy_share']:.1f} % above {above}.")
    return text


def extremes_clause(means: pd.DataFrame, chosen: str) -> str:
    """:func:`haze_extremes` in one sentence, for the summary."""
    found = haze_extremes(means, chosen)
    if found is None:
        return "No set has a background pixel to measure the haze on."
    rows = found["rows"]
    def numbers(name):
        return (f"{rows.loc[name, 'background_alpha']:.2f} % mean opacity, {rows.loc[name, 'hazy_share']:.2f} % "
                f"above {100 * haze.HAZE_ALPHA:.0f} %")
    text = f"Left on the background by the chosen pipeline: most on *{found['most']}* ({numbers(found['most'])}"
    text += ", mostly solid patches)" if solid(found) else ")"
    if found["least"] != found["most"]:
        text += f", least on *{found['least']}* ({numbers(found['least'])})"
    return text + "."


def summary_text(means: pd.DataFrame, chosen: str, whiten: str | None, tryit: str | None = None,
                 default: str = DEFAULT) -> str:
    """The page's summary as markdown bullets: the rule, the choice against the old default (means
    over the sets), the haze it leaves on the hardest and easiest set, and what ``lrn whiten`` and
    the Try-it page run.

    Parameters
    ----------
    means : pandas.DataFrame
        :func:`set_means`.
    chosen : str
        :func:`choose`'s pipeline.
    whiten : str or None
        :func:`whiten_pipeline` (``None``: ``lrn whiten`` reproduces no pipeline).
    tryit : str, optional
        The Try-it page's pipeline; default :data:`TRYIT_PIPELINE`.
    default : str
        The old default pipeline.
    """
    tryit = TRYIT_PIPELINE if tryit is None else tryit
    table = overall(means).set_index("pipeline")
    c, d = table.loc[chosen], table.loc[default]
    above = f"{100 * haze.HAZE_ALPHA:.0f} %"
    bullets = [f"- Rule, fixed before the scores: {RULE}",
               f"- Chosen: *{chosen}*; mean background opacity {d['background_alpha']:.2f} % → "
               f"{c['background_alpha']:.2f} %, background above {above} opacity {d['hazy_share']:.2f} % → "
               f"{c['hazy_share']:.2f} %, Jaccard {d['jaccard']:.2f} % → {c['jaccard']:.2f} %, Hausdorff "
               f"{d['hausdorff']:.2f} → {c['hausdorff']:.2f} px (means over the {means['set'].nunique()} "
               "validation sets)." + (" It is the old default." if chosen == default else ""),
               f"- {extremes_clause(means, chosen)}"]
    runs = {"`lrn whiten`": whiten, "the Try-it page": tryit}
    if all(p == chosen for p in runs.values()):
        bullets.append(f"- `lrn whiten` and the Try-it page run *{chosen}*, the chosen pipeline.")
    else:
        for who, pipeline in runs.items():
            bullets.append(f"- {who[0].upper() + who[1:]} runs " + (
                "none of the pipelines above." if pipeline is None else
                f"*{pipeline}*" + ("." if pipeline == chosen else f", not the chosen *{chosen}*.")))
    return "\n".join(bullets)


def subsample(ids, n: int) -> list:
    """``n`` ids spread evenly over ``ids`` (all of them when there are no more than ``n``), in order."""
    ids = list(ids)
    if n >= len(ids):
        return ids
    return [ids[k] for k in np.linspace(0, len(ids) - 1, n).round().astype(int)]


def validation_ids(settings: dict) -> dict[str, list[str]]:
    """The shipped model's own validation ids, from its card's provenance ``settings``:
    ``{"EG1800": [...], "CCP": [...]}`` (EG1800 ids as ``"00003"``, CCP ids as ``"0003"``)."""
    ids = {"EG1800": [], "CCP": []}
    for i in settings["val_ids"]:
        source, _, rest = i.rpartition("/")
        if source == "eg1800":
            ids["EG1800"].append(rest)
        elif source == "ccp_head_torso":  # the same ids as ccp_full/
            ids["CCP"].append(rest)
    return ids


def load_sets(settings: dict, n: int = PER_SET, seed: int = 0) -> dict[str, tuple[list[str], list]]:
    """``{set name: (ids, [(photo, mask) at own resolution])}`` for :data:`SET_NAMES`, ``n`` photos each.

    EG1800 and CCP: ``n`` of the shipped model's validation ids (:func:`validation_ids`,
    :func:`subsample`); small people: ``n`` photos made from CCP's validation split
    (:func:`lrn.data.small_people.small_people`, ``seed``). No test photo is read.
    """
    from lrn.data import ccp
    from lrn.data.eg1800 import originals
    from lrn.data.small_people import small_people

    ids = validation_ids(settings)
    if sorted(ids["CCP"]) != sorted(ccp.split_ids(ccp.manifest_ids())["val"]):
        raise InputError("the card's CCP validation ids are not CCP's validation split")
    eg, cp = subsample(ids["EG1800"], n), subsample(ids["CCP"], n)
    small = small_people("val", n=n, seed=seed)
    return {SET_NAMES[0]: (eg, originals(eg)),
            SET_NAMES[1]: (cp, ccp.originals(cp, "head_torso", progress=False)),
            SET_NAMES[2]: (cp, ccp.originals(cp, "full", progress=False)),
            SET_NAMES[3]: (list(small.ids), list(small.pairs))}


def hazy_photos(table: pd.DataFrame, pipeline: str = DEFAULT, n: int = 3) -> list[str]:
    """Ids of the ``n`` photos of a long table on which ``pipeline`` leaves the most background opacity."""
    rows = table[table["pipeline"] == pipeline].sort_values("background_alpha", ascending=False, kind="stable")
    return [str(i) for i in rows["id"].head(n)]


def typical_photo(table: pd.DataFrame, pipeline: str = DEFAULT) -> str:
    """Id of the photo of a long table with the median background opacity under ``pipeline``
    (the lower middle one of an even count): what a photo usually looks like, beside the worst."""
    rows = table[table["pipeline"] == pipeline].dropna(subset=["background_alpha"])
    rows = rows.sort_values("background_alpha", kind="stable")
    return str(rows["id"].iloc[(len(rows) - 1) // 2])


def shown_change_text(table: pd.DataFrame, ids: list[str], before: str, after: str, prefix: str = "CCP ") -> str:
    """How the background opacity of the photos ``ids`` moves from pipeline ``before`` to ``after``
    (a long table as :func:`score_pipelines` gives): the photos where it falls, then those where it does not."""
    rows = table.set_index(["id", "pipeline"])["background_alpha"]
    moves = [(f"{prefix}{i}: {rows[(i, before)]:.1f} % → {rows[(i, after)]:.1f} %", rows[(i, after)] < rows[(i, before)])
             for i in ids]
    falling = [m for m, falls in moves if falls]
    text = f"On {len(falling)} of the {len(moves)} photos shown the background opacity falls from *{before}* to *{after}*"
    text += f" ({', '.join(falling)})" if falling else ""
    others = [m for m, falls in moves if not falls]
    return text + (f"; it does not on {', '.join(others)}" if others else "") + "."


def whitened_figure(photos, alphas: dict[str, list[np.ndarray]], titles) -> plt.Figure:
    """One row per photo: the photo, then what each pipeline puts on white (:func:`lrn.cutout.compose`).

    ``alphas``: pipeline name -> the photos' opacities ``(H, W)`` in [0, 1]; ``titles``: one per photo.
    """
    n, columns = len(photos), 1 + len(alphas)
    tallest = max(photo.shape[0] / photo.shape[1] for photo in photos)
    side = plots.TEXT_WIDTH_IN / columns
    fig, axes = plt.subplots(n, columns, figsize=(plots.TEXT_WIDTH_IN, n * (side * tallest + 0.3) + 0.3),
                             squeeze=False)
    for r, (photo, title) in enumerate(zip(photos, titles)):
        axes[r, 0].imshow(photo)
        axes[r, 0].set_title(title, fontsize=9)
        for c, (name, maps) in enumerate(alphas.items(), start=1):
            axes[r, c].imshow(cutout.compose(photo, maps[r]))
            axes[r, c].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


TRYIT_PIPELINE = WHITEN
"""What the Try-it page's opacity is (``opacityOf`` in ``book/_static/tryit/tryit.js``): the steps
its ``config.json`` lists, :data:`lrn.cutout.WHITEN_STEPS` (:func:`lrnbook.tryit.config`), then
the ramp; checked against ``lrn whiten`` in Chromium by ``tests/test_tryit.py``."""


def whiten_pipeline(model, photos, pipelines: dict | None = None) -> str | None:
    """The pipeline whose opacity is exactly what ``lrn whiten --mask`` writes with its default
    options (:func:`lrn.cutout.cut_out`, 8-bit) on every photo of ``photos``; ``None`` if none is."""
    pipelines = PIPELINES if pipelines is None else pipelines
    matching = list(pipelines)
    for photo in photos:
        raw, written, done = cutout.segment(model, photo), cutout.cut_out(model, photo, "mask"), {}
        matching = [name for name in matching if np.array_equal(
            np.rint(pipeline_alpha(pipelines[name], photo, raw, done) * 255).astype(np.uint8), written)]
    return matching[0] if matching else None


def opaque_lower_bound(background_alpha: float, hazy_share: float, threshold: float = haze.HAZE_ALPHA) -> float:
    """Least possible mean opacity (%) of the hazy background pixels, given the mean opacity over the
    whole background (%) and the share of it above ``threshold`` (%): the other pixels carry at most
    ``threshold`` each. NaN when no pixel is hazy."""
    share, mean = hazy_share / 100.0, background_alpha / 100.0
    if share <= 0:
        return float("nan")
    return 100.0 * max(0.0, mean - threshold * (1.0 - share)) / share
