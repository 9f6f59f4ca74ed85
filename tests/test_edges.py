"""The cut-out scored at the photo's resolution, and the refinement chosen on such scores."""
import numpy as np
import pandas as pd
import pytest

from lrn import cutout, edges
from lrn.errors import InputError
from lrnbook import edges_page


def photo_and_truth(h=90, w=70, at=35):
    photo = np.full((h, w, 3), 30, np.uint8)
    photo[:, at:] = 220
    truth = np.zeros((h, w), bool)
    truth[:, at:] = True
    return photo, truth


def test_cutout_scores_scores_every_option_on_every_photo():
    pairs = [photo_and_truth(), photo_and_truth(at=40)]
    blurred = lambda photo: np.clip((np.arange(photo.shape[1]) - 37) / 6 + 0.5, 0, 1)[None].repeat(photo.shape[0], 0)
    grid = edges.refinement_grid((0.2,), (1e-3,), coarse_side=10_000)  # coefficients at full resolution
    scores = edges.cutout_scores(blurred, ["a", "b"], pairs, grid)
    assert list(scores["option"].unique()) == ["raw", "cleaned", "guided r=0.2 eps=0.001"]
    assert len(scores) == 6 and scores["seconds"].ge(0).all()
    refined = scores[scores["option"] == "guided r=0.2 eps=0.001"]["jaccard"].to_numpy()
    raw = scores[scores["option"] == "raw"]["jaccard"].to_numpy()
    assert refined[1] > raw[1]  # the map's edge is 3 px off the photo's on "b"; the guide moves it back
    with pytest.raises(InputError, match="2 ids but 1"):
        edges.cutout_scores(blurred, ["a", "b"], pairs[:1], grid)


def long_table(rows):
    return pd.DataFrame([{"id": str(i), "option": o, "jaccard": j, "hausdorff": h, "seconds": 0.01}
                         for o, values in rows.items() for i, (j, h) in enumerate(values)])


def test_the_choice_weighs_both_measures_and_breaks_ties_by_jaccard():
    table = long_table({"cleaned": [(90, 50), (90, 50)], "a": [(93, 70), (93, 70)],
                        "b": [(92, 45), (92, 45)], "c": [(91, 40), (91, 40)]})
    # ranks (Jaccard + Hausdorff): cleaned 4+3, a 1+4, b 2+2, c 3+1 -> b and c tie at 4; b has the higher Jaccard
    assert edges.best_option(table) == "b"
    assert edges.best_option(table, among=["cleaned", "a"]) == "a"
    with pytest.raises(InputError, match="no option"):
        edges.best_option(table, among=["nope"])


def test_page_sentences_follow_the_numbers():
    val = long_table({"cleaned": [(90, 50), (92, 40)], "g": [(91, 48), (93, 38)]})
    text = edges_page.standing_text(val, "g")
    assert "the cleaned map without refinement scores 91.00 % Jaccard and 45.00 px" in text
    assert "The refinement `lrn whiten` runs, **g**, scores 92.00 % and 43.00 px: first of the 1" in text
    three = long_table({"cleaned": [(90, 50)], "g": [(91, 48)], "h": [(93, 47)], "k": [(92, 40)]})
    text = edges_page.standing_text(three, "g")
    assert "scores 91.00 % and 48.00 px: third of the 3 by Jaccard and third by Hausdorff" in text
    assert text.endswith("The highest Jaccard here is h's (93.00 %), the lowest Hausdorff k's (40.00 px).")
    assert "runs no refinement" in edges_page.standing_text(three, None)
    peer = long_table({"cleaned": [(95, 30), (95, 30)], "g": [(96, 20), (96, 20)]})
    text = edges_page.test_text({"ours": val, "peer": peer}, "ours", "peer", "g")
    assert "by +1.00 points" in text and "by -2.00 px" in text and "The peer is ahead on both measures" in text
    table = edges_page.summary_table(val)
    assert table["edges"].tolist() == ["cleaned", "cleaned + g"] and table.loc[1, "Jaccard (%)"] == "92.00 ± 1.41"
    assert list(table.columns) == ["edges", "Jaccard (%)", "Hausdorff (px, photo's size)", "ms added"]


