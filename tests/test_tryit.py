"""The Try-it page in Chromium: the shipped model runs in the browser and agrees with Python.

Needs the built book (``tools/build_book.sh``; ``book/tryit.md``, ``book/_static/tryit/``,
the files of ``python -m lrnbook tryit``) and EG1800 photos (``LRN_DATA``). Photos go in
through the page's file picker, as a reader's would.
"""
from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from test_book_browser import BUILD, book_html, book_server, browser, open_page  # noqa: F401

from lrn import cutout, feeding, imageops, letterbox, postprocess, shipped

PAGE = "book/tryit.html"
PHOTO_ID = "00002"  # an EG1800 official test photo (600 x 800)
TOLERANCE = 1e-5
"""Largest difference allowed between the page's probabilities and lrn.segment's (the same
.tflite weights, the same input pixels; XNNPACK kernels in WebAssembly vs native)."""
MATTE_TOLERANCE = 1e-4
"""Largest difference allowed between the page's guided-filter matte and lrn.refine's (double
precision in JavaScript, float32 in NumPy)."""
OPACITY_TOLERANCE = MATTE_TOLERANCE * 1.5 / (cutout.HIGH - cutout.LOW)
"""Largest difference allowed between the page's opacity and lrn.cutout.opacity's: the matte's
differences through the soft-edge ramp, whose slope is at most 1.5 / (high - low)."""
WAIT_MS = 120_000
FINISHED = "['done', 'error'].includes(document.getElementById('tryit-app').dataset.state)"


@pytest.fixture(scope="module")
def shipped_model():
    model, _ = cutout.load(verbose=False)
    return model


def opened(open_page):
    bp = open_page(PAGE)
    bp.page.wait_for_function("['ready', 'error'].includes(document.getElementById('tryit-app').dataset.state)",
                              timeout=WAIT_MS)
    assert bp.page.get_attribute("#tryit-app", "data-state") == "ready", bp.page.inner_text("#tryit-message")
    return bp


def load(bp, path) -> str:
    """Give the page a photo through its file picker; returns the state it ends in."""
    bp.page.evaluate("document.getElementById('tryit-app').dataset.state = 'busy'")
    bp.page.set_input_files("#tryit-file", str(path))
    bp.page.wait_for_function(FINISHED, timeout=WAIT_MS)
    return bp.page.get_attribute("#tryit-app", "data-state")


# Typed arrays cross from the page as base64 of their bytes (a JSON list of a photo's
# million numbers takes seconds); B64 defines the page-side encoder.
B64 = """const b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
    return btoa(s); };"""


def array(text: str, dtype, shape) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).reshape(shape)


def page_maps(bp) -> dict:
    """The page's last result: s1 .. s6 (square maps), the probability at the photo's resolution, the photo."""
    got = bp.page.evaluate("() => { " + B64 + """ const s = window.lrnTryit, r = s.result;
        return {levels: r.levels.map(m => ({side: m.width, data: b64(m.data)})),
                prob: b64(r.prob.data), photo: b64(s.photo.data), width: s.photo.width, height: s.photo.height}; }""")
    h, w = got["height"], got["width"]
    return {"levels": [array(m["data"], np.float32, (m["side"], m["side"])) for m in got["levels"]],
            "prob": array(got["prob"], np.float32, (h, w)), "photo": array(got["photo"], np.uint8, (h, w, 3))}


def region_width(box, side: int) -> int:
    """Columns of a ``side x side`` level that lie over the photo (the crop of lrn.letterbox.unletterbox;
    ``box`` None: a squashed photo covers the whole square)."""
    if box is None:
        return side
    scale = side / box.size
    left = int(np.floor(box.left * scale))
    return max(left + 1, int(np.ceil((box.left + box.inner_width) * scale))) - left


