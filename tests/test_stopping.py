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