def test_zoom_boxes_sit_on_the_outline():
    mask = np.zeros((200, 150), bool)
    yy, xx = np.mgrid[:200, :150]
    mask[((yy - 60) / 40) ** 2 + ((xx - 75) / 30) ** 2 < 1] = True  # head
    mask[130:, 20:130] = True  # shoulders
    boxes = edges_page.zoom_boxes(mask)
    y0, y1, x0, x1 = boxes["hair"]
    assert y0 <= 20 < y1 and x0 <= 75 < x1
    y0, y1, x0, x1 = boxes["shoulder"]
    assert x0 <= 20 < x1 and y0 <= 140 < y1  # the left outline, two thirds down from the head's top (20)
    assert cutout.DEFAULT_REFINEMENT in edges.refinement_grid((0.01, 0.02, 0.04, 0.08), (1e-3, 1e-2)).values()


def test_zoomed_cut_outs_show_what_they_let_through_as_checks():
    photo = np.full((32, 32, 3), 250, np.uint8)  # a washed-out photo: on white its edge would not show
    opacity = np.zeros((32, 32), np.float32)
    opacity[:, 16:] = 1.0
    shown = edges_page.on_checkerboard(photo, opacity, square=8)
    assert (shown[:, 16:] == 250).all()  # opaque: the photo
    dark, light = (round(255 * c) for c in edges_page.CHECKS)
    assert shown[0, 0, 0] == dark and shown[0, 8, 0] == light and shown[8, 0, 0] == light
    half = edges_page.on_checkerboard(photo, np.full((32, 32), 0.5), square=8)
    assert half[0, 0, 0] == round(0.5 * 250 + 0.5 * 255 * edges_page.CHECKS[0])
    truth = opacity > 0.5
    fig = edges_page.zoom_figure(photo, truth, {"a": opacity, "b": 1 - opacity}, {"left": (0, 16, 0, 16)}, "t")
    assert [ax.get_title() for ax in fig.axes] == ["left:\nphoto, true outline", "left:\na", "left:\nb"]


def test_score_sets_loads_one_set_at_a_time_and_tables_every_set():
    loaded = []

    def loader(name):
        def load():
            loaded.append(name)
            return [photo_and_truth()]
        return load

    flat = lambda photo: np.full(photo.shape[:2], 0.9, np.float32)
    scored = edges_page.score_sets({"A": (["1"], loader("A")), "B": (["1"], loader("B"))}, {"m": flat, "n": flat},
                                   edges.refinement_grid((0.1,), (1e-3,)))
    assert loaded == ["A", "B"] and set(scored) == {"A", "B"} and set(scored["A"]) == {"m", "n"}
    table = edges_page.sets_table(scored, "n")  # one model's table: narrow enough for the text column
    assert list(table.columns) == ["photos", "edges", "Jaccard (%)", "Hausdorff (px, photo's size)", "ms added"]
    assert table["photos"].tolist() == ["A (1)", "", "", "B (1)", "", ""]  # sets x options, each set named once
    assert table["edges"].tolist() == ["raw", "cleaned", "cleaned + guided r=0.1 eps=0.001"] * 2


def test_crop_errors_count_the_person_left_out_and_the_background_kept():
    truth = np.zeros((10, 10), bool)
    truth[:, :5] = True
    opacity = np.zeros((10, 10), np.float32)
    opacity[:, :4] = 1.0  # one column of the person left out
    opacity[:2, 8:] = 0.6  # 4 of the 50 background pixels kept
    assert edges_page.crop_errors(truth, opacity, (0, 10, 0, 10)) == (20.0, 8.0)
    left, kept = edges_page.crop_errors(truth, opacity, (0, 10, 0, 4))  # no background in this crop
    assert left == 0.0 and np.isnan(kept)
    text = edges_page.crops_text(truth, {"a": opacity}, {"all": (0, 10, 0, 10)})
    assert text.endswith("all: a 20.0 % / 8.0 %.")
