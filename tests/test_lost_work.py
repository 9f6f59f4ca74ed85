"""Training lost with a machine (lrnbook.lost_work): the committed curve's epochs that the log of the
machine now training no longer holds are noted, once, and the pages say how many hours they were."""
import datetime as dt
import json
from types import SimpleNamespace

import pandas as pd

from lrnbook import curves, lost_work

from test_curves import log


def curve(val_losses, stages=None, seconds=1800.0):
    stages = stages or [1] * len(val_losses)
    epochs = [sum(1 for s in stages[:i] if s == stage) for i, stage in enumerate(stages)]
    return pd.DataFrame({"epoch": epochs, "val_loss": val_losses, "seconds": seconds, "stage": stages})


def test_a_log_that_goes_on_from_the_committed_curve_lost_nothing():
    committed = curve([0.9, 0.8, 0.7])
    assert lost_work.lost_rows(committed, curve([0.9, 0.8, 0.7, 0.65])).empty
    assert lost_work.lost_rows(committed, committed).empty
    # the committed curve keeps 6 significant digits of the log's losses
    assert lost_work.lost_rows(curve([0.123457]), curve([0.12345678])).empty


def test_the_epochs_after_the_park_are_lost_whether_or_not_they_were_trained_again():
    committed = curve([0.9, 0.8, 0.7, 0.75, 0.72], stages=[1, 1, 2, 2, 2])
    restored = committed.iloc[:2]  # the park held stage 1; stage 2 not trained again yet
    assert lost_work.lost_rows(committed, restored)["val_loss"].tolist() == [0.7, 0.75, 0.72]
    trained_again = curve([0.9, 0.8, 0.71], stages=[1, 1, 2])
    assert lost_work.lost_rows(committed, trained_again)["val_loss"].tolist() == [0.7, 0.75, 0.72]
    started_over = curve([0.95])  # no park: the run began again
    assert len(lost_work.lost_rows(committed, started_over)) == 5
    assert len(lost_work.lost_rows(committed, pd.DataFrame())) == 5
    # same losses but another stage: not the same epochs
    assert len(lost_work.lost_rows(curve([0.9, 0.8], [1, 1]), curve([0.9, 0.8], [1, 2]))) == 1
    # an epoch trained again that reproduced its loss bit for bit still took its own time
    reproduced = committed.assign(seconds=[1800.0, 1800.0, 1811.3, 1800.0, 1800.0])
    assert lost_work.lost_rows(committed, reproduced)["val_loss"].tolist() == [0.7, 0.75, 0.72]


def test_note_loss_appends_one_entry_per_loss(tmp_path):
    noticed = dt.datetime(2026, 12, 5, 9, 51, tzinfo=dt.timezone.utc)
    committed = curve([0.9, 0.8, 0.7, 0.75], stages=[1, 1, 2, 2], seconds=3600.0)
    assert lost_work.note_loss(tmp_path, "run", committed, committed) is None
    assert lost_work.note_loss(tmp_path, "run", None, committed) is None
    assert not lost_work.lost_path(tmp_path, "run").exists()
    entry = lost_work.note_loss(tmp_path, "run", committed, committed.iloc[:2], noticed)
    assert entry == {"noticed_utc": "2026-12-05T09:51:00+00:00", "stage": 2, "epoch": 1, "epochs": 2, "hours": 2.0}
    lost_work.note_loss(tmp_path, "run", curve([0.9, 0.85], seconds=900.0), curve([0.9], seconds=900.0), noticed)
    entries = lost_work.read("run", tmp_path)
    assert [e["hours"] for e in entries] == [2.0, 0.25] and entries[1]["epoch"] == 2
    assert lost_work.read("other", tmp_path) == []


def test_lost_text_counts_the_lost_hours_beside_the_kept_ones():
    assert lost_work.lost_text([]) == ""
    one = [{"noticed_utc": "2026-12-05T09:51:00+00:00", "stage": 2, "epoch": 1, "epochs": 4, "hours": 3.87}]
    text = lost_work.lost_text(one, 9.0)
    assert text.startswith("A training machine and its cache were lost (noticed on 2026-12-05) with 4 epochs of "
                           "stage 2 from its epoch 1 on (3.9 h), trained after its last park in the repository")
    assert text.endswith("training has taken 12.9 h (3.9 h of them lost).")
    two = one + [{"noticed_utc": "2026-12-09T10:00:00+00:00", "stage": 1, "epoch": 1, "epochs": 40, "hours": 1.7}]
    text = lost_work.lost_text(two)
    assert text.startswith("Training machines and their caches were lost 2 times: (noticed on 2026-12-05)")
    assert "with all 40 epochs the run had trained (1.7 h), before any park held them: it started again" in text
    assert "training has taken" not in text


