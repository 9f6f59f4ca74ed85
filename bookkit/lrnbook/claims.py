"""The paper's claims as rows: evidence from this book's runs and a verdict.

A comparison of two models is *settled* when the bootstrap 95 % interval of their paired
per-image difference excludes zero; the verdict says "holds" or "does not hold" only then,
and "not settled" otherwise.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from lrn import metrics
from lrn.variants import DISPLAY_NAMES, is_lrn
from lrnbook.pages import PAPER_TABLE1, reduced_setting_note
from lrnbook.stats import interval_text, paired_difference

NOT_SETTLED = "not settled: a 95 % interval includes zero"


def compare(tables: dict, first: str, second: str) -> dict:
    """Paired differences of two variants, both oriented so that positive favours ``first``."""
    a, b = tables[first], tables[second]
    if list(a["id"]) != list(b["id"]):
        raise ValueError(f"{first} and {second} were scored on different images")
    return {"jaccard": paired_difference(a["jaccard"], b["jaccard"]),
            "hausdorff": paired_difference(b["hausdorff"], a["hausdorff"])}


def pairwise_comparisons(tables: dict) -> pd.DataFrame:
    """Every pair of variants with results: mean paired difference, 95 % interval, Wilcoxon p."""
    rows = []
    for first, second in combinations(tables, 2):
        result = compare(tables, first, second)
        rows.append({"first vs second": f"{DISPLAY_NAMES[first]} vs {DISPLAY_NAMES[second]}",
                     "Jaccard gain (pp) [95 % CI]": interval_text(result["jaccard"], "pp"),
                     "p Jaccard": f"{result['jaccard']['p_wilcoxon']:.2g}",
                     "Hausdorff gain (px) [95 % CI]": interval_text(result["hausdorff"], "px"),
                     "p Hausdorff": f"{result['hausdorff']['p_wilcoxon']:.2g}",
                     "images where first has higher Jaccard": f"{result['jaccard']['a_better']} of {result['jaccard']['n']}"})
    return pd.DataFrame(rows)


def settled(result: dict) -> int:
    """+1 if the interval is above zero, -1 if below, 0 if it contains zero."""
    return 1 if result["ci_low"] > 0 else -1 if result["ci_high"] < 0 else 0


def verdict_from(signs: list[int]) -> str:
    if all(s == 1 for s in signs):
        return "holds"
    if any(s == -1 for s in signs):
        return "does not hold"
    return NOT_SETTLED


def claim_verdicts(summaries: dict, tables: dict, rates: dict, sizes: dict) -> pd.DataFrame:
    """One row per claim of the paper: claim, evidence, verdict.

    ``tables``: per-image score tables of the variants that were run; ``rates``: per variant
    ``(false-positive %, false-negative %)`` arrays; ``sizes``: parameter counts of LRN and UNET.
    """
    have = set(tables)
    rows = []

    def add(claim, evidence, verdict):
        rows.append({"claim (Pinto & Cardoso 2019)": claim, "evidence here": evidence, "verdict": verdict})

    def absent_why(variant):
        """Why a variant has no scores, as a clause: still training, not run (and why), no results."""
        summary, name = summaries.get(variant) or {}, DISPLAY_NAMES[variant]
        if summary.get("queued"):
            return f"{name} has not started training yet"
        if summary.get("in_progress"):
            return f"{name} is still training"
        if summary.get("status") == "not run":
            return f"{name} was not run ({summary.get('reason', 'no reason recorded').rstrip('.')})"
        return f"{name} has no results in this profile"

    def missing(variant):
        return f"not tested yet: {absent_why(variant)}"

    def pairs(first, others):
        results = {other: compare(tables, first, other) for other in others}
        text = "; ".join(f"{DISPLAY_NAMES[first]} vs {DISPLAY_NAMES[o]}: Jaccard {interval_text(r['jaccard'], 'pp')}, "
                         f"Hausdorff {interval_text(r['hausdorff'], 'px')}" for o, r in results.items())
        signs = [settled(r[m]) for r in results.values() for m in ("jaccard", "hausdorff")]
        return text, signs

    def partial(verdict, wanted):
        absent = [v for v in wanted if v not in have]
        if not absent:
            return verdict
        why = ", ".join(absent_why(v) for v in absent)
        if verdict == "does not hold":  # settled against a run that has results: the missing ones cannot undo it
            compared = " and ".join(DISPLAY_NAMES[v] for v in wanted if v in have)
            return f"does not hold: settled against {compared}, whatever the runs still missing show ({why})"
        return verdict + "; not compared yet: " + why

    others = ("lrn", "unet", "unet_vgg")
    if "lrn_vgg" in have and have - {"lrn_vgg"}:
        evidence, signs = pairs("lrn_vgg", [v for v in others if v in have])
        add("LRN-VGG is the best model by both measures", evidence, partial(verdict_from(signs), others))
    else:
        add("LRN-VGG is the best model by both measures", "no LRN-VGG run", missing("lrn_vgg"))
    unets = [v for v in ("unet", "unet_vgg") if v in have]
    if "lrn" in have and unets:  # against the U-Nets with scores; a settled loss to one already decides
        evidence, signs = pairs("lrn", unets)
        add("LRN is second, ahead of both U-Nets", evidence, partial(verdict_from(signs), ("unet", "unet_vgg")))
    else:
        absent = [v for v in ("lrn", "unet", "unet_vgg") if v not in have]
        add("LRN is second, ahead of both U-Nets",
            "no " + " and no ".join(f"{DISPLAY_NAMES[v]} run" for v in absent),
            "not tested yet: " + "; ".join(absent_why(v) for v in absent))
    if {"unet", "unet_vgg"} <= have:
        evidence, signs = pairs("unet", ["unet_vgg"])
        add("UNET is better than UNET-VGG", evidence, verdict_from(signs))
    else:
        absent = [v for v in ("unet", "unet_vgg") if v not in have]
        add("UNET is better than UNET-VGG", "no " + " and no ".join(f"{DISPLAY_NAMES[v]} run" for v in absent),
            "not tested yet: " + "; ".join(absent_why(v) for v in absent))
    if {"lrn", "unet"} <= set(rates):
        fp = paired_difference(rates["lrn"][0], rates["unet"][0])
        fn = paired_difference(rates["unet"][1], rates["lrn"][1])
        evidence = (f"false positives LRN minus UNET {interval_text(fp, 'pp')}; "
                    f"false negatives UNET minus LRN {interval_text(fn, 'pp')}")
        answer = {1: "yes", -1: "no, the reverse", 0: "not settled"}
        parts = (f"LRN more false positives than U-Net: {answer[settled(fp)]}; "
                 f"U-Net more false negatives than LRN: {answer[settled(fn)]}")
        add("LRN tends to false positives, U-Net leaves out patches of the person (false negatives)",
            evidence, verdict_from([settled(fp), settled(fn)]) + f" ({parts})")
    else:
        add("LRN tends to false positives, U-Net leaves out patches of the person (false negatives)",
            "no " + " and no ".join(f"{DISPLAY_NAMES[v]} run" for v in ("lrn", "unet") if v not in rates) + " to compare",
            "not tested yet: " + "; ".join(absent_why(v) for v in ("lrn", "unet") if v not in rates))
    if len(have) >= 2:
        names = sorted(have)
        rho, p = scipy_stats.spearmanr(tables[names[0]]["jaccard"], tables[names[1]]["jaccard"])
        spreads = ", ".join(f"{DISPLAY_NAMES[v]} {np.std(tables[v]['jaccard'], ddof=1):.2f} pp" for v in names)
        add("The high standard deviations mean that the quality depends on the image",
            f"Jaccard std: {spreads}; Spearman correlation of per-image Jaccard between "
            f"{DISPLAY_NAMES[names[0]]} and {DISPLAY_NAMES[names[1]]}: {rho:.2f} (p = {p:.2g})",
            "holds" if rho > 0 and p < 0.05 else "not settled: the models do not find the same images hard")
    else:
        add("The high standard deviations mean that the quality depends on the image",
            "the per-image Jaccard of two Table 1 runs, correlated; "
            + (f"only {DISPLAY_NAMES[next(iter(have))]} has scores" if have else "no run has scores yet"),
            f"not tested yet: it needs {'a second run' if have else 'two runs'} with scores ("
            + "; ".join(absent_why(v) for v in DISPLAY_NAMES if v in summaries and v not in have) + ")")
    lrn, unet = sizes["LRN"], sizes["UNET"]
    encoder = 14_714_688
    add("LRN has far fewer trainable parameters than U-Net",
        f"all: {lrn:,} vs {unet:,}; decoder: {lrn - encoder:,} vs {unet - encoder:,} "
        f"({(unet - encoder) / (lrn - encoder):.1f}x)", "holds" if (unet - encoder) > 5 * (lrn - encoder) else
        "does not hold")
    return pd.DataFrame(rows)


VERDICT_GROUPS = (("holds", "hold", "holds"), ("does not hold", "do not hold", "does not hold"),
                  ("not settled", "are not settled", "is not settled"),
                  ("not tested yet", "are not tested yet", "is not tested yet"))
"""Each verdict's leading words in :func:`claim_verdicts`, and how :func:`verdicts_text` says it
of several claims and of one."""


def verdicts_text(table: pd.DataFrame) -> str:
    """One sentence for the book's introduction: the claims of :func:`claim_verdicts`' ``table``
    (claim in its first column, ``verdict``) grouped by their verdict, in the order of
    :data:`VERDICT_GROUPS`."""
    claims, verdicts = table.iloc[:, 0].tolist(), table["verdict"].tolist()
    groups = []
    for lead, several, one in VERDICT_GROUPS:
        named = [claim for claim, verdict in zip(claims, verdicts) if verdict.startswith(lead)]
        if named:
            quoted = "; ".join(f"“{claim}”" for claim in named)
            groups.append(f"{len(named)} {several if len(named) > 1 else one} ({quoted})")
    return f"Of the paper's {len(claims)} claims about its Table 1, " + ", ".join(groups) + "."


# --- Ablations: one change to LRN against the baseline run, same test images -------------

NO_DIFFERENCE = "no difference shown at this budget"


def ablation_verdict(result: dict) -> str:
    """One line from the two intervals of :func:`compare` (ablation first, baseline second).

    "better" / "worse" when an interval excludes zero (positive favours the ablation), naming
    the measure when only one is settled; "mixed" when they disagree; otherwise no difference.
    """
    signs = {"Jaccard": settled(result["jaccard"]), "Hausdorff": settled(result["hausdorff"])}
    better = [m for m, s in signs.items() if s == 1]
    worse = [m for m, s in signs.items() if s == -1]
    if better and worse:
        return f"mixed: better on {better[0]}, worse on {worse[0]}"
    for word, measures in (("better", better), ("worse", worse)):
        if len(measures) == 2:
            return f"{word} than the baseline on both measures"
        if measures:
            other = "Hausdorff" if measures[0] == "Jaccard" else "Jaccard"
            return f"{word} on {measures[0]}; {other}: {NO_DIFFERENCE}"
    return NO_DIFFERENCE


def beyond_seeds(diff: float, seed_std: float | None) -> str:
    """Is a difference of mean scores more than twice the std across training seeds of a mean?"""
    if seed_std is None or not np.isfinite(seed_std):
        return "unknown: fewer than 2 seeds"
    return "yes" if abs(diff) > 2 * seed_std else "no"


def ablation_comparisons(tables: dict, baseline: str, ablations: list[str], titles: dict | None = None,
                         seed_std: dict | None = None) -> pd.DataFrame:
    """Every ablation against the baseline: paired differences, 95 % intervals, Wilcoxon p, verdict.

    Positive differences favour the ablation (higher Jaccard, lower Hausdorff). Ablations
    without a per-image table get a row saying so. ``seed_std``: ``{"jaccard": .., "hausdorff": ..}``,
    the baseline variant's std across training seeds of its mean scores; when given, a column
    says whether each difference is more than twice that (the intervals resample test images,
    not training runs).
    """
    titles = titles or {}
    rows = []
    for name in ablations:
        row = {"ablation": titles.get(name, name)}
        if name not in tables or baseline not in tables:
            rows.append({**row, "verdict": "missing: a training notebook was not executed"})
            continue
        result = compare(tables, name, baseline)
        rows.append({**row, "Jaccard gain (pp) [95 % CI]": interval_text(result["jaccard"], "pp"),
                     "p Jaccard": f"{result['jaccard']['p_wilcoxon']:.2g}",
                     "Hausdorff gain (px) [95 % CI]": interval_text(result["hausdorff"], "px"),
                     "p Hausdorff": f"{result['hausdorff']['p_wilcoxon']:.2g}",
                     "verdict": ablation_verdict(result)})
        if seed_std is not None:
            rows[-1]["beyond 2x seed std (J / H)"] = " / ".join(
                beyond_seeds(result[m]["mean_diff"], seed_std.get(m)) for m in ("jaccard", "hausdorff"))
    return pd.DataFrame(rows)


FLAT_CURVE = 0.10
"""A learning curve is *flat* when its best validation loss is less than 10 % below its first epoch's."""
FAR_BELOW_PP = 10.0
"""*Far below* the baseline: mean Jaccard at least 10 pp lower, with the 95 % interval below zero."""


