"""Training end to end on synthetic data: the loss falls, runs resume, results carry provenance."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from lrn import evaluate, provenance, train
from lrn.data import synthetic
from lrn.errors import InputError


@pytest.fixture(scope="module")
def tiny_data():
    return synthetic(24, size=64, seed=0), synthetic(8, size=64, seed=1)


def test_lrn_training_loss_falls_and_results_are_written(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    train_split, val_split = tiny_data
    # the folder holds the log of an earlier, longer run: none of its epochs may survive
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history_stage1.csv").write_text(
        "epoch,loss,val_loss\n" + "".join(f"{e},9.0,9.0\n" for e in range(9)))
    config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=6, batch_size=8,
                               learning_rate=3e-3, patience=None, seed=0)
    result = train.train(config, train_split, val_split, tmp_path / "run", verbose=0)
    losses = result.history["loss"].to_numpy()
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0], losses
    assert {"s1_loss", "s6_loss", "val_loss"} <= set(result.history.columns)

    table, record = provenance.read_csv(tmp_path / "run" / "history.csv")
    assert len(table) == 6 and record["seed"] == 0 and record["settings"]["variant"] == "lrn"
    assert table["epoch"].tolist() == list(range(6)) and (table["loss"] < 9.0).all()
    assert len((tmp_path / "run" / "history_stage1.csv").read_text().splitlines()) == 1 + 6
    assert record["data_manifest_sha256"] == train_split.manifest_sha256
    saved = provenance.read_model_provenance(tmp_path / "run" / "model.keras")
    assert saved["settings"]["run_key"] == record["settings"]["run_key"]
    assert saved["lrn_version"] and saved["git_commit"]
    assert not (tmp_path / "cache" / "backups" / record["settings"]["run_key"]).exists()  # cleaned up


def test_unet_trains_and_vgg_schedule_runs_two_stages(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "vgg.weights.h5"
    reference.save_weights(weights)
    train_split, val_split = synthetic(8, size=32, seed=0), synthetic(4, size=32, seed=1)
    config = train.TrainConfig(variant="unet_vgg", size=32, width=1.0, epochs=2, batch_size=4,
                               patience=None, encoder_weights=str(weights))
    result = train.train(config, train_split, val_split, tmp_path / "run", verbose=0)
    assert result.history["stage"].tolist() == [1, 1, 2, 2]
    # stage 1 kept the encoder fixed: its first epoch starts from the file's weights
    assert result.model.get_layer("block1_conv1").trainable


def test_bad_settings_are_refused_by_name():
    with pytest.raises(InputError, match="epochs"):
        train.TrainConfig(epochs=0)
    with pytest.raises(InputError, match="learning_rate"):
        train.TrainConfig(learning_rate=-1)
    with pytest.raises(InputError, match="100"):
        train.TrainConfig(size=100)
    with pytest.raises(InputError, match="'unet_xl'"):
        train.TrainConfig(variant="unet_xl")
    with pytest.raises(InputError, match="lrn_vgg"):
        train.TrainConfig(variant="lrn", encoder_weights="imagenet")


RUN = """
import sys, numpy as np
from lrn import train
from lrn.data import synthetic
config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs={epochs}, batch_size=4,
                           learning_rate=1e-3, patience=None, seed=5)
result = train.train(config, synthetic(32, size=64, seed=0), synthetic(4, size=64, seed=1), sys.argv[1], verbose=0)
np.savez(sys.argv[2], *result.model.get_weights())
"""


def finished_epochs(meta: Path) -> int:
    """The epoch in Keras's backup metadata; 0 while Keras is still writing the file (it can be empty then)."""
    try:
        return json.loads(meta.read_text())["epoch"]
    except json.JSONDecodeError:
        return 0


