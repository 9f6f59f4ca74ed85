"""Parked -VGG progress (lrnbook.parking): thinned weight files, guarded restore, a real resume."""
import json

import h5py
import numpy as np
import pytest

from lrnbook import parking


def write_h5(path, arrays, attrs=None):
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    return path


@pytest.fixture
def weights(tmp_path):
    rng = np.random.default_rng(0)
    encoder = rng.normal(size=(3, 3, 4, 8)).astype(np.float32)
    start = write_h5(tmp_path / "start.weights.h5", {"layers/conv2d/vars/0": encoder,
                                                     "layers/conv2d_1/vars/0": np.zeros(8, np.float32)})
    trained = write_h5(tmp_path / "latest.weights.h5", {
        "layers/conv2d/vars/0": encoder,                                   # frozen: as it started
        "layers/conv2d_1/vars/0": np.full(8, 0.5, np.float32),             # trained
        "optimizer/vars/0": np.array(7, np.int64)}, attrs={"keras_version": "3"})
    return start, trained


def test_thin_leaves_out_what_equals_the_start_and_thicken_rebuilds_it(tmp_path, weights):
    start, trained = weights
    thinned = tmp_path / "thin.weights.h5"
    assert parking.thin(trained, start, thinned) == ["layers/conv2d/vars/0"]
    assert set(parking.datasets(thinned)) == {"layers/conv2d_1/vars/0", "optimizer/vars/0"}
    rebuilt = tmp_path / "rebuilt.weights.h5"
    parking.thicken(thinned, start, rebuilt)
    assert parking.datasets_sha256(rebuilt) == parking.datasets_sha256(trained)
    with h5py.File(rebuilt) as f:
        assert dict(f.attrs) == {"keras_version": "3"}


def test_a_different_start_is_caught(tmp_path, weights):
    start, trained = weights
    thinned = tmp_path / "thin.weights.h5"
    parking.thin(trained, start, thinned)
    other = write_h5(tmp_path / "other.weights.h5", {"layers/conv2d_1/vars/0": np.zeros(8, np.float32)})
    with pytest.raises(ValueError, match="lack"):
        parking.thicken(thinned, other, tmp_path / "x.weights.h5")


def cache_with_progress(root, weights):
    start, trained = weights
    model_dir, backups = root / "models" / "modelkey", root / "backups" / "runkey"
    (backups / "stage1").mkdir(parents=True)
    (backups / "stage1" / "latest.weights.h5").write_bytes(trained.read_bytes())
    (backups / "stage1" / "training_metadata.json").write_text(json.dumps({"epoch": 3}))
    model_dir.mkdir(parents=True)
    (model_dir / "history_stage1.csv").write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    return model_dir, backups


def test_park_then_unpark_restores_every_file(tmp_path, weights):
    start, _ = weights
    model_dir, backups = cache_with_progress(tmp_path / "old", weights)
    dest = tmp_path / "repo" / "parked" / "lrn_vgg"
    record = parking.park(model_dir, backups, start, dest, "runkey")
    assert record["finished_epochs"] == {"stage1": 3} and not record["stage1_done"]
    assert (dest / "backups" / "stage1" / "latest.weights.h5").stat().st_size < \
        (backups / "stage1" / "latest.weights.h5").stat().st_size

    new_model, new_backups = tmp_path / "new" / "models" / "modelkey", tmp_path / "new" / "backups" / "runkey"
    assert parking.unpark(dest, new_model, new_backups, start, "runkey")
    assert (new_model / "history_stage1.csv").read_text() == (model_dir / "history_stage1.csv").read_text()
    assert json.loads((new_backups / "stage1" / "training_metadata.json").read_text()) == {"epoch": 3}
    assert parking.datasets_sha256(new_backups / "stage1" / "latest.weights.h5") == \
        parking.datasets_sha256(backups / "stage1" / "latest.weights.h5")
    # The cache now holds a backup of its own: a second unpark leaves it alone.
    assert not parking.unpark(dest, new_model, new_backups, start, "runkey")


