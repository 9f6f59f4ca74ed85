"""lrnbook.cutout_page: candidates scored on stored validation masks, the choice made by its rule."""
import re

import numpy as np
import pytest

from lrnbook import cutout_page as page
from lrnbook import cutoutfit


def stored(tmp_path, name, shift_pad, shift_squash, n=4, seed=0):
    """A candidate's predictions.npz: per set, truths and masks shifted by some pixels per fit."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for set_name in ("EG1800", "CCP head-and-torso", "CCP full frame"):
        truths = np.zeros((n, 224, 224), bool)
        for k in range(n):
            top = rng.integers(20, 60)
            truths[k, top:top + 120, 60:160] = True
        arrays[f"{set_name}|ids"] = np.array([f"{k:04d}" for k in range(n)])
        arrays[f"{set_name}|truths"] = cutoutfit.pack(truths)
        for fit, shift in (("pad", shift_pad), ("squash", shift_squash)):
            preds = np.roll(truths, shift, axis=2)
            preds[:, :5, :5] = True  # a speck: cleaning removes it
            arrays[f"{set_name}|{fit}"] = cutoutfit.pack(preds)
    folder = tmp_path / "results" / f"cutout_{name}"
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "predictions.npz", **arrays)


def test_scores_means_choice_and_texts(tmp_path):
    stored(tmp_path, "old", shift_pad=30, shift_squash=10)
    stored(tmp_path, "new", shift_pad=2, shift_squash=25)
    found = page.read_candidates(["old", "new", "missing"], tmp_path)
    assert list(found) == ["old", "new"]
    text = page.availability_text(["old", "new", "missing"], found, {"new": "EG1800 + CCP, letterboxed"})
    assert text.startswith("Candidates scored here: \u201cold\u201d; \u201cEG1800 + CCP, letterboxed\u201d.")
    assert "Not finished training yet (no validation predictions): \u201cmissing\u201d. `make train` trains it in turn, " \
           "and once it has finished" in text
    assert "chooses again, by the same rule" in text
    record = {"status": "not run", "in_progress": True, "stage": 1, "epoch": 10, "hours": 4.63}
    text = page.availability_text(["old", "missing"], found, {}, progress={"missing": record})
    assert "\u201cmissing\u201d (stage 1, epoch 10, 4.6 h so far, as of " in text
    scores = page.score_candidates(found)
    assert len(scores) == 2 * 3 * 2 * 2 * 4
    choice = page.choose(scores)
    assert (choice["candidate"], choice["fit"], choice["clean"]) == ("new", "pad", True)
    assert page.own_fit(scores, "old") == "squash" and page.own_fit(scores, "new") == "pad"
    table = page.lever_table(scores, {"old": "before"})
    assert list(table.columns) == ["candidate", "fed", "EG1800", "CCP head-and-torso", "CCP full frame", "mean"]
    assert "before" in set(table["candidate"]) and "letterboxed, cleaned" in set(table["fed"])
    gains = page.lever_gains(scores, {"old": "before", "new": "after"}, baseline="old")
    texts = page.lever_texts(gains)
    # numbered as the figure's rows, in the order of the comparisons
    assert [re.match(r"\*\*(\d+)\. ", t)[1] for t in texts] == [str(k) for k in range(1, len(texts) + 1)]
    texts = [re.sub(r"^\*\*\d+\. ", "**", t) for t in texts]
    assert any(t.startswith("**after instead of before, each fed as it does best on validation, raw.** Jaccard: EG1800: better")
               for t in texts), texts
    assert any("**before: cleaning, fed squashed.**" in t and "Jaccard: EG1800: better" in t for t in texts)
    # every feed lever reads the same way round: the candidate's own feed against the other
    assert any(t.startswith("**before: feeding photos the way it does best on validation (squashed) instead of "
                            "letterboxed.**") for t in texts), texts
    assert any(t.startswith("**after: feeding photos the way it does best on validation (letterboxed) instead of "
                            "squashed.**") for t in texts), texts
    assert len(gains) == len(texts) * 2 * 3  # every comparison, measure and set
    cleaning = gains[gains["comparison"] == "before: cleaning, fed squashed"].set_index(["measure", "set"])
    effect = page.lever_effect(scores, {"candidate": "old", "fit": "squash", "clean": False},
                               {"candidate": "old", "fit": "squash", "clean": True}, "hausdorff").set_index("set")
    # a Hausdorff gain is the distance saved: the paired difference with its sign turned, interval too
    assert cleaning.loc[("hausdorff", "EG1800"), "gain"] == pytest.approx(-effect.loc["EG1800", "difference"])
    assert cleaning.loc[("hausdorff", "EG1800"), "ci_low"] == pytest.approx(-effect.loc["EG1800", "ci_high"])
    assert (gains["ci_low"] <= gains["gain"]).all() and (gains["gain"] <= gains["ci_high"]).all()
    figure = page.lever_figure(gains)
    assert len(figure.axes) == 2 * len(texts)
    assert figure.axes[0].get_title(loc="left").startswith("1. ")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["EG1800", "CCP head-and-torso", "CCP full frame"]
    summary = page.summary_text(scores, choice, {"old": "before", "new": "after"}, baseline="old")
    assert "higher" in summary and "lower" in summary.split("Hausdorff")[1]
    assert "against the first model shipped (squashed, cleaned)." in summary
    assert page.shown_settings(scores, choice, baseline="old") == [("old", "squash", True), ("new", "pad", True)]


def test_effect_text_says_no_clear_change_when_the_interval_holds_zero():
    import pandas as pd

    gains = pd.DataFrame([{"set": "EG1800", "gain": 0.1, "ci_low": -0.2, "ci_high": 0.4},
                          {"set": "CCP full frame", "gain": 3.0, "ci_low": 2.0, "ci_high": 4.0},
                          {"set": "Small people", "gain": -3.0, "ci_low": -4.0, "ci_high": -2.0}])
    text = page.effect_text(gains, "Hausdorff", "px")
    assert "EG1800: no clear change (gain +0.10 px" in text and "CCP full frame: better, gain +3.00 px" in text
    assert "Small people: worse, gain -3.00 px" in text and text.startswith("Hausdorff: ")
    near_zero = pd.DataFrame([{"set": "EG1800", "gain": 0.07, "ci_low": 0.004, "ci_high": 0.2}])
    assert page.effect_text(near_zero, "Jaccard", "pp") == (
        "Jaccard: EG1800: better, gain +0.07 pp (95 % interval +0.004 to +0.20).")


@pytest.mark.parametrize("n", [1, 3])
def test_pack_round_trip(n):
    masks = np.random.default_rng(n).random((n, 224, 224)) > 0.5
    np.testing.assert_array_equal(cutoutfit.unpack(cutoutfit.pack(masks)), masks)


class ExactPeer:
    """A stand-in for MediaPipe that returns each photo's own truth (its photos encode their masks)."""

    def predict_batch(self, images):
        from lrn import imageops

        return np.stack([imageops.resize_prob((image[..., 0] > 127).astype(np.float32), (224, 224)) for image in images])


