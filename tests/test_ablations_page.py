"""The ablations page's computations (lrnbook.ablations) on small synthetic runs: no training, no model."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lrn import evaluate, predict, provenance  # noqa: E402
from lrnbook import ablations as page  # noqa: E402
from lrnbook import claims  # noqa: E402

N = 60
IDS = [f"{i:05d}" for i in range(N)]
BASE = "lrn_small_seed0"
ABLATIONS = ["lrn_small_finest", "lrn_small_squeeze", "lrn_small_larger"]
SETTINGS = {"size": 64, "width": 0.125, "epochs": 3, "batch_size": 16, "learning_rate": 0.001, "seed": 0,
            "supervision": "all", "run_key": "k"}


def per_image(shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    jaccard = rng.uniform(60, 90, N) + shift
    table = {"id": IDS, "jaccard": jaccard, "hausdorff": rng.uniform(20, 60, N) - shift,
             "jaccard_clean": jaccard + 1, "hausdorff_clean": rng.uniform(10, 40, N)}
    for k in range(1, 7):
        table[f"jaccard_s{k}"] = jaccard - (40 if shift < -5 and k < 6 else 0)
    return pd.DataFrame(table)


def summary_of(table, **settings):
    cells = {c: {"mean": float(table[c].mean()), "std": float(table[c].std(ddof=1)), "text": f"{table[c].mean():.2f}"}
             for c in ("jaccard", "hausdorff", "jaccard_clean", "hausdorff_clean")}
    return {"n": len(table), **cells, "provenance": {"settings": {**SETTINGS, **settings}}}


def history(losses):
    return pd.DataFrame({"epoch": range(len(losses)), "loss": losses, "val_loss": losses,
                         "val_s6_loss": np.asarray(losses) / 6})


def write_run(root, name, table, settings=None, losses=(1.0, 0.6, 0.5), size=16, seconds=60.0, maps=None):
    folder = root / "results" / name
    folder.mkdir(parents=True)
    provenance.write_csv(table, folder / "test_per_image.csv", {})
    (folder / "test_summary.json").write_text(json.dumps(summary_of(table, **(settings or {}))))
    provenance.write_csv(history(list(losses)), folder / "history.csv", {})
    if maps is None:
        maps = np.random.default_rng(len(name)).uniform(0, 1, (N, size, size))
    predict.save_predictions(folder / "predictions.npz", IDS, [maps[:, ::2, ::2], maps])
    (root / "stages" / "fit").mkdir(parents=True, exist_ok=True)
    (root / "stages" / "fit" / f"{name}.json").write_text(json.dumps({"seconds": seconds}))


@pytest.fixture
def profile(tmp_path):
    """A profile folder with a baseline, two more seeds, three ablations (squeeze flat), and no backgrounds run."""
    write_run(tmp_path, BASE, per_image())
    write_run(tmp_path, "lrn_small_seed1", per_image(seed=1))
    write_run(tmp_path, "lrn_small_finest", per_image(-20.0), {"supervision": "finest"})
    write_run(tmp_path, "lrn_small_squeeze", per_image(0.5), {"squeeze_skip": True}, losses=(1.0, 0.98, 0.97))
    write_run(tmp_path, "lrn_small_larger", per_image(1.0), {"size": 96}, size=24, seconds=120.0)
    return tmp_path


def photos(ids):
    rng = np.random.default_rng(3)
    return [(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8), np.pad(np.ones((20, 10), bool), ((10, 10), (10, 10))))
            for _ in ids]


def test_read_runs_keeps_what_exists_and_names_what_is_missing(profile):
    names = [BASE, *ABLATIONS, "lrn_small_backgrounds", BASE]
    runs = page.read_runs(names, profile)
    assert list(runs.summaries) == [BASE, *ABLATIONS, "lrn_small_backgrounds"]
    assert runs.summaries["lrn_small_backgrounds"] is None and "lrn_small_backgrounds" not in runs.tables
    assert list(runs.tables[BASE]["id"]) == IDS and set(runs.histories) == {BASE, *ABLATIONS}
    assert runs.durations == {BASE: 60.0, "lrn_small_finest": 60.0, "lrn_small_squeeze": 60.0,
                              "lrn_small_larger": 120.0, "lrn_small_backgrounds": None}
    text = page.availability_text(runs, names[:-1])
    assert text == (f"Runs with results: {BASE}, {', '.join(ABLATIONS)}. "
                    "Missing (not fitted and scored yet): lrn_small_backgrounds.")


def test_run_names_and_titles():
    assert page.run_named(ABLATIONS, "squeeze") == "lrn_small_squeeze"
    assert page.run_named(ABLATIONS, "backgrounds") is None
    assert page.titles(["lrn_small_finest"]) == {"lrn_small_finest": "LRN supervised on s6 only"}


def test_seed_std_needs_two_seeds_for_a_number(profile):
    runs = page.read_runs([BASE, "lrn_small_seed1"], profile)
    both = page.seed_std(runs.tables, [BASE, "lrn_small_seed1", "lrn_small_seed2"])
    means = [runs.tables[n]["jaccard"].mean() for n in (BASE, "lrn_small_seed1")]
    assert both["jaccard"] == pytest.approx(np.std(means, ddof=1)) and both["runs"] == [BASE, "lrn_small_seed1"]
    one = page.seed_std(runs.tables, [BASE])
    assert np.isnan(one["jaccard"]) and one["runs"] == [BASE]
    assert page.seed_std(runs.tables, []) is None


def test_setting_note_reads_the_provenance_and_the_spread(profile):
    runs = page.read_runs([BASE, "lrn_small_seed1"], profile)
    spread = page.seed_std(runs.tables, [BASE, "lrn_small_seed1"])
    main = summary_of(per_image(), size=224, epochs=50)
    note = page.setting_note(runs.summaries[BASE], main, spread)
    assert "64x64 px, width 0.125, 3 epochs" in note and "224x224 px" in note
    assert f"{spread['jaccard']:.2f} pp" in note and "2 seeds" in note
    assert "spread is unknown" in page.setting_note(runs.summaries[BASE], None, page.seed_std(runs.tables, [BASE]))
    assert page.setting_note(None, main, spread).startswith("**The baseline run is missing**")


def test_the_page_tables_and_verdicts(profile):
    runs = page.read_runs([BASE, *ABLATIONS], profile)
    squeeze = page.squeeze_verdict(runs.tables, runs.histories, BASE, "lrn_small_squeeze")
    assert squeeze[0].startswith("holds: flat learning curve")
    assert "**Verdict: holds" in page.squeeze_text(squeeze) and "`FLAT_CURVE` = 10%" in page.squeeze_text(squeeze)
    assert page.squeeze_verdict(runs.tables, runs.histories, BASE, None) is None
    assert "No squeeze ablation" in page.squeeze_text(None)

    levels = page.finest_levels(runs.tables, runs.summaries, BASE, "lrn_small_finest")
    assert list(levels["level"]) == [f"s{k}" for k in range(1, 7)] and levels["resolution"].iloc[0] == "2x2"
    assert page.finest_levels(runs.tables, runs.summaries, BASE, None) is None

    comparisons = claims.ablation_comparisons(runs.tables, BASE, ABLATIONS, page.titles(ABLATIONS))
    assert "beyond 2x seed std (J / H)" not in comparisons  # the seed spread has its own table
    verdicts = page.seed_table(runs.tables, BASE, [*ABLATIONS, "lrn_small_backgrounds"], {"jaccard": 1.0, "hausdorff": 1.0})
    assert list(verdicts.columns) == ["ablation", "Jaccard gain (pp)", "Hausdorff gain (px)", "verdict"]
    assert verdicts["verdict"].iloc[-1] == "missing: not fitted and scored yet"
    text = page.summary_text(verdicts.iloc[:-1], squeeze, runs.tables, BASE, "lrn_small_finest")
    lines = text.splitlines()
    assert len(lines) == len(ABLATIONS) + 3 and lines[0].startswith("- LRN supervised on s6 only: worse than the baseline")
    assert lines[0] == f"- LRN supervised on s6 only: {verdicts['verdict'].iloc[0]}."  # the table's words, repeated
    assert "s1 (-60.0 pp)" in text and "s6 (-20.0 pp)" in text
    assert page.summary_text(pd.DataFrame(), None, {}, BASE, None).startswith("- One seed per setting")


def test_curves_figure_labels_the_runs(profile):
    runs = page.read_runs([BASE, *ABLATIONS], profile)
    fig = page.curves_figure(runs.histories, BASE, ABLATIONS)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend under both panels
    assert labels == ["baseline", "LRN supervised on s6 only", "LRN with the 1-channel skip squeeze",
                      "LRN with a larger input"]
    assert page.curves_figure({}, BASE, ABLATIONS) is None
    plt.close("all")


def test_photo_scores_come_from_the_stored_finest_maps(profile):
    runs = page.read_runs([BASE, "lrn_small_larger"], profile)
    at_photo = page.photo_scores(runs.tables, [BASE, "lrn_small_larger"], profile, read_photos=photos)
    _, levels = predict.load_predictions(profile / "results" / "lrn_small_larger" / "predictions.npz")
    expected = evaluate.score_at_photo_size(IDS, levels[-1], photos(IDS))
    pd.testing.assert_frame_equal(at_photo["lrn_small_larger"].drop(columns="diagonal"), expected)
    assert at_photo[BASE]["diagonal"].iloc[0] == pytest.approx(50.0)  # a 40 x 30 photo
    assert page.photo_scores(runs.tables, [BASE, None], profile, read_photos=photos) == {}

    table = page.resolution_table(runs.tables, at_photo, runs.summaries, BASE)
    assert list(table["model"]) == ["baseline (64 px input)", "LRN with a larger input (96 px input)"]
    parts = page.split_resolution_table(table)
    assert list(parts) == ["resolution", "resolution_px"]
    assert [len(p.columns) for p in parts.values()] == [5, 3]  # narrow enough for the text column
    assert sorted(c for p in parts.values() for c in p.columns if c != "model") == sorted(set(table.columns) - {"model"})
    text = page.larger_text(runs.tables, at_photo, BASE, "lrn_small_larger")
    assert text.startswith("Differences, positive when the larger input is closer to the truth (Jaccard: larger input "
                           "minus baseline; Hausdorff: baseline minus larger input).")
    assert "At 224x224: Jaccard +1.00 pp" in text
    assert "At the photo's resolution: Jaccard" in text


def test_photo_scores_refuse_predictions_of_other_images(profile):
    runs = page.read_runs([BASE], profile)
    runs.tables[BASE] = runs.tables[BASE].iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="other images"):
        page.photo_scores(runs.tables, [BASE], profile, read_photos=photos)


def test_cost_text_counts_the_known_fits_and_says_nothing_of_the_page():
    text = page.cost_text({"a": 60.0, "b": None, "c": 120.0}, ["a", "b", "c"])
    assert text == "Training: 3.0 min of wall time for 2 of 3 runs (per run in the table above)."
    assert page.cost_text({}, ["a"]).startswith("Training: 0.0 min of wall time for 0 of 1 runs")


def result(j, h):
    """A :func:`lrnbook.claims.compare` result from ``(mean, low, high)`` of each measure."""
    return {key: dict(zip(("mean_diff", "ci_low", "ci_high"), v)) for key, v in (("jaccard", j), ("hausdorff", h))}


SPREAD = {"jaccard": 2.0, "hausdorff": 5.0, "runs": ["a", "b"]}  # twice: 4 pp, 10 px


@pytest.mark.parametrize("j, h, want", [
    ((-6.0, -8.0, -4.0), (-12.0, -15.0, -9.0),
     "worse than the baseline on both measures (beyond twice the seed-to-seed spread on both)"),
    ((+6.0, +4.0, +8.0), (+12.0, +9.0, +15.0),
     "better than the baseline on both measures (beyond twice the seed-to-seed spread on both)"),
    ((-3.0, -4.0, -2.0), (-4.0, -6.0, -2.0),
     "worse than the baseline on both measures (within twice the seed-to-seed spread on both: may be seed noise)"),
    ((+3.0, +2.0, +4.0), (+29.0, +23.0, +36.0),
     "better than the baseline on both measures (beyond twice the seed-to-seed spread on Hausdorff; the Jaccard "
     "difference is within it and may be seed noise)"),
    ((-13.0, -17.0, -10.0), (-5.0, -8.0, -3.0),
     "worse than the baseline on both measures (beyond twice the seed-to-seed spread on Jaccard; the Hausdorff "
     "difference is within it and may be seed noise)"),
    ((-0.3, -2.0, +1.7), (-3.0, -6.0, -0.4),
     "worse on Hausdorff (within twice the seed-to-seed spread: may be seed noise); Jaccard: no difference shown at "
     "this budget"),
    ((+5.0, +4.5, +5.5), (+1.0, -1.0, +3.0),
     "better on Jaccard (beyond twice the seed-to-seed spread); Hausdorff: no difference shown at this budget"),
    ((+5.0, +4.5, +5.5), (-11.0, -14.0, -9.0),
     "mixed: better on Jaccard, worse on Hausdorff (beyond twice the seed-to-seed spread on both)"),
    ((-1.0, -2.0, -0.5), (+3.0, +1.0, +5.0),
     "mixed: better on Hausdorff, worse on Jaccard (within twice the seed-to-seed spread on both: may be seed noise)"),
    ((+1.0, -1.0, +3.0), (-1.0, -3.0, +1.0), "no difference shown at this budget"),
])
def test_the_verdict_weighs_each_settled_difference_against_the_seed_spread(j, h, want):
    assert page.seed_verdict(result(j, h), SPREAD) == want


def test_the_verdict_without_a_seed_spread_says_so():
    r = result((-3.0, -4.0, -2.0), (-4.0, -6.0, -2.0))
    unknown = "worse than the baseline on both measures (seed-to-seed spread unknown)"
    assert page.seed_verdict(r, None) == unknown
    assert page.seed_verdict(r, {"jaccard": float("nan"), "hausdorff": float("nan"), "runs": ["a"]}) == unknown
    assert page.seed_verdict(result((1.0, -1.0, 3.0), (1.0, -1.0, 3.0)), None) == claims.NO_DIFFERENCE


def test_the_seed_note_gives_twice_the_spread_or_says_it_is_unknown():
    assert page.seed_note(SPREAD).startswith("Twice the baseline's std across training seeds of its mean scores is "
                                             "4.00 pp of Jaccard and 10.00 px of Hausdorff.")
    assert "unknown" in page.seed_note(None)
    assert "unknown" in page.seed_note({"jaccard": float("nan"), "hausdorff": float("nan"), "runs": ["a"]})


def levels_table(means, spread=5.0, seed=0):
    """Per-image Jaccard of the six levels around ``means`` (s1..s6), the same photo noise at every level."""
    rng = np.random.default_rng(seed)
    photo = rng.normal(0, spread, N)
    return pd.DataFrame({"id": IDS, **{f"jaccard_s{k}": m + photo + rng.normal(0, 0.5, N)
                                        for k, m in enumerate(means, start=1)}})


def test_the_finest_level_is_placed_among_the_levels():
    low = page.finest_rank_text(levels_table([79, 81, 81, 82, 81, 78.5]))
    assert low.startswith("With every level supervised (the baseline), s6, the map the network outputs, has the lowest "
                          "mean Jaccard of its 6 levels (")
    assert " s4 has the highest (" in low and "above s6 on the same photos: at this setting the finest map scores below" in low
    top = page.finest_rank_text(levels_table([70, 72, 74, 76, 78, 80]))
    assert "has the highest mean Jaccard" in top and "ends on the best mask" in top and "below" not in top
    middle = page.finest_rank_text(levels_table([70, 72, 74, 80, 80.1, 80.05], spread=20.0))
    assert "has the 2nd highest mean Jaccard of its 6 levels" in middle and "s5 has the highest" in middle
    assert middle.endswith("an interval that includes zero: the levels are not told apart on these photos.")
    assert page.finest_rank_text(pd.DataFrame({"id": IDS, "jaccard": 1.0})) == ""


def test_squeeze_claim_shows_the_hausdorff_beside_the_papers_test():
    base, squeezed = per_image(), per_image(shift=0.5)
    squeezed = squeezed.assign(hausdorff=squeezed["hausdorff"] - 20)  # a closer outline
    tables = {"base": base, "squeeze": squeezed}
    histories = {"base": history([1.0, 0.6, 0.5]), "squeeze": history([1.0, 0.5, 0.4])}
    row = page.squeeze_claim(tables, histories, "base", "squeeze").iloc[0]
    assert row["verdict"].startswith("does not hold at this budget")
    assert "Hausdorff gain over the baseline +20.50 px" in row["evidence"]
    flat = {"base": histories["base"], "squeeze": history([1.0, 0.98, 0.97])}
    assert page.squeeze_claim(tables, flat, "base", "squeeze").iloc[0]["verdict"].startswith("holds: flat learning curve")
    assert page.squeeze_claim({}, {}, "base", "squeeze").iloc[0]["verdict"] == "cannot be tested here"