def curve_drop(values) -> float | None:
    """Relative fall of a loss curve from its first value to its lowest (``None`` with < 2 epochs)."""
    values = np.asarray(values, float)
    if len(values) < 2 or values[0] <= 0:
        return None
    return float((values[0] - values.min()) / values[0])


def learns_properly(curve, baseline_curve, jaccard_vs_baseline: dict) -> tuple[str, str]:
    """Test the paper's "unable to learn properly" for a run against the baseline.

    The claim *holds* when the run's validation curve is flat (:data:`FLAT_CURVE`) or its
    Jaccard is far below the baseline's (:data:`FAR_BELOW_PP`, paired, interval below zero);
    it *does not hold* when neither is true and the curve could be judged; with one epoch
    only the Jaccard criterion can decide. Returns ``(verdict, evidence)``.
    """
    drop, base_drop = curve_drop(curve), curve_drop(baseline_curve)
    gap = jaccard_vs_baseline
    far_below = gap["mean_diff"] <= -FAR_BELOW_PP and gap["ci_high"] < 0
    flat = drop is not None and drop < FLAT_CURVE
    curve_text = ("one epoch: the curve cannot be judged" if drop is None else
                  f"validation loss fell {100 * drop:.0f} % from the first epoch to its best"
                  + ("" if base_drop is None else f" (baseline {100 * base_drop:.0f} %)"))
    evidence = f"{curve_text}; Jaccard gain over the baseline {interval_text(gap, 'pp')}"
    if flat or far_below:
        reasons = [r for r, on in (("flat learning curve", flat), ("Jaccard far below the baseline", far_below)) if on]
        return "holds: " + " and ".join(reasons), evidence
    if drop is None:
        return f"not settled: {jaccard_against(gap)}, and one epoch is too few to judge the curve", evidence
    return f"does not hold at this budget: the curve falls and {jaccard_against(gap)}", evidence


