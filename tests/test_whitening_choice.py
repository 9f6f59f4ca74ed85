"""make model's choice of what lrn whiten does to the shipped model's map."""
import json

import numpy as np
import pandas as pd
import pytest

from lrn import cutout, shipped
from lrn.errors import InputError
from lrnbook import haze_choice, whitening_choice as wc
from test_haze_choice import disk_photo


def test_candidates_are_every_order_refinement_and_ramp_lrn_whiten_can_run():
    found = wc.candidates()
    with_refinement = sum("refine" in order for order in wc.ORDERS)
    without = len(wc.ORDERS) - with_refinement
    assert len(found) == (with_refinement * len(wc.REFINEMENTS) + without) * len(wc.RAMPS)
    assert found["clean, refine r=0.04 eps=0.001, ramp 0.3/0.7"] == ("clean", "refine r=0.04 eps=0.001", "ramp 0.3/0.7")
    assert found["ramp 0.5/0.9"] == ("ramp 0.5/0.9",)
    assert wc.REFINEMENTS["refine r=0.04 eps=0.001"] == cutout.Refinement(0.04, 1e-3)


def means_of(rows):
    """Per-set means for two sets with the same numbers: ``rows`` of (pipeline, J, H, background opacity)."""
    return pd.DataFrame([{"set": s, "pipeline": p, "photos": 3, "jaccard": j, "hausdorff": h, "background_alpha": b,
                          "hazy_share": b, "ms_per_photo": 1.0} for s in ("a", "b") for p, j, h, b in rows])


def test_the_rule_takes_the_least_haze_within_both_margins():
    means = means_of([("best J, hazy", 95.0, 20.0, 3.0),
                      ("near, clear", 94.6, 20.8, 1.0),
                      ("clearest, outline worse", 94.9, 21.5, 0.5),
                      ("clear, Jaccard too low", 94.0, 20.0, 0.2)])
    assert wc.choose(means) == "near, clear"
    apart = means_of([("best J", 95.0, 30.0, 1.0), ("best H", 90.0, 20.0, 1.0), ("middle", 93.0, 25.0, 0.1)])
    assert wc.choose(apart) == "best J"  # none within both margins: rank sums 3, 3, 4; the tie to Jaccard
    with pytest.raises(InputError, match="no pipeline"):
        wc.choose(means_of([]).reindex(columns=means.columns))


def test_the_cards_entry_is_what_lrn_cutout_reads():
    pipelines = wc.candidates()
    entry = wc.whitening(pipelines["refine r=0.02 eps=0.01, clean, ramp 0.4/0.8"])
    assert entry == {"steps": ["refine", "clean"], "ramp": [0.4, 0.8],
                     "refinement": {"radius_fraction": 0.02, "eps": 0.01, "coarse_side": 150}}
    assert cutout.chosen_whitening(entry) == (("refine", "clean"), cutout.Refinement(0.02, 0.01), 0.4, 0.8)
    assert wc.whitening(pipelines["clean, ramp 0.3/0.7"])["steps"] == ["clean"]


@pytest.mark.skipif(not shipped.MODEL_FILE.is_file(), reason="the shipped model is missing")
def test_choose_for_shipped_scores_the_installed_model_and_writes_the_card(monkeypatch, tmp_path):
    card = tmp_path / "card.json"
    card.write_text(shipped.CARD_FILE.read_text())
    monkeypatch.setattr(shipped, "CARD_FILE", card)
    photo, truth, _ = disk_photo()
    sets = {name: (["x"], [(photo, truth)]) for name in haze_choice.SET_NAMES}
    refinements = dict(list(wc.REFINEMENTS.items())[:2])
    pipelines = wc.candidates(orders=(("clean", "refine"), ()), refinements=refinements, ramps=((0.3, 0.7),))
    monkeypatch.setattr(wc, "REFINEMENTS", refinements)
    monkeypatch.setattr(wc, "candidates", lambda: pipelines)
    entry = wc.choose_for_shipped(sets)
    written = json.loads(card.read_text())
    assert written["whitening"] == entry and written["bytes"] == shipped.card()["bytes"]
    assert entry["pipeline"] in pipelines and entry["photos"] == {name: 1 for name in haze_choice.SET_NAMES}
    assert {row["pipeline"] for row in entry["candidates"]} == set(pipelines)
    jaccards = [row["jaccard"] for row in entry["candidates"]]
    assert jaccards == sorted(jaccards, reverse=True)
    assert cutout.chosen_whitening(entry)[0] == tuple(entry["steps"])


def test_named_refinements_refine_with_their_own_settings():
    photo, _, prob = disk_photo()
    wide = cutout.Refinement(0.08, 1e-2)
    got = haze_choice.pipeline_alpha(("clean", "wide", "ramp 0.3/0.7"), photo, prob, refinements={"wide": wide})
    np.testing.assert_allclose(got, cutout.edge_alpha(wide.apply(photo, cutout.clean_probability(prob)), 0.3, 0.7),
                               atol=1e-6)


def test_the_haze_page_quotes_the_cards_choice_from_its_numbers(monkeypatch):
    rows = [{"pipeline": f"p{k}", "jaccard": 95.0 - 0.2 * k, "hausdorff": 20.0 - k, "background_alpha": 2.0 - 0.1 * k,
             "hazy_share": 3.0, "ms_per_photo": 40.0} for k in range(12)]
    entry = {"pipeline": "p2", "photos": {"a": 60, "b": 60}, "candidates": rows}
    table = wc.card_table(entry)  # best J p0; best H p11; within 0.5 points of 95 and 1 px of 9: none
    assert list(table["candidate"]) == ["p0", "p11"] and list(table["within both margins"]) == ["no", "no"]
    rows[1]["hausdorff"] = 9.5
    table = wc.card_table(entry)
    assert list(table["candidate"]) == ["p0", "p1", "p11"] and list(table["within both margins"]) == ["no", "yes", "no"]
    entry["pipeline"] = "p1"
    assert wc.card_table(entry)["candidate"][1] == "p1 \u2190 chosen"
    assert wc.card_table(entry)["Jaccard (%)"][0] == "95.00"
    text = wc.card_text(entry)
    assert text.startswith("`make model` scored 12 candidates for the shipped model on 120 validation photos (2 sets). "
                           "The best mean Jaccard is 95.00 % (*p0*), the best mean Hausdorff distance 9.00 px (*p11*); "
                           "1 candidate is within 0.5 points and 1 px of them. The rule chose *p1*: mean Jaccard "
                           "94.80 %, Hausdorff 9.50 px, background opacity 1.90 %")
    monkeypatch.setattr(haze_choice, "WHITEN", "p1")
    assert text + " Among this page's pipelines the same rule picks it too." == wc.card_text(entry, "p1")
    assert "which `lrn whiten` cannot run" in wc.card_text(entry, "clean, matting")
    assert "`make model` scored it too" in wc.card_text(entry, "clean, refine, ramp 0.5/0.9")


def test_the_summary_line_names_the_choice_and_the_number_of_candidates():
    entry = {"pipeline": "clean, refine r=0.04 eps=0.001, ramp 0.3/0.7", "candidates": [{}] * 78}
    assert wc.summary_line(entry).startswith("- `make model` chose *clean, refine r=0.04 eps=0.001, ramp 0.3/0.7* "
                                             "for `lrn whiten` among 78 candidates")
