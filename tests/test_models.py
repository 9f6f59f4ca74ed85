"""The four networks: exact sizes, shapes, weights loading, freezing, FLOPs, saving."""
import subprocess
import sys

import keras
import numpy as np
import pytest

from lrn import models
from lrn.errors import InputError

ENCODER_PARAMS = 14_714_688


@pytest.fixture(scope="module")
def lrn224():
    return models.build_lrn()


@pytest.fixture(scope="module")
def unet224():
    return models.build_unet()


def test_lrn_has_the_specified_parameter_count_and_levels(lrn224):
    assert lrn224.count_params() == 15_864_198
    assert [t._keras_history.operation.name for t in lrn224.outputs] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert [tuple(o.shape[1:]) for o in lrn224.outputs] == [
        (7, 7, 1), (14, 14, 1), (28, 28, 1), (56, 56, 1), (112, 112, 1), (224, 224, 1)]
    assert sum(lrn224.get_layer(n).count_params() for n in models.ENCODER_LAYERS) == ENCODER_PARAMS
    # the refinement units of the spec's table, e.g. RU2 sees 513 channels
    assert lrn224.get_layer("ru2_conv").count_params() == 295_552
    assert lrn224.get_layer("ru6_conv").count_params() == 37_504


def test_unet_has_the_specified_parameter_count(unet224):
    assert unet224.count_params() == 31_970_049
    assert tuple(unet224.output.shape[1:]) == (224, 224, 1)
    assert unet224.count_params() - ENCODER_PARAMS == 17_255_361


def test_conv_flops_match_the_reference_counts(lrn224, unet224):
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))
    for model, gflop in ((vgg, 30.69), (lrn224, 37.93), (unet224, 88.96)):
        assert models.conv_flops(model) / 1e9 == pytest.approx(gflop, rel=0.005)


@pytest.mark.parametrize("builder", [models.build_lrn, models.build_unet])
def test_non_square_input_and_width(builder):
    model = builder((96, 160, 3), width=0.25)
    finest = model.outputs[-1]
    assert tuple(finest.shape[1:]) == (96, 160, 1)
    assert model.get_layer("block1_conv1").filters == 16
    assert model.get_layer("block5_conv3").filters == 128
    out = model.predict(np.full((2, 96, 160, 3), 128, np.uint8), verbose=0)
    finest_out = out[-1] if isinstance(out, list) else out
    assert finest_out.shape == (2, 96, 160, 1)
    assert np.all((finest_out > 0) & (finest_out < 1))


def test_width_rounds_but_keeps_one_filter_outputs():
    model = models.build_lrn((64, 64, 3), width=0.01)
    assert model.get_layer("block1_conv1").filters == 1  # max(1, round(0.64))
    assert all(model.get_layer(f"s{k}").filters == 1 for k in range(1, 7))
    assert model.get_layer("ru1_conv").filters == 1


@pytest.mark.parametrize("shape, named", [((100, 224, 3), "height=100"), ((224, 224, 1), "RGB"),
                                          ((0, 32, 3), "height=0"), ((224, 230, 3), "width=230")])
def test_bad_input_shapes_are_refused_with_the_value(shape, named):
    with pytest.raises(InputError, match=named):
        models.build_lrn(shape)


@pytest.mark.parametrize("width", [0, -1, float("nan")])
def test_bad_width_is_refused(width):
    with pytest.raises(InputError, match="width"):
        models.build_unet((64, 64, 3), width=width)


def test_unknown_variant_is_refused():
    with pytest.raises(InputError, match="'lrn_big'"):
        models.build_model("lrn_big")


def test_preprocessing_is_caffe_vgg():
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    got = np.asarray(models.VGGPreprocess()(x))
    expected = keras.applications.vgg16.preprocess_input(x.copy())
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.fixture(scope="module")
def vgg_weights_file(tmp_path_factory):
    """A VGG-16 no-top weights file written by the test: distinct seeded random values."""
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
    rng = np.random.default_rng(42)
    reference.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in reference.get_weights()])
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    return path, {n: reference.get_layer(n).get_weights() for n in models.ENCODER_LAYERS}


@pytest.mark.parametrize("builder", [models.build_lrn, models.build_unet])
def test_encoder_weights_from_a_file_are_really_loaded_and_freezing_freezes(builder, vgg_weights_file):
    path, expected = vgg_weights_file
    model = builder((64, 64, 3), encoder_weights=str(path))
    for name, weights in expected.items():
        for got, want in zip(model.get_layer(name).get_weights(), weights):
            np.testing.assert_array_equal(got, want)
    decoder = model.count_params() - ENCODER_PARAMS
    models.freeze_encoder(model)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == decoder
    # a training step leaves the frozen encoder untouched
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=["binary_crossentropy"] * len(model.outputs))
    x = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    y = [np.ones((2,) + tuple(o.shape[1:]), np.float32) for o in model.outputs]
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("block3_conv1").get_weights()[0], expected["block3_conv1"][0])
    models.unfreeze_encoder(model)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == model.count_params()


def test_pretrained_weights_need_full_width(vgg_weights_file):
    with pytest.raises(InputError, match="width=1"):
        models.build_lrn((64, 64, 3), width=0.5, encoder_weights=str(vgg_weights_file[0]))


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(InputError, match="nope.h5"):
        models.build_lrn((64, 64, 3), encoder_weights=str(missing))


def test_imagenet_without_download_says_where_the_file_is_expected(monkeypatch, tmp_path):
    from keras.src.applications import vgg16

    def no_network(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(vgg16.file_utils, "get_file", no_network)
    with pytest.raises(InputError) as error:
        models.build_lrn((64, 64, 3), encoder_weights="imagenet")
    message = str(error.value)
    assert models.IMAGENET_FILENAME in message and str(tmp_path) in message
    assert "no network" in message


def test_saved_model_loads_with_plain_keras_in_a_fresh_process(tmp_path):
    model = models.build_lrn((64, 64, 3), width=0.125)
    path = tmp_path / "tiny.keras"
    model.save(path)
    x = np.random.default_rng(3).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, verbose=0)[-1])
    code = (f"import lrn.models, keras, numpy as np; m = keras.saving.load_model(r'{path}'); "
            f"y = m.predict(np.load(r'{tmp_path / 'x.npy'}'), verbose=0)[-1]; "
            f"assert np.allclose(y, np.load(r'{tmp_path / 'y.npy'}'), atol=1e-6); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_load_names_missing_and_wrong_files(tmp_path):
    with pytest.raises(InputError, match="missing.keras"):
        models.load(tmp_path / "missing.keras")
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"bogus.keras is not a .keras archive \(not a zip file\)"):
        models.load(bogus)