def jaccard_against(gap: dict) -> str:
    """Where a run's Jaccard lies against the baseline's, from the paired interval, when it is not far below."""
    if gap["ci_low"] > 0:
        return f"the Jaccard is above the baseline's ({gap['mean_diff']:+.2f} pp)"
    if gap["ci_high"] >= 0:
        return f"the Jaccard is not measurably different from the baseline's ({gap['mean_diff']:+.2f} pp)"
    return f"the Jaccard is below the baseline's, but by less than {FAR_BELOW_PP:.0f} pp ({gap['mean_diff']:+.2f} pp)"


def level_differences(base: pd.DataFrame, other: pd.DataFrame) -> dict:
    """``{"s1": paired_difference(other - base), ...}`` of the per-level Jaccard columns both tables have."""
    if list(base["id"]) != list(other["id"]):
        raise ValueError("the two runs were scored on different images")
    return {f"s{k}": paired_difference(other[f"jaccard_s{k}"], base[f"jaccard_s{k}"])
            for k in range(1, 7) if f"jaccard_s{k}" in base and f"jaccard_s{k}" in other}


def per_level_comparison(base: pd.DataFrame, other: pd.DataFrame, size: int,
                         labels: tuple[str, str] = ("baseline", "ablation")) -> pd.DataFrame:
    """Jaccard of every LRN level s1..s6 for two runs on the same images, and their paired difference.

    ``size``: the runs' input size (s_k is ``size / 2**(6-k)`` pixels wide); every level is
    scored after resizing to 224x224. The difference is ``other`` minus ``base``.
    """
    rows = []
    for level, result in level_differences(base, other).items():
        column = f"jaccard_{level}"
        side = size // 2 ** (6 - int(level[1:]))
        rows.append({"level": level, "resolution": f"{side}x{side}",
                     f"Jaccard (%), {labels[0]}": metrics.format_mean_std(*metrics.mean_std(base[column].to_numpy())),
                     f"Jaccard (%), {labels[1]}": metrics.format_mean_std(*metrics.mean_std(other[column].to_numpy())),
                     f"{labels[1]} minus {labels[0]} (pp) [95 % CI]": interval_text(result, "pp")})
    return pd.DataFrame(rows)


