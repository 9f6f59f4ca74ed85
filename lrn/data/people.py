"""People photos for the cut-out model: EG1800 portraits and CCP street photos, several framings.

The shipped cut-out model must work on photos that are not EG1800 selfies. This module
assembles what it is trained and chosen on:

* training: EG1800's ``full``-protocol training ids (split seed 0) and CCP's training ids,
  each CCP photo cut at the framings ``ccp_framings`` (:func:`lrn.framing.windows`: 0 =
  head-and-torso box, 1 = whole frame);
  and, when asked (``small_people=n``), ``n`` photos in which a CCP training person fills
  0.5-5 % of the frame, pasted onto another CCP training photo with its own person cut out
  (:mod:`lrn.data.small_people`): the zoomed-out framing no crop of a CCP photo gives;
* validation, four sets kept apart (:data:`SETS`) so that a model is judged on each:
  EG1800's ``full``-protocol validation ids, CCP's validation ids as head-and-torso crops
  and as whole frames, and :data:`SMALL_PEOPLE_VAL` small-people photos made from CCP's
  validation ids alone. Their concatenation is the validation split of training (early
  stopping).
* test: the same four kinds of photos on the test ids (EG1800: every official test id).

``feed="pad"`` letterboxes every photo into the square input (:mod:`lrn.letterbox`: aspect
ratio kept, pad marked background); ``feed="squash"`` resizes it ignoring the aspect ratio,
as :func:`lrn.data.eg1800` does. Either way an :class:`EvalSet` keeps the photo both ways
and its truth squashed to ``size x size``, the frame the book scores in, so that models fed
either way are scored on the same pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from lrn import framing, imageops, letterbox
from lrn.cache import sha256_text
from lrn.cutout_model import FEEDS, check_feed
from lrn.data import ccp, small_people as small
from lrn.data.eg1800 import eg1800 as load_eg1800, originals as eg1800_originals
from lrn.data.split import Split, check_size
from lrn.errors import InputError

SETS = ("EG1800", "CCP head-and-torso", "CCP full frame", "Small people")
"""The four kinds of photos a cut-out model is judged on."""
SMALL_PEOPLE_VAL = 100
"""Small-people validation photos (:func:`lrn.data.small_people.make`, seed :data:`SMALL_PEOPLE_SEED`)."""
SMALL_PEOPLE_SEED = 0
"""Seed of every small-people set made here (training and validation differ by their CCP ids)."""
FITS = FEEDS
"""The older name of :data:`lrn.cutout_model.FEEDS` (how a photo enters the square input), which
:mod:`lrnbook.cutoutfit` reads."""


@dataclass
class EvalSet:
    """Photos of one kind with their truths, ready for either way of entering the model.

    Attributes
    ----------
    name : str
        One of :data:`SETS`.
    ids : list of str
        Source ids (EG1800: ``"00017"``; CCP: ``"0001"``).
    squashed : numpy.ndarray
        ``uint8 (N, size, size, 3)``: each photo resized ignoring its aspect ratio.
    padded : numpy.ndarray
        ``uint8 (N, size, size, 3)``: each photo letterboxed (:func:`lrn.letterbox.letterbox_photo`).
    boxes : list of lrn.letterbox.Box
        Where each photo sits in ``padded``.
    truths : numpy.ndarray
        ``bool (N, size, size)``: the person mask squashed to ``size x size`` (nearest).
    padded_masks : numpy.ndarray
        ``bool (N, size, size)``: the person mask letterboxed like ``padded`` (pad = background).
    """

    name: str
    ids: list[str]
    squashed: np.ndarray
    padded: np.ndarray
    boxes: list[letterbox.Box]
    truths: np.ndarray
    padded_masks: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def inputs(self, feed: str) -> np.ndarray:
        """The photos as the model of ``feed`` (one of :data:`lrn.cutout_model.FEEDS`) takes them."""
        check_feed(feed)
        return self.padded if feed == "pad" else self.squashed

    def masks(self, feed: str) -> np.ndarray:
        """The masks in the frame of :meth:`inputs` (for a validation loss)."""
        check_feed(feed)
        return self.padded_masks if feed == "pad" else self.truths

    def to_eval_frame(self, probs: np.ndarray, feed: str) -> np.ndarray:
        """Finest maps predicted on :meth:`inputs` as float32 ``(N, size, size)`` in the squashed frame of ``truths``."""
        check_feed(feed)
        probs = np.asarray(probs, np.float32)
        size = self.truths.shape[1:]
        if feed == "squash":
            return np.stack([imageops.resize_prob(p, size) for p in probs]) if len(probs) else probs
        return np.stack([letterbox.unletterbox(p, box, size) for p, box in zip(probs, self.boxes)])


@dataclass
class PeopleData:
    """Training and validation data of the cut-out model (see the module docstring).

    Attributes
    ----------
    train, val : Split
        Images as the model takes them (``feed``); ids ``"eg1800/00017"`` and ``"ccp/0001@0.5"``
        (CCP id at framing 0.5). ``val`` is the three validation sets concatenated.
    val_sets : dict of str to EvalSet
        The validation photos by kind (:data:`SETS`).
    feed : str
        ``"pad"`` or ``"squash"``.
    ccp_framings : tuple of float
        Framings of each CCP training photo (empty: no CCP photo in training).
    small_people : int
        Small-people photos among the training photos.
    manifest_sha256 : str
        sha256 naming both datasets' manifests.
    counts : dict of str to int
        Photos per part.
    """

    train: Split
    val: Split
    val_sets: dict[str, EvalSet]
    feed: str
    ccp_framings: tuple[float, ...]
    small_people: int
    manifest_sha256: str
    counts: dict[str, int] = field(default_factory=dict)


def enter(photo: np.ndarray, mask: np.ndarray, size: int, feed: str) -> tuple[np.ndarray, np.ndarray]:
    """One photo and its mask as the model of ``feed`` takes them: ``uint8 (size, size, 3)``, ``bool (size, size)``."""
    check_feed(feed)
    if feed == "squash":
        return imageops.resize_photo(photo, size), imageops.resize_mask(mask, size)
    square, box = letterbox.letterbox_photo(photo, size)
    return square, letterbox.letterbox_mask(mask, box)


def eval_set(name: str, ids: Sequence[str], pairs: Sequence[tuple[np.ndarray, np.ndarray]], size: int) -> EvalSet:
    """An :class:`EvalSet` from photos and masks at their own resolution."""
    if len(ids) != len(pairs):
        raise InputError(f"{name}: {len(ids)} ids but {len(pairs)} photos")
    if not pairs:
        raise InputError(f"{name}: no photos")
    squashed, padded, boxes, truths, padded_masks = [], [], [], [], []
    for photo, mask in pairs:
        squashed.append(imageops.resize_photo(photo, size))
        square, box = letterbox.letterbox_photo(photo, size)
        padded.append(square)
        boxes.append(box)
        truths.append(imageops.resize_mask(mask, size))
        padded_masks.append(letterbox.letterbox_mask(mask, box))
    return EvalSet(name, list(ids), np.stack(squashed), np.stack(padded), boxes, np.stack(truths),
                   np.stack(padded_masks))


def _split(name: str, items: list[tuple[str, np.ndarray, np.ndarray]], manifest_sha256: str) -> Split:
    ids, images, masks = zip(*items)
    return Split(name, np.stack(images), np.stack(masks), list(ids), manifest_sha256)


def framed_pairs(pairs: Sequence[tuple[np.ndarray, np.ndarray]], framings: Sequence[float]):
    """Each full-frame ``(photo, mask)`` cut at every framing: yields ``(index, t, photo crop, mask crop)``."""
    for index, (photo, mask) in enumerate(pairs):
        for t, box in zip(framings, framing.windows(mask, framings)):
            yield index, float(t), framing.crop(photo, box), framing.crop(mask, box)


def combined_manifest(*shas: str) -> str:
    """One sha256 naming several datasets' manifests (in order)."""
    return sha256_text(":".join(shas))


