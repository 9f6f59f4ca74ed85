"""The model card page's computations (lrnbook.model_card) on synthetic tables and arrays: no model file."""
import importlib
import os
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lrn import evaluate, provenance  # noqa: E402
from lrn.errors import InputError  # noqa: E402
from lrnbook import model_card as card_page  # noqa: E402


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


def test_versus_pairs_by_id_and_names_the_winner():
    ours = scores()
    theirs = ours.assign(jaccard=ours["jaccard"] - 5, hausdorff=ours["hausdorff"] + 0.0).iloc[::-1]
    result = card_page.versus(ours, theirs)
    assert result["jaccard"]["winner"] == "ours" and result["jaccard"]["mean_diff"] == pytest.approx(5)
    assert result["hausdorff"]["winner"] == "not settled" and result["hausdorff"]["mean_diff"] == 0
    worse = theirs.assign(hausdorff=theirs["hausdorff"] - 3)
    assert card_page.versus(ours, worse)["hausdorff"]["winner"] == "theirs"
    with pytest.raises(InputError, match="different images"):
        card_page.versus(ours, theirs.iloc[1:])


def test_score_table_is_the_pages_raw_and_cleaned_table():
    table = card_page.score_table(card_page.labelled({"official test": scores()}, "shipped LRN"))
    assert list(table.columns) == ["model", "images", "Jaccard (%), raw", "Hausdorff (px), raw",
                                   "Jaccard (%), cleaned", "Hausdorff (px), cleaned"]
    assert table["model"][0] == "shipped LRN, official test" and table["images"][0] == 30


def test_versus_table_and_its_sentence():
    ours = {"official test": scores(), "paper protocol": scores(10)}
    theirs = {"official test": scores(jaccard=-5, jaccard_clean=-5, hausdorff=8, hausdorff_clean=8),
              "paper protocol": scores(10, jaccard=3)}
    table = card_page.versus_table(ours, theirs)
    assert list(table["measure"][:4]) == ["jaccard (raw)", "jaccard (cleaned)", "hausdorff (raw)",
                                          "hausdorff (cleaned)"]
    assert table["better"].iloc[0] == "shipped LRN" and table["better"].iloc[4] == "peer"
    assert table["gain of the shipped model [95 % CI]"].iloc[0].startswith("+5.00 pp [")
    assert card_page.versus_text(table) == ("**On the official test photos (raw scores), the shipped model is better "
                                            "than the peer by both measures.** Better on each measure: jaccard: "
                                            "shipped LRN; hausdorff: shipped LRN.")
    assert "neither model is better" in card_page.versus_text(table, "paper protocol")


def test_peer_tables_are_read_when_present(tmp_path):
    assert card_page.read_peer_tables("paper", tmp_path) is None
    for file, n in zip(card_page.PEER_FILES, (30, 10)):
        provenance.write_csv(scores(n), tmp_path / "results" / "peer" / file, {})
    tables = card_page.read_peer_tables("paper", tmp_path)
    assert list(tables) == ["official test", "paper protocol"] and len(tables["paper protocol"]) == 10
    assert "no peer run" in card_page.NO_PEER.lower()


def test_facts_and_epochs_from_the_card():
    facts = dict(card_page.facts_table(card(), 1234567, 50 * 10**6).values)
    assert facts["file"] == "m.keras (3.1 MB, limit 50 MB)" and facts["parameters"] == "1,234,567"
    assert facts["training photos / validation photos"] == "3 / 1"
    assert "photos are resized to it" in facts["input"] and "chosen" not in facts
    people = {**card(), "fit": "pad", "candidate": "both", "counts": {"train_eg1800": 2, "train_ccp": 1, "val EG1800": 1}}
    facts = dict(card_page.facts_table(people, 1, 50 * 10**6).values)
    assert "letterboxed" in facts["input"] and "candidate both" in facts["chosen"]
    assert facts["training photos / validation photos"] == ("3 / 1 (training: 2 EG1800 portraits and 1 crops of CCP "
                                                            "street photos; validation: 1 EG1800)")
    assert facts["epochs trained"].startswith("4 (at most 4, patience 6); weights of epoch 4")
    assert facts["training time"] == "10 min on 2 CPU cores"
    assert card_page.facts_table(card(history=False), 1, 2**20).iloc[7, 1] == "not recorded"
    assert "still falling" in card_page.epochs_text(card_page.history_table(card()), 4)
    assert card_page.epochs_text(card_page.history_table(card(best_last=False)), 4) == (
        "The validation loss was lowest at epoch 2 of the 4 trained (limit 4).")
    assert card_page.epochs_text(card_page.history_table(card(history=False)), 4).startswith("The card records no")


