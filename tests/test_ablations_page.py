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
    text = page.summary_text(comparisons, squeeze, runs.tables, BASE, "lrn_small_finest")
    lines = text.splitlines()
    assert len(lines) == len(ABLATIONS) + 3 and lines[0].startswith("- LRN supervised on s6 only: ")
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
    text = page.larger_text(runs.tables, at_photo, BASE, "lrn_small_larger")
    assert text.startswith("Larger input minus baseline") and "At 224x224: Jaccard +1.00 pp" in text
    assert "At the photo's resolution: Jaccard" in text


def test_photo_scores_refuse_predictions_of_other_images(profile):
    runs = page.read_runs([BASE], profile)
    runs.tables[BASE] = runs.tables[BASE].iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="other images"):
        page.photo_scores(runs.tables, [BASE], profile, read_photos=photos)


def test_cost_text_counts_the_known_fits():
    text = page.cost_text({"a": 60.0, "b": None, "c": 120.0}, ["a", "b", "c"], 12.4, True)
    assert text == ("Training: 3.0 min of wall time for 2 of 3 runs (per run in the table above). This page (reading "
                    "results, scoring two runs at the photo resolution): 12 s.")
    assert "nothing at the photo resolution" in page.cost_text({}, ["a"], 1.0, False)


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
