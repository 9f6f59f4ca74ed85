"""The haze page's helpers: pipelines, their scores and the choice rule."""
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from lrn import cutout, shipped
from lrn.errors import InputError
from lrnbook import haze_choice as hc


def disk_photo(h=120, w=90):
    """A bright disk (the person) on a dark textured background, its truth and a blurred map of it."""
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - 70) / 35) ** 2 + ((xx - 45) / 28) ** 2 < 1
    photo[truth] = (220, 180, 160)
    prob = ndimage.gaussian_filter(truth.astype(np.float32), 4)
    prob[5:15, 5:15] = 0.2  # haze: a faint blob on the background
    return photo, truth, np.clip(prob, 0, 1)


@pytest.mark.skipif(not shipped.MODEL_FILE.is_file(), reason="the shipped model is missing")
def test_the_pipeline_lrn_whiten_runs_is_the_one_the_page_names():
    photo, _, _ = disk_photo()
    model, _ = cutout.load()
    assert hc.WHITEN in hc.PIPELINES
    assert hc.whiten_pipeline(model, [photo]) == hc.WHITEN
    raw = cutout.segment(model, photo)
    written = cutout.cut_out(model, photo, "mask", clean=False)  # lrn whiten --raw
    alpha = hc.pipeline_alpha(hc.PIPELINES["refine, ramp 0.3/0.7"], photo, raw)
    np.testing.assert_array_equal(np.rint(alpha * 255).astype(np.uint8), written)


def test_steps_run_in_order_and_shared_prefixes_once():
    photo, _, prob = disk_photo()
    done = {}
    a = hc.pipeline_alpha(("clean", "refine", "ramp 0.3/0.7"), photo, prob, done)
    expected = cutout.edge_alpha(cutout.DEFAULT_REFINEMENT.apply(photo, cutout.clean_probability(prob)), 0.3, 0.7)
    np.testing.assert_allclose(a, expected, atol=1e-6)
    assert set(done) == {("clean",), ("clean", "refine"), ("clean", "refine", "ramp 0.3/0.7")}
    first = done[("clean",)][0]
    hc.pipeline_alpha(("clean", "refine"), photo, prob, done)
    assert done[("clean",)][0] is first  # not computed again
    assert hc.pipeline_seconds(("clean", "refine"), done) >= done[("clean",)][1]
    other = hc.pipeline_alpha(("refine", "clean", "ramp 0.3/0.7"), photo, prob)
    assert not np.allclose(other, a)  # the order matters
    with pytest.raises(InputError, match="unknown step"):
        hc.apply_step("blur", photo, prob)
    with pytest.raises(InputError, match="ramp"):
        hc.ramp_band("ramp high")
    assert hc.ramp_band("ramp 0.4/0.8") == (0.4, 0.8)
    assert hc.ramp_band(hc.ramp_step((0.25, 0.75))) == (0.25, 0.75) and hc.ramp_step((0.3, 0.7)) == "ramp 0.3/0.7"


def test_cleaning_and_a_ramp_remove_the_haze_the_default_keeps():
    photo, truth, prob = disk_photo()
    today = hc.photo_scores(hc.pipeline_alpha(("refine",), photo, prob), truth)
    ramped = hc.photo_scores(hc.pipeline_alpha(("clean", "refine", "ramp 0.3/0.7"), photo, prob), truth)
    assert ramped["background_alpha"] < today["background_alpha"] and ramped["hazy_share"] < today["hazy_share"]
    perfect = hc.photo_scores(truth.astype(np.float32), truth)
    assert perfect["background_alpha"] == 0.0 and perfect["hazy_share"] == 0.0
    # at 224x224 the truth is resized nearest and the opacity bilinearly: a pixel of the edge may move
    assert perfect["jaccard"] > 99 and perfect["hausdorff"] <= 1.5


def test_closed_form_matting_finds_the_disk_and_falls_back_without_a_trimap():
    pytest.importorskip("pymatting")
    photo, truth, prob = disk_photo()
    alpha = hc.closed_form_matte(photo, prob, side=90)
    assert alpha.shape == truth.shape and alpha.dtype == np.float32 and 0 <= alpha.min() and alpha.max() <= 1
    assert hc.photo_scores(alpha, truth)["jaccard"] > 95
    flat = np.full(truth.shape, 0.5, np.float32)  # neither sure person nor sure background
    np.testing.assert_array_equal(hc.closed_form_matte(photo, flat), cutout.edge_alpha(flat, *hc.TRIMAP))