def test_unpark_refuses_another_run_and_a_tampered_file(tmp_path, weights, capsys):
    start, _ = weights
    model_dir, backups = cache_with_progress(tmp_path / "old", weights)
    dest = tmp_path / "parked"
    parking.park(model_dir, backups, start, dest, "runkey")
    fresh = tmp_path / "new"
    assert not parking.unpark(dest, fresh / "models" / "otherkey", fresh / "backups" / "runkey", start, "runkey")
    assert not parking.unpark(dest, fresh / "models" / "modelkey", fresh / "backups" / "other", start, "other")
    assert "belongs to another run" in capsys.readouterr().err
    (dest / "history_stage1.csv").write_text("epoch,loss\n0,0.1\n")
    with pytest.raises(ValueError, match="does not match the sha256"):
        parking.unpark(dest, fresh / "models" / "modelkey", fresh / "backups" / "runkey", start, "runkey")


def test_nothing_to_park_is_an_error(tmp_path, weights):
    start, _ = weights
    with pytest.raises(FileNotFoundError, match="nothing to park"):
        parking.park(tmp_path / "models" / "k", tmp_path / "backups" / "r", start, tmp_path / "parked", "r")


def test_a_parked_keras_stage_resumes_where_it_stopped(tmp_path, monkeypatch):
    """A frozen-encoder stage backed up by Keras, parked without its encoder, resumes after a
    restore on an empty cache at the next epoch, with the weights it had."""
    import keras

    from lrn import train
    from lrn.data import Split

    vgg_file = tmp_path / "vgg.weights.h5"
    keras.utils.set_random_seed(1)
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(vgg_file)
    config = train.TrainConfig(variant="lrn_vgg", size=32, width=1.0, epochs=1, batch_size=4, patience=None,
                               encoder_weights=str(vgg_file), preprocessing="torch")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    masks = rng.random((8, 32, 32)) > 0.5
    split = Split("synthetic", images, masks, [f"{i:05d}" for i in range(8)], "0" * 64)
    strategy = train.distribution_strategy("default")

    start = tmp_path / "start.weights.h5"
    train.build(config).save_weights(start)
    old_backups, old_run = tmp_path / "old" / "backups", tmp_path / "old" / "modelkey"
    old_run.mkdir(parents=True)
    model = train.build(config)
    from lrn import models

    models.freeze_encoder(model)
    train.fit_stage(model, config, split, split, 1, old_run, old_backups / "stage1", 0, strategy)
    dest = tmp_path / "parked"
    record = parking.park(old_run, old_backups, start, dest, "run")
    assert record["finished_epochs"] == {"stage1": 1}
    with h5py.File(dest / "backups" / "stage1" / "latest.weights.h5") as f:
        taken = json.loads(f.attrs[parking.TAKEN_ATTR])
    assert len([t for t in taken if t.startswith("layers/")]) == 26  # 13 frozen kernels and biases

    new_backups, new_run = tmp_path / "new" / "backups", tmp_path / "new" / "modelkey"
    assert parking.unpark(dest, new_run, new_backups, start, "run")
    resumed = train.build(train.TrainConfig(**{**config.to_dict(), "epochs": 2}))
    models.freeze_encoder(resumed)
    log = train.fit_stage(resumed, train.TrainConfig(**{**config.to_dict(), "epochs": 2}), split, split, 1, new_run,
                          new_backups / "stage1", 0, strategy)
    assert list(log["epoch"]) == [0, 1]  # epoch 0 from the parked log, epoch 1 trained after the resume


def test_stage1_done_is_parked_without_optimizer_state(tmp_path, weights):
    start, trained = weights
    model_dir, backups = cache_with_progress(tmp_path / "old", weights)
    (backups / "stage1_done.weights.h5").write_bytes(trained.read_bytes())
    dest = tmp_path / "parked"
    parking.park(model_dir, backups, start, dest, "runkey")
    assert "optimizer/vars/0" not in parking.datasets(dest / "backups" / "stage1_done.weights.h5")
    fresh = tmp_path / "new"
    assert parking.unpark(dest, fresh / "models" / "modelkey", fresh / "backups" / "runkey", start, "runkey")
    restored = parking.datasets(fresh / "backups" / "runkey" / "stage1_done.weights.h5")
    assert set(restored) == {"layers/conv2d/vars/0", "layers/conv2d_1/vars/0"}
