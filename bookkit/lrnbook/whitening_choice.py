"""What ``lrn whiten`` does to the shipped model's map, chosen for that model on validation photos.

``lrn whiten`` turns the map (at the photo's own resolution) into an opacity with steps it can
run in any order, cleaning (one person, holes filled) and refinement (the guided filter), then
the soft-edge ramp (:func:`lrn.cutout.opacity`). Which steps, in which order, with which
filter settings and which ramp suit a model depends on the model: a sharper map needs less
smoothing, a map that leaks into the background needs the cleaning before the filter spreads
it. ``make model`` therefore chooses them for the model it installs (:func:`choose_for_shipped`)
and writes them on its card (:func:`lrn.shipped.set_whitening`); :mod:`lrn.cutout` reads them
there for its defaults, and so do the Try-it page's ``config.json`` and the book's pages.

The candidates (:func:`candidates`) are every order of :data:`ORDERS` with every refinement of
:data:`REFINEMENTS` (the model card's grid) and every ramp of :data:`RAMPS`. Each is scored by
:func:`lrnbook.haze_choice.score_pipelines` on the four validation sets of the page *Cut-outs
without haze* (:func:`lrnbook.haze_choice.load_sets`: the model's own EG1800 and CCP validation
photos, head-and-torso crops and full frames, and small people made from CCP's validation
split; no test photo), and :func:`choose` applies :data:`RULE`.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from lrn import cutout, edges, shipped
from lrnbook import haze_choice

ORDERS = (("clean", "refine"), ("refine", "clean"), ("refine",), ("clean",), ())
"""The orders of steps before the ramp that ``lrn whiten`` can run (:data:`lrn.cutout.STEPS`)."""
REFINEMENTS = {name.replace("guided", "refine"): r
               for name, r in edges.refinement_grid((0.01, 0.02, 0.04, 0.08), (1e-3, 1e-2)).items()}
"""The guided filter's settings tried, by step name (``"refine r=0.04 eps=0.001"``): radius 1-8 %
of the shorter side, ``eps`` 1e-3 or 1e-2 (the model card's grid, :func:`lrn.edges.refinement_grid`)."""
RAMPS = ((0.3, 0.7), (0.4, 0.8), (0.5, 0.9))
"""Soft edges tried (opacity 0 at or below the first value, 1 at or above the second)."""

RULE = haze_choice.RULE
"""How :func:`choose` picks: the haze page's rule (:data:`lrnbook.haze_choice.RULE`), fixed
before the candidates were scored on any model."""


def candidates(orders=ORDERS, refinements: dict | None = None, ramps=RAMPS) -> dict[str, tuple[str, ...]]:
    """Candidate pipelines by name, their steps with each ``refine`` named after its refinement,
    e.g. ``"clean, refine r=0.04 eps=0.001, ramp 0.3/0.7"``; an order without ``refine`` once per ramp."""
    refinements = REFINEMENTS if refinements is None else refinements
    found = {}
    for order in orders:
        for name in (refinements if "refine" in order else [None]):
            for ramp in ramps:
                steps = (*(name if step == "refine" else step for step in order), haze_choice.ramp_step(ramp))
                found[", ".join(steps)] = steps
    return found


choose = haze_choice.choose
"""The candidate :data:`RULE` picks from the per-set means (:func:`lrnbook.haze_choice.set_means`)."""


def whitening(steps, refinements: dict | None = None) -> dict:
    """The card's ``whitening`` (:func:`lrn.shipped.whitening`) for a candidate's ``steps``:
    ``{"steps", "refinement", "ramp"}`` (a candidate without refinement keeps the default filter
    settings, used only if a user asks for ``refine``)."""
    refinements = REFINEMENTS if refinements is None else refinements
    *before, ramp = steps
    named = [step for step in before if step in refinements]
    refinement = refinements[named[0]] if named else cutout.Refinement()
    return {"steps": ["refine" if step in refinements else step for step in before],
            "refinement": dataclasses.asdict(refinement), "ramp": list(haze_choice.ramp_band(ramp))}


def score(model, sets: dict, pipelines: dict | None = None, refinements: dict | None = None) -> pd.DataFrame:
    """Per-set means of every candidate (:func:`lrnbook.haze_choice.set_means`) for ``model``
    (what :func:`lrn.cutout.segment` takes) on ``sets`` (``{name: (ids, pairs)}``, as
    :func:`lrnbook.haze_choice.load_sets` gives), with a progress bar per set in a terminal."""
    pipelines = candidates(refinements=refinements) if pipelines is None else pipelines
    refinements = REFINEMENTS if refinements is None else refinements
    scored = {name: haze_choice.score_pipelines(lambda photo: cutout.segment(model, photo), ids, pairs, pipelines,
                                                refinements, progress=name)
              for name, (ids, pairs) in sets.items()}
    return haze_choice.set_means(scored)


def card_entry(means: pd.DataFrame, chosen: str, pipelines: dict, refinements: dict | None = None) -> dict:
    """What the card records: the choice (:func:`whitening`), the rule, the photos per set and
    every candidate's means over the sets (rounded), best Jaccard first."""
    table = haze_choice.overall(means).sort_values("jaccard", ascending=False, kind="stable")
    photos = means.drop_duplicates("set").set_index("set")["photos"].astype(int).to_dict()
    rows = [{k: (round(float(v), 4) if k != "pipeline" else v) for k, v in row.items()}
            for row in table.to_dict("records")]
    return {**whitening(pipelines[chosen], refinements), "pipeline": chosen, "rule": RULE,
            "chosen_on": "validation photos (lrnbook.haze_choice.load_sets); no test photo", "photos": photos,
            "candidates": rows}


def choose_for_shipped(sets: dict | None = None) -> dict:
    """Choose for the installed model (as ``lrn whiten`` runs it, :func:`lrn.cutout.load`) and
    write the choice on its card; returns the card's new ``whitening``."""
    from lrnbook import card_sets

    model, _ = cutout.load()
    if sets is None:
        sets = haze_choice.load_sets(card_sets.training_settings(shipped.card()))
    pipelines = candidates()
    means = score(model, sets, pipelines)
    entry = card_entry(means, choose(means), pipelines)
    shipped.set_whitening(entry)
    return entry


def card_table(entry: dict) -> pd.DataFrame:
    """The candidates of a card's ``whitening`` that decide the choice: the best by mean Jaccard,
    the best by mean Hausdorff distance and every one within both margins of :data:`RULE`, best
    Jaccard first, rounded for reading, the chosen one marked."""
    rows = pd.DataFrame(entry["candidates"])
    near = haze_choice.near_best(rows)
    keep = set(near["pipeline"]) | {rows.loc[rows["jaccard"].idxmax(), "pipeline"],
                                    rows.loc[rows["hausdorff"].idxmin(), "pipeline"]}
    shown = rows[rows["pipeline"].isin(keep)].sort_values("jaccard", ascending=False, kind="stable")
    return pd.DataFrame({
        "candidate": [f"{p} ← chosen" if p == entry["pipeline"] else p for p in shown["pipeline"]],
        "within both margins": ["yes" if p in set(near["pipeline"]) else "no" for p in shown["pipeline"]],
        **haze_choice.measure_columns(shown)}).reset_index(drop=True)


def card_text(entry: dict, page_choice: str | None = None) -> str:
    """What ``make model`` chose for the shipped model, in words, and how it relates to
    ``page_choice`` (the pipeline the same rule picks among the haze page's pipelines)."""
    rows = pd.DataFrame(entry["candidates"]).set_index("pipeline")
    c = rows.loc[entry["pipeline"]]
    photos = sum(entry["photos"].values())
    near = haze_choice.near_best(rows.reset_index())
    text = (f"`make model` scored {len(rows)} candidates for the shipped model on {photos} validation photos "
            f"({len(entry['photos'])} sets). The best mean Jaccard is {rows['jaccard'].max():.2f} % "
            f"(*{rows['jaccard'].idxmax()}*), the best mean Hausdorff distance {rows['hausdorff'].min():.2f} px "
            f"(*{rows['hausdorff'].idxmin()}*); {len(near)} candidate{' is' if len(near) == 1 else 's are'} within {haze_choice.JACCARD_MARGIN} "
            f"points and {haze_choice.HAUSDORFF_MARGIN:g} px of them. The rule chose *{entry['pipeline']}*: "
            f"mean Jaccard {c['jaccard']:.2f} %, "
            f"Hausdorff {c['hausdorff']:.2f} px, background opacity {c['background_alpha']:.2f} %, "
            f"{c['hazy_share']:.2f} % of the background above 5 %. It is written on the model's card, and "
            "`lrn whiten`, `lrn.cutout.opacity` and the Try-it page run it.")
    if page_choice is None:
        return text
    if page_choice == haze_choice.WHITEN:
        return text + " Among this page's pipelines the same rule picks it too."
    steps = haze_choice.PIPELINES.get(page_choice, ())
    runnable = bool(steps) and steps[-1].startswith("ramp ") and set(steps[:-1]) <= set(cutout.STEPS)
    return text + (f" Among this page's pipelines the same rule picks *{page_choice}*" + (
        ": `make model` scored it too (with its refinement settings), but among all its candidates the margins "
        "start from a better best, and the rule ends elsewhere." if runnable else
        ", which `lrn whiten` cannot run (`make model` scores only what it can)."))


def summary_line(entry: dict) -> str:
    """One bullet for the haze page's summary: what ``make model`` chose among how many candidates."""
    return (f"- `make model` chose *{entry['pipeline']}* for `lrn whiten` among {len(entry['candidates'])} "
            "candidates it can run (orders of cleaning and refinement, the filter's settings, ramps), by the same "
            "rule on the same validation photos, and wrote it on the model's card.")
