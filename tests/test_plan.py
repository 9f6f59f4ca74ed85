"""The run plan of a profile, its stages' keys, execution and the committed book's state."""
import json
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from lrn.errors import InputError
from lrnbook import plan, stages


def names(profile):
    return [s.name for s in plan.plan(profile)]


def test_every_training_run_has_a_fit_a_score_and_a_page():
    smoke = names("smoke")
    runs = ["lrn", "lrn_vgg", "unet", "unet_vgg", "lrn_small_seed0", "unet_small_seed0", "lrn_small_finest",
            "lrn_small_squeeze", "lrn_small_backgrounds", "lrn_small_larger", "lrn_small_bf16"]
    assert [n for n in smoke if n.startswith("fit/")] == [f"fit/{r}" for r in runs]
    for run in runs:
        assert smoke.index(f"fit/{run}") < smoke.index(f"score/{run}") < smoke.index(f"page/train_{run}")
    assert [n for n in smoke if n.startswith("page/") and not n.startswith("page/train_")] == [
        "page/data", "page/results", "page/claims", "page/ablations", "page/coarse_to_fine"]  # smoke: no peer, no card
    assert {"page/peer", "page/model_card"} <= set(names("cpu"))


def test_a_stage_runs_after_every_stage_whose_outputs_it_reads():
    for profile in ("smoke", "cpu"):
        seen = set()
        for stage in plan.plan(profile):
            producers = {p.name for p in plan.plan(profile) if set(p.outputs) & set(stage.reads)}
            assert producers <= seen, (stage.name, producers - seen)
            seen.add(stage.name)


def test_fit_settings_are_what_training_needs_and_nothing_else():
    fits = {s.short: s for s in plan.plan("cpu") if s.kind == "fit"}
    lrn = fits["lrn"].settings
    assert set(lrn["config"]) == {"variant", "size", "width", "epochs", "batch_size", "learning_rate", "patience",
                                  "min_improvement", "stop_on", "precision", "seed", "augment"}
    # the plateau rule watches the scored map: LRN's finest; a U-Net's one map is its sum, keyed as before
    assert lrn["config"]["stop_on"] == fits["lrn_vgg"].settings["config"]["stop_on"] == "finest"
    assert "stop_on" not in fits["unet"].settings["config"] and "stop_on" not in fits["unet_vgg"].settings["config"]
    assert (lrn["protocol"], lrn["split_seed"], lrn["onednn"]) == ("paper", 0, True)
    small = fits["lrn_small_seed0"].settings["config"]
    assert (small["size"], small["width"], small["learning_rate"], small["precision"]) == (128, 0.25, 1e-3, "float32")
    assert fits["lrn_small_bf16"].settings["config"] == {**small, "precision": "mixed_bfloat16"}
    assert fits["lrn_small_seed1"].settings["config"]["seed"] == 1 and fits["lrn_small_seed1"].settings["split_seed"] == 0
    assert fits["lrn_small_squeeze"].settings["config"]["squeeze_skip"] is True
    assert "stop_on" not in small  # the seeds and ablations keep the summed rule they trained with


def test_table1_runs_are_the_papers_and_vgg_fits_train_from_torchvision_weights():
    from lrn import vgg_weights

    fits = {s.short: s for s in plan.plan("cpu") if s.kind == "fit"}
    for name in ("lrn", "lrn_vgg", "unet", "unet_vgg"):
        stage = fits[name]
        config = stage.settings["config"]
        assert (config["width"], config["learning_rate"], config["size"]) == (1.0, 1e-4, 224), name
        assert stage.runner == "lrnbook.fit" and stage.roots == ("lrnbook.fit",)
        vgg = name.endswith("_vgg")
        assert ("encoder" in stage.settings) == vgg
        if vgg:
            assert stage.settings["encoder"] == {"weights": "torchvision", "member_sha256": vgg_weights.MEMBER.sha256}
            assert stage.reads == [f"parked/{name}/parked.json"]
        else:
            assert stage.reads == []
    # Keras' own weights (smoke): no encoder setting, nothing parked.
    smoke = {s.short: s for s in plan.plan("smoke") if s.kind == "fit"}
    assert "encoder" not in smoke["lrn_vgg"].settings and smoke["lrn_vgg"].reads == []