def run_training(run_dir, weights_out, env, epochs):
    return subprocess.Popen([sys.executable, "-c", RUN.format(epochs=epochs), str(run_dir), str(weights_out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_a_killed_run_resumes_and_ends_bit_identical(tmp_path):
    """SIGKILL in the middle of training, start again: same final weights as an uninterrupted run."""
    epochs = 5
    # the uninterrupted run and the victim go side by side: each process is mostly start-up
    whole = run_training(tmp_path / "a", tmp_path / "a.npz", {**os.environ, "LRN_CACHE": str(tmp_path / "cache_a")},
                         epochs)
    env = {**os.environ, "LRN_CACHE": str(tmp_path / "cache_b")}
    victim = run_training(tmp_path / "b", tmp_path / "b.npz", env, epochs)
    backups = tmp_path / "cache_b" / "backups"
    deadline = time.time() + 300
    while time.time() < deadline:
        metas = list(backups.glob("*/stage1/training_metadata.json"))
        if metas and finished_epochs(metas[0]) >= 2:
            break
        assert victim.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = finished_epochs(metas[0])
    assert 2 <= killed_at < epochs

    resumed = run_training(tmp_path / "b", tmp_path / "b.npz", env, epochs)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output[-3000:]
    output = whole.communicate(timeout=300)[0]
    assert whole.returncode == 0, output[-3000:]
    history = provenance.read_csv(tmp_path / "b" / "history.csv")[0]
    assert history["epoch"].tolist() == list(range(epochs))
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])


def test_plateau_rule_is_keras_rule_with_a_relative_margin():
    from lrn.callbacks import plateau_state
    from lrnbook.stopping import replay

    curve = [1.0, 0.9, 0.95, 0.899, 0.93, 0.94, 0.8, 0.85, 0.86, 0.87]
    for patience in (1, 2, 3, 5):
        keras_rule = replay(curve, patience)
        ours = plateau_state(curve[:keras_rule["stops_after"]], patience, 0.0)
        assert ours["best_epoch"] + 1 == keras_rule["best_epoch"] and ours["stopped"] == (not keras_rule["cut"])
    # 0.899 is not 0.5 % below 0.9: with the margin, the wait that began at epoch 2 goes on
    assert plateau_state(curve[:5], 3, 0.005) == {"best": 0.9, "best_epoch": 1, "waited": 3, "stopped": True}
    assert plateau_state(curve[:5], 3, 0.0)["best_epoch"] == 3


def test_plateau_state_and_best_weights_survive_a_restart(tmp_path):
    from lrn.callbacks import BEST_WEIGHTS, Plateau, plateau_state

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.stop_training = False  # as model.fit sets it
    curve = [1.0, 0.7, 0.8, 0.9, 0.95]
    first = Plateau(tmp_path, patience=3)
    first.set_model(model)
    for epoch, value in enumerate(curve[:3]):
        model.layers[0].kernel.assign(np.full((2, 1), epoch, np.float32))
        first.on_epoch_end(epoch, {"val_loss": value})
    second = Plateau(tmp_path, patience=3)  # a new process
    second.set_model(model)
    second.on_epoch_end(2, {"val_loss": curve[2]})  # the epoch redone after the restart counts once
    for epoch, value in enumerate(curve[3:], start=3):
        model.layers[0].kernel.assign(np.full((2, 1), epoch, np.float32))
        second.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    assert second.state == plateau_state(curve, 3, 0.0) and second.stopped and epoch == 4
    second.restore_best(model)
    assert (tmp_path / BEST_WEIGHTS).is_file() and float(model.layers[0].kernel[0, 0]) == 1.0


def test_the_plateau_rule_can_watch_the_finest_map_instead_of_the_sum(tmp_path):
    from lrn.callbacks import Plateau

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.stop_training = False
    # the coarse levels overfit (the sum rises) while the finest map still improves
    logs = [{"val_loss": 1.5 + 0.1 * e, "val_s6_loss": 0.4 - 0.02 * e} for e in range(6)]
    for monitor, stops in (("val_loss", True), ("val_s6_loss", False)):
        model.stop_training = False
        plateau = Plateau(tmp_path / monitor, patience=3, monitor=monitor)
        plateau.set_model(model)
        for epoch, epoch_logs in enumerate(logs):
            plateau.on_epoch_end(epoch, epoch_logs)
        assert plateau.stopped == stops and model.stop_training == stops, monitor
        saved = json.loads((tmp_path / monitor / "plateau.json").read_text())
        assert saved["monitor"] == monitor and saved["val_losses"] == [e[monitor] for e in logs]
    with pytest.raises(KeyError, match="'val_s6_loss'.*val_loss"):
        Plateau(tmp_path / "u", patience=3, monitor="val_s6_loss").on_epoch_end(0, {"val_loss": 1.0})


def test_stop_on_names_the_loss_watched_and_keys_only_what_it_changes():
    data = synthetic(8, size=64, seed=0), synthetic(4, size=64, seed=1)
    summed, finest = (train.TrainConfig(variant="lrn", size=64, stop_on=rule) for rule in ("sum", "finest"))
    assert (summed.monitor, finest.monitor) == ("val_loss", "val_s6_loss")
    assert "stop_on" not in summed.to_dict() and finest.to_dict()["stop_on"] == "finest"
    assert train.run_key(summed, *data) != train.run_key(finest, *data)
    # a U-Net has one map: its loss is the sum, so the option changes nothing, key included
    unet = train.TrainConfig(variant="unet", size=64, stop_on="finest")
    assert unet.monitor == "val_loss" and unet.to_dict() == train.TrainConfig(variant="unet", size=64).to_dict()
    with pytest.raises(InputError, match="stop_on.*'coarsest'"):
        train.TrainConfig(stop_on="coarsest")


def test_training_hands_the_watched_loss_to_the_plateau_rule(tmp_path, monkeypatch):
    from lrn import callbacks

    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    watched = []

    class Recording(callbacks.Plateau):
        def on_epoch_end(self, epoch, logs=None):
            watched.append((self.monitor, logs[self.monitor]))
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(callbacks, "Plateau", Recording)
    config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=2, batch_size=8, stop_on="finest")
    result = train.train(config, synthetic(8, size=64, seed=0), synthetic(4, size=64, seed=1), tmp_path / "run",
                         verbose=0)
    assert [m for m, _ in watched] == ["val_s6_loss"] * 2
    assert [v for _, v in watched] == pytest.approx(result.history["val_s6_loss"].tolist())
    assert provenance.read_csv(tmp_path / "run" / "history.csv")[1]["settings"]["stop_on"] == "finest"


