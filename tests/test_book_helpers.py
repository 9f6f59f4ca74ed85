"""Helpers of the ablation and claims pages: run durations, settings, tables, curves."""
import json

import numpy as np
import pandas as pd
import pytest

from lrn import book, plots


def write_notebook(path, metadata):
    path.write_text(json.dumps({"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))


def test_run_duration_reads_papermills_record(tmp_path):
    write_notebook(tmp_path / "train_lrn_small_seed0.ipynb", {"papermill": {"duration": 123.5}})
    assert book.run_duration("train_lrn_small_seed0", tmp_path) == 123.5
    assert book.run_duration("train_missing", tmp_path) is None
    write_notebook(tmp_path / "plain.ipynb", {"kernelspec": {}})
    assert book.run_duration("plain", tmp_path) is None
    write_notebook(tmp_path / "running.ipynb", {"papermill": {"duration": None}})
    assert book.run_duration("running", tmp_path) is None
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert book.run_duration("broken", tmp_path) is None
    assert book.minutes_text(90.0) == "1.5"
    assert book.minutes_text(None).startswith("unknown")


def test_changed_settings_ignore_split_ids_and_keys():
    base = {"size": 128, "supervision": "all", "run_key": "a", "train_ids": ["1"], "seed": 0}
    assert book.changed_settings(base, {**base, "run_key": "b", "train_ids": ["2"]}) == "none"
    assert book.changed_settings(base, {**base, "size": 256}) == "size: 128 → 256"
    assert book.changed_settings(base, {**base, "supervision": "finest", "squeeze_skip": True}) == \
        "squeeze_skip: (unset) → True; supervision: all → finest"


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
    table = book.ablation_table("lrn_small_seed0", ["lrn_small_finest", "lrn_small_squeeze", "lrn_small_larger"],
                                summaries, durations)
    rows = table.set_index("run")
    assert list(rows.index) == ["lrn_small_seed0", "lrn_small_finest", "lrn_small_squeeze", "lrn_small_larger"]
    assert rows.loc["lrn_small_seed0", "settings changed (from provenance)"] == "(baseline)"
    assert rows.loc["lrn_small_finest", "settings changed (from provenance)"] == "supervision: all → finest"
    assert rows.loc["lrn_small_finest", "what changes"] == "LRN supervised on s6 only"
    assert rows.loc["lrn_small_larger", "settings changed (from provenance)"] == "size: 128 → 256"
    assert rows.loc["lrn_small_finest", "Jaccard (%), raw"] == "69.00 ± 1.00"
    assert rows.loc["lrn_small_finest", "Jaccard (%), cleaned"] == "70.00 ± 1.00"
    assert rows.loc["lrn_small_seed0", "training time (min)"] == "10.0"
    assert rows.loc["lrn_small_larger", "training time (min)"].startswith("unknown")
    assert rows.loc["lrn_small_squeeze", "Jaccard (%), raw"].startswith("missing")
    assert rows.loc["lrn_small_squeeze", "settings changed (from provenance)"].startswith("unknown")


def test_reduced_setting_note():
    small = {"size": 128, "width": 0.25, "epochs": 15}
    assert book.setting_text(small) == "128x128 px, width 0.25, 15 epochs"
    assert book.setting_text({**small, "epochs": 1}).endswith("1 epoch")
    note = book.reduced_setting_note(small, {"size": 224, "width": 0.25, "epochs": 50})
    assert "224x224 px, width 0.25, 50 epochs" in note and "not comparable" in note
    assert "the same size" in book.reduced_setting_note(small, dict(small))
    assert "no main LRN run" in book.reduced_setting_note(small, None)


def test_resolution_table_puts_hausdorff_on_one_scale():
    ids = ["a", "b"]
    at_eval = {"m": pd.DataFrame({"id": ids, "jaccard": [80.0, 90.0], "hausdorff": [np.hypot(224, 224) / 10] * 2})}
    at_photo = {"m": pd.DataFrame({"id": ids, "jaccard": [81.0, 91.0], "hausdorff": [100.0, 100.0]})}
    table = book.resolution_table(at_eval, at_photo, [1000.0, 1000.0])
    row = table.iloc[0]
    assert row["Jaccard (%), 224"] == "85.00 ± 7.07" and row["Jaccard (%), photo"] == "86.00 ± 7.07"
    assert row["Hausdorff (px), photo"] == "100.00 ± 0.00"
    assert row["Hausdorff (% of diagonal), 224"] == row["Hausdorff (% of diagonal), photo"] == "10.00 ± 0.00"
    with pytest.raises(ValueError, match="different images"):
        book.resolution_table(at_eval, {"m": at_photo["m"].iloc[::-1]}, [1000.0, 1000.0])


def test_compare_curves_one_panel_per_column_and_skips_absent_columns():
    lrn = pd.DataFrame({"val_loss": [3.0, 2.0, 1.5], "val_s6_loss": [0.8, 0.5, 0.4]})
    unet = pd.DataFrame({"val_loss": [0.9]})
    fig = plots.compare_curves({"LRN": lrn, "UNET": unet})
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["LRN", "UNET"]
    assert [line.get_label() for line in right.lines] == ["LRN"]
    assert list(left.lines[0].get_xdata()) == [1, 2, 3]
