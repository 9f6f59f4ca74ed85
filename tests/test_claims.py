"""Claim verdicts from paired per-image scores."""
import numpy as np
import pandas as pd
import pytest

from lrnbook import claims


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
    assert clear["LRN-VGG is the best model by both measures"] == "not tested yet: LRN-VGG has no results in this profile"
    assert clear["LRN has far fewer trainable parameters than U-Net"] == "holds"
    assert verdicts(-3.0)["LRN is second, ahead of both U-Nets"].startswith("does not hold")
    assert verdicts(0.0)["LRN is second, ahead of both U-Nets"].startswith("not settled")
    fpfn = "LRN tends to false positives, U-Net leaves out patches of the person (false negatives)"
    assert verdicts(3.0)[fpfn].startswith("holds")
    assert verdicts(3.0, fn_gap=-5.0)[fpfn] == ("does not hold (LRN more false positives than U-Net: yes; "
                                               "U-Net more false negatives than LRN: no, the reverse)")


def test_verdicts_name_each_verdict_once():
    """A verdict reads once: no "does not hold (... does not hold; ...)", no "not tested yet: not tested yet"."""
    for gap in (3.0, -3.0, 0.0):
        for verdict in verdicts(gap, fp_gap=-5.0, fn_gap=-5.0).values():
            for phrase in ("holds", "does not hold", "not settled", "not tested yet", "not compared yet"):
                assert verdict.count(phrase) <= 1, verdict


def test_vgg_claims_give_paired_intervals_and_say_what_is_still_training():
    tables = tables_with_gap(3.0)
    rng = np.random.default_rng(2)
    tables["lrn_vgg"] = tables["lrn"].assign(jaccard=tables["lrn"]["jaccard"] + 2 + rng.normal(0, 0.3, 40),
                                             hausdorff=tables["lrn"]["hausdorff"] - 2)
    rates = {}
    sizes = {"LRN": 15_864_198, "UNET": 31_970_049}
    summaries = {"unet_vgg": {"status": "not run", "in_progress": True, "reason": "training"}}
    table = claims.claim_verdicts(summaries, tables, rates, sizes)
    rows = {r.iloc[0]: r for _, r in table.iterrows()}
    best = rows["LRN-VGG is the best model by both measures"]
    assert "LRN-VGG vs LRN: Jaccard +2." in best["evidence here"] and "LRN-VGG vs UNET: Jaccard +5." in best["evidence here"]
    assert best["verdict"] == "holds; not compared yet: UNET-VGG is still training"
    assert rows["UNET is better than UNET-VGG"]["verdict"] == "not tested yet: UNET-VGG is still training"
    tables["unet_vgg"] = tables["unet"].assign(jaccard=tables["unet"]["jaccard"] - 1 + rng.normal(0, 0.3, 40),
                                               hausdorff=tables["unet"]["hausdorff"] + 1 + rng.normal(0, 0.3, 40))
    table = claims.claim_verdicts({}, tables, rates, sizes)
    rows = {r.iloc[0]: r for _, r in table.iterrows()}
    assert rows["UNET is better than UNET-VGG"]["verdict"] == "holds"
    assert rows["LRN-VGG is the best model by both measures"]["verdict"] == "holds"
    assert rows["LRN is second, ahead of both U-Nets"]["evidence here"].count(" vs ") == 2


def test_a_claim_that_already_fails_against_one_run_says_the_missing_runs_cannot_rescue_it():
    tables = tables_with_gap(3.0)
    tables["lrn_vgg"] = tables["lrn"].assign(hausdorff=tables["lrn"]["hausdorff"] + 8)  # worse outlines
    tables["unet_vgg"] = tables["lrn"]
    tables = {v: tables[v] for v in ("lrn_vgg", "unet_vgg")}
    queued = {"status": "not run", "in_progress": True, "queued": True}
    table = claims.claim_verdicts({"lrn": queued, "unet": queued}, tables, {}, {"LRN": 1, "UNET": 2})
    best = table.set_index("claim (Pinto & Cardoso 2019)").loc["LRN-VGG is the best model by both measures", "verdict"]
    assert best == ("does not hold: settled against UNET-VGG, whatever the runs still missing show (LRN has not "
                    "started training yet, UNET has not started training yet)")


