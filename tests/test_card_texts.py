"""The model card's and the peer page's sentences, on small synthetic tables: they follow the numbers,
including when the result flips."""
import numpy as np
import pandas as pd
import pytest

from lrnbook import card_sets, edges_page


def scored(jaccard=90.0, hausdorff=20.0, seed=0, n=40):
    """Per-photo cleaned scores with a little noise (so that a bootstrap interval has a width)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"{i:04d}" for i in range(n)],
                         "jaccard_clean": jaccard + rng.normal(0, 0.5, n),
                         "hausdorff_clean": hausdorff + rng.normal(0, 0.5, n)})


def test_the_summary_names_who_leads_where_and_by_how_much():
    tables = {"EG1800": {"ours": scored(jaccard=88.0, hausdorff=34.0), "peer": scored(96.0, 19.0, seed=1)},
              "CCP": {"ours": scored(jaccard=91.0, hausdorff=33.0), "peer": scored(95.0, 28.0, seed=2)},
              "Small": {"ours": scored(jaccard=66.0, hausdorff=31.0), "peer": scored(59.0, 47.0, seed=3)}}
    text = card_sets.versus_summary(tables, "ours", "peer")
    assert text.startswith("By the paired 95 % intervals of the cleaned scores, peer leads on *EG1800* and *CCP* (Jaccard "
                           "by 4.") and "; Hausdorff by 5." in text
    assert "; ours leads on *Small* (Jaccard by 6.99 pp, 95 % interval +6.76 to +7.21; Hausdorff by 15.77 px" in text
    flipped = card_sets.versus_summary(tables, "peer", "ours")  # the same result, seen from the other side
    assert "peer leads on *EG1800* and *CCP*" in flipped and "ours leads on *Small*" in flipped
    for line in (text, flipped):
        for low, high in [(float(a), float(b)) for a, b in
                          __import__("re").findall(r"interval ([+-][\d.]+) to ([+-][\d.]+)", line)]:
            assert 0 < low < high  # always the leader's gain: positive
    # the gains printed agree with the table of means
    gap = tables["Small"]["ours"]["jaccard_clean"].mean() - tables["Small"]["peer"]["jaccard_clean"].mean()
    assert f"Jaccard by {gap:.2f} pp" in text


def test_the_summary_says_when_the_measures_disagree_or_show_nothing():
    mixed = {"Small": {"ours": scored(jaccard=70.0, hausdorff=40.0), "peer": scored(jaccard=60.0, hausdorff=30.0)}}
    text = card_sets.versus_summary(mixed, "ours", "peer")
    assert text.startswith("By the paired 95 % intervals of the cleaned scores, on *Small* the two measures do not "
                           "agree (Jaccard favours ours by 10.")
    assert "; Hausdorff favours peer by 10." in text
    same = {"EG1800": {"ours": scored(seed=1), "peer": scored(seed=2)}}
    assert card_sets.versus_summary(same, "ours", "peer") == (
        "By the paired 95 % intervals of the cleaned scores, neither model leads on *EG1800* (every interval includes 0).")
    half = {"EG1800": {"ours": scored(jaccard=95.0, seed=1), "peer": scored(seed=2)}}
    assert "Hausdorff: no difference shown, the interval includes 0" in card_sets.versus_summary(half, "ours", "peer")
    raw = {k: {m: t.rename(columns=lambda c: c.removesuffix("_clean")) for m, t in v.items()} for k, v in mixed.items()}
    assert card_sets.versus_summary(raw, "ours", "peer", clean=False).startswith("By the paired 95 % intervals of the raw")


def test_versus_text_and_summary_agree():
    ours = scored(jaccard=92.0)
    wobble = np.where(np.arange(len(ours)) % 2 == 0, 1.0, -1.0)  # Hausdorff: a difference whose mean is 0
    peer = ours.assign(jaccard_clean=ours["jaccard_clean"] - 2 + 0.1 * wobble,
                       hausdorff_clean=ours["hausdorff_clean"] + wobble)
    tables = {"A": {"ours": ours, "peer": peer}}
    text = card_sets.versus_text(tables, "ours", "peer")
    assert "% Jaccard, better: ours (gain of ours +2.00" in text
    assert "px Hausdorff, better: neither (the interval includes 0)" in text
    assert card_sets.versus_summary(tables, "ours", "peer") == (
        "By the paired 95 % intervals of the cleaned scores, on *A* the two measures do not agree (Jaccard favours ours "
        "by 2.00 pp, 95 % interval +1.97 to +2.03; Hausdorff: no difference shown, the interval includes 0).")


def test_names_and_margins():
    assert card_sets.names_text(["A"]) == "A"
    assert card_sets.names_text(["A", "B", "C"]) == "A, B and C"
    results = [{"winner": "b", "gain": -4.27, "low": -5.0, "high": -3.5},
               {"winner": "b", "gain": -10.17, "low": -11.0, "high": -9.0}]
    assert card_sets.margin_text(results, "pp") == "by 4.27 to 10.17 pp"
    assert card_sets.margin_text(results[:1], "pp") == "by 4.27 pp, 95 % interval +3.50 to +5.00"
    assert card_sets.margin_text([{**results[0], "winner": "a", "gain": 4.27, "low": 3.5, "high": 5.0}] * 2,
                                 "px") == "by 4.27 px"


def long_table(rows):
    return pd.DataFrame([{"id": str(i), "option": o, "jaccard": j, "hausdorff": h, "seconds": 0.01}
                         for o, values in rows.items() for i, (j, h) in enumerate(values)])


def crop_case(refined_cut):
    """A 20x20 truth with the person on the left half; the stretched map leaves out 2 columns, the refined
    one ``refined_cut`` columns."""
    truth = np.zeros((20, 20), bool)
    truth[:, :10] = True
    before = np.zeros((20, 20), np.float32)
    before[:, :8] = 1.0
    after = np.zeros((20, 20), np.float32)
    after[:, :10 - refined_cut] = 1.0
    return truth, before, after


def test_the_refinement_sentence_reads_the_crops_and_the_set_mean():
    gains = long_table({"cleaned": [(88.0, 100.0), (90.0, 90.0)], "g": [(89.0, 99.0), (90.5, 89.0)]})
    truth, before, after = crop_case(refined_cut=4)  # refinement cuts further into the person
    boxes = {"hair": (0, 10, 0, 20), "shoulder": (10, 20, 0, 20)}
    text = edges_page.refinement_text(truth, before, after, boxes, gains, "g", "EG1800 official test")
    assert text.startswith("On this photo, refinement leaves out more of the person in both crops, and keeps no "
                           "more of the background than without it (none) in both crops.")
    assert "it can cut into the person" in text
    assert text.endswith("Over the 2 photos of *EG1800 official test*, refinement changes the mean Jaccard index by "
                         "+0.75 points: one photo's crops do not show the set's mean.")
    # flipped: refinement gives back part of the person; the crops and the mean agree
    truth, before, after = crop_case(refined_cut=1)
    text = edges_page.refinement_text(truth, before, after, boxes, gains, "g", "EG1800 official test")
    assert text.startswith("On this photo, refinement leaves out less of the person in both crops")
    assert "cut into" not in text and text.endswith("by +0.75 points.")
    # and a mean that falls while one crop shows refinement cutting in
    losses = long_table({"cleaned": [(90.0, 90.0)], "g": [(89.0, 91.0)]})
    truth, before, after = crop_case(refined_cut=4)
    text = edges_page.refinement_text(truth, before, after, {"hair": (0, 20, 0, 20)}, losses, "g", "S")
    assert "in the hair crop" in text and text.endswith("by -1.00 points.")


def test_the_refinement_sentence_names_crops_by_what_they_show():
    assert edges_page.compare_word(49.44, 46.2) == "more" and edges_page.compare_word(0.04, 0.0) == "none"
    assert edges_page.compare_word(3.04, 3.0) == "as much"
    assert edges_page.compare_word(1.0, 2.0) == "less"
    assert edges_page.crops_named(["hair"], 2) == "the hair crop"
    assert edges_page.crops_named(["hair", "shoulder"], 3) == "the hair and shoulder crops"
    assert edges_page.crops_named(["a", "b", "c"], 3) == "every crop"
    truth, before, after = crop_case(refined_cut=4)
    truth[:, 10:] = True  # a crop with no background: that measure is left out of the sentence
    text = edges_page.refinement_text(truth, before, after, {"all": (0, 20, 0, 20)},
                                      long_table({"cleaned": [(90.0, 1.0)], "g": [(90.0, 1.0)]}), "g", "S")
    assert "background" not in text.split(".")[0]


def test_the_refinement_is_looked_at_on_the_eg1800_validation_portraits_and_says_so():
    ids, photos = edges_page.choice_photos(["eg1800/00017", "ccp_full/0001", "small/0003@0004", "eg1800/00020"])
    assert ids == ["00017", "00020"] and photos == "EG1800 validation portraits"
    assert edges_page.choice_photos(["00017", "00018"]) == (["00017", "00018"], "validation photos")
    val = long_table({"cleaned": [(90, 50), (92, 40)], "g": [(91, 48), (93, 38)]})
    assert edges_page.standing_text(val, "g", photos).startswith("On the 2 EG1800 validation portraits, the cleaned")


@pytest.mark.parametrize("model", ["shipped LRN", "MediaPipe"])
def test_each_model_gets_its_own_edges_table(model):
    scores = {"A": {"shipped LRN": long_table({"raw": [(80, 10)] * 2, "cleaned": [(81, 9)] * 2}),
                    "MediaPipe": long_table({"raw": [(90, 5)] * 2, "cleaned": [(91, 4)] * 2})}}
    table = edges_page.sets_table(scores, model)
    want = "80.00 ± 0.00" if model == "shipped LRN" else "90.00 ± 0.00"
    assert table.loc[0, "Jaccard (%)"] == want and table["photos"].tolist() == ["A (2)", ""]


def test_whitened_text_names_the_most_and_least_hazy_set_beside_the_peer():
    def means(values):
        return pd.DataFrame({"set": ["EG1800", "CCP", "small"], "background_alpha": values,
                             "hazy_share": [v * 1.2 for v in values]})

    text = card_sets.whitened_text({"shipped LRN": means([17.33, 7.05, 2.46]), "MediaPipe": means([4.60, 2.92, 3.94])})
    assert text == ("The shipped LRN leaves the most background opacity on *EG1800*: 17.33 % on average, 20.80 % of "
                    "the background above 0.05 (MediaPipe 4.60 % on the same photos). The least is on *small*: 2.46 %.")
    flipped = card_sets.whitened_text({"shipped LRN": means([1.0, 7.05, 2.46])})
    assert flipped.startswith("The shipped LRN leaves the most background opacity on *CCP*: 7.05 %")
    assert "The least is on *EG1800*: 1.00 %." in flipped


def test_a_bound_that_is_not_zero_never_prints_as_zero():
    assert [card_sets.bound_text(x) for x in (1.2999, 0.004, -0.0004, 0.0, -2.0)] == [
        "+1.30", "+0.004", "-0.0004", "+0.00", "-2.00"]


def test_the_files_fact_names_the_packings_refused_before_the_one_used():
    from lrnbook import model_card

    card = {"file": "m.keras", "bytes": 29_300_000, "packing": {"keras": "float16", "tflite": None},
            "packing_fidelity": {"keras": {"inputs": 32, "mask_jaccard_min": 99.94}},
            "packings_refused": [".keras float32 + .tflite float32: the .keras file alone is 63.5 MB"]}
    text = model_card.files_text(card, 50 * 10**6, 0)
    assert text.startswith("m.keras (29.3 MB, weights float16) alone, within the 50 MB")
    assert text.endswith("(refused before it: .keras float32 + .tflite float32: the .keras file alone is 63.5 MB)")
    assert "refused" not in model_card.files_text({**card, "packings_refused": []}, 50 * 10**6, 0)


def test_a_refusal_recorded_as_a_dict_by_an_older_card_reads_as_the_limits_missed():
    from lrnbook import model_card

    measured = {"keras": {"mask_jaccard_min": 99.99, "map_mean_abs_max": 6.5e-05, "map_max_abs": 0.013, "inputs": 32},
                "tflite": {"mask_jaccard_min": 91.76, "map_mean_abs_max": 0.0039, "map_max_abs": 0.72, "inputs": 32}}
    old = f".keras float16 + .tflite int8: outside the tolerance ({measured})"
    text = model_card.refusal_text(old)
    assert text.startswith(".keras float16 + .tflite int8: outside the tolerance (.tflite file's masks as close as "
                           "Jaccard 91.8 % on the worst of 32 photos")
    assert "{" not in text and ".keras file's" not in text, "only the file that missed a limit is named"
    kept = ".keras float32 + .tflite float32: the .keras file alone is 63.5 MB"
    assert model_card.refusal_text(kept) == kept