def test_the_chosen_setting_is_set_beside_mediapipe_photo_by_photo(tmp_path):
    from lrn.data import people
    from lrn.errors import InputError
    from lrnbook import card_sets

    stored(tmp_path, "only", shift_pad=30, shift_squash=10)
    found = page.read_candidates(["only"], tmp_path)
    val_sets = {}
    for set_name, kept in found["only"].items():
        pairs = [(np.repeat(np.where(t, 255, 0).astype(np.uint8)[..., None], 3, axis=2), t) for t in kept["truths"]]
        val_sets[set_name] = (people.eval_set(set_name, kept["ids"], pairs, 224), pairs)
    choice = {"candidate": "only", "fit": "squash", "clean": True}
    versus = page.versus_peer(found, choice, val_sets, ExactPeer())
    assert list(versus) == list(val_sets)
    for tables in versus.values():
        assert tables["MediaPipe"]["jaccard"].min() > 99 and tables["chosen"]["jaccard_clean"].max() < 95
    text = card_sets.versus_text(versus, "chosen", "MediaPipe", clean=True)
    assert text.count("better: MediaPipe") == 2 * len(val_sets) and "cleaned, chosen vs MediaPipe" in text
    assert "raw, chosen vs MediaPipe" in card_sets.versus_text(versus, "chosen", "MediaPipe", clean=False)
    other = {**val_sets, "EG1800": (people.eval_set("EG1800", ["x"] * 4, val_sets["EG1800"][1], 224), val_sets["EG1800"][1])}
    with pytest.raises(InputError, match="EG1800: the stored predictions"):
        page.versus_peer(found, choice, other, ExactPeer())


def test_an_imagenet_candidate_is_compared_with_its_random_start_twin_and_its_first_stage(tmp_path):
    stored(tmp_path, "old", shift_pad=30, shift_squash=10)
    stored(tmp_path, "twin", shift_pad=8, shift_squash=25, seed=0)
    stored(tmp_path, "vgg", shift_pad=2, shift_squash=25, seed=0)
    folder = tmp_path / "results" / "cutout_vgg"
    (folder / "predictions.npz").rename(folder / "stage1_predictions.npz")
    stored(tmp_path / "full", "vgg", shift_pad=1, shift_squash=25, seed=0)
    (tmp_path / "full" / "results" / "cutout_vgg" / "predictions.npz").rename(folder / "predictions.npz")
    found = page.read_candidates(["old", "twin", "vgg"], tmp_path)
    assert set(found) == {"old", "twin", "vgg", "vgg@stage1"}
    scores = page.score_candidates(found)
    what = [c[0] for c in page.comparisons(scores, "old", twins={"vgg": "twin"})]
    assert "{vgg@stage1} instead of {twin} (what the ImageNet encoder changes), each fed as it does best on " \
           "validation, raw" in what
    assert "{vgg} instead of {twin} (what the ImageNet encoder changes), each fed as it does best on validation, raw" in what
    assert "{vgg} instead of {vgg@stage1} (what training all layers adds), each fed as it does best on validation, " \
           "raw" in what
    assert not any("(what" in w for w in page.comparisons(scores, "old"))  # no twins: no encoder comparison
    gains = page.lever_gains(scores, {}, "old", twins={"vgg": "twin"}).set_index(["comparison", "measure", "set"])
    # the same masks shifted 1 px instead of 8 px: the encoder "helps" on every set
    encoder = gains.loc[("vgg instead of twin (what the ImageNet encoder changes), each fed as it does best on "
                         "validation, raw", "jaccard")]
    assert (encoder["gain"] > 0).all()