def levels_far_below(base: pd.DataFrame, other: pd.DataFrame) -> str:
    """The levels at which ``other`` is far below ``base`` (:data:`FAR_BELOW_PP`, interval below zero)."""
    far = [f"{level} ({result['mean_diff']:+.1f} pp)" for level, result in level_differences(base, other).items()
           if result["mean_diff"] <= -FAR_BELOW_PP and result["ci_high"] < 0]
    return ", ".join(far) if far else "none"


# --- Seeds: the same variant trained with several seeds on the same split -----------------

def parse_seed_run(name: str) -> tuple[str, int]:
    """``"lrn_small_seed2"`` -> ``("lrn", 2)``; a clear error for other names."""
    variant, sep, seed = name.rpartition("_seed")
    if not sep or not seed.isdigit() or not variant:
        raise ValueError(f"not a seed run name (like 'lrn_small_seed0'): {name!r}")
    return variant.removesuffix("_small"), int(seed)


def seed_means(tables: dict) -> pd.DataFrame:
    """One row per seed run: variant, seed, mean and across-image std of Jaccard and Hausdorff."""
    rows = []
    for name, table in tables.items():
        variant, seed = parse_seed_run(name)
        rows.append({"run": name, "variant": variant, "seed": seed, "n": len(table),
                     "jaccard_mean": float(table["jaccard"].mean()), "jaccard_std": float(table["jaccard"].std(ddof=1)),
                     "hausdorff_mean": float(table["hausdorff"].mean()),
                     "hausdorff_std": float(table["hausdorff"].std(ddof=1))})
    return pd.DataFrame(rows, columns=["run", "variant", "seed", "n", "jaccard_mean", "jaccard_std",
                                       "hausdorff_mean", "hausdorff_std"])