def _validation_sets(eg1800_ids, ccp_ids, size: int, root, progress: bool) -> dict[str, tuple[EvalSet, list]]:
    """``{kind: (EvalSet, [(photo, mask) at own resolution])}`` for the validation ids given (see :func:`validation_sets`)."""
    full = ccp.originals(ccp_ids, "full", root, progress=progress)
    head_torso = [(framing.crop(p, b), framing.crop(m, b)) for p, m in full for b in framing.windows(m, (0.0,))]
    made = small.make(full, ccp_ids, SMALL_PEOPLE_VAL, SMALL_PEOPLE_SEED)
    sources = {SETS[0]: (eg1800_ids, eg1800_originals(eg1800_ids, root)), SETS[1]: (ccp_ids, head_torso),
               SETS[2]: (ccp_ids, full), SETS[3]: (made.ids, made.pairs)}
    return {name: (eval_set(name, list(ids), pairs, size), pairs) for name, (ids, pairs) in sources.items()}


def validation_sets(size: int = 224, root: str | Path | None = None,
                    progress: bool = True) -> dict[str, tuple[EvalSet, list]]:
    """The cut-out model's validation photos of every kind (:data:`SETS`), as :func:`people` judges on them.

    Returns ``{kind: (EvalSet, [(photo uint8 (H, W, 3), mask bool (H, W)) at the photo's own
    resolution])}``, the photos in the order of ``people(...).val_sets`` (so that scores pair
    photo by photo): for a model that takes photos at their own resolution, such as a peer.
    """
    size = check_size(size)
    portraits = load_eg1800(root, protocol="full", size=size, seed=0, progress=progress)
    street = ccp.load("full", size, root, splits=("val",), progress=progress)  # its ids, checked as people() checks them
    return _validation_sets(portraits.val.ids, street.val.ids, size, root, progress)