def test_a_claim_names_the_run_that_is_missing_not_the_one_that_has_scores():
    tables = {"unet_vgg": tables_with_gap(3.0)["unet"]}
    summaries = {"unet": {"status": "not run", "in_progress": True, "queued": True}}
    table = claims.claim_verdicts(summaries, tables, {}, {"LRN": 15_864_198, "UNET": 31_970_049})
    row = table.set_index(table.columns[0]).loc["UNET is better than UNET-VGG"]
    assert row["evidence here"] == "no UNET run"
    assert row["verdict"] == "not tested yet: UNET has not started training yet"
    spread = table.set_index(table.columns[0]).loc["The high standard deviations mean that the quality depends on the image"]
    assert spread["verdict"] == "not tested yet: it needs a second run with scores (UNET has not started training yet)"
    assert spread["evidence here"].endswith("only UNET-VGG has scores")
    lrn_only = tables_with_gap(3.0)["lrn"]
    errors = claims.claim_verdicts(summaries, {"lrn": lrn_only}, {"lrn": (np.ones(40), np.ones(40))},
                                   {"LRN": 15_864_198, "UNET": 31_970_049})
    row = errors.set_index(errors.columns[0]).loc[
        "LRN tends to false positives, U-Net leaves out patches of the person (false negatives)"]
    assert row["evidence here"] == "no UNET run to compare", "LRN has scores: only UNET is missing"


def test_lrn_against_the_one_u_net_with_scores_is_judged_and_the_missing_one_named():
    queued = {"status": "not run", "in_progress": True, "queued": True}
    for gap, verdict in ((3.0, "holds; not compared yet: UNET has not started training yet"),
                         (-3.0, "does not hold: settled against UNET-VGG, whatever the runs still missing show "
                                "(UNET has not started training yet)")):
        tables = tables_with_gap(gap)  # LRN `gap` ahead of U-Net on every photo
        present = {"lrn": tables["lrn"], "unet_vgg": tables["unet"]}
        table = claims.claim_verdicts({"unet": queued}, present, {}, {"LRN": 1, "UNET": 2})
        row = table.set_index(table.columns[0]).loc["LRN is second, ahead of both U-Nets"]
        assert row["verdict"] == verdict
        assert row["evidence here"].startswith("LRN vs UNET-VGG: Jaccard") and row["evidence here"].count(" vs ") == 1
    table = claims.claim_verdicts({"unet": queued}, {"lrn": tables["lrn"]}, {}, {"LRN": 1, "UNET": 2})
    row = table.set_index(table.columns[0]).loc["LRN is second, ahead of both U-Nets"]
    assert row["evidence here"] == "no UNET run and no UNET-VGG run"
    assert row["verdict"] == "not tested yet: UNET has not started training yet; UNET-VGG has no results in this profile"


def test_every_claim_has_a_row_before_any_run_has_scores():
    summaries = {"lrn": {"status": "not run", "in_progress": True, "queued": True},
                 "unet": {"status": "not run", "in_progress": True, "queued": True},
                 "lrn_vgg": {"status": "not run", "in_progress": True}, "unet_vgg": {"status": "not run", "in_progress": True}}
    table = claims.claim_verdicts(summaries, {}, {}, {"LRN": 15_864_198, "UNET": 31_970_049})
    rows = {r.iloc[0]: r["verdict"] for _, r in table.iterrows()}
    assert len(rows) == 6
    assert rows["LRN is second, ahead of both U-Nets"] == (
        "not tested yet: LRN has not started training yet; UNET has not started training yet; UNET-VGG is still training")
    assert rows["LRN tends to false positives, U-Net leaves out patches of the person (false negatives)"].startswith(
        "not tested yet: LRN has not started")
    assert rows["The high standard deviations mean that the quality depends on the image"] == (
        "not tested yet: it needs two runs with scores (LRN has not started training yet; LRN-VGG is still training; "
        "UNET has not started training yet; UNET-VGG is still training)")
    assert rows["LRN has far fewer trainable parameters than U-Net"] == "holds"


def test_pairwise_table_orients_hausdorff_so_positive_favours_the_first():
    table = claims.pairwise_comparisons(tables_with_gap(3.0))
    assert table.loc[0, "first vs second"] == "LRN vs UNET"
    assert table.loc[0, "Jaccard gain (pp) [95 % CI]"].startswith("+3.")
    assert table.loc[0, "Hausdorff gain (px) [95 % CI]"].startswith("+3.")


# --- ablations -------------------------------------------------------------------------