def seed_spread(tables: dict) -> pd.DataFrame:
    """Per variant: number of seeds, mean of the seed means, std across seeds of those means
    (sample std; NaN with one seed) and the mean across-image std, for Jaccard and Hausdorff."""
    means = seed_means(tables)
    rows = []
    for variant, part in means.groupby("variant", sort=False):
        row = {"variant": variant, "seeds": len(part)}
        for metric in ("jaccard", "hausdorff"):
            row[f"{metric}_mean_of_means"] = float(part[f"{metric}_mean"].mean())
            row[f"{metric}_seed_std"] = float(part[f"{metric}_mean"].std(ddof=1)) if len(part) > 1 else float("nan")
            row[f"{metric}_image_std"] = float(part[f"{metric}_std"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def seed_gaps(tables: dict, first: str = "lrn", second: str = "unet") -> pd.DataFrame:
    """Per seed trained for both variants: the gain of ``first`` over ``second``, paired on the same images.

    Columns ``seed`` and, for Jaccard and Hausdorff, ``<metric>_diff``, ``_ci_low``, ``_ci_high``
    (bootstrap 95 %) and ``_p``. Oriented as :func:`compare`: positive favours ``first`` on both
    measures (Jaccard ``first`` minus ``second``, Hausdorff ``second`` minus ``first``).
    """
    by_seed: dict[int, dict[str, pd.DataFrame]] = {}
    for name, table in tables.items():
        variant, seed = parse_seed_run(name)
        by_seed.setdefault(seed, {})[variant] = table
    rows = []
    for seed in sorted(by_seed):
        pair = by_seed[seed]
        if first not in pair or second not in pair:
            continue
        try:
            results = compare(pair, first, second)
        except ValueError as error:
            raise ValueError(f"seed {seed}: {error}") from None
        row = {"seed": seed}
        for metric, result in results.items():
            row.update({f"{metric}_diff": result["mean_diff"], f"{metric}_ci_low": result["ci_low"],
                        f"{metric}_ci_high": result["ci_high"], f"{metric}_p": result["p_wilcoxon"]})
        rows.append(row)
    return pd.DataFrame(rows)


def _against_seeds(spread: pd.DataFrame, gaps: pd.DataFrame, metric: str, first: str, second: str):
    """The per-seed gains of ``first`` over ``second`` and, with at least two seeds of each, the larger
    std across seeds and whether the gap exceeds the seed-to-seed spread; ``(diffs, None, None)`` otherwise.

    Rule: it does when every seed's gap has the same sign and the mean gap is more than twice
    the larger of the two variants' std across seeds (of their mean scores).
    """
    diffs = gaps[f"{metric}_diff"].to_numpy()
    stds = spread.set_index("variant").loc[[first, second], f"{metric}_seed_std"].to_numpy()
    if len(diffs) < 2 or np.isnan(stds).any():
        return diffs, None, None
    same_sign = bool(np.all(diffs > 0) or np.all(diffs < 0))
    return diffs, float(stds.max()), same_sign and abs(diffs.mean()) > 2 * float(stds.max())


def gap_against_seeds(spread: pd.DataFrame, gaps: pd.DataFrame, metric: str, unit: str,
                      first: str = "lrn", second: str = "unet") -> str:
    """Does the ``first``/``second`` gap exceed the seed-to-seed spread (:func:`_against_seeds`)? One sentence."""
    if gaps.empty:
        return f"{metric}: no seed trained for both {DISPLAY_NAMES[first]} and {DISPLAY_NAMES[second]}."
    diffs, seed_std, exceeds = _against_seeds(spread, gaps, metric, first, second)
    per_seed = ", ".join(f"{d:+.2f}" for d in diffs)
    head = (f"{metric.capitalize()} gain of {DISPLAY_NAMES[first]} over {DISPLAY_NAMES[second]} per seed: "
            f"{per_seed} {unit} (mean {diffs.mean():+.2f})")
    if seed_std is None:
        return head + "; one seed only: there is no seed-to-seed spread to compare with."
    return (head + f"; the larger std across seeds is {seed_std:.2f} {unit}: the gap "
            + ("exceeds" if exceeds else "does not exceed")
            + " the seed-to-seed spread (rule: same sign for every seed and mean gap above twice that std).")


def seed_finding(spread: pd.DataFrame, gaps: pd.DataFrame, first: str = "lrn", second: str = "unet") -> str:
    """One sentence for a summary: who the mean ``first``/``second`` gap favours on each measure and
    whether it exceeds the seed-to-seed spread (:func:`gap_against_seeds`'s rule); or why it cannot be said."""
    a, b = DISPLAY_NAMES[first], DISPLAY_NAMES[second]
    if gaps.empty or not {first, second} <= set(spread["variant"]):
        return f"No training seed was run for both {a} and {b}: the spread across seeds is not measured."
    parts, seeds = [], 0
    for metric, unit in (("jaccard", "pp"), ("hausdorff", "px")):
        diffs, seed_std, exceeds = _against_seeds(spread, gaps, metric, first, second)
        seeds = len(diffs)
        if seed_std is None:
            parts.append(f"on {metric.capitalize()} one seed only gives no spread to compare with")
            continue
        mean = float(diffs.mean())
        parts.append(f"{a if mean > 0 else b} is ahead on {metric.capitalize()} by {abs(mean):.2f} {unit} "
                     f"({'beyond' if exceeds else 'within'} the seed-to-seed spread)")
    return f"At the seed runs' smaller setting, over {seeds} seeds of each: " + "; ".join(parts) + "."


def seed_against_paper(spread: pd.DataFrame, gaps: pd.DataFrame, first: str = "lrn", second: str = "unet") -> str:
    """Whether the seed runs order ``first`` and ``second`` as the paper's Table 1 does, measure by
    measure (by the sign of the mean gain over seeds), and how their mean scores over seeds stand
    against the paper's rows. Empty without seeds of both."""
    if gaps.empty or not {first, second} <= set(spread["variant"]):
        return ""
    a, b = DISPLAY_NAMES[first], DISPLAY_NAMES[second]
    same, reverse = [], []
    for metric, sign in (("jaccard", 1.0), ("hausdorff", -1.0)):
        paper = sign * (PAPER_TABLE1[first][metric][0] - PAPER_TABLE1[second][metric][0])
        here = float(gaps[f"{metric}_diff"].mean())
        (same if np.sign(paper) == np.sign(here) else reverse).append(metric.capitalize())
    if not reverse:
        order = f"The seed runs order {a} and {b} as the paper's Table 1 does on both measures."
    elif not same:
        order = (f"On both measures the seed runs order {a} and {b} the reverse way from the paper's Table 1, "
                 f"where {a if PAPER_TABLE1[first]['jaccard'][0] > PAPER_TABLE1[second]['jaccard'][0] else b} "
                 f"is ahead.")
    else:
        order = (f"The seed runs order {a} and {b} as the paper does on {same[0]} and the reverse way on "
                 f"{reverse[0]}.")
    means = spread.set_index("variant")
    levels = "; ".join(f"{DISPLAY_NAMES[v]} {means.loc[v, 'jaccard_mean_of_means']:.2f} % and "
                       f"{means.loc[v, 'hausdorff_mean_of_means']:.2f} px "
                       f"(paper {PAPER_TABLE1[v]['jaccard'][0]:.2f} % and {PAPER_TABLE1[v]['hausdorff'][0]:.2f} px)"
                       for v in (first, second))
    worse = [v for v in (first, second) if means.loc[v, "jaccard_mean_of_means"] < PAPER_TABLE1[v]["jaccard"][0]
             and means.loc[v, "hausdorff_mean_of_means"] > PAPER_TABLE1[v]["hausdorff"][0]]
    level = {2: " Both score worse than their rows of the paper on both measures.",
             1: f" {DISPLAY_NAMES[worse[0]] if worse else ''} scores worse than its row of the paper on both measures.",
             0: ""}[len(worse)]
    return f"{order} Mean over seeds at this smaller setting: {levels}.{level}"


STILL_IMPROVING_EPOCHS = 2
"""A run whose lowest validation loss came in its last this-many epochs may not have converged."""


def _seed_budget(histories: dict) -> tuple[str, dict, list[str]]:
    """The seed runs' number of epochs (``"15"`` or ``"12-15"``), the epoch of each run's lowest
    validation loss per variant, and the display names of the variants that reached it in the last
    :data:`STILL_IMPROVING_EPOCHS` epochs on every seed."""
    best = {}
    for name, history in sorted(histories.items(), key=lambda item: parse_seed_run(item[0])):
        variant, _ = parse_seed_run(name)
        losses = history["val_loss"].to_numpy()
        best.setdefault(variant, []).append((int(np.argmin(losses)) + 1, len(losses)))
    lengths = sorted({n for runs in best.values() for _, n in runs})
    length = "" if not lengths else f"{lengths[0]}" if len(lengths) == 1 else f"{lengths[0]}-{lengths[-1]}"
    improving = [DISPLAY_NAMES[v] for v, runs in best.items() if all(e > n - STILL_IMPROVING_EPOCHS for e, n in runs)]
    return length, best, improving


def seed_budget_text(histories: dict) -> str:
    """When each seed run reached its lowest validation loss, and which models were still
    improving when their fixed number of epochs ran out (``histories``: run name -> history with
    ``val_loss``, one row per epoch). Empty without histories."""
    length, best, improving = _seed_budget(histories)
    if not best:
        return ""
    epochs = "; ".join(f"{DISPLAY_NAMES[v]} {', '.join(str(e) for e, _ in runs)}" for v, runs in best.items())
    text = f"Each seed run trained a fixed {length} epochs; the lowest validation loss came at epoch {epochs}."
    if improving:
        text += (f" {' and '.join(improving)} had {'its' if len(improving) == 1 else 'their'} best epoch within the "
                 f"last {STILL_IMPROVING_EPOCHS} on every seed, so {'it' if len(improving) == 1 else 'they'} may not "
                 f"have converged: the gap is that of a {length}-epoch budget, not of models trained to convergence.")
    return text


def seed_budget_caveat(histories: dict) -> str:
    """:func:`seed_budget_text` in one sentence for a summary: empty unless a model had its best
    epoch at the end of the seed runs' budget."""
    length, best, improving = _seed_budget(histories)
    if not improving:
        return ""
    names = {DISPLAY_NAMES[v]: v for v in best}
    epochs = "; ".join(f"{name}'s best validation epoch was {', '.join(str(e) for e, _ in best[names[name]])} of "
                       f"{length}" for name in improving)
    return f"{epochs}, on its seeds: it may not have converged within that budget."


def _nan_text(value: float) -> str:
    return "n/a (one seed)" if not np.isfinite(value) else f"{value:.2f}"


def seed_runs_table(tables: dict) -> pd.DataFrame:
    """One row per seed run, for display: model, training seed, mean ± std over the images."""
    means = seed_means(tables)
    return pd.DataFrame([{"Model": DISPLAY_NAMES.get(r.variant, r.variant), "training seed": r.seed, "test images": r.n,
                          "Jaccard (%)": metrics.format_mean_std(r.jaccard_mean, r.jaccard_std),
                          "Hausdorff (px)": metrics.format_mean_std(r.hausdorff_mean, r.hausdorff_std)}
                         for r in means.itertuples()])


def seed_spread_table(tables: dict) -> pd.DataFrame:
    """Per variant and measure, for display: the mean over seeds, the std across seeds of the mean
    score, and next to it the usual std across images (a row per measure keeps the table narrow)."""
    rows = []
    for r in seed_spread(tables).itertuples():
        for metric, label in (("jaccard", "Jaccard (%)"), ("hausdorff", "Hausdorff (px)")):
            rows.append({"Model": DISPLAY_NAMES.get(r.variant, r.variant), "seeds": r.seeds, "measure": label,
                         "mean over seeds": f"{getattr(r, f'{metric}_mean_of_means'):.2f}",
                         "std across seeds": _nan_text(getattr(r, f"{metric}_seed_std")),
                         "std across images (mean over seeds)": f"{getattr(r, f'{metric}_image_std'):.2f}"})
    return pd.DataFrame(rows)


def seed_gaps_table(tables: dict, first: str = "lrn", second: str = "unet") -> pd.DataFrame:
    """Per seed, for display: the gain of ``first`` over ``second`` (:func:`seed_gaps`), with 95 % intervals and Wilcoxon p."""
    name = f"gain of {DISPLAY_NAMES[first]} over {DISPLAY_NAMES[second]}"
    rows = []
    for r in seed_gaps(tables, first, second).to_dict("records"):
        row = {"training seed": int(r["seed"])}
        for metric, label, unit in (("jaccard", "Jaccard", "pp"), ("hausdorff", "Hausdorff", "px")):
            result = {"mean_diff": r[f"{metric}_diff"], "ci_low": r[f"{metric}_ci_low"], "ci_high": r[f"{metric}_ci_high"]}
            row[f"{label}, {name} ({unit}) [95 % CI]"] = interval_text(result, unit)
            row[f"p {label}"] = f"{r[f'{metric}_p']:.2g}"
        rows.append(row)
    return pd.DataFrame(rows)


def seed_section(seed_runs: list[str], summaries: dict, tables: dict, main: dict | None,
                 seconds: dict) -> list[tuple]:
    """What the claims page shows about the seed runs, as ``("md", text)`` and ``("table", id, frame)`` items.

    ``summaries`` / ``tables``: test summary and per-image table of each seed run that ran;
    ``main``: the main LRN run's summary (for the setting note); ``seconds``: training wall time
    of each seed run (:func:`lrnbook.pages.training_seconds`, ``None`` where unknown).
    """
    if not seed_runs:
        return [("md", "**No seed runs in this profile**: the spread across training seeds is not measured here.")]
    if not tables:
        return [("md", f"**The seed runs of this profile have not been executed** ({', '.join(seed_runs)}).")]
    small = summaries[next(iter(tables))]["provenance"]["settings"]
    main_settings = main["provenance"]["settings"] if main and main.get("status") != "not run" else None
    missing = [n for n in seed_runs if n not in tables]
    items = [("md", reduced_setting_note(small, main_settings) + (f" Not executed: {', '.join(missing)}." if missing else "")),
             ("md", "Each seed run on the test photos (mean ± standard deviation over the photos):"),
             ("table", "seed_runs", seed_runs_table(tables)),
             ("md", "Across the seeds of each model: the mean of the seed runs' mean scores, how much those means "
                    "differ from seed to seed, and beside it the usual spread over the photos:"),
             ("table", "seed_spread", seed_spread_table(tables))]
    gaps = seed_gaps(tables)
    if len(gaps):
        items += [("md", f"Seed by seed, the gain of {DISPLAY_NAMES['lrn']} over {DISPLAY_NAMES['unet']} on the same "
                         "photos, with its 95 % interval and the Wilcoxon signed-rank p-value (p):"),
                  ("table", "seed_gaps", seed_gaps_table(tables))]
    spread = seed_spread(tables)
    items.append(("md", "\n".join(f"- {gap_against_seeds(spread, gaps, metric, unit)}"
                                   for metric, unit in (("jaccard", "pp"), ("hausdorff", "px")))))
    known = [t for n, t in seconds.items() if n in tables and t is not None]
    if known:
        items.append(("md", f"Training time of the seed runs: {sum(known) / 60:.0f} min in all for "
                            f"{len(known)} runs ({min(known) / 60:.1f}-{max(known) / 60:.1f} min each)."))
    return items


def error_rate_table(rates: dict) -> pd.DataFrame:
    """``{variant: (false-positive %, false-negative %) per image}`` as mean ± std per model."""
    return pd.DataFrame([{"Model": DISPLAY_NAMES[v],
                          "false positives (% of background)": metrics.format_mean_std(*metrics.mean_std(fp)),
                          "false negatives (% of person)": metrics.format_mean_std(*metrics.mean_std(fn))}
                         for v, (fp, fn) in rates.items()])


def error_rate_text(rates: dict) -> str:
    """Which kind of error dominates for each model of ``rates`` (as :func:`error_rate_table`), by the
    mean shares, beside the paper's description (LRN: false positives; U-Net: false negatives)."""
    expected = {"lrn": "false positives", "unet": "false negatives"}
    parts = []
    for v, (fp, fn) in rates.items():
        fp_mean, fn_mean = float(np.mean(fp)), float(np.mean(fn))
        mostly = "false positives" if fp_mean > fn_mean else "false negatives"
        paper = expected["lrn" if is_lrn(v) else "unet"]
        parts.append(f"{DISPLAY_NAMES[v]} errs mostly by {mostly} ({fp_mean:.2f} % of the background labelled person, "
                     f"{fn_mean:.2f} % of the person missed), {'as in' if mostly == paper else 'unlike'} the paper's "
                     f"description of {'LRN' if paper == 'false positives' else 'U-Net'}")
    return "; ".join(parts) + "." if parts else ""
