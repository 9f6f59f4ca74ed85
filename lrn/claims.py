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

from lrn import DISPLAY_NAMES
from lrn.stats import paired_difference

NO_WEIGHTS = "cannot be tested here: the -VGG variants need ImageNet weights, which these machines cannot download"


def compare(tables: dict, first: str, second: str) -> dict:
    """Paired differences of two variants, both oriented so that positive favours ``first``."""
    a, b = tables[first], tables[second]
    if list(a["id"]) != list(b["id"]):
        raise ValueError(f"{first} and {second} were scored on different images")
    return {"jaccard": paired_difference(a["jaccard"], b["jaccard"]),
            "hausdorff": paired_difference(b["hausdorff"], a["hausdorff"])}


def interval_text(result: dict, unit: str) -> str:
    return f"{result['mean_diff']:+.2f} {unit} [{result['ci_low']:+.2f}, {result['ci_high']:+.2f}]"


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
    return "not settled: the 95 % interval includes no difference"


def claim_verdicts(summaries: dict, tables: dict, rates: dict, sizes: dict) -> pd.DataFrame:
    """One row per claim of the paper: claim, evidence, verdict.

    ``tables``: per-image score tables of the variants that were run; ``rates``: per variant
    ``(false-positive %, false-negative %)`` arrays; ``sizes``: parameter counts of LRN and UNET.
    """
    have = set(tables)
    rows = []

    def add(claim, evidence, verdict):
        rows.append({"claim (Pinto & Cardoso 2019)": claim, "evidence here": evidence, "verdict": verdict})

    add("LRN-VGG is the best model by both measures", "no LRN-VGG run" if "lrn_vgg" not in have else
        "see the pairs above", NO_WEIGHTS if "lrn_vgg" not in have else
        verdict_from([settled(compare(tables, "lrn_vgg", other)[m]) for other in have - {"lrn_vgg"}
                      for m in ("jaccard", "hausdorff")]))
    if {"lrn", "unet"} <= have:
        result = compare(tables, "lrn", "unet")
        evidence = (f"LRN vs UNET: Jaccard {interval_text(result['jaccard'], 'pp')}, "
                    f"Hausdorff {interval_text(result['hausdorff'], 'px')}")
        verdict = verdict_from([settled(result["jaccard"]), settled(result["hausdorff"])])
        if not {"lrn_vgg", "unet_vgg"} <= have:
            verdict += " (LRN vs UNET only; the -VGG rows are missing)"
        add("LRN is second, ahead of both U-Nets", evidence, verdict)
    add("UNET is better than UNET-VGG", "no UNET-VGG run" if "unet_vgg" not in have else "see the pairs above",
        NO_WEIGHTS if "unet_vgg" not in have else
        verdict_from([settled(compare(tables, "unet", "unet_vgg")[m]) for m in ("jaccard", "hausdorff")]))
    if {"lrn", "unet"} <= set(rates):
        fp = paired_difference(rates["lrn"][0], rates["unet"][0])
        fn = paired_difference(rates["unet"][1], rates["lrn"][1])
        evidence = (f"false positives LRN minus UNET {interval_text(fp, 'pp')}; "
                    f"false negatives UNET minus LRN {interval_text(fn, 'pp')}")
        parts = (f"LRN more false positives: {verdict_from([settled(fp)])}; "
                 f"U-Net more false negatives: {verdict_from([settled(fn)])}")
        add("LRN tends to false positives, U-Net leaves out patches of the person (false negatives)",
            evidence, verdict_from([settled(fp), settled(fn)]) + f" ({parts})")
    if len(have) >= 2:
        names = sorted(have)
        rho, p = scipy_stats.spearmanr(tables[names[0]]["jaccard"], tables[names[1]]["jaccard"])
        spreads = ", ".join(f"{DISPLAY_NAMES[v]} {np.std(tables[v]['jaccard'], ddof=1):.2f} pp" for v in names)
        add("The high standard deviations mean that the quality depends on the image",
            f"Jaccard std: {spreads}; Spearman correlation of per-image Jaccard between "
            f"{DISPLAY_NAMES[names[0]]} and {DISPLAY_NAMES[names[1]]}: {rho:.2f} (p = {p:.2g})",
            "holds" if rho > 0 and p < 0.05 else "not settled: the models do not find the same images hard")
    lrn, unet = sizes["LRN"], sizes["UNET"]
    encoder = 14_714_688
    add("LRN has far fewer trainable parameters than U-Net",
        f"all: {lrn:,} vs {unet:,}; decoder: {lrn - encoder:,} vs {unet - encoder:,} "
        f"({(unet - encoder) / (lrn - encoder):.1f}x)", "holds" if (unet - encoder) > 5 * (lrn - encoder) else
        "does not hold")
    return pd.DataFrame(rows)