def test_a_run_stopped_by_its_deadline_goes_on_to_the_same_end(tmp_path, monkeypatch):
    """Stopped at an epoch boundary by a deadline, called again: same epochs, plateau, weights and
    per-image scores as a run never stopped with the same seed; a deadline already past trains nothing."""
    train_split, val_split = synthetic(16, size=64, seed=0), synthetic(4, size=64, seed=1)
    config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=6, batch_size=4,
                               learning_rate=1e-3, patience=3, seed=5)
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache_a"))
    whole = train.train(config, train_split, val_split, tmp_path / "a", verbose=0)
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache_b"))
    late = train.train(config, train_split, val_split, tmp_path / "b", verbose=0, deadline=time.time() - 1)
    assert not late.finished and late.history.empty and not (tmp_path / "b" / "model.keras").exists()
    cut = train.train(config, train_split, val_split, tmp_path / "b", verbose=0, deadline=time.time() + 2)
    assert not cut.finished and 1 <= len(cut.history) < len(whole.history)
    assert "seconds" in cut.history and (cut.history["seconds"] > 0).all()
    resumed = train.train(config, train_split, val_split, tmp_path / "b", verbose=0)
    assert resumed.finished
    assert resumed.history["epoch"].tolist() == whole.history["epoch"].tolist()
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the same seed gives the same per-image scores, exactly
    test_split = synthetic(6, size=224, seed=2)
    first, second = evaluate.evaluate(whole.model, test_split), evaluate.evaluate(resumed.model, test_split)
    for column in first.columns:
        assert first[column].tolist() == second[column].tolist(), column
    assert first["jaccard_s1"].nunique() > 1  # scores vary over images: the test can tell runs apart


def test_mixed_bfloat16_keeps_outputs_and_loss_in_float32(tmp_path, monkeypatch):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    config = train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=1, batch_size=4, patience=None,
                               precision="mixed_bfloat16")
    result = train.train(config, synthetic(8, size=64, seed=0), synthetic(4, size=64, seed=1), tmp_path / "r",
                         verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is put back
    assert result.model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert all(output.dtype == "float32" for output in result.model.outputs)
    assert np.isfinite(result.history["loss"]).all()
    with pytest.raises(InputError, match="precision"):
        train.TrainConfig(precision="float16")


def test_evaluation_table_and_summary(tiny_data):
    keras.utils.set_random_seed(0)
    from lrn import models

    model = models.build_lrn((64, 64, 3), width=0.125)
    test_split = synthetic(5, size=224, seed=3)
    table = evaluate.evaluate(model, test_split)
    assert list(table["id"]) == test_split.ids
    assert {"jaccard", "hausdorff", "jaccard_s1", "hausdorff_s6"} <= set(table.columns)
    np.testing.assert_array_equal(table["jaccard"], table["jaccard_s6"])
    summary = evaluate.summarize(table)
    assert summary["n"] == 5
    assert summary["jaccard"]["mean"] == pytest.approx(table["jaccard"].mean())
    assert summary["jaccard"]["std"] == pytest.approx(table["jaccard"].std(ddof=1))
    assert " ± " in summary["hausdorff"]["text"]
    with pytest.raises(InputError, match="224"):
        evaluate.evaluate(model, synthetic(2, size=64, seed=3))


def test_originals_are_scored_at_their_own_resolution(tiny_data):
    model = train.build(train.TrainConfig(variant="lrn", size=64, width=0.125))
    rng = np.random.default_rng(0)
    pairs = []
    for h, w in ((80, 60), (50, 70)):
        mask = np.zeros((h, w), bool)
        mask[h // 4:, w // 4: 3 * w // 4] = True
        pairs.append((rng.integers(0, 256, (h, w, 3), dtype=np.uint8), mask))
    table = evaluate.evaluate_originals(model, ["a", "b"], pairs)
    assert list(table.columns) == ["id", "jaccard", "hausdorff", "jaccard_clean", "hausdorff_clean"]
    assert list(table["id"]) == ["a", "b"]
    # an empty prediction at 80x60 scores the diagonal of the photo, not of 224x224
    diag = {"a": np.hypot(80, 60), "b": np.hypot(50, 70)}
    for _, row in table.iterrows():
        assert 0 <= row["jaccard"] <= 100 and 0 <= row["hausdorff"] <= diag[row["id"]] + 1e-9
    with pytest.raises(InputError, match="2 ids but 1"):
        evaluate.evaluate_originals(model, ["a", "b"], pairs[:1])