def test_imagenet_weights_are_named(tmp_path, monkeypatch):
    (tmp_path / "odd.yaml").write_text("size: 64\nimagenet_weights: caffe\n")
    monkeypatch.setattr(plan, "PARAMS", tmp_path)
    with pytest.raises(InputError, match="imagenet_weights"):
        plan.load_profile("odd")


def test_the_queue_puts_fits_first_in_its_order():
    ordered = stages.queue_order("cpu", plan.plan("cpu"))
    fits = [s.short for s in ordered if s.kind == "fit"]
    patterns = plan.load_profile("cpu")["queue"]
    assert fits[:4] == ["lrn_small_seed0", "lrn_small_seed1", "lrn_small_seed2", "lrn_small_bf16"]
    assert fits.index("unet_vgg") < fits.index("lrn_vgg") < fits.index("lrn") < fits.index("unet")
    assert patterns.index("fit/unet_vgg") < patterns.index("fit/lrn_vgg")
    assert all(s.kind == "fit" for s in ordered[:len(fits)]) and len(ordered) == len(plan.plan("cpu"))


def test_keys_change_with_settings_and_only_there(monkeypatch):
    before = {s.stage.name: s.key for s in stages.status("smoke")}
    original = plan.load_profile
    monkeypatch.setattr(plan, "load_profile", lambda p: {**original(p), "learning_rate": 0.5})
    after = {s.stage.name: s.key for s in stages.status("smoke")}
    assert after["page/data"] == before["page/data"]  # does not read the learning rate
    assert after["fit/lrn"] != before["fit/lrn"]
    assert after["score/lrn"] == before["score/lrn"]  # the same stored predictions, scored the same way


def test_seed_runs_and_ablations_reach_the_claims_and_ablations_pages():
    pages = {s.short: s for s in plan.plan("cpu") if s.kind == "page"}
    seeds = [f"{v}_small_seed{s}" for v in ("lrn", "unet") for s in (0, 1, 2)]
    assert pages["claims"].settings["seed_runs"] == seeds
    assert all(f"results/{n}/test_per_image.csv" in pages["claims"].reads for n in seeds)
    ablations = pages["ablations"]
    assert ablations.settings["baseline"] == "lrn_small_seed0"
    assert ablations.settings["ablations"] == [f"lrn_small_{k}" for k in plan.ABLATIONS]
    assert "results/lrn_small_larger/predictions.npz" in ablations.reads


def toc_files(part=None):
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())

    def files(entries):  # chapters and the sections nested under them
        for entry in entries:
            yield entry["file"]
            yield from files(entry.get("sections", []))

    return [f for p in toc["parts"] if part in (None, p["caption"]) for f in files(p["chapters"])]


def test_toc_lists_only_pages_the_cpu_profile_writes_and_every_small_training_page():
    prefix = "notebooks/runs/cpu/"
    listed = [f.removeprefix(prefix) for f in toc_files() if f.startswith(prefix)]
    pages = [s.short for s in plan.plan("cpu") if s.kind == "page"]
    assert set(listed) <= set(pages), "the toc lists a page that no cpu stage writes"
    small = [p for p in pages if "_small_" in p]
    assert len(small) == 11 and set(small) <= set(listed)


def test_unknown_profile_and_settings_are_named(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="'nope'"):
        plan.load_profile("nope")
    (tmp_path / "odd.yaml").write_text("size: 64\nlearning_rat: 0.1\n")
    monkeypatch.setattr(plan, "PARAMS", tmp_path)
    with pytest.raises(InputError, match="learning_rat"):
        plan.load_profile("odd")


def test_a_failed_page_keeps_its_partial_notebook_and_leaves_the_old_one(tmp_path, monkeypatch):
    monkeypatch.setattr(stages, "NOTEBOOKS", tmp_path)
    monkeypatch.setattr(stages, "runs_dir", lambda profile: tmp_path / "runs" / profile)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}
    params = nbformat.v4.new_code_cell("x = 1\nrun_key = None")
    params.metadata["tags"] = ["parameters"]
    notebook.cells = [params, nbformat.v4.new_code_cell("print('fine')"),
                      nbformat.v4.new_code_cell("raise ValueError('boom in cell three')")]
    nbformat.write(notebook, tmp_path / "bad.ipynb")
    committed = tmp_path / "runs" / "p" / "bad.ipynb"
    committed.parent.mkdir(parents=True)
    committed.write_text("committed")
    with pytest.raises(RuntimeError, match="boom in cell three") as error:
        stages.execute_page("p", plan.Stage("page/bad", "page", {"x": 2}, notebook="bad.ipynb"), "key")
    assert "failed" in str(error.value)
    assert committed.read_text() == "committed"
    partial = json.loads((tmp_path / "runs" / "p" / "failed" / "bad.ipynb").read_text())
    assert any("fine" in "".join(o.get("text", "")) for c in partial["cells"] for o in c.get("outputs", []))


