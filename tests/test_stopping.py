"""Early stopping replayed on logged validation curves."""
import pandas as pd
import pytest

from lrnbook import stopping


def test_replay_follows_keras_rule():
    curve = [3.0, 2.0, 2.5, 2.4, 1.9, 2.0, 2.1, 2.2]
    assert stopping.replay(curve, 2) == {"stops_after": 4, "best_epoch": 2, "best": 2.0, "cut": False}
    assert stopping.replay(curve, 3) == {"stops_after": 8, "best_epoch": 5, "best": 1.9, "cut": False}
    assert stopping.replay(curve, 5) == {"stops_after": 8, "best_epoch": 5, "best": 1.9, "cut": True}
    with pytest.raises(ValueError):
        stopping.replay([], 3)


def test_patience_table_per_stage_and_the_stopping_text():
    history = pd.DataFrame({"stage": [1] * 4 + [2] * 3, "val_loss": [3, 2, 1.5, 1.2, 1.1, 1.15, 1.2]})
    table = stopping.patience_table(history, (1, 2), used=2)
    assert table["stage"].tolist() == [1, 1, 2, 2]
    assert table["would train (epochs)"].tolist() == ["4 (curve ends)", "4 (curve ends)", "2", "3"]
    assert table["used here"].tolist() == ["", "yes", "", "yes"]
    assert table["keeps epoch"].tolist() == ["4", "4", "1 (5 overall)", "1 (5 overall)"]
    text = stopping.stopping_text(history, patience=2, epochs=4)
    assert text == ("Stage 1 was ended by the limit of 4 epochs with its best validation loss at epoch 4, "
                    "the last one: the loss was still falling; stage 2 stopped at a plateau after 3 epochs (best: "
                    "epoch 1 of its stage, epoch 5 overall).")


def test_one_stage_counts_its_epochs_once_and_a_later_stage_both_ways():
    single = pd.DataFrame({"val_loss": [3.0, 2.0, 2.5, 2.6, 2.7]})
    assert stopping.stopping_text(single, patience=3, epochs=15) == "Stage 1 stopped at a plateau after 5 epochs (best: epoch 2)."
    assert stopping.stopping_text(single, patience=None, epochs=15) == "Stage 1 ran 5 epochs (best: epoch 2)."
    assert stopping.patience_table(single, (3,))["keeps epoch"].tolist() == ["2"]
    two = pd.DataFrame({"stage": [1] * 21 + [2] * 12, "val_loss": [1.0] * 21 + [0.9, 0.5] + [0.9] * 10})
    text = stopping.stopping_text(two, patience=10, epochs=300)
    assert text.endswith("stage 2 stopped at a plateau after 12 epochs (best: epoch 2 of its stage, epoch 23 overall).")
    assert [(s, len(c), o) for s, c, o in stopping.stage_curves(two)] == [(1, 21, 0), (2, 12, 21)]
    assert stopping.epoch_name(2, 0) == "epoch 2"


def test_the_epoch_table_caption_says_which_epochs_it_shows():
    assert stopping.epochs_shown_text(33, 5) == "One epoch in 5 (1, 6, 11, …), the best and the last of the 33 epochs:"
    assert stopping.epochs_shown_text(8, 5) == "Epochs 1 and 6, the best and the last of the 8 epochs:"
    assert stopping.epochs_shown_text(4, 5) == "The first, the best and the last of the 4 epochs:"
    assert stopping.epochs_shown_text(4, 1) == "Every one of the 4 epochs:"


# a run whose summed validation loss rises (coarse levels) while its finest map still improves
WATCHED = pd.DataFrame({"epoch": range(8), "loss": [3, 2.5, 2.2, 2.0, 1.9, 1.8, 1.7, 1.6],
                        "val_loss": [2.0, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1],
                        "val_s6_loss": [0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.29, 0.28]})


def test_the_watched_loss_follows_the_recorded_rule():
    assert stopping.watched_loss({"stop_on": "finest", "variant": "lrn"}) == "val_s6_loss"
    assert stopping.watched_loss({"variant": "unet"}) == stopping.watched_loss({"stop_on": "sum"}) == "val_loss"
    assert stopping.watched_name("val_s6_loss") == "validation loss of s6"
    text = stopping.stopping_text(WATCHED, 3, 300, "val_s6_loss")
    assert text.startswith("Stage 1 ran 8 epochs (best: epoch 8).") and "validation loss of s6" in text
    assert "plateau after 5 epochs (best: epoch 2)" in stopping.stopping_text(WATCHED.iloc[:5], 3, 300)
    table = stopping.patience_table(WATCHED, (2, 3), used=3, watched="val_s6_loss")
    assert table["keeps epoch"].tolist() == ["8", "8"] and "kept val loss of s6" in table


