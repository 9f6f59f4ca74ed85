"""lrn.data.people and lrnbook.cutoutfit on arrays: photos entering the model either way, scored in one frame."""
from types import SimpleNamespace

import numpy as np
import pytest

from lrn import letterbox
from lrn.cutout_model import FEEDS
from lrn.data import people
from lrn.errors import InputError


class FakeIds(list):
    """A split as far as :func:`lrn.data.people.people` reads it: its ids and its length."""

    @property
    def ids(self):
        return list(self)


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
    small = {"Small-people test": (people.eval_set("Small-people test", ["0007@0011"], pairs, 32), pairs)}
    assert "1 Small-people test" in card_sets.check_unseen({**clean, "train_ids": ["small/0003@0004"]}, small)
    for leak in ("ccp_full/0011", "small/0011@0003", "small/0003@0007"):  # its person or its street seen before
        with pytest.raises(InputError, match="used in training"):
            card_sets.check_unseen({**clean, "train_ids": [leak]}, small)


def test_small_people_join_training_and_validation_from_their_own_ccp_ids(mirror, monkeypatch):
    # EG1800 stands in as two fake portraits: reading its 1300 real photos would take a minute.
    monkeypatch.setattr(people, "load_eg1800", lambda *a, **k: SimpleNamespace(
        manifest_sha256="e" * 64, train=FakeIds(["00001"]), val=FakeIds(["00002"])))
    monkeypatch.setattr(people, "eg1800_originals", lambda ids, root=None: [person((80, 60), 10, 10, 60, 40)] * len(ids))
    real_load = people.ccp.load

    def fewer_training_photos(*args, **kwargs):  # 20 of CCP's 601 training photos are enough to paste from
        street = real_load(*args, **kwargs)
        return SimpleNamespace(manifest_sha256=street.manifest_sha256, val=street.val,
                               train=FakeIds(street.train.ids[:20]) if street.train is not None else None)

    monkeypatch.setattr(people.ccp, "load", fewer_training_photos)
    data = people.people(64, "pad", (), root=mirror, progress=False, small_people=12)
    assert list(data.val_sets) == list(people.SETS)
    small_train = [i for i in data.train.ids if i.startswith("small/")]
    assert len(small_train) == 12 and data.counts["train_small_people"] == 12 and data.counts["train_ccp"] == 0
    small_val = data.val_sets["Small people"]
    assert len(small_val) == people.SMALL_PEOPLE_VAL
    assert sum(i.startswith("small/") for i in data.val.ids) == people.SMALL_PEOPLE_VAL
    # Persons and backgrounds of training photos are CCP training ids, of validation photos validation ids.
    train_ccp = {part for i in small_train for part in i[len("small/"):].split("@")}
    val_ccp = {part for i in small_val.ids for part in i.split("@")}
    assert train_ccp and val_ccp and not train_ccp & val_ccp
    assert val_ccp <= set(data.val_sets["CCP full frame"].ids)
    assert small_val.truths.mean() < 0.06, "the pasted people are small"
    alone = people.validation_sets(64, root=mirror, progress=False)  # for a peer: the same photos, own resolution
    assert list(alone) == list(data.val_sets)
    for name, (s, pairs) in alone.items():
        assert s.ids == data.val_sets[name].ids and len(pairs) == len(s), name
        np.testing.assert_array_equal(s.truths, data.val_sets[name].truths)
    with pytest.raises(InputError, match="small_people"):
        people.people(64, "pad", (), root=mirror, small_people=-1)


def test_a_vgg_candidate_keeps_its_first_stage_model_as_a_candidate(tmp_path):
    from lrn import predict, train
    from lrn.cache import BACKUPS, cache_dir
    from lrn.data.split import Split
    from lrnbook import cutout_page, cutoutfit, parking
    from lrnbook.candidate_files import STAGE1_OUTPUTS, STAGE1_SUFFIX

    pairs = [person((96, 64), 20, 16, 50, 30), person((64, 96), 10, 40, 40, 20)]
    sets = {"EG1800": people.eval_set("EG1800", ["00001", "00002"], pairs, 32)}
    split = Split("val", sets["EG1800"].padded, sets["EG1800"].padded_masks, ["a", "b"], "f" * 64)
    data = people.PeopleData(split, split, sets, "pad", (), 0, "f" * 64, {"train": 2})
    config = train.TrainConfig(variant="lrn", size=32, width=0.0625, epochs=1)
    model_dir = tmp_path / "model"
    assert not cutoutfit.keep_stage1(config, data, model_dir), "nothing to keep before the first stage ends"
    done = cache_dir() / BACKUPS / train.run_key(config, data.train, data.val) / parking.STAGE1_DONE
    done.parent.mkdir(parents=True)
    model = train.build(config)
    model.save_weights(done)
    assert cutoutfit.keep_stage1(config, data, model_dir)
    done.unlink()  # the run is over and its backups gone: what was kept stays
    assert cutoutfit.keep_stage1(config, data, model_dir)
    (model_dir / "history_stage1.csv").write_text("epoch,loss,val_loss\n0,0.5,0.4\n")
    out = tmp_path / "results" / "cutout_vgg"
    out.mkdir(parents=True)
    cutoutfit.write_stage1(model_dir, out, {}, {"train": 2})
    assert all((out / name).is_file() for name in STAGE1_OUTPUTS)
    found = cutout_page.read_candidates(["vgg"], root=tmp_path)
    assert list(found) == ["vgg" + STAGE1_SUFFIX], "the first-stage model is a candidate before the whole run is"
    kept = cutoutfit.read_predictions(out / STAGE1_OUTPUTS[0])
    finest = predict.predict_levels(model, sets["EG1800"].padded)[-1]
    np.testing.assert_array_equal(kept["EG1800"]["pad"], sets["EG1800"].to_eval_frame(finest, "pad") > 0.5)
    labels = cutout_page.candidate_labels({"vgg": "ImageNet"}, found)
    assert labels["vgg" + STAGE1_SUFFIX] == "ImageNet, first stage only (encoder frozen)"


def test_the_whitened_table_sets_both_models_side_by_side_per_set():
    import pandas as pd

    from lrnbook import card_sets

    def means(j):
        return pd.DataFrame({"set": ["A", "B"], "pipeline": "w", "photos": [3, 4], "jaccard": [j, j - 1],
                             "hausdorff": [10.0, 11.0], "background_alpha": [2.5, 0.5], "hazy_share": [7.0, 1.0]})

    table = card_sets.whitened_table({"ours": means(90.0), "peer": means(95.0)})
    assert table["photos"].tolist() == ["A (3)", "", "B (4)", ""] and table["model"].tolist() == ["ours", "peer"] * 2
    assert table["Jaccard (%)"].tolist() == ["90.00", "95.00", "89.00", "94.00"]
    assert table["background above 0.05 (%)"].tolist() == ["7.00", "7.00", "1.00", "1.00"]
