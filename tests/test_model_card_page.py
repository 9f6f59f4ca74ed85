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
                                             "= 5.1 MB, within the 50 MB the project allows the model inside the "
                                             "package, to keep pip install small")
    assert facts["parameters"] == "1,234,567"
    assert facts["training photos / validation photos"] == "3 / 1"
    assert "photos are resized to it" in facts["input"] and "chosen" not in facts
    people = {**card(), "fit": "pad", "candidate": "both", "counts": {"train_eg1800": 2, "train_ccp": 1, "val EG1800": 1}}
    facts = dict(card_page.facts_table(people, 1, 50 * 10**6, 10**6).values)
    assert "letterboxed" in facts["input"] and "candidate both" in facts["chosen"]
    assert facts["training photos / validation photos"] == ("3 / 1 (training: 2 EG1800 portraits, 1 crops of CCP "
                                                            "street photos; validation: 1 EG1800)")
    small = {**people, "counts": {**people["counts"], "train_small_people": 5, "val Small people": 2}}
    small_photos = dict(card_page.facts_table(small, 1, 50 * 10**6, 10**6).values)["training photos / validation photos"]
    assert "street photos and 5 CCP people pasted small into other CCP street photos;" in small_photos
    assert small_photos.endswith("validation: 1 EG1800, 2 small people)")  # a kind of photo, lower case mid-sentence
    # a -VGG run's first-stage model records its stage and the counts of its data, not its ids
    first = {**small, "provenance": {**small["provenance"], "settings": {
        k: v for k, v in {**small["provenance"]["settings"], "stage": "1 of 2: encoder frozen"}.items()
        if k not in ("train_ids", "val_ids")}}, "counts": {**small["counts"], "train": 8, "val CCP full frame": 2}}
    first_facts = dict(card_page.facts_table(first, 1, 50 * 10**6, 10**6).values)
    assert first_facts["training photos / validation photos"].startswith("8 / 5 (training: 2 EG1800")
    assert first_facts["training stage"] == "1 of 2: encoder frozen" and "training stage" not in facts
    assert facts["encoder started from"].startswith("Glorot-uniform")
    imagenet = {**first, "provenance": {**first["provenance"], "settings": {
        **first["provenance"]["settings"], "encoder_weights": "vgg16.weights.h5"}}}
    assert dict(card_page.facts_table(imagenet, 1, 50 * 10**6, 10**6).values)["encoder started from"].startswith("ImageNet")
    labelled = {**people, "label": "EG1800 + CCP"}
    assert dict(card_page.facts_table(labelled, 1, 50 * 10**6, 10**6).values)["chosen"].startswith(
        "candidate \u201cEG1800 + CCP\u201d (both) of the page")
    assert facts["epochs trained"].startswith("4 (at most 4, patience 6); weights of epoch 4")
    assert facts["training time"] == "10 min of CPU training"  # no word about the machine
    assert dict(card_page.facts_table(card(history=False), 1, 2**20, 1).values)["epochs trained"] == "not recorded"
    fidelity = {"mask_jaccard_min": 99.5, "map_mean_abs_max": 0.001, "map_max_abs": 0.2, "inputs": 32}
    packed = {**card(), "packing": {"keras": "float16", "tflite": "int8"},
              "packing_fidelity": {"keras": {**fidelity, "mask_jaccard_min": 99.9}, "tflite": fidelity}}
    assert dict(card_page.facts_table(packed, 1, 50 * 10**6, 16 * 10**6).values)["files in the package"] == (
        "m.keras (3.1 MB, weights float16) + m.tflite (16.0 MB, weights int8) = 19.1 MB, within the 50 MB the "
        "project allows the model inside the package, to keep pip install small; on 32 "
        "validation photos their masks match the float32 model's at Jaccard \u2265 99.50 %")
    assert card_page.epochs_text(card_page.history_table(card(history=False)), 4).startswith("The card records no")


def test_the_epochs_sentence_says_why_training_stopped_and_what_it_means():
    def history(losses):
        return pd.DataFrame({"loss": losses, "val_loss": losses})

    still = card_page.epochs_text(history([1.0, 0.8, 0.7, 0.6]), 4, patience=2)
    assert still == ("Training stopped at its limit of 4 epochs, not at a plateau: the validation loss reached its "
                     "lowest value at the last epoch: it was still coming down when training ended. More epochs "
                     "would likely reduce it further, and a longer run would likely score more.")
    near = card_page.epochs_text(history([1.0, 0.8, 0.6, 0.7]), 4, patience=2)
    assert near.startswith("Training stopped at its limit of 4 epochs, not at a plateau: the validation loss reached "
                           "its lowest value at epoch 3, 1 epoch before the limit: too soon for the patience of 2 "
                           "epochs to detect a plateau.")
    assert near.endswith("More epochs might still reduce it; the model may be short of what this network can do.")
    # the flipped cases: a plateau, at the limit or before it
    flat = card_page.epochs_text(history([1.0, 0.5, 0.7, 0.6]), 4, patience=2)
    assert flat == ("Training ran to its limit of 4 epochs, but the validation loss had reached its lowest value at "
                    "epoch 2, 2 epochs before the end: it had levelled off.")
    early = card_page.epochs_text(history([1.0, 0.5, 0.7, 0.6]), 10, patience=2)
    assert early == ("Training stopped early, after 4 epochs of at most 10: the validation loss had not come below its "
                     "value at epoch 2 for 2 epochs (the patience), so it had levelled off.")
    assert "not at a plateau" in card_page.epochs_text(history([1.0, 0.5, 0.7, 0.6]), 4)  # patience unknown



