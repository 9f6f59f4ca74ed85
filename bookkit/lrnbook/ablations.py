"""The ablations page: one change to a small LRN at a time, against a baseline on the same images.

The page (``notebooks/ablations.ipynb``) tells; the functions here compute. Every function
takes the runs' stored results (summaries, per-image tables, histories, probability maps)
and returns a table, a figure or a markdown string. A run ``<name>`` keeps its files in
``results/<name>/`` of the profile's folder (:func:`lrnbook.pages.results_dir`); no model
file is ever loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lrn import evaluate, metrics, predict, provenance
from lrn.data.eg1800 import originals
from lrn.shapes import EVAL_SIZE
from lrnbook import claims, pages, plots
from lrnbook.plan import ABLATIONS


@dataclass
class Runs:
    """What the page reads of its runs.

    Attributes
    ----------
    summaries : dict
        ``{name: test summary dict, or None when the run has none}`` for every run asked for.
    tables : dict
        ``{name: per-image test scores}`` of the runs that ran.
    histories : dict
        ``{name: per-epoch history}`` of the runs whose fit stored one.
    durations : dict
        ``{name: training wall time in seconds (:func:`lrnbook.pages.training_seconds`), or None}``.
    """

    summaries: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)


def changed_settings(base: dict, other: dict) -> str:
    """The training settings in which ``other`` differs from ``base`` (both from a run's provenance).

    E.g. ``"supervised levels: all → finest"`` (:func:`lrnbook.pages.setting_label`); ``"none"`` when they agree. Split ids and run keys
    are left out (the seed runs and ablations share one split by design).
    """
    keys = sorted((set(base) | set(other)) - pages.NOT_A_SETTING)
    changes = [f"{pages.setting_label(k)}: {base.get(k, '(unset)')} → {other.get(k, '(unset)')}"
               for k in keys if base.get(k) != other.get(k)]
    return "; ".join(changes) or "none"


def ablation_title(name: str) -> str:
    """What an ablation run changes, from :data:`lrnbook.plan.ABLATIONS` (e.g. ``lrn_small_finest``)."""
    key = name.rsplit("_small_", 1)[-1]
    return ABLATIONS[key][0] if key in ABLATIONS else name


def ablation_table(baseline: str, ablations: list[str], summaries: dict, durations: dict) -> pd.DataFrame:
    """Baseline and ablations: what changes, raw and cleaned scores, training time.

    ``summaries``: ``{run name: test summary or None}``; ``durations``: ``{run name: seconds or None}``.
    The changed settings are read from the runs' provenance, against the baseline's, and name
    each run in the first column (the change's title only when the run is missing), so that the
    table fits the text column.
    """
    base = summaries.get(baseline)
    base_settings = base["provenance"]["settings"] if base else None
    rows = []
    for name in [baseline, *ablations]:
        summary = summaries.get(name)
        if name == baseline:
            change = "(baseline)"
        elif summary is None or base_settings is None:
            change = "unknown: a run is missing"
        else:
            change = changed_settings(base_settings, summary["provenance"]["settings"])
        if name == baseline:
            what = f"baseline ({name})"
        elif change.startswith("unknown"):
            what = f"{ablation_title(name)} ({change})"
        else:
            what = change  # the change itself names the run, and keeps the column narrow
        rows.append({"run: its change (from provenance)": what,
                     **{label: pages.cell_text(summary, column) for label, column in pages.SCORE_COLUMNS.items()},
                     "training time (min)": pages.minutes_text(durations.get(name))})
    return pd.DataFrame(rows)


def two_resolutions_table(at_eval: dict, at_photo: dict, photo_diagonals) -> pd.DataFrame:
    """Scores at 224x224 beside scores at each photo's own resolution, one row per model.

    ``at_eval``: ``{label: per-image table at 224x224}``; ``at_photo``: ``{label: table from
    lrn.evaluate.evaluate_originals}`` (same images, same order); ``photo_diagonals``: the
    photos' diagonals in pixels. Hausdorff is also given as a percentage of the image
    diagonal, which makes the two resolutions comparable.
    """
    def text(values) -> str:
        return metrics.format_mean_std(*metrics.mean_std(np.asarray(values, float)))

    eval_diagonal = float(np.hypot(EVAL_SIZE, EVAL_SIZE))
    diagonals = np.asarray(photo_diagonals, float)
    rows = []
    for label, table in at_eval.items():
        photo = at_photo[label]
        if list(photo["id"]) != list(table["id"]):
            raise ValueError(f"{label}: the two tables score different images")
        rows.append({"model": label,
                     "Jaccard (%), 224": text(table["jaccard"]),
                     "Jaccard (%), photo": text(photo["jaccard"]),
                     "Hausdorff (px), 224": text(table["hausdorff"]),
                     "Hausdorff (px), photo": text(photo["hausdorff"]),
                     "Hausdorff (% of diagonal), 224": text(100 * table["hausdorff"].to_numpy() / eval_diagonal),
                     "Hausdorff (% of diagonal), photo": text(100 * photo["hausdorff"].to_numpy() / diagonals)})
    return pd.DataFrame(rows)


def read_runs(names, root=".") -> Runs:
    """Read the stored results of the runs ``names`` (duplicates are read once).

    Parameters
    ----------
    names : sequence of str
        Run names, e.g. ``["lrn_small_seed0", "lrn_small_finest"]``.
    root : path
        The profile's folder (the page runs in it).

    Returns
    -------
    Runs
    """
    runs = Runs()
    for name in dict.fromkeys(names):
        folder = pages.results_dir(name, root)
        runs.summaries[name] = pages.read_summary(name, root)
        if pages.ran(runs.summaries[name]) and (folder / "test_per_image.csv").is_file():
            runs.tables[name] = provenance.read_csv(folder / "test_per_image.csv")[0]
        if (folder / "history.csv").is_file():
            runs.histories[name] = provenance.read_csv(folder / "history.csv")[0]
        runs.durations[name] = pages.training_seconds(name, root)
    return runs


def availability_text(runs: Runs, names) -> str:
    """Which of ``names`` have results and which are missing, in one or two sentences."""
    have = [n for n in names if n in runs.tables]
    missing = [n for n in names if n not in runs.tables]
    text = f"Runs with results: {', '.join(have) or 'none'}."
    if missing:
        text += f" Missing (not fitted and scored yet): {', '.join(missing)}."
    return text


def run_named(ablations, key: str) -> str | None:
    """The ablation run of ``key`` (``"finest"``, ``"squeeze"``, ``"larger"``...), or ``None``."""
    return next((name for name in ablations if name.endswith(f"_{key}")), None)


def titles(ablations) -> dict:
    """``{run name: what it changes}`` (:func:`ablation_title`)."""
    return {name: ablation_title(name) for name in ablations}


def seed_std(tables: dict, seed_runs) -> dict | None:
    """The baseline's std across training seeds of its mean scores.

    Parameters
    ----------
    tables : dict
        Per-image tables by run name; the seed runs among them are used.
    seed_runs : sequence of str
        Seed runs of the baseline variant, e.g. ``["lrn_small_seed0", "lrn_small_seed1"]``.

    Returns
    -------
    dict or None
        ``{"jaccard": pp, "hausdorff": px, "runs": [names]}`` (NaN stds with one seed);
        ``None`` when no seed run has results.
    """
    seed_tables = {name: tables[name] for name in seed_runs if name in tables}
    if not seed_tables:
        return None
    row = claims.seed_spread(seed_tables).iloc[0]
    return {"jaccard": float(row["jaccard_seed_std"]), "hausdorff": float(row["hausdorff_seed_std"]),
            "runs": list(seed_tables)}


def setting_note(base: dict | None, main: dict | None, spread: dict | None) -> str:
    """The reduced setting of the runs, the seed-to-seed spread and what both mean (markdown).

    Parameters
    ----------
    base, main : dict or None
        Test summaries of the baseline and of the profile's main LRN run.
    spread : dict or None
        :func:`seed_std`.
    """
    if not pages.ran(base):
        return "**The baseline run is missing**: nothing on this page can be computed."
    s = base["provenance"]["settings"]
    main_settings = main["provenance"]["settings"] if pages.ran(main) else None
    lines = [f"**Reduced setting.** {pages.reduced_setting_note(s, main_settings)} Batch size {s['batch_size']}, "
             f"learning rate {s['learning_rate']}, training seed {s['seed']}; every ablation changes one thing "
             f"(table below) and is trained **once**, with that seed."]
    if spread is not None and np.isfinite(spread["jaccard"]):
        lines.append(f"For scale: the same baseline trained with {len(spread['runs'])} seeds "
                     f"({', '.join(spread['runs'])}) has a std across seeds of its mean Jaccard of "
                     f"{spread['jaccard']:.2f} pp and of its mean Hausdorff of {spread['hausdorff']:.2f} px.")
    else:
        lines.append("There are not two seed runs of the baseline in this profile, so the seed-to-seed "
                     "spread is unknown.")
    lines.append("What that means: a difference found here is a difference at this budget (a change that "
                 "pays off only after longer training, or at the paper's width, does not show); and with one "
                 "training run per setting, the 95 % intervals below resample the test images only. They do not "
                 "include the run-to-run spread of training, so a difference smaller than about twice the "
                 "seed-to-seed spread may be an accident of the seed.")
    return "\n\n".join(lines)


def curves_figure(histories: dict, baseline: str, ablations):
    """Validation curves of the baseline and the ablations (:func:`lrnbook.plots.compare_curves`).

    Returns the figure, or ``None`` when no run stored a history.
    """
    names = [n for n in [baseline, *ablations] if n in histories]
    if not names:
        return None
    label = {baseline: "baseline", **titles(ablations)}
    return plots.compare_curves({label[n]: histories[n] for n in names})


def thresholds_text() -> str:
    """The two thresholds of the squeeze test, as the page uses them."""
    return (f"Thresholds: `FLAT_CURVE` = {claims.FLAT_CURVE:.0%}, "
            f"`FAR_BELOW_PP` = {claims.FAR_BELOW_PP:g} pp.")


def squeeze_verdict(tables: dict, histories: dict, baseline: str, squeeze: str | None) -> tuple[str, str] | None:
    """The paper's "unable to learn properly" tested for the squeeze run (:func:`lrnbook.claims.learns_properly`).

    Returns ``(verdict, evidence)``, or ``None`` when the squeeze run or the baseline has no
    scores or no history.
    """
    pair = (squeeze, baseline)
    if squeeze is None or not all(n in tables and n in histories for n in pair):
        return None
    gap = claims.compare(tables, squeeze, baseline)["jaccard"]
    return claims.learns_properly(histories[squeeze]["val_loss"], histories[baseline]["val_loss"], gap)


def squeeze_text(result: tuple[str, str] | None) -> str:
    """:func:`squeeze_verdict` in one markdown paragraph."""
    if result is None:
        return f"{thresholds_text()} No squeeze ablation with results in this profile."
    verdict, evidence = result
    return f"{thresholds_text()}\n\n**Verdict: {verdict}.** Evidence: {evidence}."


def input_size(summary: dict) -> int:
    """A run's input size in pixels, from its summary's provenance."""
    return int(summary["provenance"]["settings"]["size"])


def finest_levels(tables: dict, summaries: dict, baseline: str, finest: str | None) -> pd.DataFrame | None:
    """Jaccard of every level with all levels supervised and with s6 only, paired (``None`` if missing)."""
    if finest is None or finest not in tables or baseline not in tables:
        return None
    return claims.per_level_comparison(tables[baseline], tables[finest], input_size(summaries[finest]),
                                       ("all levels supervised", "s6 only"))


def photo_scores(tables: dict, names, root=".", read_photos=originals) -> dict:
    """Scores at each photo's own resolution from the runs' stored predictions.

    The last level of ``results/<name>/predictions.npz`` (at the model's own input size) is
    resized to each photo and thresholded (:func:`lrn.evaluate.score_at_photo_size`).

    Parameters
    ----------
    tables : dict
        Per-image tables at 224x224 by run name; the photos are those of ``names[0]``'s table.
    names : sequence of str or None
        The runs to score; when one of them is ``None`` or has no table, nothing is scored.
    root : path
        The profile's folder.
    read_photos : callable
        ``ids -> [(photo, mask)]`` at the photos' resolution (:func:`lrn.data.eg1800.originals`).

    Returns
    -------
    dict
        ``{name: table}`` with the columns of :func:`lrn.evaluate.score_at_photo_size` and
        ``diagonal`` (the photo's diagonal in pixels); empty when a run is missing.
    """
    if not names or any(n is None or n not in tables for n in names):
        return {}
    ids = list(tables[names[0]]["id"])
    pairs = read_photos(ids)
    diagonals = [float(np.hypot(*mask.shape)) for _, mask in pairs]
    scores = {}
    for name in names:
        stored, levels = predict.load_predictions(pages.results_dir(name, root) / "predictions.npz")
        if stored != ids:
            raise ValueError(f"{name}: predictions.npz holds other images than its per-image table")
        scores[name] = evaluate.score_at_photo_size(ids, levels[-1], pairs).assign(diagonal=diagonals)
    return scores


def resolution_table(tables: dict, at_photo: dict, summaries: dict, baseline: str) -> pd.DataFrame:
    """Scores at 224x224 beside scores at the photo's resolution (:func:`two_resolutions_table`).

    ``at_photo``: :func:`photo_scores`; one row per run, labelled with its input size.
    """
    names = list(at_photo)
    label = {baseline: "baseline", **titles(n for n in names if n != baseline)}
    labels = {n: f"{label[n]} ({input_size(summaries[n])} px input)" for n in names}
    return two_resolutions_table({labels[n]: tables[n] for n in names}, {labels[n]: at_photo[n] for n in names},
                                 at_photo[names[0]]["diagonal"])


def larger_text(tables: dict, at_photo: dict, baseline: str, larger: str) -> str:
    """Larger input minus baseline at 224x224 and at the photo's resolution, paired, in one paragraph."""
    parts = []
    for where, scores in (("At 224x224", tables), ("At the photo's resolution", at_photo)):
        result = claims.compare(scores, larger, baseline)
        parts.append(f"{where}: Jaccard {claims.interval_text(result['jaccard'], 'pp')}, Hausdorff "
                     f"{claims.interval_text(result['hausdorff'], 'px')} ({claims.ablation_verdict(result)}).")
    return "Larger input minus baseline, positive favours the larger input. " + " ".join(parts)


def cost_text(durations: dict, names, page_seconds: float, scored_at_photo: bool) -> str:
    """The training time of the runs ``names`` and the wall time of this page, in two sentences."""
    known = {n: durations[n] for n in names if durations.get(n) is not None}
    scored = "two runs at the photo resolution" if scored_at_photo else "nothing at the photo resolution"
    return (f"Training: {sum(known.values()) / 60:.1f} min of wall time for {len(known)} of {len(names)} runs (per run in "
            f"the table above). This page (reading results, scoring {scored}): {page_seconds:.0f} s.")


def summary_text(comparisons: pd.DataFrame, squeeze: tuple[str, str] | None, tables: dict, baseline: str,
                 finest: str | None) -> str:
    """The page's summary as markdown bullets, each read from a table or verdict above."""
    bullets = [f"- {row['ablation']}: {row['verdict']}." for row in comparisons.to_dict("records")]
    if squeeze is not None:
        bullets.append(f"- The paper's \"unable to learn properly\" for the skip squeeze: {squeeze[0]}.")
    if finest is not None and finest in tables and baseline in tables:
        bullets.append(f"- With s6 supervised alone, levels far below the baseline's (at least "
                       f"{claims.FAR_BELOW_PP:.0f} pp, interval below zero): "
                       f"{claims.levels_far_below(tables[baseline], tables[finest])}.")
    bullets.append("- One seed per setting and a reduced budget: read these as indications at this setting, "
                   "not as the effect of each part at the paper's.")
    return "\n".join(bullets)


SQUEEZE_CLAIM = ("Without the 1-channel squeeze of the skip features LRN learns; with it the network "
                 "\"was unable to learn properly\"")


def squeeze_claim(tables: dict, histories: dict, baseline: str, squeeze: str) -> pd.DataFrame:
    """The squeeze ablation as a claim of the paper: one row of claim, evidence and verdict.

    The verdict is :func:`squeeze_verdict`'s; the evidence adds the Hausdorff distance, paired
    (positive favours the squeeze run), so that a squeeze that helps the outline is visible.
    """
    result = squeeze_verdict(tables, histories, baseline, squeeze)
    if result is None:
        return pd.DataFrame([{"claim": SQUEEZE_CLAIM, "evidence": "no squeeze ablation with results in this profile",
                              "verdict": "cannot be tested here"}])
    verdict, evidence = result
    hausdorff = claims.compare(tables, squeeze, baseline)["hausdorff"]
    evidence += (f"; Hausdorff gain over the baseline "
                 f"{claims.interval_text(hausdorff, 'px')}")
    return pd.DataFrame([{"claim": SQUEEZE_CLAIM, "evidence": evidence, "verdict": verdict}])


def squeeze_finding(claim_row: pd.DataFrame, tables: dict, baseline: str, squeeze: str,
                    spread: dict | None = None) -> str:
    """The squeeze claim in one sentence, for the first page: :func:`squeeze_claim`'s verdict and
    how the squeeze run compares with the baseline on both measures (:func:`lrnbook.claims.ablation_verdict`),
    with two caveats a reader needs: whether each gap exceeds twice the baseline's seed-to-seed
    std (``spread``, :func:`seed_std`) and the Hausdorff gap once stray regions are removed."""
    if squeeze not in tables or baseline not in tables:
        return "The skip-squeeze ablation has no test scores yet: the paper's claim about it is not tested."
    verdict = claim_row["verdict"].iloc[0]
    result = claims.compare(tables, squeeze, baseline)
    against = claims.ablation_verdict(result)
    against = "shows " + against if against == claims.NO_DIFFERENCE else "is " + against
    text = ("The paper removed the original LRN's 1-channel squeeze of the skip features because with it the "
            "network \"was unable to learn properly\". Trained with the squeeze put back, at the seed runs' setting "
            f"and with one seed, that claim {verdict}; against the baseline on the same test photos, the squeeze "
            f"run {against}.")
    if spread is not None:
        gaps = []
        for metric, unit in (("jaccard", "pp"), ("hausdorff", "px")):
            diff, std = result[metric]["mean_diff"], spread.get(metric)
            where = claims.beyond_seeds(diff, std)
            gaps.append(f"{metric.capitalize()} {diff:+.2f} {unit} "
                        + ("(seed spread unknown)" if where.startswith("unknown") else
                           f"({'beyond' if where == 'yes' else 'within'} twice the seed-to-seed std, {2 * std:.2f} {unit})"))
        text += " Its gains against the baseline: " + "; ".join(gaps) + "."
    if all("hausdorff_clean" in tables[n] for n in (baseline, squeeze)):
        raw = float(tables[baseline]["hausdorff"].mean() - tables[squeeze]["hausdorff"].mean())
        clean = float(tables[baseline]["hausdorff_clean"].mean() - tables[squeeze]["hausdorff_clean"].mean())
        text += (f" With stray regions removed (the cleaned masks: largest region, holes filled), its Hausdorff gain "
                 f"is {clean:+.2f} px instead of {raw:+.2f} px"
                 + (": most of the raw gain is stray blobs of the baseline." if abs(clean) < abs(raw) / 2 else "."))
    return text
