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
    text = stopping.stopping_text(history, patience=2, epochs=4)
    assert text == ("Stage 1 was ended by the limit of 4 epochs with its best validation loss at epoch 4, "
                    "the last one: the loss was still falling; stage 2 stopped at a plateau after 3 epochs (best: epoch 1).")