def test_a_two_stage_run_is_told_stage_by_stage():
    # stage 1 stops at a plateau after 4 epochs (best 2); stage 2 runs to the limit of 4 still falling
    history = pd.DataFrame({"val_loss": [1.0, 0.5, 0.7, 0.6, 0.45, 0.4, 0.35, 0.3], "stage": [1] * 4 + [2] * 4})
    text = card_page.epochs_text(history, 4, patience=2)
    assert text.startswith("Stage 1 (encoder frozen) ran to its limit of 4 epochs, but the validation loss had reached "
                           "its lowest value at epoch 2, 2 epochs before the end: it had levelled off. Stage 2 (all "
                           "layers) stopped at its limit of 4 epochs, not at a plateau")
    early = card_page.epochs_text(pd.DataFrame({"val_loss": [1.0, 0.5, 0.7, 0.6, 0.45, 0.3, 0.4, 0.5],
                                                "stage": [1] * 4 + [2] * 4}), 10, patience=2)
    assert early.endswith("Stage 2 (all layers) stopped early, after 4 epochs of at most 10: the validation loss had "
                          "not come below its value at epoch 2 of its stage (epoch 6 overall) for 2 epochs (the "
                          "patience), so it had levelled off.")
    facts = dict(card_page.facts_table({**card(), "history": history.assign(loss=history["val_loss"]).to_dict("records")},
                                       1, 50 * 10**6, 10**6).values)
    assert facts["epochs trained"].startswith("8 (4 + 4 in 2 stages, each at most 4, patience 6); weights of epoch 8 "
                                              "(epoch 4 of stage 2)")

def test_subset_rows():
    from lrnbook import card_sets

    assert list(card_sets.rows_of(["a", "b", "c"], ["c", "a"])) == [2, 0]
    with pytest.raises(InputError, match="not among"):
        card_sets.rows_of(["a"], ["z"])


def rated(j, fp, fn, clean=None):
    """A score table as lrnbook.card_sets.scores writes it; the cleaned columns are ``clean`` ``(j, fp, fn)``,
    else the raw ones."""
    table = scores(len(j)).assign(jaccard=j, false_positive_pct=fp, false_negative_pct=fn)
    cj, cfp, cfn = clean or (j, fp, fn)
    return table.assign(jaccard_clean=cj, false_positive_clean_pct=cfp, false_negative_clean_pct=cfn)


def test_failure_text_names_the_dominant_error_of_the_worst_photos():
    truths = np.zeros((8, 4, 4), bool)
    truths[:, :2] = True
    finest = truths.astype(np.float32)
    finest[0, 2:] = 1.0          # photo 0: all background labelled person
    finest[1, :2] = 0.0          # photo 1: the person left out
    finest[1, 0, 0] = 1.0        # ... but for one pixel of it
    fp, fn = error_rates(truths, finest > 0.5)
    table = rated([50.0, 40.0, *range(90, 96)], fp, fn)
    assert card_page.failure_text(table, n=2) == (
        "25.0 % of the 8 photos score below 90 % Jaccard. On both worst photos: mostly background added on 1, "
        "mostly the person left out on 1 (each error as a share of its own area).")
    added = rated([50.0, 40.0, 95.0], [30.0, 20.0, 0.0], [5.0, 10.0, 0.0])
    assert card_page.failure_text(added, n=2, clean=False).endswith(
        "On both worst photos mostly background is added (a larger share of the background is marked as person "
        "than of the person is left out).")
    left = rated([50.0, 40.0, 95.0], [3.0, 2.0, 0.0], [50.0, 60.0, 0.0])
    assert card_page.failure_text(left, n=1).endswith(
        "On 1 of the 1 worst photos mostly the person is left out (a larger share of the person is left out than "
        "of the background is marked as person).")