def with_level_columns(table, shift=0.0, coarse_shift=0.0):
    table = table.copy()
    for k in range(1, 7):
        table[f"jaccard_s{k}"] = table["jaccard"] + (shift if k == 6 else coarse_shift)
    return table


def test_ablation_verdicts_follow_both_intervals():
    up = {"mean_diff": 2.0, "ci_low": 1.0, "ci_high": 3.0}
    down = {"mean_diff": -2.0, "ci_low": -3.0, "ci_high": -1.0}
    zero = {"mean_diff": 0.1, "ci_low": -1.0, "ci_high": 1.2}
    assert claims.ablation_verdict({"jaccard": up, "hausdorff": up}) == "better than the baseline on both measures"
    assert claims.ablation_verdict({"jaccard": down, "hausdorff": down}) == "worse than the baseline on both measures"
    assert claims.ablation_verdict({"jaccard": zero, "hausdorff": zero}) == claims.NO_DIFFERENCE
    assert claims.ablation_verdict({"jaccard": up, "hausdorff": down}) == "mixed: better on Jaccard, worse on Hausdorff"
    assert claims.ablation_verdict({"jaccard": zero, "hausdorff": down}) == \
        f"worse on Hausdorff; Jaccard: {claims.NO_DIFFERENCE}"


def test_ablation_comparisons_orient_differences_and_name_missing_runs():
    base = tables_with_gap(3.0)["unet"]
    rng = np.random.default_rng(2)
    worse = base.assign(jaccard=base["jaccard"] - 5 + rng.normal(0, 0.3, 40), hausdorff=base["hausdorff"] + 5)
    same = base.assign(jaccard=base["jaccard"] + rng.normal(0, 0.3, 40))
    tables = {"lrn_small_seed0": base, "lrn_small_squeeze": worse, "lrn_small_finest": same}
    table = claims.ablation_comparisons(tables, "lrn_small_seed0",
                                        ["lrn_small_squeeze", "lrn_small_finest", "lrn_small_larger"],
                                        {"lrn_small_squeeze": "squeeze"}, seed_std={"jaccard": 1.0, "hausdorff": 4.0})
    rows = table.set_index("ablation")
    assert rows.loc["squeeze", "Jaccard gain (pp) [95 % CI]"].startswith("-5.")
    assert rows.loc["squeeze", "Hausdorff gain (px) [95 % CI]"].startswith("-5.00")  # higher Hausdorff: negative
    assert rows.loc["squeeze", "verdict"] == "worse than the baseline on both measures"
    assert rows.loc["squeeze", "beyond 2x seed std (J / H)"] == "yes / no"
    assert rows.loc["lrn_small_finest", "verdict"] == claims.NO_DIFFERENCE
    assert rows.loc["lrn_small_larger", "verdict"].startswith("missing")
    assert claims.beyond_seeds(3.0, float("nan")).startswith("unknown")


def test_curve_drop_and_the_learn_properly_criterion():
    assert claims.curve_drop([1.0]) is None
    assert claims.curve_drop([2.0, 1.0, 1.5]) == 0.5
    falling, flat = [1.0, 0.7, 0.5], [1.0, 0.97, 0.95]
    near = {"mean_diff": -2.0, "ci_low": -3.0, "ci_high": -1.0}
    far = {"mean_diff": -20.0, "ci_low": -25.0, "ci_high": -15.0}
    far_but_unsure = {"mean_diff": -12.0, "ci_low": -30.0, "ci_high": 2.0}
    assert claims.learns_properly(flat, falling, near)[0] == "holds: flat learning curve"
    verdict, evidence = claims.learns_properly(falling, falling, far)
    assert verdict == "holds: Jaccard far below the baseline"
    assert "fell 50 %" in evidence and "(baseline 50 %)" in evidence and "-20.00 pp" in evidence
    assert claims.learns_properly(falling, falling, far_but_unsure)[0].startswith("does not hold")
    assert claims.learns_properly([1.0], [1.0], near)[0].startswith("not settled")
    assert claims.learns_properly([1.0], [1.0], far)[0].startswith("holds")
    above = {"mean_diff": 3.72, "ci_low": 1.62, "ci_high": 6.02}  # the squeeze run scored higher
    assert claims.learns_properly(falling, falling, above)[0] == (
        "does not hold at this budget: the curve falls and the Jaccard is above the baseline's (+3.72 pp)")
    assert "below the baseline's, but by less than 10 pp (-2.00 pp)" in claims.learns_properly(falling, falling, near)[0]
    assert "not measurably different from the baseline's (-12.00 pp)" in claims.learns_properly(
        [1.0], [1.0], far_but_unsure)[0]


