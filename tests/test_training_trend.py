"""What the training loss did after a stage's best validation epoch (lrnbook.training_trend)."""
import pandas as pd
import pytest

from lrnbook import training_trend


def stage(validation, training, number=1):
    return pd.DataFrame({"stage": number, "val_s6_loss": validation, "s6_loss": training})


def test_the_epochs_after_the_best_are_compared_with_as_many_up_to_it():
    # best validation at the 4th epoch; 3 epochs after it, compared with the 3 epochs ending at it
    history = stage([0.9, 0.8, 0.7, 0.5, 0.6, 0.55, 0.7], [1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1])
    row = training_trend.after_the_best(history, "val_s6_loss").iloc[0]
    assert (row["epochs after best"], row["epochs up to best"], row["best epoch"]) == (3, 3, 4)
    assert row["before"] == pytest.approx(0.6) and row["after"] == pytest.approx(0.2)
    assert row["change"] == pytest.approx(-2 / 3)
    text = training_trend.still_fitting_text(history, "val_s6_loss")
    assert text.startswith("In the 3 epochs after the best one the training loss of s6 averaged 0.2000, 67 % below its "
                           "mean over the 3 epochs up to the best (0.6000).")
    assert "still fitting its training photos better when" in text


def test_an_early_best_uses_the_epochs_it_has_and_a_level_fit_reads_as_a_plateau_of_both():
    history = stage([0.5, 0.4, 0.6, 0.6, 0.6, 0.6], [0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    row = training_trend.after_the_best(history, "val_s6_loss").iloc[0]
    assert (row["epochs after best"], row["epochs up to best"]) == (4, 2)
    text = training_trend.still_fitting_text(history, "val_s6_loss")
    assert "0 % above" in text and text.endswith("the stop is a plateau of both.")


def test_two_stages_are_named_and_a_stage_too_short_is_left_out():
    first = stage([0.9, 0.8, 0.7, 0.5, 0.6, 0.55], [1.0, 0.8, 0.6, 0.4, 0.3, 0.2])
    second = stage([0.4, 0.3, 0.35], [0.2, 0.1, 0.05], number=2)  # one epoch after its best: too few
    history = pd.concat([first, second], ignore_index=True)
    table = training_trend.after_the_best(history, "val_s6_loss")
    assert table["stage"].tolist() == [1]
    text = training_trend.still_fitting_text(history, "val_s6_loss", staged=True)
    assert text.startswith("In stage 1, in the 2 epochs after") and "better in stage 1 when" in text
    both = pd.concat([first, stage([0.9, 0.8, 0.7, 0.5, 0.6, 0.55], [1.0, 0.8, 0.6, 0.4, 0.3, 0.2], 2)])
    assert "better in both stages when" in training_trend.still_fitting_text(both, "val_s6_loss", staged=True)


def test_the_summed_loss_and_a_history_without_stages():
    history = pd.DataFrame({"val_loss": [0.9, 0.5, 0.6, 0.7], "loss": [1.0, 0.5, 0.49, 0.48]})
    text = training_trend.still_fitting_text(history)
    assert text.startswith("In the 2 epochs after the best one the training loss averaged 0.4850")
    assert training_trend.still_fitting_text(history.head(3)) == "", "one epoch after the best: nothing to say"