def test_an_earlier_run_stopped_on_the_sum_is_told_from_its_own_curves():
    summary = {f"jaccard_s{n}": {"mean": m} for n, m in zip(range(1, 7), [80.0, 85.5, 84.0, 83.0, 82.0, 70.25])}
    text = stopping.summed_rule_text(WATCHED.iloc[:5], 3, 0.0, summary)
    assert "stopped after 5 epochs, 3 after its best (epoch 2, 1.5000), and kept that epoch's weights. There" in text
    timed = stopping.summed_rule_text(WATCHED.iloc[:5].assign(seconds=1800.0), 3, 0.0, lost_hours=1.25)
    assert "weights (2.5 hours of training, and 1.2 more lost with a training machine). There" in timed
    assert "validation loss of s6 was 0.5000; it went on falling to 0.3500 at epoch 5" in text
    assert "would not have stopped: its best was 0 epochs before the end" in text
    assert "70.25 % Jaccard at s6 against 85.50 % at s2" in text


def test_pages_mark_the_best_epoch_of_the_watched_loss(tmp_path):
    from lrnbook import curves, pages, speed

    table = pages.epoch_table(WATCHED, every=4, watched="val_s6_loss")
    assert table["epoch"].tolist() == [1, 5, 8] and "validation loss of s6" in table
    assert table["note"].tolist() == ["", "", "best validation loss of s6 (weights kept)"]
    summed = pages.epoch_table(WATCHED, every=4)  # the sum's best, epoch 2, is shown and marked
    assert summed["epoch"].tolist() == [1, 2, 5, 8] and summed["note"].tolist()[1] == "best validation loss (weights kept)"
    assert "lowest validation loss of s6 was at epoch 8" in pages.fit_text("x", WATCHED, tmp_path, "val_s6_loss")
    stages = speed.stage_table(WATCHED.assign(stage=1), 0, watched="val_s6_loss")
    assert stages["best epoch"].tolist() == ["8"] and stages["best val loss of s6"].tolist() == [0.28]
    facts = curves.speed_facts({"config": {"size": 224, "stop_on": "finest"}}, tmp_path)
    assert stopping.watched_loss(facts["settings"]) == "val_s6_loss"


def test_the_departures_name_the_loss_the_rule_watches():
    from lrnbook import pages

    table = pages.departures({"stop_on": "finest", "size": 224})
    assert table.to_dict("records") == [{"setting": "stopping rule watches",
                                         "this run": "validation loss of the finest map (s6, the one scored)",
                                         "paper": "until convergence"}]
    assert pages.departures({"size": 224}).empty  # a U-Net records no stop_on: nothing to list


def test_the_departures_give_the_minimum_improvement_as_a_share_of_the_best_loss():
    from lrnbook import pages

    rows = pages.departures({"min_improvement": 0.005}).to_dict("records")
    assert rows == [{"setting": "minimum improvement", "this run": "0.5 % of the best loss",
                     "paper": "until convergence"}]
    assert pages.departures({"min_improvement": 0.0})["this run"].tolist() == ["none (any lower loss)"]


def test_a_run_without_stop_on_shows_the_rule_it_ran_under():
    """Runs recorded before ``stop_on`` existed (and every U-Net) watched the summed validation loss."""
    from lrnbook import pages

    def watches(settings):
        table = pages.departures(settings)
        return table.loc[table["setting"] == "stopping rule watches", "this run"].tolist()

    assert watches({"variant": "lrn", "size": 224}) == ["validation loss summed over the levels"]
    assert watches({"variant": "unet_vgg", "size": 224}) == ["validation loss of its one output"]
    both = pages.departures_by_run({"LRN-VGG": {"variant": "lrn_vgg", "stop_on": "finest"},
                                    "UNET-VGG": {"variant": "unet_vgg"}})
    assert both.loc[both["setting"] == "stopping rule watches", ["LRN-VGG", "UNET-VGG"]].values.tolist() == [
        ["validation loss of the finest map (s6, the one scored)", "validation loss of its one output"]]