def test_per_level_comparison_shows_untrained_coarse_levels():
    base = with_level_columns(tables_with_gap(0.0)["unet"])
    finest = with_level_columns(base, coarse_shift=-40.0)
    table = claims.per_level_comparison(base, finest, 128, ("all", "s6 only"))
    assert list(table["level"]) == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert list(table["resolution"]) == ["4x4", "8x8", "16x16", "32x32", "64x64", "128x128"]
    assert table.loc[0, "s6 only minus all (pp) [95 % CI]"].startswith("-40.00 pp")
    assert table.loc[5, "s6 only minus all (pp) [95 % CI]"].startswith("+0.00 pp")
    assert claims.levels_far_below(base, finest) == ", ".join(f"s{k} (-40.0 pp)" for k in range(1, 6))
    assert claims.levels_far_below(base, base) == "none"


# --- seeds -----------------------------------------------------------------------------

def seed_tables(lrn_means, unet_means, n=30):
    rng = np.random.default_rng(3)
    ids = [f"{i:05d}" for i in range(n)]
    image = rng.uniform(-8, 8, n)  # image difficulty, shared by every run
    tables = {}
    for variant, means in (("lrn", lrn_means), ("unet", unet_means)):
        for seed, mean in enumerate(means):
            noise = rng.normal(0, 0.2, n)
            tables[f"{variant}_small_seed{seed}"] = pd.DataFrame(
                {"id": ids, "jaccard": mean + image + noise - (image + noise).mean(), "hausdorff": 40 - mean / 10 + noise})
    return tables


def test_parse_seed_run():
    assert claims.parse_seed_run("lrn_small_seed2") == ("lrn", 2)
    assert claims.parse_seed_run("unet_small_seed10") == ("unet", 10)
    for bad in ("lrn", "lrn_small_seedx", "_seed1"):
        with pytest.raises(ValueError, match="seed run"):
            claims.parse_seed_run(bad)


def test_seed_spread_by_hand():
    tables = seed_tables([80.0, 82.0, 84.0], [70.0, 70.5, 71.0])
    means = claims.seed_means(tables)
    assert list(means["seed"]) == [0, 1, 2, 0, 1, 2]
    assert means["jaccard_mean"].round(6).tolist() == [80.0, 82.0, 84.0, 70.0, 70.5, 71.0]
    spread = claims.seed_spread(tables).set_index("variant")
    assert spread.loc["lrn", "seeds"] == 3
    assert spread.loc["lrn", "jaccard_mean_of_means"] == pytest.approx(82.0)
    assert spread.loc["lrn", "jaccard_seed_std"] == pytest.approx(2.0)  # sample std of 80, 82, 84
    assert spread.loc["unet", "jaccard_seed_std"] == pytest.approx(0.5)
    assert spread.loc["lrn", "jaccard_image_std"] == pytest.approx(np.mean([t["jaccard"].std(ddof=1) for name, t in
                                                                             tables.items() if name.startswith("lrn")]))
    one = claims.seed_spread({"lrn_small_seed0": tables["lrn_small_seed0"]})
    assert np.isnan(one.loc[0, "jaccard_seed_std"])
    one = claims.seed_spread_table({"lrn_small_seed0": tables["lrn_small_seed0"]})
    assert list(one["measure"]) == ["Jaccard (%)", "Hausdorff (px)"] and one.loc[0, "std across seeds"] == "n/a (one seed)"