def test_unseen_check_and_subset_rows():
    settings = card()["provenance"]["settings"]
    assert card_page.check_unseen(settings, ["7", "8", "9"], ["9", "7"]).startswith("None of the 3 official")
    with pytest.raises(InputError, match="used in training"):
        card_page.check_unseen(settings, ["1", "8"], ["8"])
    with pytest.raises(InputError, match="not all official"):
        card_page.check_unseen(settings, ["7", "8"], ["9"])
    assert list(card_page.rows_of(["a", "b", "c"], ["c", "a"])) == [2, 0]
    with pytest.raises(InputError, match="not among"):
        card_page.rows_of(["a"], ["z"])


def test_score_sets_reads_the_subset_from_the_same_maps():
    rng = np.random.default_rng(0)
    truths = np.zeros((5, 224, 224), bool)
    truths[:, 50:170, 60:160] = True
    finest = np.clip(truths + rng.normal(0, 0.4, truths.shape), 0, 1).astype(np.float32)
    ids = [f"{i:05d}" for i in range(5)]
    subset = card_page.rows_of(ids, ["00003", "00001"])
    tables = card_page.score_sets(ids, truths, finest, subset, "paper")
    assert list(tables) == ["official test", "paper protocol"]
    assert list(tables["paper protocol"]["id"]) == ["00003", "00001"]
    direct = evaluate.score_levels(["00003", "00001"], [finest[subset]], truths[subset])
    pd.testing.assert_frame_equal(tables["paper protocol"], direct)


def test_photo_size_sentence_and_label():
    pairs = [(np.zeros((800, 600, 3), np.uint8), np.zeros((800, 600), bool))]
    assert card_page.photo_size_text(pairs) == ("The photos are 600 wide and 800 high: one pixel at 224x224 spans 2.7 "
                                                "of their pixels across and 3.6 down, and their diagonal is 3.2 times "
                                                "as long.")
    assert card_page.photo_label(pairs) == "shipped LRN, paper protocol at 600x800 (width x height)"
    mixed = pairs + [(np.zeros((10, 20, 3), np.uint8), np.zeros((10, 20), bool))]
    assert card_page.photo_size_text(mixed).startswith("The photos come in 2 sizes")


def test_failure_table_has_readable_columns_and_the_worst_rows():
    truths = np.zeros((8, 4, 4), bool)
    truths[:, :2] = True
    finest = truths.astype(np.float32)
    finest[0, 2:] = 1.0          # photo 0: all background labelled person
    finest[1, :2] = 0.0          # photo 1: the person left out
    table = scores(8).assign(jaccard=[50.0, 40.0, *range(90, 96)])
    rated = card_page.with_error_rates(table, truths, finest)
    worst = card_page.failure_table(rated, n=3)
    assert list(worst.columns) == ["id", "Jaccard (%), raw", "Hausdorff (px), raw", "Jaccard (%), cleaned",
                                   "Hausdorff (px), cleaned", "false positives (% of background)",
                                   "false negatives (% of person)"]
    assert list(worst["id"]) == ["00001", "00000", "00002"]
    assert list(worst["false positives (% of background)"]) == [0.0, 100.0, 0.0]
    assert list(worst["false negatives (% of person)"]) == [100.0, 0.0, 0.0]
    assert card_page.failure_text(rated, n=3) == ("25.0 % of the 8 photos score below 90 % Jaccard. On 1 of the 3 "
                                                  "worst the model leaves out more of the person than it adds "
                                                  "background (as shares of each), on 1 it adds more background "
                                                  "than it leaves out.")
    images = np.zeros((8, 4, 4, 3), np.uint8)
    fig = card_page.failure_figure(images, truths, finest, list(table["id"]), rated, n=3)
    assert len(fig.axes) == 9 and fig.axes[0].get_ylabel() == "00001"
    plt.close("all")


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


def test_loading_is_quiet_and_keeps_its_warnings():
    notes = []
    folder = importlib.import_module("lrn.data.folder")
    with card_page._quiet_loading(notes):
        assert folder.tqdm(total=3).disable
        warnings.warn("EG1800: excluded 1 id(s)", UserWarning)
        warnings.warn("EG1800: excluded 1 id(s)", UserWarning)
    assert notes == ["EG1800: excluded 1 id(s)"]
    assert not folder.tqdm(total=3, file=open(os.devnull, "w")).disable


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
    text = card_sets.versus_text(tables, "shipped LRN", "MediaPipe")
    assert text.count("better: shipped LRN") == 2 and text.startswith("- *CCP full-frame test*")
    fig = card_sets.worst_figure(s, bad, tables[s.name]["MediaPipe"], "MediaPipe", n=3)
    assert len(fig.axes) == 6
    plt.close(fig)
