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
from lrnbook.stats import paired_difference


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


RESOLUTION_LEADS = {"resolution": "Scores comparable across the two resolutions (Hausdorff as a share of the image "
                                   "diagonal), at 224x224 and at each photo's own size:",
                    "resolution_px": "The Hausdorff distance in each resolution's own pixels:"}
"""The sentence over each table of :func:`split_resolution_table`."""

RESOLUTION_PARTS = {"resolution": ("Jaccard (%), 224", "Jaccard (%), photo", "Hausdorff (% of diagonal), 224",
                                    "Hausdorff (% of diagonal), photo"),
                     "resolution_px": ("Hausdorff (px), 224", "Hausdorff (px), photo")}
"""The two tables :func:`split_resolution_table` makes, by table id: the measures comparable across
the two resolutions, then the Hausdorff distance in each resolution's own pixels."""


def split_resolution_table(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`two_resolutions_table` as two narrower tables that fit the text column.

    Returns ``{table id: DataFrame}`` in :data:`RESOLUTION_PARTS`'s order, each with the
    ``model`` column first.
    """
    return {table_id: table[["model", *columns]] for table_id, columns in RESOLUTION_PARTS.items()}


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


MEASURES = (("jaccard", "Jaccard", "pp"), ("hausdorff", "Hausdorff", "px"))
"""The two scores of a comparison: key, name, unit of a difference."""
SEED_NOISE = "may be seed noise"


def seed_verdict(result: dict, spread: dict | None) -> str:
    """The verdict of one ablation from its intervals and from the seed-to-seed spread.

    Parameters
    ----------
    result : dict
        :func:`lrnbook.claims.compare` of the ablation against the baseline (positive
        favours the ablation; Jaccard in pp, Hausdorff in px).
    spread : dict or None
        :func:`seed_std`; with a NaN std or ``None`` the spread is unknown.

    Returns
    -------
    str
        *better* or *worse* for each measure whose 95 % interval excludes zero (as
        :func:`lrnbook.claims.ablation_verdict`), then, in brackets, whether those differences
        are beyond twice the baseline's std across seeds of its mean: a difference within it
        *may be seed noise*, which the intervals (they resample test images) cannot show.
    """
    signs = {name: claims.settled(result[key]) for key, name, _ in MEASURES}
    settled = [name for name, sign in signs.items() if sign]
    if not settled:
        return claims.NO_DIFFERENCE
    head = _direction(signs)
    stds = {name: (spread or {}).get(key) for key, name, _ in MEASURES}
    if any(stds[n] is None or not np.isfinite(stds[n]) for n in settled):
        clause = "seed-to-seed spread unknown"
    else:
        keys = {name: key for key, name, _ in MEASURES}
        beyond = [n for n in settled if abs(result[keys[n]]["mean_diff"]) > 2 * stds[n]]
        within = [n for n in settled if n not in beyond]
        both = " on both" if len(settled) == 2 else ""
        if not within:
            clause = f"beyond twice the seed-to-seed spread{both}"
        elif not beyond:
            clause = f"within twice the seed-to-seed spread{both}: {SEED_NOISE}"
        else:
            clause = (f"beyond twice the seed-to-seed spread on {beyond[0]}; the {within[0]} difference is "
                      f"within it and {SEED_NOISE}")
    text = f"{head} ({clause})"
    if len(settled) == 1:
        other = next(n for n in signs if n not in settled)
        text += f"; {other}: {claims.NO_DIFFERENCE}"
    return text


def _direction(signs: dict) -> str:
    """``"better than the baseline on both measures"``, ``"mixed: better on Jaccard, worse on
    Hausdorff"`` or ``"worse on Hausdorff"``: the measures whose interval excludes zero
    (``signs``: measure name -> +1, -1 or 0, :func:`lrnbook.claims.settled`)."""
    settled = [name for name, sign in signs.items() if sign]
    words = {name: "better" if signs[name] > 0 else "worse" for name in settled}
    if len(settled) == 2 and len(set(words.values())) == 1:
        return f"{words[settled[0]]} than the baseline on both measures"
    if len(settled) == 2:
        better, worse = (next(n for n in settled if words[n] == w) for w in ("better", "worse"))
        return f"mixed: better on {better}, worse on {worse}"
    return f"{words[settled[0]]} on {settled[0]}"


def seed_note(spread: dict | None) -> str:
    """The sentence over :func:`seed_table`: what twice the seed-to-seed spread is, in both units."""
    if spread is None or not all(np.isfinite(spread[key]) for key, _, _ in MEASURES):
        return ("The seed-to-seed spread of the baseline is unknown (fewer than two seed runs with results), so "
                "the verdicts below cannot say which differences may be seed noise.")
    twice = " and ".join(f"{2 * round(spread[key], 2):.2f} {unit} of {name}" for key, name, unit in MEASURES)
    return (f"Twice the baseline's std across training seeds of its mean scores is {twice}. A difference "
            f"within that {SEED_NOISE}: one run per setting cannot tell it from the luck of the seed.")


def seed_table(tables: dict, baseline: str, ablations, spread: dict | None) -> pd.DataFrame:
    """Every ablation's mean differences and its :func:`seed_verdict`, one row each.

    Columns: ``ablation`` (:func:`ablation_title`), the mean paired gains (positive favours
    the ablation) and ``verdict``; a run without scores gets a row saying so.
    """
    rows = []
    for name in ablations:
        row = {"ablation": ablation_title(name)}
        if name not in tables or baseline not in tables:
            rows.append({**row, "Jaccard gain (pp)": "", "Hausdorff gain (px)": "",
                         "verdict": "missing: not fitted and scored yet"})
            continue
        result = claims.compare(tables, name, baseline)
        rows.append({**row, **{f"{label} gain ({unit})": f"{result[key]['mean_diff']:+.2f}"
                               for key, label, unit in MEASURES},
                     "verdict": seed_verdict(result, spread)})
    return pd.DataFrame(rows)


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


def finest_rank_text(table: pd.DataFrame) -> str:
    """Where s6, the map the network outputs, ranks among the six levels of one run (markdown).

    Parameters
    ----------
    table : pandas.DataFrame
        The run's per-image scores with ``jaccard_s1`` .. ``jaccard_s6`` (%, each level at 224x224).

    Returns
    -------
    str
        s6's rank by mean Jaccard; when a coarser level has the highest mean, how far it is
        above s6 on the same photos (paired, 95 % interval) and whether the interval settles
        it. Empty when the table has no per-level scores.
    """
    levels = [f"s{k}" for k in range(1, 7) if f"jaccard_s{k}" in table]
    if "s6" not in levels or len(levels) < 2:
        return ""
    means = {level: float(table[f"jaccard_{level}"].mean()) for level in levels}
    order = sorted(levels, key=means.get, reverse=True)
    rank = order.index("s6") + 1
    ordinal = f"{rank}{'nd' if rank == 2 else 'rd' if rank == 3 else 'th'}"
    where = "the highest" if rank == 1 else "the lowest" if rank == len(levels) else f"the {ordinal} highest"
    text = (f"With every level supervised (the baseline), s6, the map the network outputs, has {where} mean "
            f"Jaccard of its {len(levels)} levels ({means['s6']:.2f} %).")
    if rank == 1:
        return text + " The last refinement ends on the best mask, as the coarse-to-fine design intends."
    top = order[0]
    gap = paired_difference(table[f"jaccard_{top}"], table["jaccard_s6"])
    text += (f" {top} has the highest ({means[top]:.2f} %), {claims.interval_text(gap, 'pp')} above s6 on the "
             "same photos")
    if gap["ci_low"] > 0:
        return text + (": at this setting the finest map scores below a coarser one, against the intent of the "
                       "coarse-to-fine design (each refinement unit corrects the map before it).")
    return text + ", an interval that includes zero: the levels are not told apart on these photos."


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
    return ("Differences, positive when the larger input is closer to the truth (Jaccard: larger input minus "
            "baseline; Hausdorff: baseline minus larger input). " + " ".join(parts))


def cost_text(durations: dict, names) -> str:
    """The training wall time of the runs ``names`` (:attr:`Runs.durations`, seconds), in one sentence."""
    known = {n: durations[n] for n in names if durations.get(n) is not None}
    return (f"Training: {sum(known.values()) / 60:.1f} min of wall time for {len(known)} of {len(names)} runs "
            "(per run in the table above).")


def summary_text(verdicts: pd.DataFrame, squeeze: tuple[str, str] | None, tables: dict, baseline: str,
                 finest: str | None) -> str:
    """The page's summary as markdown bullets, each read from a table or verdict above.

    ``verdicts``: :func:`seed_table` (each ablation's verdict with the seed-to-seed spread);
    ``squeeze``: :func:`squeeze_verdict`.
    """
    bullets = [f"- {row['ablation']}: {row['verdict']}." for row in verdicts.to_dict("records")]
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
    """The squeeze claim in a few sentences, for the first page: :func:`squeeze_claim`'s verdict, then
    :func:`squeeze_against`."""
    if squeeze not in tables or baseline not in tables:
        return "The skip-squeeze ablation has no test scores yet: the paper's claim about it is not tested."
    return (f"Trained with the squeeze put back, at the seed runs' smaller setting and with one seed, the LRN tests "
            f"the paper's claim that with it the network \"was unable to learn properly\": that claim "
            f"{claim_row['verdict'].iloc[0]}; {squeeze_against(tables, baseline, squeeze, spread)}")


def _gain_against_seeds(name: str, diff: float, std: float | None, unit: str, settled: bool) -> str:
    """``"Jaccard +3.72 pp (within twice the seed-to-seed std, 5.58 pp: may be seed noise)"``; the
    seed-noise warning only for a difference the intervals settle."""
    where = claims.beyond_seeds(diff, std)
    if where.startswith("unknown"):
        return f"{name} {diff:+.2f} {unit} (seed spread unknown)"
    # twice the std as the page prints it (two decimals), so that a reader's doubling agrees
    noise = f": {SEED_NOISE}" if where != "yes" and settled else ""
    return (f"{name} {diff:+.2f} {unit} ({'beyond' if where == 'yes' else 'within'} twice the seed-to-seed std, "
            f"{2 * round(std, 2):.2f} {unit}{noise})")


def squeeze_against(tables: dict, baseline: str, squeeze: str, spread: dict | None = None) -> str:
    """How the squeeze run compares with the baseline on both measures, with the seed-to-seed spread
    (``spread``, :func:`seed_std`; :func:`seed_verdict`) and the Hausdorff gap once stray regions are
    removed: what the claim's table row does not say."""
    result = claims.compare(tables, squeeze, baseline)
    if spread is None:
        against = seed_verdict(result, spread)
        text = (f"against the baseline on the same test photos, the squeeze run "
                f"{'shows ' if against == claims.NO_DIFFERENCE else 'is '}{against}.")
    else:
        # the direction, then each gain with where it falls against the seeds: the gains say the
        # seed clause of seed_verdict, so it is not repeated
        signs = {name: claims.settled(result[key]) for key, name, _ in MEASURES}
        unsettled = [name for name, sign in signs.items() if not sign]
        head = (f"shows {claims.NO_DIFFERENCE}" if len(unsettled) == 2
                else f"is {_direction(signs)}" + (f" ({claims.NO_DIFFERENCE} on {unsettled[0]})" if unsettled else ""))
        gaps = [_gain_against_seeds(name, result[key]["mean_diff"], spread.get(key), unit, bool(signs[name]))
                for key, name, unit in MEASURES]
        text = f"against the baseline on the same test photos, the squeeze run {head}: " + "; ".join(gaps) + "."
    if all("hausdorff_clean" in tables[n] for n in (baseline, squeeze)):
        raw = float(tables[baseline]["hausdorff"].mean() - tables[squeeze]["hausdorff"].mean())
        clean = float(tables[baseline]["hausdorff_clean"].mean() - tables[squeeze]["hausdorff_clean"].mean())
        text += (f" With stray regions removed (the cleaned masks: largest region, holes filled), its Hausdorff gain "
                 f"is {clean:+.2f} px instead of {raw:+.2f} px"
                 + (": most of the raw gain is stray blobs of the baseline." if abs(clean) < abs(raw) / 2 else "."))
    return text