def means_table(rows):
    """Per-set means from ``{pipeline: [(jaccard, background_alpha) per set]}``."""
    out = []
    for name, per_set in rows.items():
        for k, (j, b) in enumerate(per_set):
            out.append({"set": f"set {k}", "pipeline": name, "photos": 10, "jaccard": j, "hausdorff": 10.0,
                        "background_alpha": b, "hazy_share": 2 * b, "ms_per_photo": 1.0})
    return pd.DataFrame(out)


def test_the_rule_takes_the_least_haze_among_the_near_best_jaccards():
    means = means_table({
        "best J": [(91.0, 3.0), (89.0, 3.0)],        # mean J 90.0, haze 3.0
        "near, hazy": [(90.0, 2.0), (89.2, 2.0)],    # 89.6, within 0.5 of 90.0
        "near, clean": [(89.6, 1.0), (89.4, 1.0)],   # 89.5: exactly at the margin, least haze among the near
        "far, cleanest": [(89.0, 0.1), (89.0, 0.1)],  # 89.0: too far
    })
    assert hc.choose(means) == "near, clean"
    assert hc.choose(means, margin=1.0) == "far, cleanest"
    assert hc.choose(means, margin=0.0) == "best J"
    tie = means_table({"a": [(90.0, 1.0)], "b": [(90.2, 1.0)]})
    assert hc.choose(tie) == "b"  # equal haze: the larger Jaccard
    assert "0.5 points" in hc.RULE
    text = hc.choice_text(means, "near, clean", "best J")
    assert "*near, clean*" in text and "replaces" in text and "1.00 %" in text


def test_the_table_has_every_set_and_the_mean_over_them():
    means = means_table({"a": [(90.0, 1.0), (80.0, 3.0)], "b": [(85.0, 2.0), (85.0, 2.0)]})
    table = hc.results_table(means)
    assert list(table["pipeline"]) == ["a"] * 3 + ["b"] * 3
    assert table.loc[2, "set"] == "mean over the sets" and table.loc[2, "Jaccard (%)"] == "85.00"
    assert table.loc[2, "background opacity (%)"] == "2.00"


def test_subsample_spreads_evenly_and_keeps_short_lists():
    assert hc.subsample(list("abcdefghi"), 3) == ["a", "e", "i"]
    assert hc.subsample(["a", "b"], 5) == ["a", "b"]
    settings = {"val_ids": ["eg1800/00003", "ccp_head_torso/0003", "ccp_full/0003", "ccp/0004@0.5"]}
    assert hc.validation_ids(settings) == {"EG1800": ["00003"], "CCP": ["0003"]}


def test_the_opaque_lower_bound_is_reached_when_the_rest_sits_at_the_threshold():
    # 20 % of the background at opacity 0.9, the rest at 0.05: mean 0.18 + 0.04 = 0.22
    assert hc.opaque_lower_bound(22.0, 20.0) == pytest.approx(90.0)
    assert hc.opaque_lower_bound(1.0, 50.0) == 0.0  # a mean that low says nothing
    assert np.isnan(hc.opaque_lower_bound(1.0, 0.0))


def test_the_sets_paragraph_follows_its_numbers():
    # set 2 is the small-people set; hazy_share = 2 x background_alpha in means_table
    means = means_table({"a": [(90.0, 1.0), (88.0, 1.0), (40.0, 20.0)], "b": [(89.0, 1.0), (87.0, 1.0), (45.0, 20.0)]})
    text = hc.sets_text(means, "a", small="set 2")
    assert text.startswith("The sets differ more than the pipelines do: with *a* the mean Jaccard index spans 50.0 points")
    assert "no set moves more than 5.0 points" in text
    assert "is 40.0 to 45.0 % whatever the pipeline, the lowest of the sets (the others: 88.0 to 90.0 %" in text
    assert hc.haze_extremes_text(means, "a") in text  # the haze of the most and the least hazy set
    close = means_table({"a": [(90.0, 1.0), (89.0, 1.0), (88.0, 1.0)], "b": [(80.0, 1.0), (89.0, 1.0), (88.5, 1.0)]})
    text = hc.sets_text(close, "a", small="set 2")
    assert text.startswith("The pipelines move the Jaccard index as much as the sets do") and "not the lowest" not in text