def test_status_answers_without_importing_tensorflow():
    code = ("import sys; from lrnbook import stages; rows = stages.status('cpu'); "
            "print(len(rows), 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    count, tf, keras = result.stdout.split()
    assert int(count) == len(plan.plan("cpu")) and (tf, keras) == ("False", "False")


def test_make_book_status_reports_every_committed_cpu_stage_current():
    """The committed book is current: every cpu stage carries the key the code computes now."""
    result = subprocess.run(["make", "--no-print-directory", "book-status", "PROFILE=cpu"], cwd=REPO,
                            capture_output=True, text=True)
    listed = [line.split()[2] for line in result.stdout.splitlines() if line.startswith(("current", "stale", "missing"))]
    assert listed == names("cpu"), result.stdout
    assert result.returncode == 0, "stages not current:\n" + result.stdout


def test_clean_outputs_drops_stderr_and_progress_bars_keeps_widgets_and_hides_home():
    from pathlib import Path

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    home = str(Path.home())
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="I0000 start-up line\nUserWarning: /tmp/x.py\n"),
        nbformat.v4.new_output("stream", name="stdout", text=f"weights in {home}/.keras/vgg.h5\n"),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "a"},
                                                     "text/plain": "EG1800 test: 100%|##########| 48/48"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "b"},
                                                     "text/plain": "VBox(children=(IntSlider(value=6),))"}),
    ]
    notebook.cells = [cell]
    assert stages.clean_outputs(notebook)
    kept = notebook.cells[0].outputs
    assert [o.output_type for o in kept] == ["stream", "display_data"]
    assert kept[0].text == "weights in ~/.keras/vgg.h5\n" and kept[1].data["text/plain"].startswith("VBox")
    assert not stages.clean_outputs(notebook)


def test_cutout_candidates_are_fit_stages_read_by_the_choosing_page():
    from lrn import shipped

    assert plan.SHIPPED_NAME == shipped.NAME
    stages = {s.name: s for s in plan.plan("cpu")}
    candidates = plan.load_profile("cpu")["cutout"]["candidates"]
    page = stages["page/cutout"]
    assert page.settings["candidates"] == list(candidates) and page.outputs == ["results/cutout/choice.json"]
    for name, changes in candidates.items():
        fit = stages[f"fit/cutout_{name}"]
        assert fit.runner == "lrnbook.cutoutfit" and "@lrn/data/ccp.SHA256SUMS" in fit.reads
        assert f"results/cutout_{name}/predictions.npz" in page.reads
        assert fit.settings["data"] == {"fit": changes["fit"], "ccp_framings": [float(t) for t in changes["ccp_framings"]],
                                        **({"small_people": changes["small_people"]} if changes.get("small_people") else {})}
        two_stages = plan.two_stage_candidate(plan.load_profile("cpu")["cutout"], name)
        assert (f"results/cutout_{name}/stage1_predictions.npz" in page.reads) == two_stages
        assert two_stages == (fit.settings["config"].get("variant") == "lrn_vgg")
        assert "label" not in fit.settings["config"], "a label is for pages: it must not key a training"
        if changes.get("model_file"):  # a model trained before is keyed by its file, never trained
            assert changes["model_file"] in fit.reads and set(fit.settings["config"]) == {"size"}
    assert f"@lrn/pretrained/{shipped.NAME}.keras" in stages["page/model_card"].reads


def test_a_cutout_block_must_be_complete(tmp_path, monkeypatch):
    (tmp_path / "odd.yaml").write_text("size: 64\ncutout: {config: {size: 64}, candidates: {a: {fit: pad}}}\n")
    monkeypatch.setattr(plan, "PARAMS", tmp_path)
    with pytest.raises(InputError, match="candidates without them: \\['a'\\]"):
        plan.load_profile("odd")


