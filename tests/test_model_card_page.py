"""The model card page's computations (lrnbook.model_card) on synthetic tables and arrays: no model file."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lrn.errors import InputError  # noqa: E402
from lrnbook import model_card as card_page  # noqa: E402
from lrnbook.stats import error_rates  # noqa: E402


def scores(n=30, seed=0, **shift):
    rng = np.random.default_rng(seed)
    ids = [f"{i:05d}" for i in range(n)]
    table = pd.DataFrame({"id": ids, "jaccard": 90 + rng.normal(0, 1, n), "hausdorff": 20 + rng.normal(0, 1, n)})
    table = table.assign(jaccard_clean=table["jaccard"] + 0.5, hausdorff_clean=table["hausdorff"] - 1)
    return table.assign(**{k: table[k] + v for k, v in shift.items()})


def card(history=True, epochs=4, best_last=True):
    losses = [1.0, 0.8, 0.7, 0.6] if best_last else [1.0, 0.5, 0.7, 0.6]
    return {"file": "m.keras", "bytes": 3 * 2**20, "input": [224, 224, 3], "train_command": "lrn train ...",
            "train_seconds": 600.0, "cpus": 2, "note": "",
            "history": {"epoch": [0, 1, 2, 3], "loss": losses, "val_loss": losses} if history else None,
            "provenance": {"git_commit": "abc", "settings": {
                "width": 0.25, "train_ids": ["1", "2", "3"], "val_ids": ["4"], "learning_rate": 0.001,
                "batch_size": 8, "zoom": 0.1, "rotation_deg": 10.0, "epochs": epochs, "patience": 6}}}


def test_facts_and_epochs_from_the_card():
    facts = dict(card_page.facts_table(card(), 1234567, 50 * 10**6, 2 * 10**6).values)
    assert facts["files in the package"] == ("m.keras (3.1 MB, weights float32) + m.tflite (2.0 MB, weights float32) "
                                             "= 5.1 MB, limit 50 MB")
    assert facts["parameters"] == "1,234,567"
    assert facts["training photos / validation photos"] == "3 / 1"
    assert "photos are resized to it" in facts["input"] and "chosen" not in facts
    people = {**card(), "fit": "pad", "candidate": "both", "counts": {"train_eg1800": 2, "train_ccp": 1, "val EG1800": 1}}
    facts = dict(card_page.facts_table(people, 1, 50 * 10**6, 10**6).values)
    assert "letterboxed" in facts["input"] and "candidate both" in facts["chosen"]
    assert facts["training photos / validation photos"] == ("3 / 1 (training: 2 EG1800 portraits, 1 crops of CCP "
                                                            "street photos; validation: 1 EG1800)")
    small = {**people, "counts": {**people["counts"], "train_small_people": 5}}
    assert "street photos and 5 CCP people pasted small into other CCP street photos;" in dict(
        card_page.facts_table(small, 1, 50 * 10**6, 10**6).values)["training photos / validation photos"]
    labelled = {**people, "label": "EG1800 + CCP"}
    assert dict(card_page.facts_table(labelled, 1, 50 * 10**6, 10**6).values)["chosen"].startswith(
        "candidate \u201cEG1800 + CCP\u201d (both) of the page")
    assert facts["epochs trained"].startswith("4 (at most 4, patience 6); weights of epoch 4")
    assert facts["training time"] == "10 min on 2 CPU cores"
    assert card_page.facts_table(card(history=False), 1, 2**20, 1).iloc[7, 1] == "not recorded"
    fidelity = {"mask_jaccard_min": 99.5, "map_mean_abs_max": 0.001, "map_max_abs": 0.2, "inputs": 32}
    packed = {**card(), "packing": {"keras": "float16", "tflite": "int8"},
              "packing_fidelity": {"keras": {**fidelity, "mask_jaccard_min": 99.9}, "tflite": fidelity}}
    assert dict(card_page.facts_table(packed, 1, 50 * 10**6, 16 * 10**6).values)["files in the package"] == (
        "m.keras (3.1 MB, weights float16) + m.tflite (16.0 MB, weights int8) = 19.1 MB, limit 50 MB; on 32 "
        "validation photos their masks match the float32 model's at Jaccard \u2265 99.50 %")
    assert "still falling" in card_page.epochs_text(card_page.history_table(card()), 4)
    assert card_page.epochs_text(card_page.history_table(card(best_last=False)), 4) == (
        "The validation loss was lowest at epoch 2 of the 4 trained (limit 4).")
    assert card_page.epochs_text(card_page.history_table(card(history=False)), 4).startswith("The card records no")


def test_subset_rows():
    from lrnbook import card_sets

    assert list(card_sets.rows_of(["a", "b", "c"], ["c", "a"])) == [2, 0]
    with pytest.raises(InputError, match="not among"):
        card_sets.rows_of(["a"], ["z"])


def test_failure_text_names_the_dominant_error_of_the_worst_photos():
    truths = np.zeros((8, 4, 4), bool)
    truths[:, :2] = True
    finest = truths.astype(np.float32)
    finest[0, 2:] = 1.0          # photo 0: all background labelled person
    finest[1, :2] = 0.0          # photo 1: the person left out
    fp, fn = error_rates(truths, finest > 0.5)
    rated = scores(8).assign(jaccard=[50.0, 40.0, *range(90, 96)], false_positive_pct=fp, false_negative_pct=fn)
    assert card_page.failure_text(rated, n=3) == ("25.0 % of the 8 photos score below 90 % Jaccard. On 1 of the 3 "
                                                  "worst the model leaves out more of the person than it adds "
                                                  "background (as shares of each), on 1 it adds more background "
                                                  "than it leaves out.")


def test_cutout_picks_best_median_worst_and_draws_them():
    table = scores(5).assign(jaccard_clean=[70.0, 95.0, 80.0, 60.0, 85.0])
    shown = card_page.best_median_worst(table)
    assert list(shown.index) == [1, 2, 3]
    photos = [np.full((8, 6, 3), 100, np.uint8)] * 3
    fig = card_page.cutout_figure(photos, [np.ones((8, 6), np.float32)] * 3, shown)
    assert [ax.get_title() for ax in fig.axes[::2]] == ["00001\nJaccard 95.0 %", "00002\nJaccard 80.0 %",
                                                        "00003\nJaccard 60.0 %"]
    assert [ax.get_title() for ax in fig.axes[1::2]] == ["cut-out"] * 3
    plt.close("all")


class FakeModel:
    """Enough of a keras.Model for lrn.segment: an input shape (the forward is passed in)."""

    input = SimpleNamespace(shape=(None, 16, 16, 3))


def test_speed_table_times_lrn_segment_for_each_photo_and_forward():
    calls = []

    def forward(x):
        calls.append(x.shape)
        return np.zeros((1, 16, 16, 1), np.float32)

    assert card_page.median_ms(FakeModel(), np.zeros((40, 30, 3), np.uint8), repeats=3, forward=forward) >= 0
    assert calls == [(1, 16, 16, 3)] * 4  # a warm-up call, then the timed ones
    photos = [np.zeros((16, 16, 3), np.uint8), np.zeros((80, 60, 3), np.uint8)]
    table = card_page.speed_table(FakeModel(), photos, {"A": forward, "B": forward},
                                  {"provenance": {"settings": {"ms_per_image": 8.46}}}, repeats=2)
    assert list(table[""]) == ["16x16 photo, A", "60x80 photo, A", "16x16 photo, B", "60x80 photo, B",
                               "peer, per image (its run)"]
    assert table["ms"].iloc[-1] == "8.5"
    assert len(card_page.speed_table(FakeModel(), photos[:1], {"A": forward}, None, repeats=1)) == 1


def test_terms_and_cost():
    assert card_page.terms_text("Academic use only.").startswith("> Academic use only.\n\nThe package metadata")
    text = card_page.cost_text(90.0, card())
    assert text.startswith("Executing this page took 1.5 min (wall time, ") and text.endswith(
        "training the model took 10 min.")
    assert "training" not in card_page.cost_text(30.0, {"train_seconds": None})


def test_every_set_table_versus_sentences_and_worst_grid():
    from lrn.data import people
    from lrnbook import card_sets

    rng = np.random.default_rng(4)
    pairs = []
    for k in range(6):
        mask = np.zeros((80, 60), bool)
        mask[10 + k:70, 15:45] = True
        pairs.append((rng.integers(0, 256, (80, 60, 3), dtype=np.uint8), mask))
    s = people.eval_set("CCP full-frame test", [f"{k:04d}" for k in range(6)], pairs, 224)
    good = s.truths.astype(np.float32)
    bad = np.roll(good, 20, axis=2)
    tables = {s.name: {"shipped LRN": card_sets.scores(s, good), "MediaPipe": card_sets.scores(s, bad)}}
    table = card_sets.sets_table(tables)
    assert list(table["model"]) == ["shipped LRN", "MediaPipe"] and list(table["photos"]) == [f"{s.name} (6)", ""]
    assert tables[s.name]["shipped LRN"]["jaccard_clean"].min() == pytest.approx(100.0)
    assert (tables[s.name]["MediaPipe"]["false_positive_pct"] > 0).all()
    # a blob beside the person, larger than the bit of person found: cleaning keeps the blob alone
    blob = np.zeros_like(good)
    blob[:, :, 180:] = 1.0
    blob[:, 100:110, 100:110] = 1.0
    t = card_sets.scores(s, blob)
    assert (t["false_negative_clean_pct"] == 100).all() and (t["false_negative_pct"] < 100).all()
    text = card_sets.versus_text(tables, "shipped LRN", "MediaPipe")
    assert text.count("better: shipped LRN") == 2 and text.startswith("- *CCP full-frame test*")
    fig = card_sets.worst_figure(s, bad, tables[s.name]["MediaPipe"], "MediaPipe", n=3)
    assert len(fig.axes) == 6
    plt.close(fig)
