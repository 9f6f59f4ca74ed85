"""The cut-out: person kept, background pure white, at the photo's own resolution."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from lrn import cli, cutout, imageops, models
from lrn.errors import InputError


@pytest.fixture(scope="module")
def saturated_model(tmp_path_factory):
    """A tiny LRN whose s6 saturates to ~0 in some places and ~1 in others (large final kernel)."""
    import keras

    keras.utils.set_random_seed(7)
    model = models.build_lrn((64, 64, 3), width=0.125)
    kernel, bias = model.get_layer("s6").get_weights()
    model.get_layer("s6").set_weights([kernel * 400.0, bias])
    path = tmp_path_factory.mktemp("model") / "saturated.keras"
    model.save(path)
    return path


def test_composite_is_white_where_probability_is_low_and_the_photo_where_high():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    prob = np.linspace(0, 1, 120).reshape(10, 12).astype(np.float32)
    out = cutout.compose(photo, cutout.edge_alpha(prob))
    assert np.all(out[prob <= 0.3] == 255)
    np.testing.assert_array_equal(out[prob >= 0.7], photo[prob >= 0.7])
    with pytest.raises(InputError, match="does not match"):
        cutout.compose(photo, cutout.edge_alpha(prob[:5]))


def test_whiten_cli_on_a_real_eg1800_photo(eg1800_root, saturated_model, tmp_path):
    photo_path = eg1800_root / "eg1800" / "images_data_crop" / "00010.jpg"
    code = cli.main(["whiten", str(photo_path), "--model", str(saturated_model), "-o", str(tmp_path),
                     "--refine", "none"])
    assert code == 0
    out = np.asarray(Image.open(tmp_path / "00010_white.png"))
    photo = imageops.read_photo(photo_path)
    assert out.shape == photo.shape  # the photo's own resolution (800 x 600)
    prob = cutout.segment(models.load(saturated_model), photo, clean=True)  # what whiten uses by default
    background, person = prob < 0.05, prob > 0.95
    assert background.mean() > 0.01 and person.mean() > 0.01  # both regions exist
    assert np.all(out[background] == 255)
    np.testing.assert_array_equal(out[person], photo[person])


def test_whiten_cli_names_a_bad_photo(saturated_model, tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    assert cli.main(["whiten", str(bad), "--model", str(saturated_model), "-o", str(tmp_path)]) == 1  # 1: a photo failed (2: bad arguments)
    assert "broken.jpg" in capsys.readouterr().err


def test_whiten_cli_names_a_missing_model(tmp_path, capsys):
    photo = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    assert cli.main(["whiten", str(photo), "--model", str(tmp_path / "none.keras"), "-o", str(tmp_path)]) == 2
    assert "none.keras" in capsys.readouterr().err


def test_cleaning_keeps_the_largest_region_fills_its_holes_and_keeps_a_soft_edge():
    prob = np.zeros((100, 100), np.float32)
    prob[20:80, 20:80] = 0.9
    prob[45:50, 45:50] = 0.1          # a hole in the person
    prob[5:8, 90:95] = 0.95           # a stray blob far away
    prob[19, 20:80] = 0.4             # soft edge just outside the person
    cleaned = cutout.clean_probability(prob)
    assert np.all(cleaned[5:8, 90:95] == 0)
    assert np.all(cleaned[45:50, 45:50] == 1.0)
    np.testing.assert_array_equal(cleaned[19, 20:80], prob[19, 20:80])
    np.testing.assert_array_equal(cleaned[30, 30], prob[30, 30])
    assert not cutout.clean_probability(np.zeros((10, 10), np.float32)).any()


def test_segment_is_at_package_level_and_returns_the_photo_size(saturated_model):
    import lrn

    photo = np.random.default_rng(2).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    prob = lrn.segment(models.load(saturated_model), photo)
    assert prob.shape == (50, 70) and prob.dtype == np.float32
    assert 0 <= prob.min() and prob.max() <= 1


def test_segment_pad_feeds_the_photo_letterboxed_and_maps_back_to_it(saturated_model):
    """A forward that sees the input: person where the pixel is the fill colour. Padding puts
    the fill only outside the photo, so nothing of a photo without that colour is person."""
    from lrn import letterbox

    model = models.load(saturated_model)
    seen = []

    def forward(x):
        seen.append(x[0].astype(np.uint8))
        fill = np.all(x[0] == np.array(letterbox.FILL, np.float32), axis=-1)
        return fill[np.newaxis, ..., np.newaxis].astype(np.float32)

    photo = np.zeros((120, 60, 3), np.uint8)  # tall: padded left and right
    prob = cutout.segment(model, photo, forward=forward, feed="pad")
    assert prob.shape == (120, 60) and prob.max() == 0.0
    square = seen[-1]
    assert (square[:, :16] == letterbox.FILL).all() and (square[:, 16:48] == 0).all()
    squashed = cutout.segment(model, photo, forward=forward, feed="squash")
    assert (seen[-1] == 0).all() and squashed.max() == 0.0
    with pytest.raises(InputError, match="feed="):
        cutout.segment(model, photo, forward=forward, feed="stretch")
    with pytest.warns(DeprecationWarning, match="feed"):  # the older name still works
        assert (cutout.segment(model, photo, forward=forward, fit="pad") == prob).all()


def test_whiten_feed_defaults_to_squash_for_a_given_model_and_can_be_chosen(saturated_model, tmp_path, monkeypatch):
    seen = []
    real = cutout.segment

    def spy(*args, **kwargs):  # the way segment will feed the photo: given, else the model's own, else squash
        seen.append(cutout.as_cutout_model(args[0], kwargs.get("feed")).feed)
        return real(*args, **kwargs)

    monkeypatch.setattr(cutout, "segment", spy)
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((80, 60, 3), 90, np.uint8)).save(photo)
    for extra, expected in (([], "squash"), (["--feed", "pad"], "pad"), (["--fit", "pad"], "pad")):
        assert cli.main(["whiten", str(photo), "-o", str(tmp_path / "out"), "--model", str(saturated_model), *extra]) == 0
        assert seen[-1] == expected


def test_colours_are_read_by_pillow_and_in_the_two_forms_it_lacks():
    assert cutout.parse_colour("Grey") == (128, 128, 128) and cutout.parse_colour(" navy ") == (0, 0, 128)
    assert cutout.parse_colour("#FF0080") == cutout.parse_colour("ff0080") == (255, 0, 128)
    assert cutout.parse_colour("10,20,30") == (10, 20, 30)
    for bad in ("chartreuse-ish", "1,2", "300,0,0", "#12345"):
        with pytest.raises(InputError, match="cannot read the colour"):
            cutout.parse_colour(bad)


class MapModel:
    """A network that returns a fixed 224x224 map whatever the photo (what CutoutModel needs of one)."""

    input_size = (224, 224)

    def __init__(self, prob):
        self.prob = prob.astype(np.float32)

    def __call__(self, x):
        return self.prob[np.newaxis, ..., np.newaxis]


def person_haze_and_blob():
    """A photo and a map: a person (bright disk, map 0.95), a faint haze (map 0.2) and a stray
    confident blob (map 0.9, bright in the photo too) far from the person."""
    yy, xx = np.mgrid[:224, :224]
    person = ((yy - 140) / 70) ** 2 + ((xx - 112) / 50) ** 2 < 1
    blob = (yy < 40) & (xx > 170)
    haze = (yy < 60) & (xx < 60)
    prob = np.where(person, 0.95, np.where(blob, 0.9, np.where(haze, 0.2, 0.0)))
    photo = np.full((224, 224, 3), 40, np.uint8)
    photo[person | blob] = 220
    return photo, prob, person, blob, haze


def test_clean_refine_ramp_removes_the_haze_and_the_blob():
    from lrn.cutout_model import CutoutModel

    photo, prob, person, blob, haze = person_haze_and_blob()
    model = CutoutModel(MapModel(prob), "squash", clean=False)  # the model says: not cleaned
    default = cutout.opacity(model, photo, steps=("clean", "refine"), low=0.3, high=0.7)
    chain = cutout.edge_alpha(cutout.DEFAULT_REFINEMENT.apply(photo, cutout.clean_probability(
        cutout.segment(model, photo))), 0.3, 0.7)
    np.testing.assert_allclose(default, chain, atol=1e-6)
    inner = ndimage.binary_erosion(person, iterations=10)
    assert default[inner].min() > 0.99 and default[haze].max() == 0 and default[blob].max() == 0
    kept = cutout.opacity(model, photo, clean=False, steps=("clean", "refine"), low=0.3, high=0.7)  # lrn whiten --raw: the blob stays, the haze goes
    assert kept[ndimage.binary_erosion(blob, iterations=6)].min() > 0.9 and kept[haze].max() == 0
    old = cutout.alpha(cutout.segment(model, photo, refinement=cutout.DEFAULT_REFINEMENT), refined=True)
    assert old[haze].mean() > 0.1, "the refined matte used as it is: the haze the new default removes"
    np.testing.assert_array_equal(cutout.cut_out(model, photo, "mask"),
                                  np.rint(cutout.opacity(model, photo) * 255).astype(np.uint8))
    no_refinement = cutout.opacity(model, photo, refinement=None)  # --refine none: the model's cleaning, ramp
    np.testing.assert_allclose(no_refinement, cutout.edge_alpha(cutout.segment(model, photo)), atol=1e-6)


def test_opacity_runs_the_steps_in_their_order_then_the_ramp():
    from lrn.cutout_model import CutoutModel

    photo, prob, *_ = person_haze_and_blob()
    model = CutoutModel(MapModel(prob), "squash", clean=False)
    raw, r = cutout.segment(model, photo), cutout.Refinement(0.02, 1e-2)
    ramp = dict(low=0.4, high=0.8)
    refined_then_cleaned = cutout.edge_alpha(cutout.clean_probability(r.apply(photo, raw)), **ramp)
    got = cutout.opacity(model, photo, refinement=r, steps=("refine", "clean"), **ramp)
    np.testing.assert_allclose(got, refined_then_cleaned, atol=1e-6)
    np.testing.assert_allclose(cutout.opacity(model, photo, refinement=r, steps=(), **ramp),
                               cutout.edge_alpha(raw, **ramp), atol=1e-6)
    cleaned_first = cutout.opacity(model, photo, clean=True, refinement=r, steps=("refine",), **ramp)
    np.testing.assert_allclose(cleaned_first, cutout.edge_alpha(r.apply(photo, cutout.clean_probability(raw)), **ramp),
                               atol=1e-6)
    assert not np.allclose(got, cutout.opacity(model, photo, refinement=r, steps=("refine",), **ramp))
    with pytest.raises(InputError, match="unknown whitening step 'blur'"):
        cutout.opacity(model, photo, steps=("blur",))


def test_the_defaults_are_the_cards_whitening_or_the_built_in_ones():
    from lrn import shipped
    from lrn.cutout_model import SOFT_EDGE

    assert (cutout.WHITEN_STEPS, cutout.DEFAULT_REFINEMENT, cutout.LOW, cutout.HIGH) == \
        cutout.chosen_whitening(shipped.whitening())
    assert cutout.chosen_whitening({}) == (("clean", "refine"), cutout.Refinement(), *SOFT_EDGE)
    choice = {"steps": ["refine"], "refinement": {"radius_fraction": 0.02, "eps": 0.01, "coarse_side": 150},
              "ramp": [0.4, 0.8]}
    assert cutout.chosen_whitening(choice) == (("refine",), cutout.Refinement(0.02, 0.01, 150), 0.4, 0.8)
    for bad, words in (({"steps": ["refine", "refine"]}, "not an order"), ({"steps": ["blur"]}, "not an order"),
                       ({"refinement": {"radius": 3}}, "cannot read"), ({"ramp": [0.8, 0.4]}, "low < high")):
        with pytest.raises(InputError, match=words) as caught:
            cutout.chosen_whitening(bad, source="card.json")
        assert "card.json" in str(caught.value)


def test_set_whitening_changes_only_the_cards_whitening(monkeypatch, tmp_path):
    from lrn import shipped

    card = tmp_path / "card.json"
    card.write_text('{"bytes": 3, "fit": "pad"}\n')
    monkeypatch.setattr(shipped, "CARD_FILE", card)
    assert shipped.whitening() == {}
    shipped.set_whitening({"steps": ["refine"], "ramp": [0.4, 0.8]})
    assert shipped.card() == {"bytes": 3, "fit": "pad", "whitening": {"steps": ["refine"], "ramp": [0.4, 0.8]}}
    assert shipped.whitening() == {"steps": ["refine"], "ramp": [0.4, 0.8]}
