"""Helpers of the ablation and claims pages: run durations, settings, tables, curves."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from lrnbook import ablations
from lrnbook import pages as book
from lrnbook import plots


def test_fit_seconds_reads_the_fit_stage_record(tmp_path):
    record = tmp_path / "stages" / "fit" / "lrn_small_seed0.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"seconds": 123.5, "key": "k"}))
    assert book.fit_seconds("lrn_small_seed0", tmp_path) == 123.5
    assert book.fit_seconds("missing", tmp_path) is None
    assert book.minutes_text(90.0) == "1.5"
    assert book.minutes_text(None).startswith("unknown")


def test_changed_settings_ignore_split_ids_and_keys():
    base = {"size": 128, "supervision": "all", "run_key": "a", "train_ids": ["1"], "seed": 0}
    assert ablations.changed_settings(base, {**base, "run_key": "b", "train_ids": ["2"]}) == "none"
    assert ablations.changed_settings(base, {**base, "size": 256}) == "input size (px): 128 → 256"
    assert ablations.changed_settings(base, {**base, "supervision": "finest", "squeeze_skip": True}) == \
        "1-channel skip squeeze: (unset) → True; supervised levels: all → finest"


def summary(jaccard, size=128, **settings):
    def cell(mean):
        return {"mean": mean, "std": 1.0, "text": f"{mean:.2f} ± 1.00"}

    return {"n": 48, "jaccard": cell(jaccard), "hausdorff": cell(30.0), "jaccard_clean": cell(jaccard + 1),
            "hausdorff_clean": cell(20.0),
            "provenance": {"settings": {"size": size, "width": 0.25, "epochs": 15, "supervision": "all",
                                        "run_key": "x", **settings}}}


def test_ablation_table_rows_changes_and_times():
    summaries = {"lrn_small_seed0": summary(70.0), "lrn_small_finest": summary(69.0, supervision="finest"),
                 "lrn_small_larger": summary(72.0, size=256), "lrn_small_squeeze": None}
    durations = {"lrn_small_seed0": 600.0, "lrn_small_finest": 540.0, "lrn_small_larger": None}
    table = ablations.ablation_table("lrn_small_seed0", ["lrn_small_finest", "lrn_small_squeeze", "lrn_small_larger"],
                                summaries, durations)
    what = "run: its change (from provenance)"
    assert list(table[what]) == ["baseline (lrn_small_seed0)", "supervised levels: all → finest",
                                 "LRN with the 1-channel skip squeeze (unknown: a run is missing)",
                                 "input size (px): 128 → 256"]
    rows = table.set_index(pd.Index(["lrn_small_seed0", "lrn_small_finest", "lrn_small_squeeze", "lrn_small_larger"]))
    assert rows.loc["lrn_small_finest", "Jaccard (%), raw"] == "69.00 ± 1.00"
    assert rows.loc["lrn_small_finest", "Jaccard (%), cleaned"] == "70.00 ± 1.00"
    assert rows.loc["lrn_small_seed0", "training time (min)"] == "10.0"
    assert rows.loc["lrn_small_larger", "training time (min)"].startswith("unknown")
    assert rows.loc["lrn_small_squeeze", "Jaccard (%), raw"].startswith("missing")
    assert len(table.columns) == 6  # narrow enough for the text column


def test_reduced_setting_note():
    small = {"size": 128, "width": 0.25, "epochs": 15}
    assert book.setting_text(small) == "128x128 px, width 0.25, 15 epochs"
    assert book.setting_text({**small, "epochs": 1}).endswith("1 epoch")
    note = book.reduced_setting_note(small, {"size": 224, "width": 0.25, "epochs": 50})
    assert "224x224 px, width 0.25, 50 epochs" in note and "not comparable" in note
    assert "the same size" in book.reduced_setting_note(small, dict(small))
    assert "the main LRN run has no results yet" in book.reduced_setting_note(small, None)


def test_resolution_table_puts_hausdorff_on_one_scale():
    ids = ["a", "b"]
    at_eval = {"m": pd.DataFrame({"id": ids, "jaccard": [80.0, 90.0], "hausdorff": [np.hypot(224, 224) / 10] * 2})}
    at_photo = {"m": pd.DataFrame({"id": ids, "jaccard": [81.0, 91.0], "hausdorff": [100.0, 100.0]})}
    table = ablations.two_resolutions_table(at_eval, at_photo, [1000.0, 1000.0])
    row = table.iloc[0]
    assert row["Jaccard (%), 224"] == "85.00 ± 7.07" and row["Jaccard (%), photo"] == "86.00 ± 7.07"
    assert row["Hausdorff (px), photo"] == "100.00 ± 0.00"
    assert row["Hausdorff (% of diagonal), 224"] == row["Hausdorff (% of diagonal), photo"] == "10.00 ± 0.00"
    with pytest.raises(ValueError, match="different images"):
        ablations.two_resolutions_table(at_eval, {"m": at_photo["m"].iloc[::-1]}, [1000.0, 1000.0])


def test_compare_curves_one_panel_per_column_and_skips_absent_columns():
    lrn = pd.DataFrame({"val_loss": [3.0, 2.0, 1.5], "val_s6_loss": [0.8, 0.5, 0.4]})
    unet = pd.DataFrame({"val_loss": [0.9]})
    fig = plots.compare_curves({"LRN": lrn, "UNET": unet})
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["LRN", "UNET"]
    assert [line.get_label() for line in right.lines] == ["LRN"]
    assert list(left.lines[0].get_xdata()) == [1, 2, 3]


def test_score_rows_from_a_summary_and_from_a_table_agree():
    table = pd.DataFrame({"id": ["a", "b", "c"], "jaccard": [90.0, 80.0, 70.0], "hausdorff": [10.0, 20.0, 30.0],
                          "jaccard_clean": [91.0, 81.0, 71.0], "hausdorff_clean": [9.0, 19.0, 29.0]})
    from lrn import evaluate

    from_table = book.score_row("m", table)
    from_summary = book.score_row("m", evaluate.summarize(table))
    assert from_table == from_summary
    assert from_table["Jaccard (%), raw"] == "80.00 ± 10.00" and from_table["images"] == 3
    not_run = book.score_row("x", {"status": "not run", "reason": "no ImageNet weights"})
    assert not_run["Jaccard (%), raw"] == book.NOT_RUN_NO_WEIGHTS
    peer = book.peer_rows({"test": {**evaluate.summarize(table), "provenance": {"settings": {"ms_per_image": 4.56}}}})
    assert "paper protocol" in peer[0]["model"] and "ms per image" not in peer[0]  # its time is on the peer page
    assert not book.score_table(book.variant_rows({"unet": evaluate.summarize(table)}) + peer).isna().any().any()
    assert [r["model"] for r in book.variant_rows({"unet": evaluate.summarize(table), "lrn": None})] == ["UNET"]


def test_epoch_table_keeps_every_fifth_the_best_and_the_last_epoch():
    history = pd.DataFrame({"epoch": range(12), "loss": np.linspace(2, 1, 12),
                            "val_loss": [3, 2.5, 2, 1.9, 1.5, 1.2, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9], "stage": 1})
    table = book.epoch_table(history)
    assert list(table["epoch"]) == [1, 6, 11, 12]
    assert table.loc[table["epoch"] == 6, "note"].item().startswith("best")
    text = book.fit_text("run", history, root="/nonexistent")
    assert "12 epochs in 1 stage" in text and "epoch 6" in text and "took" not in text
    timed = book.fit_text("run", history.assign(seconds=60.0), root="/nonexistent")
    assert timed.endswith("Its epochs took 12.0 minutes of wall time in all.") and "machine" not in timed


def test_finest_maps(tmp_path):
    from lrn import predict

    predict.save_predictions(tmp_path / "results" / "lrn" / "predictions.npz", ["a", "b"],
                             [np.zeros((2, 7, 7)), np.ones((2, 224, 224))])
    maps = book.finest_maps(["lrn"], ["a", "b"], tmp_path)
    assert list(maps) == ["LRN"] and maps["LRN"].shape == (2, 224, 224) and maps["LRN"].max() == 1.0
    with pytest.raises(ValueError, match="other images"):
        book.finest_maps(["lrn"], ["b", "a"], tmp_path)


def test_level_curves_one_panel_per_level():
    history = pd.DataFrame({f"{p}s{k}_loss": np.linspace(1, 0.5, 4) for k in range(1, 7) for p in ("", "val_")})
    history["loss"], history["val_loss"] = 3.0, np.array([4.0, 3.0, 3.5, 3.6])
    fig = plots.level_curves(history, "LRN")
    assert [ax.get_title() for ax in fig.axes] == [f"s{k}" for k in range(1, 7)]
    unet = plots.level_curves(pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]}))
    assert [ax.get_title() for ax in unet.axes] == [""] and unet._suptitle is None  # one panel, named by the caller's title


def test_ordering_text_is_computed_from_the_means_and_compares_with_the_paper():
    from lrnbook import pages

    def summary(j, h):
        return {"jaccard": {"mean": j}, "hausdorff": {"mean": h}}

    text = pages.ordering_text({"lrn": summary(86.5, 60.3), "unet": summary(86.1, 40.9),
                                "unet_vgg": {"status": "not run", "in_progress": True, "reason": "r"}})
    assert text == ("LRN against UNET: Jaccard better by 0.40 pp (as in the paper, where it is better by 2.42 pp); "
                    "Hausdorff worse by 19.40 px (the reverse of the paper, where it is better by 2.34 px).")
    assert "nothing to compare" in pages.ordering_text({"lrn": summary(86.5, 60.3)})


def test_level_text_names_the_direction_the_table_shows():
    from lrnbook import pages

    means = {"jaccard": [84.7, 86.4, 86.9, 87.2, 87.18, 86.5], "hausdorff": [38.5, 37.6, 37.0, 38.2, 38.3, 60.3]}
    summary = {f"{m}_s{k}": {"mean": v[k - 1]} for m, v in means.items() for k in range(1, 7)}
    text = pages.level_text(summary)
    assert text.startswith("The highest mean Jaccard index is at s4 (87.20 %), the lowest Hausdorff distance at s3")
    assert "From s5 to s6 the Jaccard index falls by 0.68 pp and the Hausdorff distance rises by 22.00 px" in text
    assert text.endswith("makes the outline worse, not better, on these test photos.")
    # differences of the means as the table shows them: 81.256 and 78.424 are 81.26 and 78.42 there
    means["jaccard"][4:] = [81.256, 78.424]
    summary = {f"{m}_s{k}": {"mean": v[k - 1]} for m, v in means.items() for k in range(1, 7)}
    assert "the Jaccard index falls by 2.84 pp" in pages.level_text(summary)
    assert pages.level_text(summary).endswith("The finest map s6, the one that is scored, has a lower mean Jaccard "
                                              "index than the coarsest, s1 (78.42 % against 84.70 %).")
    means["jaccard"][0] = 70.0
    summary = {f"{m}_s{k}": {"mean": v[k - 1], "text": f"{v[k - 1]:.2f} ± 1.00"} for m, v in means.items()
               for k in range(1, 7)}
    assert "the one that is scored" not in pages.level_text(summary)
    # the table's gain column subtracts the rounded means it shows, as the sentence does
    assert pages.per_level_table(summary)["Jaccard gain over previous level"].iloc[-1] == "-2.84"



def test_parameter_cells_are_removed_from_the_staged_pages():
    import nbformat

    from lrnbook import booksource

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("profile = 'smoke'"),
                                               nbformat.v4.new_code_cell("profile = 'cpu'"),
                                               nbformat.v4.new_code_cell("print(profile)")])
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.cells[1].metadata["tags"] = ["injected-parameters"]
    assert booksource.hide_parameter_cells(notebook)
    assert [c.metadata["tags"] for c in notebook.cells] == [["parameters", "remove-cell"],
                                                            ["injected-parameters", "remove-cell"], []]
    assert not booksource.hide_parameter_cells(notebook)  # already hidden


def test_figure2_rows_follow_the_stated_rule_and_the_caption_names_it():
    from lrnbook import pages

    scores = np.array([50.0, 90.0, 70.0, 80.0, 60.0, 95.0, 85.0, 75.0, 65.0])  # 9 photos
    chosen = pages.quantile_rows(scores)
    assert [label for label, _ in chosen] == ["best", "upper quartile", "median", "lower quartile", "worst"]
    assert [scores[r] for _, r in chosen] == [95.0, 85.0, 75.0, 65.0, 50.0]
    caption = pages.figure2_caption(["LRN", "UNET"], 5)
    assert "upper quartile" in caption and "LRN, UNET" in caption and "outline in red" in caption


def test_figure2_draws_the_truth_outline_and_both_scores():
    import matplotlib

    matplotlib.use("Agg")
    from lrnbook import plots

    truths = np.zeros((2, 32, 32), bool)
    truths[:, 8:24, 8:24] = True
    photos = np.zeros((2, 32, 32, 3), np.uint8)
    fig = plots.figure2(photos, truths, {"LRN": truths.astype(float)}, ["a", "b"], {"LRN": np.array([99.0, 98.0])},
                        {"LRN": np.array([1.0, 2.0])}, ["best", "worst"])
    prediction = fig.axes[2]
    assert prediction.get_xlabel() == "J 99.0 %\nH 1.0 px" and fig.axes[0].get_ylabel() == "best\na"
    shown = prediction.images[0].get_array()
    assert tuple(shown[8, 12]) == (230, 40, 40), "the truth's outline is drawn on the prediction"


def test_html_tables_keep_a_score_on_one_line():
    table = pd.DataFrame({"model": ["LRN"], "Jaccard (%)": ["86.50 ± 11.79"], "gain": ["-7.30 pp [-10.57, -4.57]"],
                          "n": [48]})
    html = book.html_table(table, "t").data
    assert "86.50\u00a0±\u00a011.79" in html and "-7.30\u00a0pp [-10.57,\u00a0-4.57]" in html and "<td>48</td>" in html
    assert list(table["Jaccard (%)"]) == ["86.50 ± 11.79"], "the caller's table is left as it was"


def test_last_unit_finding_follows_the_means_and_says_when_there_are_none():
    def summary(j5, j6, h5, h6):
        return {"jaccard_s5": {"mean": j5}, "jaccard_s6": {"mean": j6}, "hausdorff_s5": {"mean": h5},
                "hausdorff_s6": {"mean": h6}}

    worse = book.last_unit_finding(summary(87.18, 86.50, 38.31, 60.31))
    assert worse == ("From s5 to s6 LRN's mean Hausdorff distance rises from 38.31 to 60.31 px and its mean Jaccard "
                     "index falls from 87.18 to 86.50 %: the last refinement unit makes the outline worse, not better.")
    assert book.last_unit_finding(summary(87.0, 88.0, 40.0, 30.0)).endswith("improves both measures.")
    assert book.last_unit_finding(summary(87.0, 88.0, 30.0, 40.0)).endswith("improves one measure and worsens the other.")
    training = book.last_unit_finding({"status": "not run", "in_progress": True, "reason": "r"})
    assert training == "LRN has no test scores yet (still training: not yet finished), so its levels are not compared."
    queued = book.last_unit_finding({"status": "not run", "in_progress": True, "queued": True, "reason": "r"})
    assert queued.startswith("LRN has no test scores yet (queued, not started yet), so")
    assert book.last_unit_finding(None).startswith("LRN has no test scores yet (missing")
    seed_run = {**summary(81.26, 78.42, 41.0, 67.45), "status": "ok",
                "provenance": {"settings": {"variant": "lrn", "seed": 0, "size": 128, "width": 0.25, "epochs": 15}}}
    meanwhile = book.last_unit_finding({"status": "not run", "in_progress": True, "queued": True, "reason": "r"},
                                       stand_in=seed_run)
    assert meanwhile.startswith("LRN has no test scores yet (queued, not started yet). Meanwhile, on an LRN seed run "
                                "(training seed 0; 128x128 px")
    assert meanwhile.endswith("from s5 to s6 its mean Hausdorff distance rises from 41.00 to 67.45 px and its mean "
                              "Jaccard index falls from 81.26 to 78.42 %: the last refinement unit makes the outline "
                              "worse, not better.")


def test_the_last_units_changes_are_weighed_against_the_noise_of_the_test_photos():
    rng = np.random.default_rng(0)
    j5, h5 = rng.uniform(80, 95, 48), rng.uniform(20, 60, 48)
    table = pd.DataFrame({"jaccard_s5": j5, "jaccard_s6": j5 + rng.normal(0, 1, 48),
                          "hausdorff_s5": h5, "hausdorff_s6": h5 + 20 + rng.normal(0, 1, 48)})
    noise = book.last_unit_noise(table)
    assert noise.startswith("Only the Hausdorff change is beyond the noise of the test photos (gain of s6 over s5 per "
                            "photo, mean and 95 % interval: Jaccard ")
    assert re.search(r"Hausdorff -(19|20)\.\d\d px \[-\d+\.\d\d, -\d+\.\d\d\]\)\.$", noise), noise  # s6 worse: a negative gain
    flat = table.assign(hausdorff_s6=table["hausdorff_s5"] + rng.normal(0, 1, 48))
    assert book.last_unit_noise(flat).startswith("Neither change is beyond the noise")
    means = {f"{m}_s{k}": {"mean": float(flat[f"{m}_s{k}"].mean())} for m in ("jaccard", "hausdorff") for k in (5, 6)}
    queued = {"status": "not run", "in_progress": True, "queued": True, "reason": "r"}
    text = book.last_unit_finding(queued, others={"LRN-VGG": ({**means, "status": "ok"}, flat)})
    assert text.startswith("LRN has no test scores yet (queued, not started yet). LRN-VGG: from s5 to s6 its mean "
                           "Hausdorff distance ")
    assert text.endswith(book.last_unit_noise(flat))
    assert book.last_unit_finding(queued, others={}).endswith("so its levels are not compared.")


def test_rerun_exercise_gives_the_recorded_settings_as_code():
    settings = {"variant": "lrn_vgg", "size": 224, "width": 1.0, "learning_rate": 0.0001, "run_key": "k",
                "encoder_weights": "torchvision:sha256:abc", "preprocessing": "torch", "train_ids": ["1"]}
    text = book.rerun_exercise("lrn_vgg", settings, "paper")
    assert "from lrn import fit, train, vgg_weights" in text
    assert "encoder_weights=str(vgg_weights.torchvision_vgg16())" in text and "preprocessing='torch'" in text
    assert "run_key" not in text and "train_ids" not in text and "--variant lrn " not in text
    assert 'fit.fit(config, "runs/lrn_vgg", protocol=\'paper\')' in text
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    compile("\n".join(line[3:] for line in code.splitlines()), "exercise", "exec")  # valid Python
    assert max(len(line) for line in code.splitlines()) <= 75, "wider than a page's code box: the browser wraps it"
    assert "variant='unet'" in book.rerun_exercise("unet", {"variant": "unet", "width": 0.25}, "paper")
    assert book.rerun_exercise("unet_vgg", {}, "paper").startswith("1. Once this run has finished")


def test_rerun_exercise_rebuilds_the_recorded_config_of_every_committed_run():
    """Run with every committed run's recorded settings, the exercise's code builds the same
    ``TrainConfig``: no setting that decides what a run learns (its stopping rule, its precision) is left out."""
    import dataclasses
    import types
    from pathlib import Path

    from lrn import provenance, train

    defaults = {field.name: field.default for field in dataclasses.fields(train.TrainConfig)}
    assert set(book._TRAIN_CONFIG_ORDER) == set(defaults)
    assert {key: defaults[key] for key in book._WRITTEN_WHEN_NOT_DEFAULT} == book._WRITTEN_WHEN_NOT_DEFAULT
    histories = sorted((Path(__file__).parents[1] / "notebooks/runs/cpu/results").glob("*/history.csv"))
    assert len(histories) >= 10
    for path in histories:
        settings = provenance.read_csv(path)[1]["settings"]
        code = book.rerun_exercise(path.parent.name, settings, "paper").split("```python\n", 1)[1].split("```", 1)[0]
        body = [line[3:] for line in code.splitlines() if "import" not in line and "fit.fit(" not in line]
        namespace = {"train": types.SimpleNamespace(TrainConfig=lambda **arguments: arguments),
                     "vgg_weights": types.SimpleNamespace(torchvision_vgg16=lambda: settings["encoder_weights"])}
        exec("\n".join(body), namespace)  # the exercise's own lines, without importing or training
        rebuilt = train.TrainConfig(**namespace["config"]).to_dict()
        recorded = {key: value for key, value in settings.items() if key in defaults}
        assert {key: rebuilt.get(key) for key in recorded} == recorded, path.parent.name
        assert all(rebuilt[key] == defaults[key] for key in set(rebuilt) - set(recorded)), path.parent.name


def _notebook(*cells):
    import nbformat

    made = []
    for kind, source, outputs in cells:
        if kind == "md":
            made.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source)
            cell.outputs = [nbformat.v4.new_output("stream", text=o) for o in outputs]
            made.append(cell)
    return nbformat.v4.new_notebook(cells=made)


def test_staged_pages_fold_their_code_and_drop_sections_with_nothing_to_show():
    from lrnbook import booksource

    notebook = _notebook(("md", "# Training\n## Overview\ntext", []), ("code", "x = 1", []),
                         ("md", "## Settings\nthe table", []), ("code", "show()", ["still training"]),
                         ("md", "## Losses per level\ncurves", []), ("code", "plot()", []), ("code", "table()", []),
                         ("md", "more words, no heading", []),
                         ("md", "## Summary\n- words only", []))
    notebook.cells[1].metadata["tags"] = ["remove-cell"]
    assert booksource.drop_empty_sections(notebook)
    assert [c.source.split("\n")[0] for c in notebook.cells] == ["# Training", "x = 1", "## Settings", "show()",
                                                                 "## Summary"]
    assert not booksource.drop_empty_sections(notebook)
    assert booksource.fold_code_cells(notebook)
    assert [c.metadata.get("tags") for c in notebook.cells if c.cell_type == "code"] == [["remove-cell"], ["hide-input"]]
    assert not booksource.fold_code_cells(notebook)


def test_staged_pages_keep_only_the_widget_models_a_view_reaches():
    from lrnbook import stages

    def model(name, **state):
        return {"model_name": name, "state": state}

    state = {"slider": model("SliderModel", layout="IPY_MODEL_l1"), "l1": model("LayoutModel"),
             "stack": model("StackModel", children=["IPY_MODEL_img"]), "img": model("ImageModel"),
             "box": model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_stack"]),
             "link": model("LinkModel", source=["IPY_MODEL_slider", "index"], target=["IPY_MODEL_stack", "index"]),
             "bar": model("HBoxModel", children=["IPY_MODEL_progress"]), "progress": model("FloatProgressModel")}
    notebook = _notebook(("code", "explorer", []))
    notebook.cells[0].outputs = [{"output_type": "display_data", "metadata": {},
                                  "data": {stages.WIDGET_VIEW: {"model_id": "box"}, "text/plain": "VBox()"}}]
    notebook.metadata["widgets"] = {stages.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert stages.drop_unused_widget_state(notebook)
    kept = notebook.metadata["widgets"][stages.WIDGET_STATE]["state"]
    assert set(kept) == {"slider", "l1", "stack", "img", "box", "link"}  # the link refers to them: kept
    assert not stages.drop_unused_widget_state(notebook)
    notebook.cells[0].outputs = []
    assert stages.drop_unused_widget_state(notebook) and "widgets" not in notebook.metadata


def test_departures_by_run_show_each_run_its_own_settings():
    table = book.departures_by_run({"LRN": {"width": 0.25, "learning_rate": 1e-3, "size": 224, "protocol": "paper",
                                            "encoder_weights": None},
                                    "LRN-VGG": {"width": 1.0, "learning_rate": 1e-4, "epochs": 15, "protocol": "paper"}})
    assert list(table.columns) == ["setting", "LRN", "LRN-VGG", "paper"]
    rows = table.set_index("setting")
    assert rows.loc["width multiplier"].tolist() == ["0.25", "1.0", "1.0"]
    assert rows.loc["learning rate"].tolist() == ["0.001", "0.0001", "0.0001"]
    assert rows.loc["epochs (at most)", "LRN"] == "" and "input size (px)" not in rows.index
    assert "encoder weights" not in rows.index  # None is not a departure
    mixed = book.departures_by_run({"LRN": {"encoder_weights": None, "protocol": "paper"},
                                    "LRN-VGG": {"encoder_weights": "torchvision:sha256:" + "cd" * 32, "protocol": "paper"}})
    weights = mixed.set_index("setting").loc["encoder weights"]
    assert weights["LRN"] == "none (Glorot-uniform, as in the paper)", "a random start is the paper's, not a gap"
    assert weights["LRN-VGG"].startswith("torchvision ImageNet VGG-16 (sha256 cdcdcdcdcdcd")
    twin = book.departures_by_run({"float32": {"precision": "float32"}, "bf16": {"precision": "mixed_bfloat16"}})
    assert twin.set_index("setting").loc["arithmetic (Keras dtype policy)"].tolist() == [
        "float32", "mixed_bfloat16", "float32"], "a run in half precision departs from the paper's float32"
    vgg = book.departures({"encoder_weights": "torchvision:sha256:" + "ab" * 32})
    assert vgg.loc[0, "this run"] == "torchvision ImageNet VGG-16 (sha256 abababababab...)"


def test_a_run_still_training_is_described_in_whole_sentences():
    reason = ("still training: stage 1 (encoder frozen), epoch 16 of at most 300, 2.3 hours so far; its progress "
              "is kept in the training machine's cache and `make train` goes on")
    text = book.not_run_text("UNET-VGG", {"in_progress": True, "reason": reason})
    assert re.match(r"\*\*UNET-VGG is still training\*\* \(as of \d{4}-\d\d-\d\d \d\d:\d\d UTC\): stage 1 "
                    r"\(encoder frozen\), epoch 16", text)
    assert text.endswith("2.3 hours of training so far; `make train` resumes it from its last finished epoch. Its losses and "
                         "scores appear here once it has finished; nothing stands in for them meanwhile.")
    assert "machine" not in text
    parked = book.not_run_text("UNET-VGG", {"in_progress": True, "reason": (
        "still training: stage 2 (all layers), epoch 10 of at most 300, 4.4 hours so far; its first stage is parked "
        "in the repository and `make train` goes on")})
    assert "4.4 hours of training so far; `make train` resumes it" in parked and "parked" not in parked
    assert parked.count("make train") == 1
    ended = book.not_run_text("LRN", {"in_progress": True, "reason": "still training: epoch 3."})
    assert "epoch 3; `make train` resumes it" in ended and ".;" not in ended
    assert "queued behind the other runs" in book.not_run_text("LRN", {"queued": True, "in_progress": True})
    # a one-stage run's note (lrnbook.fit.progress) names its only stage "training"
    one_stage = book.not_run_text("LRN", {"in_progress": True, "reason": (
        "still training: training, epoch 8 of at most 300, 0.3 hours so far; its progress is kept in the training "
        "machine's cache and `make train` goes on")})
    assert "): epoch 8 of at most 300, 0.3 hours of training so far; `make train` resumes" in one_stage
    assert "training, epoch" not in one_stage


def test_a_stand_in_is_named_where_the_missing_run_is_described():
    settings = {"variant": "lrn", "seed": 0, "size": 128, "width": 0.25, "epochs": 15}
    words = book.stand_in_words({"provenance": {"settings": settings}})
    assert words == "the levels of an LRN seed run (training seed 0; 128x128 px, width 0.25, 15 epochs)"
    for summary in ({"queued": True, "in_progress": True}, {"in_progress": True, "reason": "still training: epoch 3."}):
        text = book.not_run_text("LRN", summary, stand_in=words)
        assert text.endswith(f"meanwhile this page shows {words}.") and "nothing stands in" not in text
    assert book.not_run_text("LRN", {"reason": "r."}, stand_in=words).endswith(f"In its place this page shows {words}.")


def test_per_level_resolutions_halve_from_the_runs_own_input_size():
    levels = {f"{m}_s{k}": {"mean": 80.0 + k, "text": "t"} for m in ("jaccard", "hausdorff") for k in range(1, 7)}
    small = book.per_level_table({**levels, "provenance": {"settings": {"size": 128}}})
    assert list(small["resolution"]) == ["4x4", "8x8", "16x16", "32x32", "64x64", "128x128"]
    assert list(small["Jaccard gain over previous level"]) == ["", "+1.00", "+1.00", "+1.00", "+1.00", "+1.00"]
    assert book.per_level_table(levels)["resolution"].iloc[-1] == "224x224"  # no provenance: the paper's size


def test_training_time_is_the_sum_of_the_epochs_not_the_last_fit_stage(tmp_path):
    from lrn import provenance

    (tmp_path / "stages" / "fit").mkdir(parents=True)
    (tmp_path / "stages" / "fit" / "run.json").write_text(json.dumps({"seconds": 18.0}))  # a restore from the cache
    assert book.training_seconds("run", tmp_path) == 18.0, "no history: the fit stage's wall time"
    history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [0.5, 0.4, 0.3], "seconds": [60.0, 61.5, 58.5]})
    provenance.write_csv(history, tmp_path / "results" / "run" / "history.csv", {})
    assert book.training_seconds("run", tmp_path) == 180.0
    provenance.write_csv(history.assign(seconds=[60.0, None, 58.5]), tmp_path / "results" / "run" / "history.csv", {})
    assert book.training_seconds("run", tmp_path) == 18.0, "an epoch without its time: fall back"
    assert book.training_seconds("other", tmp_path) is None


def test_stage_epochs_are_counted_by_position_and_a_share_above_the_peak_is_explained():
    from lrnbook import speed

    # stage 2's log continues Keras' epoch count (16, 17, 18) after a resumed stage 1
    history = pd.DataFrame({"stage": [1, 1, 2, 2, 2], "epoch": [0, 1, 16, 17, 18], "loss": [0.4, 0.3, 0.3, 0.2, 0.1],
                            "val_loss": [0.3, 0.2, 0.25, 0.15, 0.18], "seconds": [100.0] * 5})
    table = speed.stage_table(history, 250, {1: 10.0, 2: 30.0}, peak_gflops=50.0)
    assert table["best epoch"].tolist() == ["2", "2 (4 overall)"] and table["epochs"].tolist() == [2, 3]
    assert table["ratio to sgemm rate"].tolist() == pytest.approx([0.5, 1.5])
    record = {"settings": {"size": 32, "width": 0.125, "train_ids": ["a"] * 250, "val_ids": ["b"] * 25},
              "machine_sgemm_gflops": [1e-6]}
    texts = [item[1] for item in speed.stage_section("lrn_vgg", history, record) if item[0] == "md"]
    assert any(t.startswith("A ratio above 1 does not mean") for t in texts)
    record["machine_sgemm_gflops"] = [10**6]
    texts = [item[1] for item in speed.stage_section("lrn_vgg", history, record) if item[0] == "md"]
    assert not any(t.startswith("A ratio above 1") for t in texts)
    figure = plots.learning_curves(history)
    assert list(figure.axes[1].lines[0].get_xdata()) == [1, 2, 3]


def test_the_speed_section_says_when_a_run_came_back_from_a_park():
    from lrnbook import speed

    trained = {"started_utc": "t", "seconds": 9.0, "epochs": 3, "sgemm_gflops": 100.0, "stage1_from_park": False}
    assert speed.restores_text([trained]) == ""
    text = speed.restores_text([trained, {**trained, "stage1_from_park": True}])
    assert text.startswith("Its first stage came back from the repository's park") and "half precision" in text
    restore = {"started_utc": "t", "seconds": 0.0, "epochs": 0, "sgemm_gflops": None, "stage1_from_park": True,
               "restored_from_progress_park": {"stage": 2, "epochs": 7, "logged": 9, "half_precision": True,
                                               "fresh_optimizer": True}}
    text = speed.restores_text([trained, restore, trained])
    assert "first stage came back" not in text  # the progress park carried stage 1 along
    assert "Stage 2 went on" in text and "(epoch 7," in text and "the 2 epochs logged after it were trained again" in text
    one = {**restore, "restored_from_progress_park": {**restore["restored_from_progress_park"], "logged": 8}}
    assert "the 1 epoch logged after it was trained again" in speed.restores_text([one])
    history = pd.DataFrame({"stage": [1, 2], "epoch": [0, 0], "loss": [0.4, 0.3], "val_loss": [0.3, 0.2],
                            "seconds": [100.0, 100.0]})
    record = {"settings": {"size": 32, "width": 0.125, "train_ids": ["a"] * 8, "val_ids": ["b"] * 2},
              "machine_sgemm_gflops": [100.0], "stints": [trained, restore]}
    assert any("Stage 2 went on" in item[1] for item in speed.stage_section("lrn_vgg", history, record)
               if item[0] == "md")


def test_table1_status_names_every_network_with_its_score_or_progress():
    summaries = {"unet_vgg": {"jaccard": {"text": "94.37 ± 4.45"}, "hausdorff": {"text": "28.25 ± 20.74"}},
                 "lrn_vgg": {"status": "not run", "in_progress": True, "stage": 1, "epoch": 19, "hours": 0.46},
                 "lrn": {"status": "not run", "in_progress": True, "queued": True},
                 "unet": {"status": "not run", "in_progress": True, "queued": True}}
    text = book.table1_status(summaries)
    assert re.match(r"Table 1 \(as of \d{4}-\d\d-\d\d \d\d:\d\d UTC\): 1 of 4 networks finished \(UNET-VGG "
                    r"94\.37 ± 4\.45 % Jaccard, 28\.25 ± 20\.74 px Hausdorff \(paper 87\.98 %, 44\.00 px\)\); LRN-VGG "
                    r"training \(stage 1, epoch 19, 0\.5 h so far\); LRN and UNET queued\.$", text), text
    assert book.cell_text(summaries["lrn_vgg"], "jaccard") == "still training: stage 1, epoch 19, 0.5 h so far"
    assert book.table1_status({"lrn": summaries["lrn"]}).endswith(
        ": 0 of 4 networks finished; LRN queued; LRN-VGG, UNET and UNET-VGG without results.")


def test_progress_is_dated_by_the_stint_that_recorded_it_not_by_the_page(tmp_path):
    note = {"status": "not run", "in_progress": True, "stage": 2, "epoch": 6, "hours": 1.4, "reason": "still training: x"}
    (tmp_path / "results" / "lrn_vgg").mkdir(parents=True)
    (tmp_path / "results" / "lrn_vgg" / "not_run.json").write_text(json.dumps(note))
    (tmp_path / "results" / "lrn_vgg" / "test_summary.json").write_text(json.dumps(note))
    assert book.progress_note("lrn_vgg", tmp_path) == note  # no fit record: nothing to date it by
    (tmp_path / "stages" / "fit").mkdir(parents=True)
    (tmp_path / "stages" / "fit" / "lrn_vgg.json").write_text(json.dumps({"finished_utc": "2026-12-04T15:40:46+00:00"}))
    for record in (book.progress_note("lrn_vgg", tmp_path), book.read_summary("lrn_vgg", tmp_path)):
        assert record["recorded_utc"] == "2026-12-04T15:40:46+00:00"
        assert "(as of 2026-12-04 15:40 UTC)" in book.not_run_text("LRN-VGG", record)
    later = {"in_progress": True, "recorded_utc": "2026-12-04T18:05:00+00:00"}
    assert book.as_of(book.read_summary("lrn_vgg", tmp_path), later, None) == "as of 2026-12-04 18:05 UTC"
    finished = {"jaccard": {"text": "1"}}  # a finished run's summary is left as it is
    (tmp_path / "results" / "lrn_vgg" / "test_summary.json").write_text(json.dumps(finished))
    assert book.read_summary("lrn_vgg", tmp_path) == finished


def test_the_provenance_box_shows_hashes_short_and_ignores_the_books_own_outputs(tmp_path):
    assert book.short_hashes("encoder_weights = torchvision:sha256:" + "ab" * 32 + ", seed 0") == \
        "encoder_weights = torchvision:sha256:abababababab\u2026, seed 0"
    assert book.short_hashes("run key 1234567890abcdef") == "run key 1234567890abcdef"  # 16 digits stay
    commit = "0123456789abcdef" * 2 + "01234567"
    assert book.source_commit(commit) == "0123456789ab\u2026"
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "notebooks" / "runs").mkdir(parents=True)
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "notebooks" / "runs" / "page.ipynb").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    (tmp_path / "notebooks" / "runs" / "page.ipynb").write_text('{"executed": true}\n')
    assert book.source_commit(commit + "+dirty", tmp_path) == "0123456789ab\u2026", "an executed page is not a change"
    (tmp_path / "code.py").write_text("a = 2\n")
    assert book.source_commit(commit + "+dirty", tmp_path) == "0123456789ab\u2026 with uncommitted changes"


def test_a_training_page_describes_its_own_variant_and_sums_up_its_run():
    assert "s1 .. s6" in book.losses_text("lrn") and "grey band" not in book.losses_text("lrn")
    unet_vgg = book.losses_text("unet_vgg")
    assert "s1 .. s6" not in unet_vgg and "one output" in unet_vgg and "grey band is the second stage" in unet_vgg
    history = pd.DataFrame({"epoch": [0, 1, 2, 0, 1], "val_loss": [0.5, 0.3, 0.4, 0.2, 0.25], "stage": [1, 1, 1, 2, 2]})
    summary = {"jaccard": {"text": "94.37 ± 4.45"}, "hausdorff": {"text": "28.25 ± 20.74"}, "n": 48}
    text = book.run_summary("UNET-VGG", summary, history)
    assert text.startswith("- UNET-VGG trained 5 epochs in 2 stages; its lowest validation loss, 0.2000, came at "
                           "epoch 4, whose weights are kept.")
    assert "94.37 ± 4.45 % Jaccard and 28.25 ± 20.74 px Hausdorff (raw masks, mean ± std over 48 photos)" in text
    queued = book.run_summary("LRN", {"status": "not run", "in_progress": True, "queued": True}, None)
    assert queued.startswith("- **LRN has not started training yet**")


def test_cleaning_and_paper_level_texts_follow_the_summaries():
    def summary(j, h, h_clean):
        return {"status": "ok", "jaccard": {"mean": j}, "hausdorff": {"mean": h}, "hausdorff_clean": {"mean": h_clean}}

    summaries = {"unet_vgg": summary(94.37, 28.25, 23.78), "lrn": {"status": "not run", "in_progress": True}}
    assert book.cleaning_text(summaries) == ("Cleaning changes the mean Hausdorff distance of UNET-VGG from 28.25 to "
                                             "23.78 px (a cut of 16 %).")
    assert book.cleaning_text({}) == ""
    text = book.paper_levels_text(summaries, {"jaccard": {"mean": 95.8}})
    assert text.startswith("UNET-VGG's mean Jaccard index (94.37 %) is above every row of the paper's Table 1 (its "
                           "own row there: 87.98 %).")
    assert "best row is LRN-VGG, 92.73 %; MediaPipe's selfie model scores 95.80 % on the same photos." in text
    below = book.paper_levels_text({"unet_vgg": summary(88.5, 40.0, 35.0)})
    assert below == ("UNET-VGG's mean Jaccard index (88.50 %) is above 1 of the 4 rows of the paper's Table 1 (its own "
                     "row there: 87.98 %).")
    lowest = book.paper_levels_text({"unet": summary(85.33, 45.14, 40.71)})
    assert lowest == ("UNET's mean Jaccard index (85.33 %) is below every row of the paper's Table 1 (its own row "
                      "there: 89.25 %).")
    assert book.paper_levels_text({}) == ""


def test_captions_and_setting_values_read_as_words():
    assert "with UNET-VGG's lowest Jaccard index" in book.worst_caption(["UNET-VGG"], 6)
    assert "map (U-Net: its output) of UNET-VGG," in book.worst_caption(["UNET-VGG"], 6)
    both = book.worst_caption(["LRN", "UNET"], 6)
    assert "the lowest mean Jaccard index over LRN, UNET" in both and "of each model" in both
    table = book.departures({"preprocessing": "torch", "size": 224})
    assert table.to_dict("records") == [{"setting": "input preprocessing",
                                         "this run": "RGB in [0, 1], ImageNet mean and std (torchvision)",
                                         "paper": "BGR, ImageNet mean subtracted (Caffe)"}]


def test_training_page_texts_follow_the_variant_and_its_supervision():
    assert "the training loss is that of s6 alone" in book.losses_text("lrn", "finest")
    assert "whose sum is the training loss" in book.losses_text("lrn")
    assert "Which level's validation loss" in book.rerun_exercise("lrn_small_seed0", {}, "paper")
    unet = book.rerun_exercise("unet_small_seed0", {"variant": "unet", "width": 0.25}, "paper")
    assert "level" not in unet.split("2. ")[-1] and "training loss" in unet.split("2. ")[-1]


def test_the_speed_section_reports_a_wide_spread_of_epoch_times_and_only_then():
    from lrnbook import speed

    # the first epoch of each stage (300 s, 900 s) also builds the training step: left out
    history = pd.DataFrame({"stage": [1, 1, 1, 1, 2, 2, 2], "epoch": range(7),
                            "val_loss": [0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05],
                            "seconds": [300.0, 80.0, 160.0, 200.0, 900.0, 100.0, 120.0]})
    text = speed.epoch_times_text(history, 250, staged=True)
    assert text.startswith("Leaving out the first epoch of each stage, which also builds the training step: stage 1's "
                           "epochs took from 80 s to 200 s (median 160 s; at the fastest epoch's pace, 3.12 images/s).")
    assert "stage 2" not in text, "120 s is within 1.5 times 100 s"
    slow = history.assign(seconds=[300.0, 80.0, 160.0, 200.0, 900.0, 100.0, 200.0])
    assert "3.12 images/s); stage 2's epochs took from 100 s to 200 s" in speed.epoch_times_text(slow, 250, staged=True)
    assert "its epochs" in speed.epoch_times_text(history.assign(stage=1), 0, staged=False)
    assert "images/s" not in speed.epoch_times_text(history.assign(stage=1), 0, staged=False)
    assert speed.epoch_times_text(history.assign(seconds=100.0), 250, staged=True) == ""
    assert speed.epoch_times_text(history.head(2), 250, staged=True) == "", "one epoch after the first: no spread"
    record = {"settings": {"size": 32, "width": 0.125, "n_train": 250, "n_val": 25}, "machine_sgemm_gflops": [100.0]}
    texts = [item[1] for item in speed.stage_section("lrn_vgg", history, record) if item[0] == "md"]
    assert any("stage 1's epochs took" in t for t in texts)
    texts = [item[1] for item in speed.stage_section("lrn_vgg", history.drop(columns="seconds"), record, 500.0)
             if item[0] == "md"]
    assert not any("epochs took" in t for t in texts), "epochs spread evenly from the fit's time do not vary"


def test_the_settings_shared_with_the_paper_and_the_length_of_each_stage_are_said():
    lrn = {"size": 224, "width": 1.0, "learning_rate": 1e-4, "augment": True, "supervision": "all",
           "squeeze_skip": False, "precision": "float32", "epochs": 300}
    vgg = {**lrn, "encoder_weights": "torchvision:sha256:" + "ab" * 32}
    text = book.as_in_paper_text({"LRN": lrn, "LRN-VGG": vgg}, {"LRN": [62], "LRN-VGG": [48, 18]})
    assert text.startswith("As in the paper for every run: 224x224 input, full width (multiplier 1.0), "
                           "learning rate 0.0001, flip, zoom and rotation augmentation")
    assert "every stage ended" in text and "LRN 62; LRN-VGG 48 + 18" in text
    narrow = book.as_in_paper_text({"LRN": {**lrn, "width": 0.25}, "LRN-VGG": vgg}, {"LRN": [62], "LRN-VGG": [48, 18]})
    assert "full width" not in narrow, "a run at another width keeps width out of the shared settings"
    capped = book.as_in_paper_text({"LRN": lrn, "LRN-VGG": {**vgg, "epochs": 15}}, {"LRN": [62], "LRN-VGG": [15, 12]})
    assert "Length: LRN-VGG (stage 1) trained to the epoch limit" in capped and "every stage ended" not in capped


def test_stage_lengths_count_the_epochs_of_each_stage():
    assert book.stage_lengths(pd.DataFrame({"val_loss": [1.0, 0.9]})) == [2]
    assert book.stage_lengths(pd.DataFrame({"val_loss": [1.0, 0.9, 0.8], "stage": [1, 1, 2]})) == [2, 1]