def test_page_matches_lrn_segment_and_saves_the_cut_out(open_page, eg1800_root, shipped_model, tmp_path):
    photo_path = eg1800_root / "eg1800" / "images_data_crop" / f"{PHOTO_ID}.jpg"
    bp = opened(open_page)
    assert load(bp, photo_path) == "done", bp.page.inner_text("#tryit-message")
    got = page_maps(bp)
    photo = imageops.read_photo(photo_path)
    assert np.array_equal(got["photo"], photo), "the browser decoded other pixels than Pillow"

    x, box = feeding.network_input(photo, shipped.feed(), (224, 224))  # letterboxed or squashed, as the card says
    s6 = np.asarray(shipped_model(x))[0, ..., 0]
    assert [m.shape[0] for m in got["levels"]] == [7, 14, 28, 56, 112, 224]
    assert np.abs(got["levels"][-1] - s6).max() <= TOLERANCE
    prob = cutout.segment(shipped_model, photo)  # the shipped model's own way (its feed), not cleaned
    assert np.abs(got["prob"] - prob).max() <= TOLERANCE

    # the level slider: s1 shows the 7 x 7 map's part over the photo, s6 the 224 x 224 one's
    for level in (1, 6):
        bp.page.fill("#tryit-level-slider", str(level))
        width = bp.page.evaluate("document.getElementById('tryit-level').width")
        assert width == region_width(box, got["levels"][level - 1].shape[0])
        assert bp.page.inner_text("#tryit-level-caption").startswith(f"s{level}:")
        if os.environ.get("LRN_SCREENSHOTS"):
            bp.page.screenshot(path=os.path.join(os.environ["LRN_SCREENSHOTS"], f"tryit_s{level}.png"), full_page=True)

    # the page's cut-out: lrn whiten's opacity (cleaned and refined, ramped), composed on white as
    # lrn.cutout.compose does it; float rounding may move a pixel by a grey level
    assert np.abs(page_matte(bp, prob.shape) - whiten_matte(photo, prob)).max() <= MATTE_TOLERANCE
    opacity = page_opacity(bp, prob.shape)
    want = cutout.opacity(shipped_model, photo)
    assert np.abs(opacity - want).max() <= OPACITY_TOLERANCE
    # the status line names the steps lrn whiten takes before the ramp, in their order
    words = {"clean": "largest region kept", "refine": "edges refined with the photo"}
    named = ", ".join(words[step] for step in cutout.WHITEN_STEPS) + ", soft edge ramp"
    message = bp.page.inner_text("#tryit-message")
    assert named in message, message
    assert ("largest region kept" in message) == ("clean" in cutout.WHITEN_STEPS), message
    with bp.page.expect_download() as download:
        bp.page.click("#tryit-save-white")
    assert download.value.suggested_filename == f"{PHOTO_ID}_white.png"
    saved = np.asarray(Image.open(download.value.path()).convert("RGB"))
    assert saved.shape == photo.shape and np.abs(saved.astype(int) - cutout.compose(photo, want)).max() <= 1
    if os.environ.get("LRN_SCREENSHOTS"):
        Image.fromarray(saved).save(os.path.join(os.environ["LRN_SCREENSHOTS"], "tryit_saved_white.png"))

    # the box unticked: lrn whiten --refine none (the map, cleaned as the model's card says, ramped)
    bp.page.uncheck("#tryit-refine")
    unrefined = page_opacity(bp, prob.shape)
    assert np.abs(unrefined - cutout.opacity(shipped_model, photo, refinement=None)).max() <= OPACITY_TOLERANCE
    assert "not refined" in bp.page.inner_text("#tryit-message")
    bp.page.check("#tryit-refine")
    assert np.array_equal(page_opacity(bp, prob.shape), opacity)
    bp.check_all().assert_clean()


def page_opacity(bp, shape) -> np.ndarray:
    """The opacity the page composes with now."""
    return array(bp.page.evaluate("() => { " + B64 + " return b64(window.lrnTryit.result.opacity.data); }"),
                 np.float32, shape)


def page_matte(bp, shape) -> np.ndarray:
    """The page's matte before the ramp: the map cleaned and refined (config.json's steps)."""
    return array(bp.page.evaluate("() => { " + B64 + " return b64(window.lrnTryit.result.matte.data); }"),
                 np.float32, shape)