def test_seed_gaps_are_paired_per_seed_and_compared_with_the_seed_spread():
    tables = seed_tables([80.0, 82.0, 84.0], [70.0, 70.5, 71.0])
    gaps = claims.seed_gaps(tables)
    assert gaps["seed"].tolist() == [0, 1, 2]
    assert gaps["jaccard_diff"].round(6).tolist() == [10.0, 11.5, 13.0]
    assert (gaps["jaccard_ci_low"] > 9).all()
    # LRN's Hausdorff is about 1 px lower on every seed: a gain, positive as in the pair table
    assert gaps["hausdorff_diff"].round(1).tolist() == [1.0, 1.2, 1.3]
    spread = claims.seed_spread(tables)
    text = claims.gap_against_seeds(spread, gaps, "jaccard", "pp")
    assert text.startswith("Jaccard gain of LRN over UNET per seed: +10.00, +11.50, +13.00 pp") and "2.00 pp" in text and "the gap exceeds" in text
    close = seed_tables([80.0, 75.0, 85.0], [79.0, 80.0, 77.0])
    text = claims.gap_against_seeds(claims.seed_spread(close), claims.seed_gaps(close), "jaccard", "pp")
    assert "does not exceed" in text
    display = claims.seed_gaps_table(tables)
    assert display.loc[0, "Jaccard, gain of LRN over UNET (pp) [95 % CI]"].startswith("+10.00 pp")
    only_lrn = {k: v for k, v in tables.items() if k.startswith("lrn")}
    assert claims.seed_gaps(only_lrn).empty
    assert "no seed trained for both" in claims.gap_against_seeds(claims.seed_spread(only_lrn),
                                                                  claims.seed_gaps(only_lrn), "jaccard", "pp")
    single = {"lrn_small_seed0": tables["lrn_small_seed0"], "unet_small_seed0": tables["unet_small_seed0"]}
    assert "one seed only" in claims.gap_against_seeds(claims.seed_spread(single), claims.seed_gaps(single),
                                                       "jaccard", "pp")


def test_seed_section_says_what_is_missing_and_shows_the_tables():
    assert "No seed runs" in claims.seed_section([], {}, {}, None, {})[0][1]
    assert "not been executed" in claims.seed_section(["lrn_small_seed0"], {}, {}, None, {})[0][1]
    tables = seed_tables([80.0, 82.0], [79.0, 81.0])
    settings = {"size": 128, "width": 0.25, "epochs": 15}
    summaries = {n: {"provenance": {"settings": settings}} for n in tables}
    seconds = {n: 60.0 for n in tables}
    items = claims.seed_section(list(tables), summaries, tables, None, seconds)
    assert [i[1] for i in items if i[0] == "table"] == ["seed_runs", "seed_spread", "seed_gaps"]
    assert "128x128 px" in items[0][1] and items[-1][1].startswith("Training time of the seed runs: 4 min")
    # every table has a sentence before it saying what it is
    assert all(items[k - 1][0] == "md" for k, item in enumerate(items) if item[0] == "table")
    assert "(p)" in items[[i[1] for i in items].index("seed_gaps") - 1][1]


def test_error_rate_table_is_mean_and_std_per_model():
    table = claims.error_rate_table({"lrn": (np.array([1.0, 3.0]), np.array([2.0, 2.0]))})
    assert table.to_dict("records") == [{"Model": "LRN", "false positives (% of background)": "2.00 ± 1.41",
                                         "false negatives (% of person)": "2.00 ± 0.00"}]


def test_seed_finding_applies_the_seed_rule_and_names_who_is_favoured():
    ids = [f"{i:05d}" for i in range(40)]
    rng = np.random.default_rng(3)
    tables = {}
    for seed, shift in enumerate((4.0, 5.0, 6.0)):
        base = rng.uniform(80, 90, 40)
        tables[f"lrn_small_seed{seed}"] = pd.DataFrame({"id": ids, "jaccard": base + shift, "hausdorff": 30 + rng.normal(0, 1, 40)})
        tables[f"unet_small_seed{seed}"] = pd.DataFrame({"id": ids, "jaccard": base, "hausdorff": 30 + rng.normal(0, 1, 40)})
    text = claims.seed_finding(claims.seed_spread(tables), claims.seed_gaps(tables))
    assert text.startswith("At the seed runs' smaller setting, over 3 seeds of each: LRN is ahead on Jaccard by "
                           "5.00 pp (beyond the seed-to-seed spread); ")
    assert "is ahead on Hausdorff by " in text
    tables["lrn_small_seed2"]["jaccard"] -= 12.0  # one seed the other way round: within the spread
    text = claims.seed_finding(claims.seed_spread(tables), claims.seed_gaps(tables))
    assert "LRN is ahead on Jaccard by 1.00 pp (within the seed-to-seed spread)" in text
    one = {k: v for k, v in tables.items() if k.endswith("seed0")}
    assert "one seed only" in claims.seed_finding(claims.seed_spread(one), claims.seed_gaps(one))
    assert claims.seed_finding(claims.seed_spread({}), claims.seed_gaps({})).startswith("No training seed")