def test_write_all_notes_what_the_machine_lost_before_overwriting_the_curve(tmp_path, monkeypatch):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    settings = {"protocol": "paper", "config": {"size": 224}}
    fits = [(SimpleNamespace(name=f"fit/{n}", short=n, settings=settings), cache / key, None)
            for n, key in (("lost", "k1"), ("kept", "k2"), ("rekeyed", "k3"))]
    monkeypatch.setattr(curves, "fits", lambda profile: iter(fits))
    monkeypatch.setattr(curves, "runs_dir", lambda profile: runs)
    for name, key in (("lost", "k1"), ("kept", "k2"), ("rekeyed", "k3")):
        log(cache / key / "history_stage1.csv", [0.9, 0.8, 0.7])
    assert curves.write_all("cpu") == ["lost", "kept", "rekeyed"]
    assert json.loads((runs / "curves" / "lost.json").read_text())["model_key"] == "k1"
    # a new machine: "lost" starts over, "kept" goes on, "rekeyed" trains under a new key (its code changed)
    log(cache / "k1" / "history_stage1.csv", [0.95])
    log(cache / "k2" / "history_stage1.csv", [0.9, 0.8, 0.7, 0.6])
    fits[2] = (fits[2][0], cache / "k4", None)
    log(cache / "k4" / "history_stage1.csv", [0.99])
    curves.write_all("cpu")
    assert [e["epochs"] for e in lost_work.read("lost", runs)] == [3]
    assert lost_work.read("kept", runs) == [] and lost_work.read("rekeyed", runs) == []
    curves.write_all("cpu")  # noted once: the curve now committed is the new machine's
    assert len(lost_work.read("lost", runs)) == 1


def test_book_status_counts_the_lost_hours_of_a_run_still_training(tmp_path, monkeypatch):
    from lrnbook import stages
    from lrnbook.plan import Stage

    monkeypatch.setattr(stages, "runs_dir", lambda profile: tmp_path)
    run = Stage(name="fit/lrn", kind="fit")
    assert stages.lost_hours("cpu", run) == ""
    for hours in (1.25, 0.5):
        lost_work.note_loss(tmp_path, "lrn", curve([0.9], seconds=hours * 3600), curve([]))
    assert stages.lost_hours("cpu", run) == " (and 1.8 more, lost with a training machine)"


def test_pages_give_a_run_still_training_its_lost_hours_beside_the_kept_ones(tmp_path):
    from lrnbook import pages

    note = {"status": "not run", "in_progress": True, "stage": 1, "epoch": 28, "hours": 1.02,
            "reason": "still training: training, epoch 28 of at most 300, 1.0 hours so far; its progress is kept "
                      "in the training machine's cache and `make train` goes on"}
    (tmp_path / "results" / "lrn").mkdir(parents=True)
    (tmp_path / "results" / "lrn" / "test_summary.json").write_text(json.dumps(note))
    kept_only = pages.read_summary("lrn", tmp_path)
    assert "lost_hours" not in kept_only and pages.progress_text(kept_only) == "epoch 28, 1.0 h so far"
    lost_work.note_loss(tmp_path, "lrn", curve([0.9, 0.8], seconds=3085.0), curve([]))  # 1.7 h in two epochs
    summary = pages.read_summary("lrn", tmp_path)
    assert summary["lost_hours"] == 1.714
    assert pages.progress_text(summary) == "epoch 28, 1.0 h so far plus 1.7 h lost with a training machine"
    assert pages.cell_text(summary, "jaccard") == f"still training: {pages.progress_text(summary)}"
    assert ("epoch 28 of at most 300, 1.0 hours of training so far (and 1.7 more, lost with a training machine); "
            "`make train` resumes") in pages.not_run_text("LRN", summary)
    # a finished run's scores say nothing of losses: its page's training section counts them
    (tmp_path / "results" / "lrn" / "test_summary.json").write_text(json.dumps({"jaccard": {"text": "90"}}))
    assert "lost_hours" not in pages.read_summary("lrn", tmp_path)