def people(size: int = 224, feed: str = "pad", ccp_framings: Sequence[float] = framing.STEPS,
           root: str | Path | None = None, progress: bool = True, small_people: int = 0) -> PeopleData:
    """Load the cut-out model's training and validation data (about a minute of reading and resizing).

    Parameters
    ----------
    size : int
        Side of the square input in pixels (a positive multiple of 32).
    feed : {"pad", "squash"}
        How photos enter the square (see the module docstring).
    ccp_framings : sequence of float in [0, 1]
        Framings of each CCP training photo; empty for none (EG1800 alone).
    root : str or Path, optional
        Folder holding ``eg1800/`` and ``ccp/`` (default: ``$LRN_DATA``).
    progress : bool
        Show the loaders' progress bars (``False`` in rendered pages and other logs).
    small_people : int
        Small-people training photos made from CCP's training ids (0: none).

    Raises
    ------
    InputError
        Bad arguments, or data missing or not matching their manifests.
    """
    size = check_size(size)
    check_feed(feed)
    framings = tuple(float(t) for t in ccp_framings)
    if any(not 0.0 <= t <= 1.0 for t in framings) or len(set(framings)) != len(framings):
        raise InputError(f"ccp_framings={ccp_framings!r}; expected distinct numbers in [0, 1]")
    if not isinstance(small_people, int) or small_people < 0:
        raise InputError(f"small_people={small_people!r}; expected a count of photos, 0 or more")
    portraits = load_eg1800(root, protocol="full", size=size, seed=0, progress=progress)
    street = ccp.load("full", size, root, splits=("train", "val") if framings or small_people else ("val",),
                      progress=progress)
    manifest = combined_manifest(portraits.manifest_sha256, street.manifest_sha256)

    train = [(f"eg1800/{i}", *enter(p, m, size, feed))
             for i, (p, m) in zip(portraits.train.ids, eg1800_originals(portraits.train.ids, root))]
    if framings or small_people:
        ids = street.train.ids
        full = ccp.originals(ids, "full", root, progress=progress)
        for k, t, photo, mask in framed_pairs(full, framings):
            train.append((f"ccp/{ids[k]}@{t:g}", *enter(photo, mask, size, feed)))
        if small_people:
            made = small.make(full, ids, small_people, SMALL_PEOPLE_SEED)
            train += [(f"small/{i}", *enter(photo, mask, size, feed)) for i, (photo, mask) in zip(made.ids, made.pairs)]

    val_sets = {name: s for name, (s, _) in
                _validation_sets(portraits.val.ids, street.val.ids, size, root, progress).items()}
    prefixes = {SETS[0]: "eg1800/", SETS[1]: "ccp_head_torso/", SETS[2]: "ccp_full/", SETS[3]: "small/"}
    val = [(prefixes[name] + i, image, mask)
           for name, s in val_sets.items() for i, image, mask in zip(s.ids, s.inputs(feed), s.masks(feed))]
    counts = {"train": len(train), "train_eg1800": len(portraits.train),
              "train_ccp": len(train) - len(portraits.train) - small_people, "train_small_people": small_people,
              **{f"val {name}": len(s) for name, s in val_sets.items()}}
    return PeopleData(_split("train", train, manifest), _split("val", val, manifest), val_sets, feed, framings,
                      small_people, manifest, counts)

