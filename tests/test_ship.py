"""make model's facts for a first-stage model (lrnbook.ship), without training anything."""
import pandas as pd

from lrnbook import model_card, ship


def test_a_first_stage_model_gets_its_stage_log_as_history_and_its_epochs_seconds_as_time():
    log = pd.DataFrame({"epoch": [0, 1, 2, 3], "val_loss": [0.9, 0.5, 0.6, 0.7], "seconds": [100.0, 110.0, 90.0, 0.5]})
    history, seconds = ship.first_stage_history(log)
    assert seconds == 300.5 and history["val_loss"] == [0.9, 0.5, 0.6, 0.7]
    assert ship.first_stage_history(log, 1234)[1] == 1234.0, "a recorded training time wins"
    table = model_card.history_table({"history": history})
    text = model_card.epochs_text(table, 30, 2)  # what the model card says of it
    assert "after 4 epochs of at most 30" in text and "value at epoch 2 for" in text, text
