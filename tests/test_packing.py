"""Packing a model into the package: half-precision .keras weights, smaller .tflite conversions, the tolerance."""
import zipfile

import keras
import numpy as np
import pytest

from conftest import decisive_lrn
from lrn import fastforward, packing, provenance, shipped
from lrn.cutout_model import CutoutModel


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny LRN at 64 x 64 saved with provenance, and its fed check photos."""
    folder = tmp_path_factory.mktemp("packing")
    model = decisive_lrn()
    path = provenance.save_model(model, folder / "model.keras", {"settings": {"variant": "tiny"}})
    return model, path, shipped.fed(CutoutModel(model, "pad"))


def test_halved_weights_load_into_float32_variables_with_the_same_maps(saved, tmp_path):
    model, path, inputs = saved
    half = packing.halve_weights(path, tmp_path / "half.keras")
    assert (packing.weights_dtype(path), packing.weights_dtype(half)) == ("float32", "float16")
    assert half.stat().st_size < 0.5 * path.stat().st_size
    with zipfile.ZipFile(path) as full_archive, zipfile.ZipFile(half) as half_archive:
        assert full_archive.namelist() == half_archive.namelist(), "architecture and provenance are copied"
    assert provenance.read_model_provenance(half) == provenance.read_model_provenance(path)
    loaded = keras.saving.load_model(half, compile=False, safe_mode=True)
    assert {str(w.dtype) for w in loaded.weights} == {"float32"}
    for full_weight, half_weight in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(half_weight, full_weight.astype(np.float16).astype(np.float32))
    measured = packing.fidelity(CutoutModel(model), CutoutModel(loaded), inputs)
    assert packing.within_tolerance(measured) and 0 < measured["map_max_abs"] < 0.05


def test_halving_refuses_a_file_without_keras_weights(tmp_path):
    path = tmp_path / "not.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="model.weights.h5"):
        packing.halve_weights(path, tmp_path / "half.keras")
    assert not (tmp_path / "half.keras").exists()


def test_smaller_conversions_are_smaller_and_within_tolerance(saved):
    model, _, inputs = saved
    float32_bytes = 4 * model.count_params()  # what a float32 conversion holds (test_fastforward converts one)
    sizes = {}
    for weights in ("float16", "int8"):
        content = fastforward.convert(model, weights)
        sizes[weights] = len(content)
        measured = packing.fidelity(CutoutModel(model), fastforward.LiteForward(content), inputs)
        assert packing.within_tolerance(measured), (weights, measured)
    assert sizes["float16"] < 0.6 * float32_bytes and sizes["int8"] < 0.6 * sizes["float16"]
    with pytest.raises(ValueError, match="weights='bfloat16'"):
        fastforward.convert(model, "bfloat16")


def test_fidelity_measures_flipped_masks_and_map_differences():
    inputs = np.zeros((3, 8, 8, 3), np.float32)
    half = np.zeros((1, 8, 8, 1), np.float32)
    half[:, :, :4] = 0.9  # left half "person"

    def reference(x):
        return half

    assert packing.fidelity(reference, reference, inputs) == {
        "mask_jaccard_min": 100.0, "map_mean_abs_max": 0.0, "map_max_abs": 0.0, "inputs": 3}
    shifted = np.roll(half, 1, axis=2)  # one column of 8 moved: J = 3/5
    measured = packing.fidelity(reference, lambda x: shifted, inputs)
    assert measured["mask_jaccard_min"] == pytest.approx(60.0)
    assert measured["map_mean_abs_max"] == pytest.approx(2 * 0.9 / 8) and measured["map_max_abs"] == pytest.approx(0.9)
    assert not packing.within_tolerance(measured)
    slightly = packing.fidelity(reference, lambda x: half + 0.005, inputs)
    assert packing.within_tolerance(slightly)
    assert not packing.within_tolerance(packing.fidelity(reference, lambda x: half + 0.02, inputs)), "mean limit"


def test_tolerance_misses_name_each_limit_missed_with_its_value():
    within = {"mask_jaccard_min": 99.5, "map_mean_abs_max": 0.002, "map_max_abs": 0.3, "inputs": 32}
    assert packing.tolerance_misses(within) == []
    masks = dict(within, mask_jaccard_min=91.76)
    assert packing.tolerance_misses(masks) == [
        f"masks as close as Jaccard 91.8 % on the worst of 32 photos (at least {packing.MASK_JACCARD_MIN:g} % required)"]
    both = dict(masks, map_mean_abs_max=0.0234)
    assert len(packing.tolerance_misses(both)) == 2 and "0.023 apart" in packing.tolerance_misses(both)[1]