def test_the_haze_is_quoted_on_the_most_and_the_least_hazy_set():
    # hazy_share = 2 x background_alpha: 40 % of set 2's background at 0.2-0.5 on average, nothing solid
    means = means_table({"a": [(90.0, 1.0), (88.0, 3.0), (40.0, 20.0)], "b": [(89.0, 9.0), (87.0, 8.0), (45.0, 0.5)]})
    text = hc.haze_extremes_text(means, "a")
    assert text == ("With the chosen pipeline the background keeps the most opacity on *set 2*: 20.0 % on average, with "
                    "40.0 % of it above 5 % opacity. The least is on *set 0*: 1.0 % on average, with 2.0 % above 5 % "
                    "opacity.")
    flipped = hc.haze_extremes_text(means, "b")  # another pipeline: the most and the least swap sides
    assert "the most opacity on *set 0*: 9.0 %" in flipped and "The least is on *set 2*: 0.5 %" in flipped
    # 30 % of set 0's background above 0.05 at a mean of 30 %: those pixels are 88 % opaque at least
    sure = means.assign(background_alpha=np.where(means["set"] == "set 0", 30.0, 1.0),
                        hazy_share=np.where(means["set"] == "set 0", 30.0, 2.0))
    text = hc.haze_extremes_text(sure, "a")
    assert "the most opacity on *set 0*: 30.0 % on average, with 30.0 % of it above 5 % opacity. Those pixels are at " \
           "least 88 % opaque on average: background kept as solid patches, not a faint haze" in text
    assert "solid" not in hc.haze_extremes_text(means, "a")
    one = means_table({"a": [(90.0, 4.0)]})
    assert hc.haze_extremes_text(one, "a").startswith("With the chosen pipeline the background keeps the most opacity on "
                                                      "its one set, *set 0*: 4.0 %")
    assert "least" not in hc.haze_extremes_text(one, "a")
    empty = means.assign(background_alpha=np.nan)
    assert hc.haze_extremes_text(empty, "a") == "No set has a background pixel to measure the haze on."


def test_the_summary_names_the_choice_the_haze_left_and_what_runs_it():
    means = means_table({"old": [(90.0, 8.0), (80.0, 4.0)], "new": [(90.2, 2.0), (80.0, 1.0)]})
    text = hc.summary_text(means, "new", "new", tryit="new", default="old")
    lines = text.splitlines()
    assert lines[0] == f"- Rule, fixed before the scores: {hc.RULE}"
    assert lines[1].startswith("- Chosen: *new*; mean background opacity 6.00 % → 1.50 %, background above 5 % opacity "
                               "12.00 % → 3.00 %, Jaccard 85.00 % → 85.10 %") and "means over the 2 validation sets" in lines[1]
    assert lines[2] == ("- Left on the background by the chosen pipeline: most on *set 0* (2.00 % mean opacity, 4.00 % "
                        "above 5 %), least on *set 1* (1.00 % mean opacity, 2.00 % above 5 %).")
    assert lines[3] == "- `lrn whiten` and the Try-it page run *new*, the chosen pipeline."
    assert "cost" not in text and " min" not in text  # nothing about the page's own execution
    other = hc.summary_text(means, "new", None, tryit="old", default="old").splitlines()
    assert other[-2:] == ["- `lrn whiten` runs none of the pipelines above.",
                          "- The Try-it page runs *old*, not the chosen *new*."]
    assert "It is the old default." in hc.summary_text(means, "old", "old", tryit="old", default="old")
    sure = means.assign(hazy_share=np.where(means["set"] == "set 0", 30.0, 1.0),
                        background_alpha=np.where(means["set"] == "set 0", 30.0, 0.5))  # 88 % opaque at least
    assert "most on *set 0* (30.00 % mean opacity, 30.00 % above 5 %, mostly solid patches)" in hc.extremes_clause(sure, "new")


def test_the_figure_shows_the_hazy_photos_and_a_typical_one():
    table = pd.DataFrame({"id": list("abcdef") * 2, "pipeline": ["old"] * 6 + ["new"] * 6,
                          "background_alpha": [5.0, 40.0, 1.0, np.nan, 20.0, 3.0] + [0.0] * 6})
    assert hc.hazy_photos(table, "old", 2) == ["b", "e"]
    assert hc.typical_photo(table, "old") == "a"  # 1, 3, 5, 20, 40: the median, NaN left out
    assert hc.typical_photo(table.drop(index=4), "old") == "f"  # 1, 3, 5, 40: the lower middle


def test_the_figure_sentence_names_every_photo_the_chosen_pipeline_makes_hazier():
    table = pd.DataFrame({"id": ["a", "b"] * 2, "pipeline": ["old", "old", "new", "new"],
                          "background_alpha": [30.0, 10.0, 31.0, 2.0]})
    text = hc.shown_change_text(table, ["a", "b"], "old", "new")
    assert text == ("On 1 of the 2 photos shown the background opacity falls from *old* to *new* (CCP b: 10.0 % → "
                    "2.0 %); it does not on CCP a: 30.0 % → 31.0 %.")
    assert "does not" not in hc.shown_change_text(table, ["b"], "old", "new")
