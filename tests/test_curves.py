"""Loss curves of unfinished runs (lrnbook.curves): written from the cache's stage logs in the format
of a finished run's history, removed once a run finishes, read and described by the pages."""
import re
from types import SimpleNamespace

import matplotlib
import pandas as pd

from lrnbook import curves, pages, plots

matplotlib.use("Agg")


def log(path, val_losses, epochs=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = list(range(len(val_losses))) if epochs is None else epochs
    pd.DataFrame({"epoch": epochs, "loss": [v + 0.1 for v in val_losses], "s1_loss": val_losses,
                  "seconds": [100.0] * len(val_losses), "val_loss": val_losses,
                  "val_s1_loss": val_losses}).to_csv(path, index=False)


def test_curve_so_far_counts_a_retrained_epoch_once_and_numbers_each_stage_from_zero(tmp_path):
    # epoch 2 trained twice (a run restored from a park goes on after its best epoch)
    log(tmp_path / "history_stage1.csv", [0.9, 0.7, 0.8, 0.75, 0.6], epochs=[0, 1, 2, 2, 3])
    log(tmp_path / "history_stage2.csv", [0.5, 0.4], epochs=[4, 5])  # Keras went on from stage 1's count
    curve = curves.curve_so_far(tmp_path)
    assert curve["stage"].tolist() == [1, 1, 1, 1, 2, 2]
    assert curve["epoch"].tolist() == [0, 1, 2, 3, 0, 1]
    assert curve["val_loss"].tolist() == [0.9, 0.7, 0.75, 0.6, 0.5, 0.4]
    assert curves.curve_so_far(tmp_path / "nothing").empty


def test_write_all_keeps_curves_of_unfinished_runs_only(tmp_path, monkeypatch):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    log(cache / "training" / "history_stage1.csv", [0.9, 0.8, 0.85])
    (cache / "finished").mkdir()
    log(cache / "finished" / "history_stage1.csv", [0.9])
    (cache / "finished" / "model.keras").write_bytes(b"model")
    fits = [(SimpleNamespace(name=f"fit/{n}", short=n, settings={"protocol": "paper", "config": {"size": 224}}),
             cache / n, None) for n in ("training", "finished", "queued")]
    for name in ("finished", "queued"):  # curves left from an earlier stint
        log(runs / "curves" / f"{name}.csv", [1.0])
        (runs / "curves" / f"{name}.json").write_text("{}")
    monkeypatch.setattr(curves, "fits", lambda profile: iter(fits))
    monkeypatch.setattr(curves, "runs_dir", lambda profile: runs)
    assert curves.write_all("cpu") == ["training"]
    assert sorted(p.name for p in (runs / "curves").iterdir()) == ["training.csv", "training.json"]
    curve = pages.read_curve("training", runs)
    assert curve["val_loss"].tolist() == [0.9, 0.8, 0.85] and curve["stage"].tolist() == [1, 1, 1]
    assert pages.read_curve("queued", runs) is None
    plots.level_curves(curve, "so far")  # the page's figure draws from it


def test_curve_text_reads_the_best_epoch_from_the_curve():
    one_stage = {"reason": "still training: training, epoch 3 of at most 300, 0.1 hours so far",
                 "recorded_utc": "2026-12-04T21:07:42+00:00"}
    curve = pd.DataFrame({"stage": [1, 1, 1], "epoch": [0, 1, 2], "val_loss": [0.9, 0.8, 0.85]})
    text = pages.curve_text("LRN", curve, one_stage)
    assert text.startswith("The losses of the 3 epochs LRN has trained so far (the figure is drawn again after each")
    assert "lowest validation loss so far, 0.8000, came at epoch 2; 1 epoch trained since has not gone below it." in text
    two_stages = {"reason": "still training: stage 2 (all layers), epoch 2 ..."}
    curve = pd.DataFrame({"stage": [1, 1, 2, 2], "epoch": [0, 1, 0, 1], "val_loss": [0.9, 0.8, 0.7, 0.6]})
    text = pages.curve_text("X", curve, two_stages)
    assert re.search(r"0\.6000, came at epoch 2 of stage 2 \(epoch 4 on the figure's axis\); it is the last epoch "
                     r"trained\.$", text), text
    assert "came at epoch 2 of stage 1;" in pages.curve_text("X", curve.iloc[:2], two_stages)


def test_a_one_stage_run_in_progress_is_not_said_to_be_in_stage_1():
    one = {"status": "not run", "in_progress": True, "stage": 1, "epoch": 11, "hours": 0.48,
           "reason": "still training: training, epoch 11 of at most 300, 0.5 hours so far; its progress is kept "
                     "in the training machine's cache and `make train` goes on"}
    assert pages.progress_text(one) == "epoch 11, 0.5 h so far"
    assert pages.cell_text(one, "jaccard") == "still training: epoch 11, 0.5 h so far"
    two = {**one, "reason": "still training: stage 1 (encoder frozen), epoch 14 of at most 30, 5.1 hours so far"}
    assert pages.progress_text(two) == "stage 1, epoch 11, 0.5 h so far"
    assert "is still training** (as of " in pages.not_run_text("LRN", one)
    assert "): epoch 11 of at most 300, 0.5 hours of training so far; `make train` resumes" in pages.not_run_text("LRN", one)


def test_speed_facts_feed_the_speed_table_of_a_run_still_training(tmp_path):
    import json

    from lrnbook import speed

    (tmp_path / "stints.json").write_text(json.dumps([{"seconds": 300.0, "epochs": 2, "sgemm_gflops": 200.0},
                                                      {"seconds": 150.0, "epochs": 1, "sgemm_gflops": None}]))
    settings = {"protocol": "paper", "config": {"size": 32, "width": 0.125, "epochs": 300}}
    facts = curves.speed_facts(settings, tmp_path)
    assert facts["settings"] == {"size": 32, "width": 0.125, "n_train": 250, "n_val": 25}
    assert facts["machine_sgemm_gflops"] == [200.0] and len(facts["stints"]) == 2
    curve = pd.DataFrame({"stage": [1, 1, 1], "epoch": [0, 1, 2], "val_loss": [0.9, 0.8, 0.85],
                          "seconds": [100.0, 100.0, 150.0]})
    items = speed.stage_section("lrn", curve, facts)
    table = items[0][2]
    assert table["epochs"].tolist() == [3] and table["images / s"].tolist() == [round(750 / 350, 2)]
    assert "ratio to sgemm rate" in table and "validation pass over 25 photos" in items[1][1]
    # a run whose photo count is not known (not the paper protocol): times, but no rates
    items = speed.stage_section("lrn", curve, curves.speed_facts({"config": {"size": 32}}, tmp_path / "none"))
    assert "images / s" not in items[0][2] and items[0][2]["s / epoch"].tolist() == [117.0]
    assert "validation pass" not in items[1][1]
    (tmp_path / "curves").mkdir()
    (tmp_path / "curves" / "lrn.json").write_text(json.dumps(facts))
    assert speed.progress_record("lrn", tmp_path) == facts and speed.progress_record("unet", tmp_path) is None
