"""Parked stage-1 progress (lrnbook.parking): thinned half-precision weights, guarded restore, a real resume."""
import json
import subprocess

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
        "layers/conv2d_1/vars/0": np.full(8, 1 / 3, np.float32),           # trained
        "optimizer/vars/0": np.array(7, np.int64)}, attrs={"keras_version": "3"})
    return start, trained


def test_thin_drops_the_start_and_the_optimiser_and_halves_the_rest(tmp_path, weights):
    start, trained = weights
    thinned = tmp_path / "thin.weights.h5"
    restored = parking.thin(trained, start, thinned)
    stored = parking.datasets(thinned)
    assert set(stored) == {"layers/conv2d_1/vars/0"} and stored["layers/conv2d_1/vars/0"].dtype == np.float16
    rebuilt = tmp_path / "rebuilt.weights.h5"
    parking.thicken(thinned, start, rebuilt)
    got = parking.datasets(rebuilt)
    assert parking.arrays_sha256(got) == parking.arrays_sha256(restored)
    assert np.array_equal(got["layers/conv2d/vars/0"], parking.datasets(start)["layers/conv2d/vars/0"])
    trained_value = parking.datasets(trained)["layers/conv2d_1/vars/0"]
    assert got["layers/conv2d_1/vars/0"].dtype == np.float32
    assert 0 < np.abs(got["layers/conv2d_1/vars/0"] - trained_value).max() < 1e-3  # rounded to float16
    with h5py.File(rebuilt) as f:
        assert dict(f.attrs) == {"keras_version": "3"}


def test_a_different_start_is_caught(tmp_path, weights):
    start, trained = weights
    thinned = tmp_path / "thin.weights.h5"
    parking.thin(trained, start, thinned)
    other = write_h5(tmp_path / "other.weights.h5", {"layers/conv2d_1/vars/0": np.zeros(8, np.float32)})
    with pytest.raises(ValueError, match="lack"):
        parking.thicken(thinned, other, tmp_path / "x.weights.h5")


def cache_with_stage1(root, weights, done=True):
    start, trained = weights
    model_dir, backups = root / "models" / "modelkey", root / "backups" / "runkey"
    (backups / "stage1").mkdir(parents=True)
    if done:
        (backups / parking.STAGE1_DONE).write_bytes(trained.read_bytes())
    (backups / "stage1" / "plateau.json").write_text(json.dumps({"val_losses": [1.0, 0.9]}))
    model_dir.mkdir(parents=True)
    (model_dir / "history_stage1.csv").write_text("epoch,loss\n0,1.0\n1,0.9\n")
    return model_dir, backups


def test_only_a_finished_first_stage_is_parked_and_comes_back_checked(tmp_path, weights, capsys):
    start, _ = weights
    repo = tmp_path / "repo"
    model_dir, backups = cache_with_stage1(tmp_path / "old", weights, done=False)
    assert parking.park(model_dir, backups, start, repo / "parked" / "x", "runkey", repo) is None
    model_dir, backups = cache_with_stage1(tmp_path / "old2", weights)
    dest = repo / "parked" / "lrn_vgg"
    record = parking.park(model_dir, backups, start, dest, "runkey", repo)
    assert record["stage1_done"] and set(record["files"]) == {
        "backups/stage1_done.weights.h5", "backups/stage1/plateau.json", "history_stage1.csv"}
    fresh = tmp_path / "new"
    assert not parking.unpark(dest, fresh / "models" / "other", fresh / "backups" / "runkey", start, "runkey")
    assert "belongs to another run" in capsys.readouterr().err
    assert parking.unpark(dest, fresh / "models" / "modelkey", fresh / "backups" / "runkey", start, "runkey")
    assert (fresh / "models" / "modelkey" / "history_stage1.csv").read_text().endswith("1,0.9\n")
    assert not parking.unpark(dest, fresh / "models" / "modelkey", fresh / "backups" / "runkey", start, "runkey")

    with h5py.File(dest / "backups" / parking.STAGE1_DONE, "a") as f:  # tampered with
        f["layers/conv2d_1/vars/0"][0] = 9
    again = tmp_path / "again"
    with pytest.raises(ValueError, match="does not match"):
        parking.unpark(dest, again / "models" / "modelkey", again / "backups" / "runkey", start, "runkey")


def test_committed_parks_count_against_the_history_limit(tmp_path, weights, monkeypatch):
    start, _ = weights
    repo = tmp_path / "repo"
    park_dir = repo / "notebooks" / "runs" / "cpu" / "parked" / "lrn_vgg"
    park_dir.mkdir(parents=True)
    (park_dir / "blob.bin").write_bytes(b"x" * 5000)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "park"],
                   check=True)
    (park_dir / "blob.bin").unlink()
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "gone"],
                   check=True)
    assert parking.committed_bytes(repo) == 5000  # a removed park still counts
    model_dir, backups = cache_with_stage1(tmp_path / "old", weights)
    monkeypatch.setattr(parking, "HISTORY_LIMIT_BYTES", 5100)
    assert parking.park(model_dir, backups, start, tmp_path / "p", "runkey", repo) is None


def test_a_run_goes_on_from_a_parked_first_stage_into_stage_two(tmp_path, monkeypatch):
    """A -VGG run whose cache was lost starts stage 2 from the parked stage 1 (decoder rounded to
    float16, ImageNet encoder exact) and does not train stage 1 again."""
    import keras

    from lrn import train
    from lrn.data import Split

    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    vgg_file = tmp_path / "vgg.weights.h5"
    keras.utils.set_random_seed(1)
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(vgg_file)
    config = train.TrainConfig(variant="lrn_vgg", size=32, width=1.0, epochs=1, batch_size=4, patience=None,
                               encoder_weights=str(vgg_file), preprocessing="torch")
    rng = np.random.default_rng(0)
    split = Split("synthetic", rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), rng.random((8, 32, 32)) > 0.5,
                  [f"{i:05d}" for i in range(8)], "0" * 64)
    old_run = tmp_path / "old" / "modelkey"
    old_run.mkdir(parents=True)
    backups = tmp_path / "cache" / "backups" / train.run_key(config, split, split)
    model = train.build(config)  # stage 1 as lrn.train.train runs it, up to its saved end
    from lrn import models

    models.freeze_encoder(model)
    _, finished = train.fit_stage(model, config, split, split, 1, old_run, backups / "stage1", 0,
                                  train.distribution_strategy("default"))
    assert finished
    models.unfreeze_encoder(model)
    model.save_weights(backups / parking.STAGE1_DONE)
    start = parking.starting_weights(config, tmp_path / "start.weights.h5")
    dest = tmp_path / "parked"
    parking.park(old_run, backups, start, dest, backups.name, tmp_path)
    with h5py.File(dest / "backups" / parking.STAGE1_DONE) as f:
        taken = json.loads(f.attrs[parking.TAKEN_ATTR])
    assert len([t for t in taken if t.startswith("layers/")]) == 26  # 13 frozen kernels and biases

    import shutil

    shutil.rmtree(tmp_path / "cache")  # the machine is lost
    new_run = tmp_path / "new" / "modelkey"
    assert parking.unpark(dest, new_run, backups, start, backups.name)
    resumed = train.train(config, split, split, new_run, verbose=0)
    assert resumed.finished
    assert list(resumed.history["stage"]) == [1, 2]  # stage 1 from the park, stage 2 trained now
