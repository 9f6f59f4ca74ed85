"""lrn.data.people and lrnbook.cutoutfit on arrays: photos entering the model either way, scored in one frame."""
import numpy as np
import pytest

from lrn import letterbox
from lrn.cutout_model import FEEDS
from lrn.data import people
from lrn.errors import InputError


def person(shape, top, left, h, w):
    mask = np.zeros(shape, bool)
    mask[top:top + h, left:left + w] = True
    photo = np.where(mask[..., None], 200, 30).astype(np.uint8).repeat(3, axis=2)
    return photo, mask


def test_enter_keeps_the_aspect_ratio_only_when_padded():
    photo, mask = person((400, 200), 100, 50, 200, 100)  # a person half as wide as the frame
    _, padded = people.enter(photo, mask, 64, "pad")
    _, squashed = people.enter(photo, mask, 64, "squash")
    rows, cols = np.nonzero(padded)
    assert (np.ptp(rows) + 1) / (np.ptp(cols) + 1) == pytest.approx(2.0, rel=0.1)
    rows, cols = np.nonzero(squashed)
    assert (np.ptp(rows) + 1) / (np.ptp(cols) + 1) == pytest.approx(1.0, rel=0.1)
    with pytest.raises(InputError, match="feed="):
        people.enter(photo, mask, 64, "stretch")


def test_eval_set_scores_both_feeds_in_the_squashed_frame():
    pairs = [person((400, 200), 100, 50, 200, 100), person((120, 300), 20, 100, 80, 60)]
    s = people.eval_set("CCP full frame", ["0001", "0002"], pairs, 64)
    assert len(s) == 2 and s.truths.shape == (2, 64, 64)
    for feed in FEEDS:
        perfect = s.masks(feed).astype(np.float32)  # a model that is right in its own frame
        back = s.to_eval_frame(perfect, feed) > 0.5
        assert back.shape == s.truths.shape
        assert (back != s.truths).mean() < 0.02, feed
    assert isinstance(s.boxes[0], letterbox.Box)
    with pytest.raises(InputError, match="no photos"):
        people.eval_set("empty", [], [], 64)


def test_framed_pairs_cut_every_photo_at_every_framing():
    yy, xx = np.mgrid[:400, :300]
    mask = ((yy - 65) ** 2 + (xx - 150) ** 2 <= 625) | ((yy >= 90) & (yy < 360) & (abs(xx - 150) <= 40))
    photo = np.where(mask[..., None], 200, 30).astype(np.uint8).repeat(3, axis=2)
    cut = list(people.framed_pairs([(photo, mask), (photo, mask)], (0.0, 1.0)))
    assert [(k, t) for k, t, _, _ in cut] == [(0, 0.0), (0, 1.0), (1, 0.0), (1, 1.0)]
    assert cut[1][2].shape == photo.shape and cut[0][2].shape[0] < photo.shape[0]
    assert cut[0][3].mean() > cut[1][3].mean(), "the head-and-torso crop shows the person larger"


def test_combined_manifest_depends_on_both_and_their_order():
    a, b = "a" * 64, "b" * 64
    assert len({people.combined_manifest(a, b), people.combined_manifest(b, a), people.combined_manifest(a, a)}) == 3


def test_bad_framings_are_refused(monkeypatch):
    with pytest.raises(InputError, match="ccp_framings"):
        people.people(64, "pad", (0.0, 0.0))
    with pytest.raises(InputError, match="ccp_framings"):
        people.people(64, "pad", (2.0,))


def test_predictions_round_trip_as_packed_masks(tmp_path):
    from lrn import models, predict
    from lrnbook import cutoutfit

    pairs = [person((96, 64), 20, 16, 50, 30), person((64, 96), 10, 40, 40, 20)]
    sets = {"EG1800": people.eval_set("EG1800", ["00001", "00002"], pairs, 32)}
    model = models.build_model("lrn", (32, 32, 3), width=0.0625)
    arrays = cutoutfit.validation_predictions(model, sets)
    assert set(arrays) == {"EG1800|ids", "EG1800|truths", "EG1800|pad", "EG1800|squash"}
    assert arrays["EG1800|pad"].dtype == np.uint8 and arrays["EG1800|pad"].shape == (2, 32, 4)
    np.savez_compressed(tmp_path / "p.npz", **arrays)
    back = cutoutfit.read_predictions(tmp_path / "p.npz")
    assert back["EG1800"]["ids"] == ["00001", "00002"]
    np.testing.assert_array_equal(back["EG1800"]["truths"], sets["EG1800"].truths)
    finest = predict.predict_levels(model, sets["EG1800"].squashed)[-1]
    np.testing.assert_array_equal(back["EG1800"]["squash"], sets["EG1800"].to_eval_frame(finest, "squash") > 0.5)


def test_the_model_card_refuses_a_test_photo_seen_in_training():
    from lrnbook import card_sets

    pairs = [person((96, 64), 20, 16, 50, 30)]
    sets = {"CCP full-frame test": (people.eval_set("CCP full-frame test", ["0007"], pairs, 32), pairs),
            "EG1800 official test": (people.eval_set("EG1800 official test", ["00017"], pairs, 32), pairs)}
    clean = {"train_ids": ["eg1800/00001", "ccp/0008@0.5"], "val_ids": ["ccp_full/0009", "00002"]}
    assert "None of the test photos (1 CCP full-frame test, 1 EG1800 official test)" in card_sets.check_unseen(clean, sets)
    for leak in ("ccp/0007@1", "ccp_head_torso/0007", "eg1800/00017", "00017"):
        with pytest.raises(InputError, match="used in training"):
            card_sets.check_unseen({**clean, "train_ids": clean["train_ids"] + [leak]}, sets)
