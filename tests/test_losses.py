"""The LRN loss: sum over levels of BCE against area-averaged targets, checked by hand."""
import keras
import numpy as np
import pytest

from lrn import augment, losses, models


def test_level_targets_are_area_averages():
    mask = np.zeros((1, 64, 64, 1), np.float32)
    mask[0, :16, :24] = 1.0
    targets = [np.asarray(t) for t in losses.level_targets(mask)]
    assert [t.shape[1] for t in targets] == [2, 4, 8, 16, 32, 64]
    # s1 cell (0, 0) covers rows 0..31 and cols 0..31: 16*24 person pixels of 1024
    assert targets[0][0, 0, 0, 0] == pytest.approx(16 * 24 / 1024)
    assert targets[0][0, 1, 1, 0] == 0.0
    np.testing.assert_array_equal(targets[-1], mask)
    for t in targets:  # every level keeps the person's area fraction
        assert t.mean() == pytest.approx(mask.mean())


def bce(target, prob, eps=1e-7):
    prob = np.clip(prob.astype(np.float64), eps, 1 - eps)
    return float(np.mean(-(target * np.log(prob) + (1 - target) * np.log(1 - prob))))


def test_training_loss_equals_the_hand_computed_sum_of_level_bces():
    keras.utils.set_random_seed(0)
    model = models.build_lrn((64, 64, 3), width=0.125)
    for name in models.LEVEL_NAMES:  # keep probabilities away from 0 and 1, where BCE is clipped
        kernel, bias = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([kernel * 0.05, bias + 0.3])
    from lrn.train import compile_model

    compile_model(model, 1e-4)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    masks = np.zeros((4, 64, 64), bool)
    masks[:, 20:50, 10:40] = True
    masks[1, 5:9, 3:61] = True
    predictions = model.predict(images.astype(np.float32), verbose=0)
    assert all(0.01 < p.min() and p.max() < 0.99 for p in predictions)

    # by hand: area-average the mask with numpy reshapes, then the mean BCE per level
    expected = 0.0
    for prediction in predictions:
        f = 64 // prediction.shape[1]
        target = masks.reshape(4, 64 // f, f, 64 // f, f).mean(axis=(2, 4))[..., None]
        expected += bce(target, prediction)

    got = model.evaluate(augment.eval_batches(images, masks, 4), verbose=0, return_dict=True)["loss"]
    assert got == pytest.approx(expected, rel=1e-4)
    targets = losses.level_targets(masks[..., None].astype(np.float32))
    direct = float(sum(losses.bce()(t, p) for t, p in zip(targets, predictions)))  # sum of per-level means
    assert direct == pytest.approx(expected, rel=1e-4)
