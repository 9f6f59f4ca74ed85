"""Sentences, captions and pictures that a reader reads: computed from what they describe."""
import numpy as np
import pandas as pd

from lrnbook import ablations, card_sets, cutout_page, model_card, peer, plots, tryit, widgets


def test_the_cleaning_fact_says_what_the_default_pipeline_does_and_what_the_card_decides(monkeypatch):
    from lrn import cutout

    monkeypatch.setattr(cutout, "WHITEN_STEPS", ("clean", "refine"))
    monkeypatch.setattr(cutout, "LOW", 0.3)
    for clean in (True, False):  # lrn.cutout.WHITEN_STEPS by default, whatever the card's clean (lrn.cutout.opacity)
        assert model_card.clean_text(clean).startswith("yes: by default the map keeps its largest region, holes "
                                                       "filled (clean, refine, ramp 0.3/")
        assert "--raw turns it off" in model_card.clean_text(clean)
    assert model_card.clean_text(True).endswith("With --refine none the map is cleaned too (chosen on validation photos)")
    assert "--refine none the map is used as it is, every predicted region kept" in model_card.clean_text(False)
    monkeypatch.setattr(cutout, "WHITEN_STEPS", ("refine", "clean"))
    assert model_card.clean_text(True).startswith("yes: by default the refined matte keeps its largest region")
    monkeypatch.setattr(cutout, "WHITEN_STEPS", ("refine",))
    assert model_card.clean_text(True).startswith("no: by default the map is refined and ramped, every predicted "
                                                  "region kept (refine, ramp 0.3/")


def test_the_box_plot_legend_says_how_each_setting_is_fed_and_whether_it_is_cleaned():
    labels = {"pad_model": "EG1800 + CCP framings, letterboxed"}
    assert cutout_page.setting_label("pad_model", "pad", False, labels) == \
        "EG1800 + CCP framings, letterboxed \u2014 fed letterboxed, not cleaned"
    assert cutout_page.setting_label("old", "squash", True, labels) == "old \u2014 fed squashed, cleaned"
    scores = pd.DataFrame({"candidate": "old", "fit": "squash", "clean": True, "set": ["EG1800"] * 3 + ["CCP full frame"] * 2,
                           "id": list("abcde"), "jaccard": 90.0, "hausdorff": 10.0})
    caption = cutout_page.distribution_caption(scores, [("old", "squash", True)], labels)
    assert "(EG1800: 3, CCP full frame: 2 photos)" in caption and "old \u2014 fed squashed, cleaned" in caption


def test_the_peer_agreement_sentence_counts_the_photos_whose_scores_differ():
    table = pd.DataFrame({"id": ["a", "b", "c"], "jaccard": [90.0, 80.0, 70.0], "hausdorff": [10.0, 20.0, 30.0],
                          "jaccard_clean": [91.0, 81.0, 71.0], "hausdorff_clean": [9.0, 19.0, 29.0]})
    assert peer.agreement_text(table, table.copy()).endswith("are equal, photo by photo.")
    moved = table.assign(hausdorff=[10.0, 20.5, 30.0])
    assert "differ on 1 photos (by up to 0.00 pp of Jaccard and 0.50 px of Hausdorff distance)" in \
        peer.agreement_text(table, moved)


def test_peer_maps_take_the_peer_pages_path_straight_to_224():
    class Fake:
        def predict_batch(self, images, size=224):
            return np.full((len(images), size, size), images.shape[1] / 1000, np.float32)

    maps = card_sets.peer_maps(Fake(), [(np.zeros((300, 200, 3), np.uint8), None), (np.zeros((400, 300, 3), np.uint8), None)])
    assert maps.shape == (2, 224, 224) and np.allclose(maps[:, 0, 0], [0.3, 0.4])
    assert card_sets.peer_maps(Fake(), []).shape == (0, 224, 224)


def test_the_squeeze_finding_reads_its_verdict_and_the_paired_comparison():
    ids = [f"{i:05d}" for i in range(40)]
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"id": ids, "jaccard": rng.uniform(70, 90, 40), "hausdorff": rng.uniform(30, 60, 40)})
    squeeze = base.assign(hausdorff=base["hausdorff"] - 20)
    row = pd.DataFrame([{"claim": "c", "evidence": "e", "verdict": "does not hold at this budget: reasons"}])
    text = ablations.squeeze_finding(row, {"b": base, "s": squeeze}, "b", "s")
    assert "that claim does not hold at this budget: reasons;" in text
    assert text.endswith("the squeeze run is better on Hausdorff (seed-to-seed spread unknown); Jaccard: no difference "
                         "shown at this budget.")
    assert text.startswith("Trained with the squeeze put back")
    assert ablations.squeeze_finding(row, {"b": base}, "b", "s").startswith("The skip-squeeze ablation has no test scores")
    spread = {"jaccard": 1.5, "hausdorff": 4.0}
    text = ablations.squeeze_finding(row, {"b": base, "s": squeeze}, "b", "s", spread)
    assert text.endswith("the squeeze run is better on Hausdorff (no difference shown at this budget on Jaccard): "
                         "Jaccard +0.00 pp (within twice the seed-to-seed std, 3.00 pp); "
                         "Hausdorff +20.00 px (beyond twice the seed-to-seed std, 8.00 px).")
    assert text.count("+20.00 px") == 1  # each gain said once
    # a settled gain within the seeds' spread is flagged as possible seed noise
    text = ablations.squeeze_finding(row, {"b": base, "s": squeeze}, "b", "s", {"jaccard": 1.5, "hausdorff": 11.0})
    assert "Hausdorff +20.00 px (within twice the seed-to-seed std, 22.00 px: may be seed noise)." in text
    # twice the std as printed: 2.794 shows as 2.79, and twice it as 5.58, not 5.59
    text = ablations.squeeze_finding(row, {"b": base, "s": squeeze}, "b", "s", {"jaccard": 2.794, "hausdorff": 5.124})
    assert "(within twice the seed-to-seed std, 5.58 pp)" in text and "10.24 px)" in text
    cleaned = {"b": base.assign(hausdorff_clean=base["hausdorff"] - 15), "s": squeeze.assign(hausdorff_clean=squeeze["hausdorff"])}
    assert ablations.squeeze_finding(row, cleaned, "b", "s").endswith(
        "its Hausdorff gain is +5.00 px instead of +20.00 px: most of the raw gain is stray blobs of the baseline.")


def test_truth_panels_have_a_frame_and_change_grids_name_their_photo():
    framed = widgets.framed(np.full((6, 5, 3), 255, np.uint8))
    assert (framed[0] == widgets.FRAME).all() and (framed[:, -1] == widgets.FRAME).all()
    assert (framed[1:-1, 1:-1] == 255).all()
    levels = [np.full((s, s), 0.8, np.float32) for s in (2, 4, 8)]
    fig = plots.level_changes(np.zeros((16, 16, 3), np.uint8), levels, title="test photo 00042 (LRN)")
    assert fig._suptitle.get_text() == "test photo 00042 (LRN)"


def test_every_build_of_the_try_it_page_has_the_public_domain_sample(tmp_path):
    entry = tryit.bundled_sample(tmp_path)
    photo = tmp_path / entry["file"]
    assert entry == tryit.BUNDLED and photo.is_file() and photo.read_bytes()[:2] == b"\xff\xd8"
    written = photo.stat().st_mtime_ns
    tryit.bundled_sample(tmp_path)
    assert photo.stat().st_mtime_ns == written  # unchanged bytes are not rewritten (no full book rebuild)
