"""Facts that cross the Python/JS border: the Try-it page's scripts read them from ``config.json``
(:func:`lrnbook.tryit.config`), which takes them from their one home in Python. No browser needed."""
import re
from pathlib import Path

import numpy as np
import pytest

from lrn import cutout, letterbox, metrics, shipped
from lrn.cutout_model import FEEDS, SOFT_EDGE

SCRIPTS = Path(__file__).resolve().parents[1] / "book" / "_static" / "tryit"


@pytest.fixture(scope="module")
def config():
    from lrnbook import tryit

    return tryit.config(tryit.model_file(), [])  # the .tflite the page serves (a conversion for a .keras-only package)


def script(name: str) -> str:
    return (SCRIPTS / name).read_text()


def test_the_soft_edge_is_pythons_and_the_scripts_have_no_copy_of_it(config):
    ramp = (cutout.LOW, cutout.HIGH)  # the card's whitening, else SOFT_EDGE
    assert ramp == tuple(shipped.whitening().get("ramp", SOFT_EDGE))
    assert (config["edge"]["low"], config["edge"]["high"]) == ramp
    assert (cutout.edge_alpha.__defaults__, cutout.alpha.__defaults__) == (ramp, ramp)
    signature = re.search(r"export function edgeAlpha\(([^)]*)\)", script("imaging.js")).group(1)
    assert "=" not in signature, f"edgeAlpha({signature}) carries its own ramp"
    assert "state.config.edge.low, state.config.edge.high" in script("tryit.js")
    assert not re.search(r"\b0\.3\b|\b0\.7\b", script("imaging.js") + script("tryit.js"))


def test_feed_fill_and_refinement_are_pythons(config):
    assert config["feed"] == shipped.feed() and config["feed"] in FEEDS
    # the page feeds both ways lrn does, and refuses any other
    assert '["pad", "squash"].includes(state.config.feed)' in script("tryit.js")
    assert set(re.findall(r'feed === "(\w+)"', script("imaging.js"))) == set(FEEDS)
    assert tuple(config["fill"]) == tuple(letterbox.FILL)
    refinement = cutout.DEFAULT_REFINEMENT
    assert config["refinement"] == {"radius_fraction": refinement.radius_fraction, "eps": refinement.eps,
                                    "coarse_side": refinement.coarse_side}
    read = set(re.findall(r"settings\.(\w+)", script("imaging.js")))
    assert read and read <= set(config["refinement"]), f"imaging.js reads {read}"


def test_levels_and_colours_are_the_models_and_the_books(config):
    from lrnbook import widgets

    assert [level["name"] for level in config["levels"]] == [f"s{k}" for k in range(1, 7)]
    sides = [level["side"] for level in config["levels"]]
    assert sides == sorted(sides) and sides[-1] == config["size"] == 224
    table = np.array(config["colours"], np.uint8)
    probs = (np.arange(256) + 0.5) / 256  # the page's colour bar samples each entry's middle
    np.testing.assert_array_equal(widgets.probability_to_rgb(probs[None, :])[0], table)


def test_cleaning_is_pythons_and_the_scripts_have_no_copy_of_it(config):
    """The page cleans as lrn.cutout.clean_probability does, with lrn's numbers: the band
    (EDGE_FRACTION), the threshold of the person's mask and whether the unrefined map of the
    shipped model is cleaned (its card), all from config.json."""
    assert config["clean"] == {"default": shipped.clean(), "edge_fraction": cutout.EDGE_FRACTION,
                               "threshold": metrics.threshold_prob.__defaults__[0]}
    assert isinstance(config["clean"]["default"], bool)
    imaging, page = script("imaging.js"), script("tryit.js")
    signature = re.search(r"export function cleanProbability\(([^)]*)\)", imaging).group(1)
    assert "=" not in signature and "edgeFraction" in signature and "threshold" in signature
    assert "state.config.clean.edge_fraction, state.config.clean.threshold" in page
    assert "state.config.clean.default ?" in page
    assert not re.search(r"\b0\.02\b|[<>]=?\s*0\.5\b", imaging + page), "a copy of the band or the threshold"


def test_the_page_composes_what_lrn_whiten_composes(config):
    """tryit.js's opacityOf follows lrn.cutout.opacity: config.json's steps (lrn.cutout.WHITEN_STEPS)
    in their order, then the ramp; or, unrefined, the map cleaned as the card says and ramped."""
    assert config["steps"] == list(cutout.WHITEN_STEPS) == shipped.whitening().get("steps", ["clean", "refine"])
    assert set(cutout.WHITEN_STEPS) <= set(cutout.STEPS)
    page = script("tryit.js")
    body = page[page.index("function opacityOf"):page.index("state.forward = forward;")]
    assert "for (const step of state.config.steps)" in body and "ramp(map.data)" in body
    assert re.search(r"\bclean: \(map\) =>.*clean\(map\.data\)", body)
    assert re.search(r"\brefine: \(map\) => im\.guidedFilter\(photo, map,", body)
    assert "ramp(state.config.clean.default ? clean(result.prob.data) : result.prob.data)" in body
    from lrnbook import haze_choice

    assert haze_choice.WHITEN == ", ".join((*cutout.WHITEN_STEPS, f"ramp {cutout.LOW:g}/{cutout.HIGH:g}"))
    assert haze_choice.TRYIT_PIPELINE == haze_choice.WHITEN, "the haze page says what the Try-it page composes"