def test_the_fits_code_holds_no_page_code():
    """A fit is keyed by the code it imports: the book's page helpers must stay out of it, so that
    rewording a page never makes hours of training stale."""
    from lrnbook import keys

    book_side = {m for m in keys.closure(["lrnbook.fit"]) if m.split(".")[0] == "lrnbook"}
    assert book_side == {"lrnbook", "lrnbook.fit", "lrnbook.parking", "lrnbook.runner", "lrnbook.sgemm"}
    cutout = {m for m in keys.closure(["lrnbook.cutoutfit"]) if m.split(".")[0] == "lrnbook"}
    assert cutout == book_side | {"lrnbook.cutoutfit", "lrnbook.candidate_files"}


def test_the_next_epoch_is_timed_from_the_last_three_epochs_of_the_stage_the_run_stands_in(tmp_path):
    (tmp_path / "history_stage1.csv").write_text("epoch,loss,seconds\n0,1,900\n1,1,1600\n2,1,1200\n3,1,1300\n4,1,1250\n")
    (tmp_path / "history_stage2.csv").write_text("epoch,loss\n0,1\n")  # an older log without timing
    assert stages.next_epoch_seconds(tmp_path, 1) == 1300  # epoch 1's 1600 s is no longer among the last three
    assert stages.next_epoch_seconds(tmp_path, 2) is None
    assert stages.next_epoch_seconds(tmp_path, 3) is None


def test_a_fit_whose_next_epoch_would_end_after_the_deadline_is_not_started(monkeypatch, capsys):
    fits = [plan.Stage(f"fit/{n}", "fit") for n in ("slow", "quick")]
    monkeypatch.setattr(stages, "plan", lambda profile: fits)
    monkeypatch.setattr(stages, "queue_order", lambda profile, s: s)
    monkeypatch.setattr(stages, "status", lambda profile, s=None: [
        stages.State(f, "k", "current", "still training", unfinished=True) for f in fits])
    needed = {"fit/slow": 25 * 60.0, "fit/quick": stages.MIN_STINT_SECONDS}
    monkeypatch.setattr(stages, "stint_seconds_needed", lambda profile, stage: needed[stage.name])
    started, queued = [], []
    monkeypatch.setattr(stages, "execute_stage", lambda profile, stage, **kw: started.append(stage.name))
    # the fit left for later gets its "queued" note (here recorded, not written into the profile's folder)
    monkeypatch.setattr(stages, "queue", lambda profile, stage: queued.append(stage.name))
    assert stages.execute("cpu", minutes=10) == ["fit/quick"]
    assert started == ["fit/quick"] and queued == ["fit/slow"]
    assert "fit/slow not started: its next epoch would end after the deadline (about 25 minutes" in capsys.readouterr().err


def test_the_time_a_stint_needs_comes_from_the_run_folder_of_its_stage(tmp_path, monkeypatch):
    stage = plan.Stage("fit/x", "fit")
    monkeypatch.setattr(stages, "components", lambda profile, s: {})
    monkeypatch.setattr(stages, "model_key", lambda parts: "abc")
    monkeypatch.setattr(stages, "cache_dir", lambda: tmp_path)
    run = tmp_path / stages.MODELS / "abc"
    run.mkdir(parents=True)
    (run / "history_stage2.csv").write_text("epoch,seconds\n0,600\n")
    notes = {"note": {"in_progress": True, "stage": 2, "epoch": 1}}
    monkeypatch.setattr(stages, "in_progress", lambda profile, s: notes["note"])
    assert stages.stint_seconds_needed("cpu", stage) == stages.STARTUP_SECONDS + 600
    notes["note"] = {"in_progress": True, "queued": True}  # not started: nothing to time
    assert stages.stint_seconds_needed("cpu", stage) == stages.MIN_STINT_SECONDS
    notes["note"] = {"in_progress": True, "stage": 1, "epoch": 0}  # a stage without a log yet
    assert stages.stint_seconds_needed("cpu", stage) == stages.MIN_STINT_SECONDS
    # a second stage not begun yet: its first epoch counts as STAGE2_EPOCH_FACTOR first-stage epochs
    (run / "history_stage2.csv").rename(run / "history_stage1.csv")
    notes["note"] = {"in_progress": True, "stage": 2, "epoch": 0}
    assert stages.stint_seconds_needed("cpu", stage) == stages.STARTUP_SECONDS + stages.STAGE2_EPOCH_FACTOR * 600
