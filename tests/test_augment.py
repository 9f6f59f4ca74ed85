"""Dynamic backgrounds (``lrn.augment``): what is pasted where, and that runs without them are unchanged."""
import numpy as np
import tensorflow as tf

from lrn import augment
from lrn.data import synthetic


def first_epoch(split, **options):
    batches = augment.training_batches(split.images, split.masks, batch_size=len(split), n_levels=1, seed=3,
                                       epochs=1, **options)
    images, masks = next(iter(batches))
    return images.numpy(), masks.numpy()[..., 0]


def test_swap_background_keeps_the_person_and_never_shows_the_other_person():
    h, w = 6, 5
    image = tf.fill([h, w, 3], 10.0)
    other = tf.fill([h, w, 3], 200.0)
    mask = np.zeros((h, w, 1), np.float32)
    mask[:3] = 1  # person in the top half
    other_mask = np.zeros((h, w, 1), np.float32)
    other_mask[:, :2] = 1  # the other photo's person on the left
    out = augment.swap_background(image, mask, other, other_mask).numpy()[..., 0]
    assert np.all(out[:3] == 10)  # the person itself
    assert np.all(out[3:, :2] == 10)  # background where the other person stands: the photo's own
    assert np.all(out[3:, 2:] == 200)  # the rest: the other photo's background


def test_backgrounds_change_photos_not_masks_and_leave_runs_without_them_as_they_were():
    split = synthetic(16, size=32, seed=0)
    plain_a, masks_a = first_epoch(split)
    plain_b, _ = first_epoch(split, backgrounds=False)
    swapped, masks_s = first_epoch(split, backgrounds=True)
    np.testing.assert_array_equal(plain_a, plain_b)
    np.testing.assert_array_equal(masks_a, masks_s)  # same warps, same order: labels untouched
    # without the warp (which blends pixels along the outline) the person is exactly kept
    unwarped, masks_u = first_epoch(split, augment=False)
    unwarped_swapped, _ = first_epoch(split, augment=False, backgrounds=True)
    person = masks_u.astype(bool)
    np.testing.assert_array_equal(unwarped_swapped[person], unwarped[person])
    changed = [not np.array_equal(swapped[i], plain_a[i]) for i in range(len(split))]
    assert 2 <= sum(changed) <= 14  # about half of the photos get a new background