def test_failure_text_says_when_the_mask_misses_the_person_and_cleaning_threw_it_away():
    # raw maps that found most of a small person; cleaning kept a larger blob elsewhere (photos 0, 1),
    # a raw map that missed the person too (2), a cleaned mask that is empty (3), one that is fine (4)
    table = rated([20.0, 15.0, 0.0, 0.0, 95.0], [10.0, 12.0, 8.0, 0.0, 0.1], [5.0, 2.0, 100.0, 100.0, 1.0],
                  clean=([0.0, 0.0, 0.0, 0.0, 95.0], [9.0, 11.0, 8.0, 0.0, 0.1], [100.0, 100.0, 100.0, 100.0, 1.0]))
    assert card_page.failure_text(table, n=4) == (
        "80.0 % of the 5 photos score below 90 % Jaccard. On all 4 worst photos the cleaned mask misses the person "
        "entirely: 3 cover another region of the photo, 1 is empty. The raw map had found the person on 2 of the 4 "
        "(it covered 95.0 to 98.0 % of the person), but cleaning keeps only the largest region, and that was "
        "another one: keeping the largest region can throw away a small person.")
    elsewhere = card_page.failure_text(table.iloc[[0, 1, 4]], n=3)
    assert "On 2 of the 3 worst photos the cleaned mask misses the person entirely: it covers another region of " \
           "the photo." in elsewhere and "on both (it covered 95.0 to 98.0 %" in elsewhere
    assert elsewhere.endswith("On the other 1 mostly the person is left out (a larger share of the person is left "
                              "out than of the background is marked as person).")
    raw = card_page.failure_text(table.iloc[[0, 1, 4]], n=3, clean=False)
    assert "misses" not in raw and raw.startswith("66.7 % of the 3 photos score below 90 % Jaccard.")


def test_cutout_picks_best_median_worst_and_draws_them():
    table = scores(5).assign(jaccard_clean=[70.0, 95.0, 80.0, 60.0, 85.0])
    shown = card_page.best_median_worst(table)
    assert list(shown.index) == [1, 2, 3]
    photos = [np.full((8, 6, 3), 100, np.uint8)] * 3
    fig = card_page.cutout_figure(photos, [np.ones((8, 6), np.float32)] * 3, shown)
    assert [ax.get_title() for ax in fig.axes[::2]] == ["best: 00001\nJaccard 95.0 %", "median: 00002\nJaccard 80.0 %",
                                                        "worst: 00003\nJaccard 60.0 %"]
    assert [ax.get_title() for ax in fig.axes[1::2]] == ["cut-out"] * 3
    assert all(s.get_visible() for ax in fig.axes[1::2] for s in ax.spines.values())  # the cut-outs are framed
    assert not any(s.get_visible() for ax in fig.axes[::2] for s in ax.spines.values())
    assert fig._suptitle is None
    titled = card_page.cutout_figure(photos, [np.ones((8, 6), np.float32)] * 3, shown, title="Small-people test")
    assert titled._suptitle.get_text() == "Small-people test"
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
    seen = []
    table = card_page.speed_table(FakeModel(), photos, {"A": forward, "B": forward},
                                  {"whole": lambda photo: seen.append(photo.shape)}, repeats=2)
    assert list(table.columns) == ["photo", "what is timed", "ms"]
    assert list(table["photo"]) == ["16x16", "60x80"] * 3
    assert list(table["what is timed"]) == ["A", "A", "B", "B", "whole", "whole"]
    assert seen == [(16, 16, 3)] * 3 + [(80, 60, 3)] * 3  # the other calls get the same photos
    assert len(card_page.speed_table(FakeModel(), photos[:1], {"A": forward}, None, repeats=1)) == 1


def test_the_speed_sentence_gives_the_whole_time_and_the_maps_share():
    table = pd.DataFrame([["600x800", "map", "34.4"], ["600x800", "whole", "71.0"], ["550x832", "map", "35.5"],
                          ["550x832", "whole", "80.2"], ["600x800", "peer", "5.0"]], columns=card_page.SPEED_COLUMNS)
    assert card_page.speed_text(table, "whole", "map") == (
        "End to end, `lrn whiten` with its default options takes 71.0 ms on the 600x800 photo (34.4 ms for the map, "
        "36.6 ms for cleaning, refinement, ramp and white background); 80.2 ms on the 550x832 photo (35.5 ms for the "
        "map, 44.7 ms for cleaning, refinement, ramp and white background).")


def test_terms():
    assert card_page.terms_text("Academic use only.").startswith("> Academic use only.\n\nThe package metadata")
    assert not hasattr(card_page, "cost_text")  # the page's own execution time is not for the reader


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
    assert list(table.columns) == ["photos", "model", "Jaccard (%), raw", "Jaccard (%), cleaned", "Hausdorff (px), raw",
                                   "Hausdorff (px), cleaned"]  # the order of the peer page's first table too
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


def test_training_settings_take_the_ids_make_model_added_for_a_first_stage_model():
    from lrnbook import card_sets

    first = {"provenance": {"settings": {"width": 1.0}}, "data_ids": {"train_ids": ["a"], "val_ids": ["b"], "source": "x"}}
    assert card_sets.training_settings(first) == {"width": 1.0, "train_ids": ["a"], "val_ids": ["b"]}
    recorded = {"provenance": {"settings": {"train_ids": ["c"], "val_ids": ["d"]}}, "data_ids": {"train_ids": ["a"]}}
    assert card_sets.training_settings(recorded)["train_ids"] == ["c"]  # the model's own record wins