def test_the_seed_budget_says_which_model_was_still_improving():
    def history(best, n=15):
        losses = np.linspace(2.0, 1.0, n)
        losses[best:] += 0.5  # the lowest loss at epoch `best` (counted from 1)
        return pd.DataFrame({"val_loss": losses})

    histories = {"lrn_small_seed0": history(14), "lrn_small_seed1": history(15), "unet_small_seed0": history(10),
                 "unet_small_seed1": history(15)}
    text = claims.seed_budget_text(histories)
    assert text.startswith("Each seed run trained a fixed 15 epochs; the lowest validation loss came at epoch "
                           "LRN 14, 15; UNET 10, 15.")
    assert "LRN had its best epoch within the last 2 on every seed, so it may not have converged" in text
    assert "UNET had" not in text and "not of models trained to convergence" in text
    assert claims.seed_budget_caveat(histories) == ("LRN's best validation epoch was 14, 15 of 15, on its seeds: it "
                                                    "may not have converged within that budget.")
    histories["lrn_small_seed0"] = history(9)
    assert "may not have converged" not in claims.seed_budget_text(histories)
    assert claims.seed_budget_caveat(histories) == ""
    assert claims.seed_budget_text({}) == "" and claims.seed_budget_caveat({}) == ""


def test_seed_runs_are_set_against_the_paper_order_and_levels():
    ids = [f"{i:05d}" for i in range(40)]
    rng = np.random.default_rng(5)

    def tables(lrn_shift):
        found = {}
        for seed in range(3):
            base = rng.uniform(70, 80, 40)
            found[f"lrn_small_seed{seed}"] = pd.DataFrame({"id": ids, "jaccard": base + lrn_shift,
                                                           "hausdorff": 60 - lrn_shift + rng.normal(0, 1, 40)})
            found[f"unet_small_seed{seed}"] = pd.DataFrame({"id": ids, "jaccard": base, "hausdorff": 60 + rng.normal(0, 1, 40)})
        return found

    ahead = tables(4.0)  # LRN ahead on both, as in the paper
    text = claims.seed_against_paper(claims.seed_spread(ahead), claims.seed_gaps(ahead))
    assert text.startswith("The seed runs order LRN and UNET as the paper's Table 1 does on both measures.")
    assert "(paper 91.67 % and 32.84 px)" in text and "(paper 89.25 % and 35.18 px)" in text
    assert text.endswith("Both score worse than their rows of the paper on both measures.")
    behind = tables(-4.0)
    text = claims.seed_against_paper(claims.seed_spread(behind), claims.seed_gaps(behind))
    assert text.startswith("On both measures the seed runs order LRN and UNET the reverse way from the paper's "
                           "Table 1, where LRN is ahead.")
    assert claims.seed_against_paper(claims.seed_spread({}), claims.seed_gaps({})) == ""


def test_error_rate_text_says_which_error_dominates_against_the_paper():
    rates = {"unet_vgg": (np.array([8.0, 7.0]), np.array([1.0, 1.0])), "lrn": (np.array([3.0, 3.0]), np.array([1.0, 2.0]))}
    text = claims.error_rate_text(rates)
    assert text.startswith("UNET-VGG errs mostly by false positives (7.50 % of the background labelled person, "
                           "1.00 % of the person missed), unlike the paper's description of U-Net")
    assert "LRN errs mostly by false positives (3.00 %" in text and "as in the paper's description of LRN" in text
    assert claims.error_rate_text({}) == ""


def test_the_verdicts_sentence_groups_the_claims_by_verdict():
    table = pd.DataFrame({"claim (Pinto & Cardoso 2019)": ["A is best", "B is second", "C beats D", "E is small"],
                          "evidence here": ["", "", "", ""],
                          "verdict": ["not settled: a 95 % interval includes zero", "does not hold: settled",
                                      "not tested yet: D is still training", "holds"]})
    assert claims.verdicts_text(table) == (
        "Of the paper's 4 claims about its Table 1, 1 holds (“E is small”), 1 does not hold (“B is second”), "
        "1 is not settled (“A is best”), 1 is not tested yet (“C beats D”).")
    two = pd.concat([table, table.iloc[[3]]])
    assert "2 hold (“E is small”; “E is small”)" in claims.verdicts_text(two)
