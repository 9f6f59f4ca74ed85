"""The -VGG fit wrapper: weights named by sha256, not by path; the training log kept beside the model."""
import sys

from lrn import provenance
from lrnbook import vggfit


def test_resolved_settings_put_the_weights_file_in_the_config(tmp_path):
    settings = {"variant": "lrn_vgg", "config": {"variant": "lrn_vgg", "epochs": 15}, "onednn": False}
    resolved = vggfit.resolved_settings(settings, tmp_path / "w.h5")
    assert resolved["config"] == {"variant": "lrn_vgg", "epochs": 15, "encoder_weights": str(tmp_path / "w.h5"),
                                  "preprocessing": "torch"}
    assert settings["config"] == {"variant": "lrn_vgg", "epochs": 15}  # not changed in place


def test_provenance_names_the_weights_by_sha256(tmp_path):
    import pandas as pd

    weights = tmp_path / "cache" / "vgg16" / "w.h5"
    csv = tmp_path / "history.csv"
    provenance.write_csv(pd.DataFrame({"stage": [1], "epoch": [0], "loss": [1.0]}), csv,
                         {"settings": {"encoder_weights": str(weights), "variant": "lrn_vgg"}})
    vggfit.finish_history(csv, weights, "ab" * 32)
    history, record = provenance.read_csv(csv)
    assert record["settings"]["encoder_weights"] == "torchvision:sha256:" + "ab" * 32
    assert str(tmp_path) not in csv.read_text() and list(history["loss"]) == [1.0]


def test_logged_stdout_appends_each_process_part(tmp_path, capsys):
    log = tmp_path / "run" / "train.log"
    for epoch in (1, 2):
        with vggfit.logged_stdout(log):
            print(f"Epoch {epoch}/15")
    assert log.read_text() == f"{vggfit.START_LINE}\nEpoch 1/15\n{vggfit.START_LINE}\nEpoch 2/15\n"
    assert capsys.readouterr().out == "Epoch 1/15\nEpoch 2/15\n"
    assert sys.stdout is not None


def test_other_weights_are_refused(tmp_path):
    import pytest

    settings = {"encoder": {"weights": "torchvision", "member_sha256": "0" * 64}, "config": {}}
    with pytest.raises(ValueError, match="torchvision's weights"):
        vggfit.run(settings, tmp_path / "m", tmp_path / "o")
    assert not (tmp_path / "m").exists()


def test_history_gets_epoch_seconds_and_machine_rates_from_the_log(tmp_path):
    import pandas as pd

    from lrnbook import schedule

    csv = tmp_path / "history.csv"
    history = pd.DataFrame({"stage": [1, 1, 2], "epoch": [0, 1, 0], "loss": [3.0, 2.0, 1.0], "val_loss": [3, 2, 1]})
    provenance.write_csv(history, csv, {"settings": {}})
    log = (f"{vggfit.START_LINE}\n{schedule.SGEMM_LINE} 150.0\n{schedule.STAGE_LINE} 1\nEpoch 1/15\n"
           "32/32 - 125s - 4s/step - loss: 3.9\nEpoch 2/15\n"  # stopped during epoch 2
           f"{vggfit.START_LINE}\n{schedule.SGEMM_LINE} 160.0\n{schedule.STAGE_LINE} 1\nEpoch 2/15\n"
           f"32/32 - 130s - 4s/step - loss: 2.0\n{schedule.STAGE_LINE} 2\nEpoch 1/15\n32/32 - 300s - 9s/step\n")
    vggfit.finish_history(csv, tmp_path / "w.h5", "cd" * 32, log)
    table, record = provenance.read_csv(csv)
    assert list(table["seconds"]) == [125.0, 130.0, 300.0]
    assert record["machine_sgemm_gflops"] == [150.0, 160.0]
    predicted_only = log + f"{vggfit.START_LINE}\n{schedule.SGEMM_LINE} 90.0\n"  # a cached model, no epoch
    assert schedule.sgemm_rates(predicted_only) == [150.0, 160.0]


def test_epoch_seconds_without_stage_lines_follow_the_epoch_numbers():
    from lrnbook import schedule

    log = "Epoch 1/3\n2/2 - 10s - 5s/step\nEpoch 2/3\n2/2 - 11s - 5s/step\nEpoch 1/3\n2/2 - 30s - 15s/step\n"
    table = schedule.epoch_seconds(log)
    assert table.values.tolist() == [[1, 0, 10], [1, 1, 11], [2, 0, 30]]


def test_stage_table_rates():
    import pandas as pd

    from lrnbook import schedule

    history = pd.DataFrame({"stage": [1, 1, 2], "epoch": [0, 1, 0], "val_loss": [3.0, 2.0, 1.5],
                            "seconds": [100.0, 100.0, 250.0]})
    table = schedule.stage_table(history, 250, schedule.training_gflop(10.0, 2.0), peak_gflops=100.0)
    first, second = table.to_dict("records")
    assert (first["epochs"], first["best epoch"], first["images / s"]) == (2, 2, 2.5)
    assert first["training GFLOP/s"] == 2.5 * 16 and first["share of sgemm peak"] == 0.4
    assert second["images / s"] == 1.0 and second["training GFLOP/s"] == 36.0


def test_sgemm_rate_is_positive():
    from lrnbook import schedule

    assert schedule.sgemm_gflops(n=128, repeats=1) > 0


def test_stage_section_of_a_two_stage_run_and_of_an_untimed_one():
    import pandas as pd

    from lrnbook import schedule

    history = pd.DataFrame({"stage": [1, 1, 2], "epoch": [0, 1, 0], "val_loss": [3.0, 2.0, 1.5],
                            "seconds": [100.0, 100.0, 250.0]})
    record = {"settings": {"size": 32, "width": 1.0, "train_ids": ["a"] * 250, "val_ids": ["b"] * 25},
              "machine_sgemm_gflops": [190.0, 200.0, 210.0]}
    items = schedule.stage_section("lrn_vgg", history, record)
    table = items[0][2]
    assert table["trains"].tolist() == ["decoder (encoder frozen)", "all layers"]
    assert table["images / s"].tolist() == [2.5, 1.0]
    assert "Forward pass per 32x32 image" in items[1][1] and "210 GFLOP/s" in items[1][1]
    untimed = schedule.stage_section("unet", history.drop(columns="seconds"), record, fit_seconds=300.0)
    assert untimed[0][2]["s / epoch"].tolist() == [100.0, 100.0] and "not timed one by one" in untimed[-1][1]
    assert schedule.stage_section("unet", history.drop(columns="seconds"), record)[0][1].startswith("This run's epochs")
