"""Progress parks (lrnbook.progress_parks): an unfinished stage kept in the repository, found by
content, restored only into the run it came from, and a real run that goes on from it."""
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest

from lrn.callbacks import BEST_WEIGHTS, PLATEAU_JSON
from lrnbook import parking, progress_parks as pp


def write_h5(path, arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
    return path


def write_run(root, name, val_losses, stage1_done=False, stage2_losses=None):
    """A run folder and its backups as lrn.train leaves them (weights are small stand-ins)."""
    rng = np.random.default_rng(len(val_losses))
    model_dir, backups = root / "models" / f"model{name}", root / "backups" / f"run{name}"
    model_dir.mkdir(parents=True)
    stages = [(1, val_losses)] + ([(2, stage2_losses)] if stage2_losses is not None else [])
    for stage, losses in stages:
        pd_rows = "epoch,loss,val_loss,seconds\n" + "".join(
            f"{i},{v + 0.1},{v},1800.0\n" for i, v in enumerate(losses))
        (model_dir / f"history_stage{stage}.csv").write_text(pd_rows)
        folder = backups / f"stage{stage}"
        folder.mkdir(parents=True)
        (folder / PLATEAU_JSON).write_text(json.dumps({"val_losses": losses, "patience": 4, "min_improvement": 0.0}))
        for file in (BEST_WEIGHTS, "latest.weights.h5"):
            write_h5(folder / file, {"layers/encoder/vars/0": np.ones((3, 3), np.float32),
                                     "layers/decoder/vars/0": rng.normal(size=(4,)).astype(np.float32),
                                     "optimizer/vars/0": np.array(3, np.int64)})
    if stage1_done:
        write_h5(backups / parking.STAGE1_DONE, {"layers/encoder/vars/0": np.ones((3, 3), np.float32),
                                                 "layers/decoder/vars/0": np.full(4, 0.3, np.float32)})
    (model_dir / pp.STINTS).write_text(json.dumps([{"started_utc": "x", "seconds": 9.0, "epochs": len(val_losses),
                                                    "sgemm_gflops": 100.0, "stage1_from_park": False}]))
    return model_dir, backups


@pytest.fixture
def start(tmp_path):
    return write_h5(tmp_path / "start.weights.h5", {"layers/encoder/vars/0": np.ones((3, 3), np.float32),
                                                     "layers/decoder/vars/0": np.zeros(4, np.float32)})


def test_the_backups_of_a_run_are_found_by_its_validation_curve(tmp_path):
    model_a, backups_a = write_run(tmp_path, "a", [0.9, 0.8, 0.85])
    model_b, backups_b = write_run(tmp_path, "b", [0.7, 0.6])
    assert pp.find_backups(model_a, tmp_path / "backups") == backups_a
    assert pp.find_backups(model_b, tmp_path / "backups") == backups_b
    # the plateau state is written an epoch before the log: still the same run
    state = json.loads((backups_b / "stage1" / PLATEAU_JSON).read_text())
    (backups_b / "stage1" / PLATEAU_JSON).write_text(json.dumps({**state, "val_losses": [0.7, 0.6, 0.65]}))
    assert pp.find_backups(model_b, tmp_path / "backups") == backups_b
    shutil.copytree(backups_b, tmp_path / "backups" / "runcopy")  # two candidates: none is chosen
    assert pp.find_backups(model_b, tmp_path / "backups") is None
    assert pp.find_backups(tmp_path / "models" / "nothing", tmp_path / "backups") is None


def test_a_run_whose_rule_watched_its_finest_map_is_found_and_parked_by_that_curve(tmp_path, start):
    model_dir, backups = write_run(tmp_path, "f", [0.9, 0.8, 0.85])
    # the sum (val_loss) rises after epoch 0 while the finest map (val_s6_loss) falls to epoch 2
    log = pd.read_csv(model_dir / "history_stage1.csv").assign(val_s6_loss=[0.5, 0.4, 0.3])
    log.to_csv(model_dir / "history_stage1.csv", index=False)
    (backups / "stage1" / PLATEAU_JSON).write_text(json.dumps(
        {"val_losses": [0.5, 0.4, 0.3], "patience": 4, "min_improvement": 0.0, "monitor": "val_s6_loss"}))
    assert pp.find_backups(model_dir, tmp_path / "backups") == backups
    record = pp.snapshot(model_dir, backups, start, tmp_path / "park")
    assert record["epochs"] == 3  # up to the best epoch of the watched loss, not of the sum
    parked = json.loads((tmp_path / "park" / "backups" / "stage1" / PLATEAU_JSON).read_text())
    assert parked["monitor"] == "val_s6_loss" and parked["val_losses"] == [0.5, 0.4, 0.3]


def test_a_stage_is_parked_up_to_its_best_epoch_and_comes_back_checked(tmp_path, start):
    model_dir, backups = write_run(tmp_path / "cache", "a", [0.9, 0.7, 0.8, 0.75])
    record = pp.snapshot(model_dir, backups, start, tmp_path / "park")
    assert (record["stage"], record["epochs"], record["logged"]) == (1, 2, 4)
    assert record["hours"] == pytest.approx(2 * 1800 / 3600)
    with h5py.File(tmp_path / "park" / "backups" / "stage1" / BEST_WEIGHTS) as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert names == ["layers/decoder/vars/0"] and f["layers/decoder/vars/0"].dtype == np.float16
    best = parking.datasets(backups / "stage1" / BEST_WEIGHTS)["layers/decoder/vars/0"]

    shutil.rmtree(tmp_path / "cache")  # the machine is lost
    assert pp.restore(tmp_path / "park", model_dir, tmp_path / "cache" / "backups", start)
    folder = backups / "stage1"
    restored = parking.datasets(folder / "latest.weights.h5")
    np.testing.assert_array_equal(restored["layers/decoder/vars/0"], best.astype(np.float16).astype(np.float32))
    assert "optimizer/vars/0" not in restored  # a fresh Adam
    assert json.loads((folder / "training_metadata.json").read_text())["epoch"] == 2
    assert json.loads((folder / PLATEAU_JSON).read_text())["val_losses"] == [0.9, 0.7]
    assert list(pp.stage_log(model_dir, 1)["epoch"]) == [0, 1]
    stints = json.loads((model_dir / pp.STINTS).read_text())
    assert stints[-1]["restored_from_progress_park"] == {"stage": 1, "epochs": 2, "logged": 4,
                                                         "half_precision": True, "fresh_optimizer": True}
    # once restored, the backups exist: a second restore does nothing
    assert not pp.restore(tmp_path / "park", model_dir, tmp_path / "cache" / "backups", start)


def test_a_park_goes_only_back_into_its_own_run_and_unaltered(tmp_path, start):
    model_dir, backups = write_run(tmp_path / "cache", "a", [0.9, 0.7])
    pp.snapshot(model_dir, backups, start, tmp_path / "park")
    shutil.rmtree(tmp_path / "cache")
    assert not pp.restore(tmp_path / "park", tmp_path / "cache" / "models" / "otherkey", tmp_path / "cache" / "backups",
                          start)
    assert not (tmp_path / "cache").exists()
    log = tmp_path / "park" / "history_stage1.csv"
    log.write_text(log.read_text().replace("0.7", "0.6"))
    with pytest.raises(ValueError, match="does not match the sha256"):
        pp.restore(tmp_path / "park", model_dir, tmp_path / "cache" / "backups", start)


def test_a_second_stage_is_parked_with_the_end_of_the_first(tmp_path, start):
    model_dir, backups = write_run(tmp_path / "cache", "a", [0.9, 0.7, 0.8], stage1_done=True,
                                   stage2_losses=[0.6, 0.5, 0.55])
    record = pp.snapshot(model_dir, backups, start, tmp_path / "park")
    assert (record["stage"], record["epochs"]) == (2, 2)
    assert record["hours"] == pytest.approx((3 + 2) * 1800 / 3600)  # stage 1 whole, stage 2 to its best
    assert record["stage_hours"] == {"1": pytest.approx(1.5), "2": pytest.approx(1.0)}
    shutil.rmtree(tmp_path / "cache")
    assert pp.restore(tmp_path / "park", model_dir, tmp_path / "cache" / "backups", start)
    assert (backups / parking.STAGE1_DONE).is_file()
    assert json.loads((backups / "stage2" / "training_metadata.json").read_text())["epoch"] == 2
    assert len(pp.stage_log(model_dir, 1)) == 3 and len(pp.stage_log(model_dir, 2)) == 2


def test_a_second_stage_logged_from_the_first_stage_epoch_count_is_cut_by_position(tmp_path, start):
    model_dir, backups = write_run(tmp_path / "cache", "a", [0.9, 0.7, 0.8], stage1_done=True,
                                   stage2_losses=[0.6, 0.5, 0.55])
    log = model_dir / "history_stage2.csv"
    log.write_text(log.read_text().replace("\n0,", "\n16,").replace("\n1,", "\n17,").replace("\n2,", "\n18,"))
    record = pp.snapshot(model_dir, backups, start, tmp_path / "park")
    assert record["hours"] == pytest.approx((3 + 2) * 1800 / 3600)
    assert list(pd.read_csv(tmp_path / "park" / "history_stage2.csv")["epoch"]) == [0, 1]  # as the restore goes on


def test_a_run_without_a_finished_epoch_has_nothing_to_park(tmp_path, start):
    model_dir, backups = write_run(tmp_path / "cache", "a", [])
    assert pp.snapshot(model_dir, backups, start, tmp_path / "park") is None
    assert not (tmp_path / "park").exists()


def test_a_park_is_written_when_the_hours_it_saves_are_worth_its_size():
    assert pp.worth_parking(2_000_000, 0.5)  # a decoder behind a frozen encoder
    assert not pp.worth_parking(32_000_000, 5.0)  # a whole width-1 network
    assert pp.worth_parking(32_000_000, 5.5)
    assert not pp.worth_parking(1, 0.0)


def test_hours_a_stage_end_park_keeps_are_not_counted_again():
    record = {"model_key": "m", "stage": 2, "hours": 2.5, "stage_hours": {"1": 1.5, "2": 1.0}}
    assert pp.hours_kept(record, None, None) == 0.0
    assert pp.hours_kept(record, None, {"model_key": "m", "stage1_done": True}) == 1.5
    assert pp.hours_kept(record, None, {"model_key": "other", "stage1_done": True}) == 0.0  # another run's
    assert pp.hours_kept(record, {"hours": 2.0}, {"model_key": "m"}) == 2.0  # a stage-2 park already kept more
    assert pp.hours_kept({**record, "stage": 1}, None, {"model_key": "m"}) == 0.0


def fake_fits(tmp_path, start, monkeypatch, runs):
    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    fits = [(SimpleNamespace(name=f"fit/{name}", short=name), tmp_path / "cache" / "models" / f"model{name}",
             tmp_path / "repo" / "parked" / "progress" / name) for name in runs]
    monkeypatch.setattr(pp, "fits", lambda profile: iter(fits))
    monkeypatch.setattr(pp, "_start", lambda stage, dest: shutil.copyfile(start, dest))
    monkeypatch.setattr(parking, "committed_bytes", lambda repo: 0)
    return fits


def test_park_all_parks_what_is_worth_it_and_drops_the_parks_of_finished_runs(tmp_path, start, monkeypatch, capsys):
    fits = fake_fits(tmp_path, start, monkeypatch, ["a", "b", "c"])
    write_run(tmp_path / "cache", "a", [0.9, 0.7])
    write_run(tmp_path / "cache", "b", [0.5, 0.4, 0.45])
    assert pp.park_all("cpu", tmp_path / "repo") == ["fit/a", "fit/b"]
    assert pp.park_all("cpu", tmp_path / "repo") == []  # nothing new since
    (fits[0][1] / "model.keras").write_text("finished")
    monkeypatch.setattr(pp, "MB_PER_HOUR", 1e-9)  # no park is worth writing now
    assert pp.park_all("cpu", tmp_path / "repo") == []
    assert not fits[0][2].exists() and fits[1][2].exists()
    monkeypatch.setattr(pp, "MB_PER_HOUR", 2.0)
    monkeypatch.setattr(parking, "committed_bytes", lambda repo: parking.HISTORY_LIMIT_BYTES)
    write_run(tmp_path / "cache", "c", [0.95])
    assert pp.park_all("cpu", tmp_path / "repo") == []
    assert "over 150 MB" in capsys.readouterr().err


def test_restore_all_puts_back_only_what_the_cache_lost(tmp_path, start, monkeypatch):
    fake_fits(tmp_path, start, monkeypatch, ["a", "b"])
    write_run(tmp_path / "cache", "a", [0.9, 0.7])
    write_run(tmp_path / "cache", "b", [0.5, 0.4])
    pp.park_all("cpu", tmp_path / "repo")
    shutil.rmtree(tmp_path / "cache" / "backups" / "runa")
    shutil.rmtree(tmp_path / "cache" / "models" / "modela")
    assert pp.restore_all("cpu") == ["fit/a"]  # b still has its backups


def test_a_run_goes_on_from_its_progress_park(tmp_path, monkeypatch):
    """A real run stopped after three epochs, its machine lost: restored from the park, it goes on
    at the epoch after its best, with the logs and the plateau state cut there."""
    from lrn import train
    from lrn.data import Split

    monkeypatch.setenv("LRN_CACHE", str(tmp_path / "cache"))
    config = train.TrainConfig(variant="lrn", size=32, width=0.125, epochs=20, batch_size=4, patience=10,
                               learning_rate=1e-3)
    rng = np.random.default_rng(0)
    split = Split("synthetic", rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), rng.random((8, 32, 32)) > 0.5,
                  [f"{i:05d}" for i in range(8)], "0" * 64)
    run = tmp_path / "cache" / "models" / "modelkey"
    while len(pp.stage_log(run, 1)) < 3:  # stopped by a deadline after an epoch or two, called again
        assert not train.train(config, split, split, run, verbose=0, deadline=time.time() + 2).finished
    logged = pp.stage_log(run, 1)
    backups = pp.find_backups(run, tmp_path / "cache" / "backups")
    assert backups is not None and backups.name == train.run_key(config, split, split)
    start = parking.starting_weights(config, tmp_path / "start.weights.h5")
    record = pp.snapshot(run, backups, start, tmp_path / "park")
    kept = record["epochs"]
    assert 1 <= kept <= len(logged) == record["logged"]

    shutil.rmtree(tmp_path / "cache")
    assert pp.restore(tmp_path / "park", run, tmp_path / "cache" / "backups", start)
    assert not train.train(config, split, split, run, verbose=0, deadline=time.time() + 2).finished
    resumed = pp.stage_log(run, 1)
    assert list(resumed["epoch"]) == list(range(len(resumed))) and len(resumed) > kept
    np.testing.assert_allclose(resumed["val_loss"][:kept], logged["val_loss"][:kept])  # kept as they were
    state = json.loads((backups / "stage1" / PLATEAU_JSON).read_text())
    assert len(state["val_losses"]) == len(resumed)


def test_make_train_restores_before_its_fits_and_parks_after_them():
    lines = (Path(__file__).resolve().parents[1] / "Makefile").read_text().split("\ntrain:")[1].split("\n\n")[0]
    steps = [line.strip() for line in lines.splitlines() if line.startswith("\t")]
    order = [next(i for i, s in enumerate(steps) if word in s)
             for word in ("progress_parks restore", "--only 'fit/*'", "progress_parks park", "lrnbook.curves", "--only 'score/*'")]
    assert order == sorted(order)