def whiten_matte(photo: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """lrn whiten's matte before the ramp: ``prob`` through :data:`lrn.cutout.WHITEN_STEPS`."""
    from lrnbook import haze_choice

    return haze_choice.pipeline_alpha(cutout.WHITEN_STEPS, photo, prob)


def test_sample_photo_is_cut_out_as_lrn_whiten_does(open_page, book_html, shipped_model):
    """A sample button (the astronaut every build has): the page's opacity is lrn.cutout.opacity's,
    refined or not, and the faint background of the refined matte (the haze) is made white."""
    bp = opened(open_page)
    bp.page.locator(".tryit-sample").first.click()
    bp.page.wait_for_function(FINISHED, timeout=WAIT_MS)
    assert bp.page.get_attribute("#tryit-app", "data-state") == "done", bp.page.inner_text("#tryit-message")
    config = json.loads((book_html / "_static" / "tryit-model" / "config.json").read_text())
    photo = imageops.read_photo(book_html / "_static" / "tryit-model" / config["samples"][0]["file"])
    got = page_maps(bp)
    assert np.array_equal(got["photo"], photo)
    opacity = {}
    for refined in (False, True):
        bp.page.set_checked("#tryit-refine", refined)
        want = cutout.opacity(shipped_model, photo, refinement=cutout.DEFAULT_REFINEMENT if refined else None)
        opacity[refined] = page_opacity(bp, photo.shape[:2])
        assert np.abs(opacity[refined] - want).max() <= OPACITY_TOLERANCE, f"refined={refined}"
    # the haze: the refined matte (the old default) is faint (0.05 up to the ramp's low end) over much
    # of the flag behind the astronaut, a ghost of it on white when composed as it is; the page makes
    # (nearly) all of it white, but for the holes of the person, which cleaning fills
    assert np.abs(page_matte(bp, photo.shape[:2]) - whiten_matte(photo, cutout.segment(shipped_model, photo))).max() \
        <= MATTE_TOLERANCE
    matte = cutout.DEFAULT_REFINEMENT.apply(photo, cutout.segment(shipped_model, photo))
    faint = (matte > 0.05) & (matte <= config["edge"]["low"])
    faint &= ~postprocess.largest_component_filled(matte > config["clean"]["threshold"])
    assert faint.sum() > 1000, "this photo has no haze to remove"
    # refining after cleaning may spread the person's edge onto a few faint pixels beside it
    left = int(np.count_nonzero(opacity[True][faint]))
    assert left <= faint.sum() // 1000, f"{left} of {int(faint.sum())} faint pixels left"
    if os.environ.get("LRN_SCREENSHOTS"):
        bp.page.screenshot(path=os.path.join(os.environ["LRN_SCREENSHOTS"], "tryit_sample.png"), full_page=True)
    bp.assert_clean()


def _synthetic_map() -> np.ndarray:
    """A 40 x 50 map: a large blob with a hole (and a background pocket reached from the border
    only diagonally, which is a hole for a 4-connected flood), a smaller blob, a blob touching the
    large one only at a corner, and a soft halo of low probabilities around everything."""
    prob = np.full((40, 50), 0.1, np.float32)
    prob[5:30, 5:25] = 0.9            # the large blob
    prob[12:18, 10:16] = 0.3          # its hole
    prob[27:29, 22:24] = 0.45         # a second hole, in the corner, ...
    prob[29, 24] = 0.2                # ... linked to the background outside only diagonally
    prob[4, 4] = 0.8                  # a pixel touching the large blob only at its corner: its own region
    prob[33:38, 35:45] = 0.7          # a smaller blob
    prob[0:3, 45:50] = 0.6            # a small blob on the border
    prob[3:5, 5:25] = 0.25            # a halo above the large blob
    return prob


def test_cleaning_matches_python(open_page):
    """imaging.js's largestComponentFilled, dilateCross and cleanProbability are
    lrn.postprocess.largest_component_filled, scipy's binary_dilation and lrn.cutout.clean_probability."""
    bp = opened(open_page)
    rng = np.random.default_rng(2)
    maps = [_synthetic_map(), np.zeros((9, 7), np.float32), np.full((6, 5), 0.9, np.float32)]
    tie = np.zeros((8, 12), np.float32)
    tie[1:4, 1:4] = tie[5:8, 6:9] = 0.9  # two regions of equal size: the first in raster order wins
    maps.append(tie)
    for _ in range(4):  # smooth random maps: many regions and holes
        noise = ndimage.gaussian_filter(rng.random((61, 47)), 2.0)
        maps.append(((noise - noise.min()) / np.ptp(noise)).astype(np.float32))
    for prob in maps:
        h, w = prob.shape
        band = max(1, int(round(cutout.EDGE_FRACTION * np.hypot(h, w))))
        got = bp.page.evaluate(
            "async ([h, w, band, prob, fraction, threshold]) => { " + B64 + """
                const im = await import('../_static/tryit/imaging.js');
                const bytes = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
                const p = new Float32Array(bytes(prob).buffer);
                const mask = Uint8Array.from(p, (v) => (v > threshold ? 1 : 0));
                const keep = im.largestComponentFilled(mask, h, w);
                return [b64(keep), b64(im.dilateCross(keep, h, w, band)), b64(im.dilateCross(mask, h, w, 3)),
                        b64(im.cleanProbability(p, h, w, fraction, threshold))]; }""",
            [h, w, band, base64.b64encode(prob.tobytes()).decode(), cutout.EDGE_FRACTION, 0.5])
        mask = prob > 0.5
        keep = postprocess.largest_component_filled(mask)
        assert np.array_equal(array(got[0], np.uint8, (h, w)).astype(bool), keep), f"largest region of {h}x{w}"
        assert np.array_equal(array(got[1], np.uint8, (h, w)).astype(bool),
                              ndimage.binary_dilation(keep, iterations=band)), f"band of {band} around {h}x{w}"
        assert np.array_equal(array(got[2], np.uint8, (h, w)).astype(bool), ndimage.binary_dilation(mask, iterations=3))
        assert np.array_equal(array(got[3], np.float32, (h, w)), cutout.clean_probability(prob)), f"cleaned {h}x{w}"
    synthetic = postprocess.largest_component_filled(_synthetic_map() > 0.5)
    assert synthetic[14, 12] and synthetic[28, 23], "both holes filled"
    assert not (synthetic[29, 24] or synthetic[4, 4] or synthetic[35, 40]), "only the largest region kept"
    bp.assert_clean()


def test_exif_orientation_is_honoured(open_page, eg1800_root, tmp_path):
    src = Image.open(eg1800_root / "eg1800" / "images_data_crop" / f"{PHOTO_ID}.jpg")
    exif = Image.Exif()
    exif[imageops.ORIENTATION_TAG] = 6  # stored sideways, shown turned a quarter clockwise
    path = tmp_path / "sideways.jpg"
    src.save(path, quality=95, exif=exif)
    bp = opened(open_page)
    assert load(bp, path) == "done", bp.page.inner_text("#tryit-message")
    got = page_maps(bp)
    upright = imageops.read_photo(path)
    assert got["photo"].shape == upright.shape == (src.width, src.height, 3)
    assert np.abs(got["photo"].astype(int) - upright).max() <= 1
    assert "EXIF orientation" in bp.page.inner_text("#tryit-notes")
    bp.assert_clean()


def _jpeg(mode: str, size=(300, 400)) -> bytes:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def test_bad_and_unusual_inputs_get_a_message(open_page, tmp_path):
    """Each gets a sentence on the page; the page stays usable for the next photo."""
    files = {}
    files["notes.jpg"] = b"This is a text file, not a photo.\n" * 20
    good = io.BytesIO()
    Image.fromarray(np.full((400, 300, 3), 128, np.uint8)).save(good, "JPEG")
    files["cut_short.jpg"] = good.getvalue()[:300]
    huge = io.BytesIO()
    Image.new("L", (9000, 6000)).save(huge, "PNG")  # 54 megapixels: refused before decoding
    files["huge.png"] = huge.getvalue()
    tiny = io.BytesIO()
    Image.new("RGB", (20, 400)).save(tiny, "PNG")
    files["narrow.png"] = tiny.getvalue()
    files["grey.jpg"] = _jpeg("L")
    files["print.jpg"] = _jpeg("CMYK")
    alpha = Image.fromarray(np.full((400, 300, 4), 200, np.uint8))
    buf = io.BytesIO()
    alpha.save(buf, "PNG")
    files["see_through.png"] = buf.getvalue()
    expected = {  # file -> (state, words in the message or notes)
        "notes.jpg": ("error", "not an image"),
        "cut_short.jpg": ("error", "cannot decode"),
        "huge.png": ("error", "megapixels"),
        "narrow.png": ("error", "at least 32 pixels"),
        "grey.jpg": ("done", "greyscale"),
        "print.jpg": ("done", "CMYK"),
        "see_through.png": ("done", "transparent"),
    }
    bp = opened(open_page)
    for name, (state, words) in expected.items():
        path = tmp_path / name
        path.write_bytes(files[name])
        got = load(bp, path)
        text = bp.page.inner_text("#tryit-message") + " " + bp.page.inner_text("#tryit-notes")
        assert got == state and words in text, f"{name}: state {got}, page says {text!r}"
        assert bp.page.is_enabled("#tryit-file"), f"{name}: the file picker stayed disabled"
    bp.assert_clean()


def test_resize_matches_pillow(open_page):
    """imaging.js's bilinear resize is Pillow's, pixel for pixel (photos) and to float32 (maps)."""
    bp = opened(open_page)
    rng = np.random.default_rng(1)
    cases = [((37, 23), (224, 146)), ((800, 600), (224, 168)), ((7, 7), (5, 4)), ((30, 50), (30, 17)), ((61, 40), (9, 40))]
    for (h, w), (oh, ow) in cases:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        prob = rng.random((h, w), dtype=np.float32)
        got = bp.page.evaluate(
            "async ([w, h, ow, oh, rgb, prob]) => { " + B64 + """
                const im = await import('../_static/tryit/imaging.js');
                const bytes = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
                const a = im.resizeRGB({width: w, height: h, data: bytes(rgb)}, ow, oh);
                const b = im.resizeFloat({width: w, height: h, data: new Float32Array(bytes(prob).buffer)}, ow, oh);
                return [b64(a.data), b64(b.data)]; }""",
            [w, h, ow, oh, base64.b64encode(rgb.tobytes()).decode(), base64.b64encode(prob.tobytes()).decode()])
        want_rgb = imageops.resize_photo(rgb, (oh, ow))
        want_prob = imageops.resize_prob(prob, (oh, ow))
        assert np.array_equal(array(got[0], np.uint8, (oh, ow, 3)), want_rgb), f"RGB {h}x{w} -> {oh}x{ow}"
        assert np.array_equal(array(got[1], np.float32, (oh, ow)), want_prob), f"map {h}x{w} -> {oh}x{ow}"
    bp.assert_clean()


def test_build_wrote_the_checked_browser_model(book_html):
    config = json.loads((book_html / "_static" / "tryit-model" / "config.json").read_text())
    from lrn import shipped
    from lrn.cache import sha256_file

    assert config["keras_sha256"] == sha256_file(shipped.MODEL_FILE)
    assert config["shipped_tflite_sha256"] == sha256_file(shipped.tflite_file())
    assert config["feed"] == shipped.feed() and config["fill"] == list(letterbox.FILL)
    assert sha256_file(book_html / "_static" / "tryit-model" / config["model"]) == config["model_sha256"]


def test_page_opened_as_a_file_says_how_to_serve_it(browser, book_html):
    page = browser.new_page()
    try:
        page.goto((book_html / PAGE).as_uri())
        page.wait_for_function("document.getElementById('tryit-app').dataset.state === 'error'", timeout=WAIT_MS)
        assert "http.server" in page.inner_text("#tryit-message")
    finally:
        page.close()
