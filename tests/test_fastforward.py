"""The TensorFlow Lite forward of ``lrn whiten``: same map as Keras, cached, and a fallback that says why."""
import numpy as np
import pytest

from lrn import cutout, fastforward, models, provenance
from lrn.cache import sha256_file


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory):
    model = models.build_lrn((64, 64, 3), width=0.125)
    # rescale s6's logits so the map is not saturated at 0/1 (random weights saturate it):
    # otherwise any two runtimes would agree trivially
    kernel, bias = model.get_layer("s6").get_weights()
    model.get_layer("s6").set_weights([kernel * 1e-3, bias])
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    provenance.save_model(model, path, provenance.record(0, {}))
    return path, models.load(path)


def test_converted_forward_matches_keras_and_is_cached(tiny_model_file, tmp_path, capsys):
    path, model = tiny_model_file
    forward, how = fastforward.for_model_file(path, model, cache=tmp_path)
    assert how == "LiteRT (XNNPACK), converted now"
    assert "converting tiny.keras" in capsys.readouterr().err
    cached = list(tmp_path.glob("*.tflite"))
    assert len(cached) == 1 and cached[0].name.startswith(sha256_file(path))
    photo = np.random.default_rng(0).integers(0, 256, (90, 70, 3), dtype=np.uint8)
    lite, keras_map = cutout.segment(model, photo, forward=forward), cutout.segment(model, photo)
    assert lite.shape == keras_map.shape == (90, 70)
    assert 0.05 < keras_map.mean() < 0.95  # a map that is not saturated, so the comparison means something
    np.testing.assert_allclose(lite, keras_map, atol=1e-4)
    again, how = fastforward.for_model_file(path, model, cache=tmp_path)
    assert how == "LiteRT (XNNPACK), cached conversion"
    np.testing.assert_allclose(cutout.segment(model, photo, forward=again), lite, atol=1e-7)


def test_a_conversion_failure_falls_back_to_keras_and_says_why(tiny_model_file, tmp_path, monkeypatch, capsys):
    path, model = tiny_model_file

    def broken(_model):
        raise RuntimeError("converter exploded")

    monkeypatch.setattr(fastforward, "convert", broken)
    forward, how = fastforward.for_model_file(path, model, cache=tmp_path)
    assert how.startswith("Keras predict_on_batch (RuntimeError: converter exploded")
    assert "TensorFlow Lite not used" in capsys.readouterr().err
    photo = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(cutout.segment(model, photo, forward=forward), cutout.segment(model, photo))
    assert not list(tmp_path.glob("*.tflite"))


def test_a_converted_model_that_disagrees_is_refused(tiny_model_file, tmp_path, monkeypatch):
    path, model = tiny_model_file
    real = fastforward.LiteForward

    class Off(real):
        def __call__(self, x):
            return super().__call__(x) + 0.01

    monkeypatch.setattr(fastforward, "LiteForward", Off)
    _, how = fastforward.for_model_file(path, model, cache=tmp_path, verbose=False)
    assert how.startswith("Keras predict_on_batch (ValueError: converted model differs")
    assert not list(tmp_path.glob("*.tflite"))
