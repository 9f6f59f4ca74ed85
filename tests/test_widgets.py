"""The coarse-to-fine explorer: structure only (the browser test checks that it moves)."""
import io

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from lrnbook.widgets import coarse_to_fine_explorer, png_bytes, probability_to_rgb  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIZES = (7, 14, 28, 56, 112, 224)


def _inputs(h=224, w=224):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    truth = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    levels = [rng.random((n, n)) for n in SIZES]
    return photo, truth, levels


def _png_size(data: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.format, im.size


def test_structure_six_levels():
    photo, truth, levels = _inputs()
    box = coarse_to_fine_explorer(photo, truth, levels, width_px=112)
    assert isinstance(box, ipywidgets.Box)

    stack, slider, link = box.stack, box.slider, box.link
    assert isinstance(stack, ipywidgets.Stack)
    assert len(stack.children) == 6
    assert all(isinstance(c, ipywidgets.Image) for c in stack.children)
    # every picture is PNG bytes at the display size
    for child in stack.children:
        assert child.format == "png"
        assert bytes(child.value).startswith(PNG_MAGIC)
        assert _png_size(bytes(child.value)) == ("PNG", (112, 112))

    # the slider reads s1 .. s6, its value is the level number, index the position
    assert isinstance(slider, ipywidgets.SelectionSlider)
    assert [label for label, _ in slider.options] == [f"s{k}" for k in range(1, 7)]
    assert [value for _, value in slider.options] == [1, 2, 3, 4, 5, 6]
    assert slider.value == 1 and slider.index == 0 and stack.selected_index == 0
    # captions above the picture name each level and its size, and follow the slider too
    assert [c.value for c in box.captions.children] == [f"<b>s{k}: {n}x{n}</b>" for k, n in zip(range(1, 7), SIZES)]
    assert box.caption_link.source == (slider, "index")
    assert box.caption_link.target == (box.captions, "selected_index")

    # the front-end link: slider.index -> stack.selected_index, and it is a real child widget
    assert isinstance(link, ipywidgets.widgets.widget_link.Link)  # what jslink returns
    assert link.source == (slider, "index")
    assert link.target == (stack, "selected_index")
    assert link.model_id in ipywidgets.widgets.widget._instances  # alive, so it is saved with the state

    # slider and stack are inside the displayed tree, with photo and truth beside
    def walk(w):
        yield w
        for c in getattr(w, "children", ()):
            yield from walk(c)

    tree = list(walk(box))
    assert slider in tree and stack in tree and box.captions in tree
    images_outside_stack = [w for w in tree if isinstance(w, ipywidgets.Image) and w not in stack.children]
    assert len(images_outside_stack) == 2  # photo and truth


def test_no_python_callbacks():
    """Only front-end links: nothing observes the slider in Python, so saved state suffices."""
    photo, truth, levels = _inputs(64, 64)
    box = coarse_to_fine_explorer(photo, truth, levels, width_px=64)
    for trait in ("value", "index"):
        observers = box.slider._trait_notifiers.get(trait, {})
        user = [cb for cbs in observers.values() for cb in cbs if getattr(cb, "__module__", "").startswith("lrn")]
        assert user == []


def test_coarse_levels_are_blocky():
    """A 7x7 map upsampled to 224 px by nearest neighbour has at most 7 distinct rows."""
    from PIL import Image

    photo, truth, levels = _inputs()
    box = coarse_to_fine_explorer(photo, truth, levels, width_px=224)
    with Image.open(io.BytesIO(bytes(box.stack.children[0].value))) as im:
        arr = np.asarray(im.convert("RGB"))
    assert len(np.unique(arr[:, 0, :], axis=0)) <= 7
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 1  # but not a single colour


def test_titles_non_square_and_overlay():
    photo = np.zeros((96, 64, 3), np.uint8)
    truth = np.zeros((96, 64), bool)
    levels = [np.zeros((3, 2, 1), np.float32), np.ones((6, 4), np.float32), np.ones((96, 64), np.float32)]
    box = coarse_to_fine_explorer(photo, truth, levels, titles=["a", "b<c", "c"], width_px=64, style="overlay")
    assert len(box.stack.children) == 3
    assert [label for label, _ in box.slider.options] == ["s1", "s2", "s3"]
    assert [v for _, v in box.slider.options] == [1, 2, 3]
    assert [c.value for c in box.captions.children] == ["<b>a</b>", "<b>b&lt;c</b>", "<b>c</b>"]
    assert _png_size(bytes(box.stack.children[0].value)) == ("PNG", (64, 96))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p, t, l: (p.astype(np.float32), t, l), "uint8"),
        (lambda p, t, l: (p, t.astype(np.uint8), l), "bool"),
        (lambda p, t, l: (p, t[:10], l), "truth must be"),
        (lambda p, t, l: (p, t, []), "empty"),
        (lambda p, t, l: (p, t, l[::-1]), "coarse to fine"),
        (lambda p, t, l: (p, t, [np.zeros((2, 2, 2))]), "2-D"),
        (lambda p, t, l: (p, t, [np.zeros((2, 2), np.uint8)]), "floats"),
    ],
)
def test_bad_inputs_raise(change, message):
    photo, truth, levels = _inputs(32, 32)
    p, t, l = change(photo, truth, levels)
    with pytest.raises(ValueError, match=message):
        coarse_to_fine_explorer(p, t, l, width_px=32)


def test_titles_length_checked():
    photo, truth, levels = _inputs(32, 32)
    with pytest.raises(ValueError, match="titles"):
        coarse_to_fine_explorer(photo, truth, levels, titles=["only one"], width_px=32)


def test_helpers():
    rgb = probability_to_rgb(np.array([[0.0, 1.0]]))
    assert rgb.shape == (1, 2, 3) and rgb.dtype == np.uint8
    assert not np.array_equal(rgb[0, 0], rgb[0, 1])
    assert png_bytes(rgb).startswith(PNG_MAGIC)
    with pytest.raises(TypeError):
        png_bytes(rgb.astype(np.float32))


def test_levels_explorer_one_slider_for_every_photo_and_run():
    from lrnbook import widgets as wg

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    truth = np.zeros((32, 32), bool)
    truth[8:24, 8:24] = True
    levels = [rng.random((n, n)) for n in (4, 8, 16, 32)]
    item = {"label": "photo a", "photo": photo, "truth": truth, "runs": {"LRN": levels, "LRN-VGG": levels[::-1][::-1]},
            "scores": {"LRN": [(50.0 + k, 20.0 - k) for k in range(4)], "LRN-VGG": [(60.0, 10.0)] * 4}}
    box = wg.levels_explorer([item, {**item, "label": "photo b"}], width_px=64)
    assert len(box.stacks) == 4 and len(box.links) == 8
    assert all(link.source == (box.slider, "index") for link in box.links)
    caption = box.links[1].target[0].children[2].value
    assert caption.startswith("<b>s3</b> LRN (16x16)") and "J 52.0 %, H 18.0 px" in caption
    assert "linear-gradient" in box.children[1].value and "outline of the truth" in box.children[1].value
    picture = wg.level_picture(np.zeros((4, 4)), truth, 32, 32)
    assert tuple(picture[8, 16]) == wg.TRUTH_OUTLINE and tuple(picture[16, 16]) != wg.TRUTH_OUTLINE
    with pytest.raises(ValueError, match="same number of levels"):
        wg.levels_explorer([{**item, "runs": {"LRN": levels, "other": levels[:3]}}])
