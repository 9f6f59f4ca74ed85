"""Claim verdicts from paired per-image scores."""
import numpy as np
import pandas as pd

from lrn import claims


def tables_with_gap(gap):
    rng = np.random.default_rng(0)
    ids = [f"{i:05d}" for i in range(40)]
    base = rng.uniform(80, 95, 40)
    hd = rng.uniform(10, 40, 40)
    return {"lrn": pd.DataFrame({"id": ids, "jaccard": base + gap + rng.normal(0, 0.3, 40), "hausdorff": hd - gap}),
            "unet": pd.DataFrame({"id": ids, "jaccard": base, "hausdorff": hd})}


def verdicts(gap, fp_gap=5.0, fn_gap=5.0):
    tables = tables_with_gap(gap)
    rng = np.random.default_rng(1)
    fp, fn = rng.uniform(1, 10, 40), rng.uniform(1, 10, 40)
    rates = {"lrn": (fp + fp_gap, fn), "unet": (fp, fn + fn_gap)}
    sizes = {"LRN": 15_864_198, "UNET": 31_970_049}
    table = claims.claim_verdicts({}, tables, rates, sizes)
    return dict(zip(table.iloc[:, 0], table["verdict"]))


def test_verdicts_follow_the_intervals():
    clear = verdicts(3.0)
    assert clear["LRN is second, ahead of both U-Nets"].startswith("holds")
    assert clear["LRN-VGG is the best model by both measures"].startswith("cannot be tested")
    assert clear["LRN has far fewer trainable parameters than U-Net"] == "holds"
    assert verdicts(-3.0)["LRN is second, ahead of both U-Nets"].startswith("does not hold")
    assert verdicts(0.0)["LRN is second, ahead of both U-Nets"].startswith("not settled")
    fpfn = "LRN tends to false positives, U-Net leaves out patches of the person (false negatives)"
    assert verdicts(3.0)[fpfn].startswith("holds")
    assert verdicts(3.0, fn_gap=-5.0)[fpfn].startswith("does not hold")


def test_pairwise_table_orients_hausdorff_so_positive_favours_the_first():
    table = claims.pairwise_comparisons(tables_with_gap(3.0))
    assert table.loc[0, "first vs second"] == "LRN vs UNET"
    assert table.loc[0, "Jaccard gain (pp) [95 % CI]"].startswith("+3.")
    assert table.loc[0, "Hausdorff gain (px) [95 % CI]"].startswith("+3.")
