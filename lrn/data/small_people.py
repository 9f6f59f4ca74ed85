"""Small people: photos in which the person fills a small part of the frame, made from CCP.

A cut-out model trained on portraits learns where a person usually is (the lower middle of
the frame) as much as what a person looks like; it fails on a street photo with a pedestrian
far away. No set of such photos with person masks is at hand, so this module makes one from
CCP's hand-labelled street photos, split by split (a validation set from CCP's validation
ids, a test set from its test ids, never mixing them):

* a **background without its person**: a CCP photo with the band of columns that holds its
  person (the mask's bounding box, widened by :data:`MARGIN` pixels) cut out and the two
  sides joined (:func:`background_without_person`), then the largest 3:4 crop of that at a
  seeded height, resized to :data:`FRAME`;
* a **person from another photo** of the same split, cut out by its mask (:func:`cut_person`),
  scaled so that its mask covers a seeded share of the frame between :data:`AREA_RANGE`, and
  pasted at a seeded place with its feet in the lower half of the frame; the photo is blended
  with the downscaled, anti-aliased mask as alpha, the truth is that alpha above 0.5.

What the made photos are not: the join of the two sides leaves a seam; the light on the
person does not match the background's; CCP's backgrounds may hold passers-by whom nobody
labelled, so a model that finds them is scored as wrong there. Read scores on this set as
"finds a small person and leaves the street alone", not as a benchmark of realism.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from lrn.data import ccp
from lrn.errors import InputError

FRAME = (640, 480)
"""(rows, cols) of a made photo: 3:4 portrait, like CCP's photos."""
AREA_RANGE = (0.005, 0.05)
"""Share of the frame the pasted person's mask covers, drawn uniformly: a standing person a sixth to a half
of the frame's height."""
MARGIN = 12
"""Pixels kept clear on each side of a background photo's own person."""
MIN_BACKGROUND_WIDTH = 200
"""A background photo whose sides join to fewer columns than this is not used."""


@dataclass
class SmallPeople:
    """Made photos at their own resolution, with their truths.

    Attributes
    ----------
    ids : list of str
        ``"<person id>@<background id>"`` (CCP ids).
    pairs : list of (numpy.ndarray, numpy.ndarray)
        ``(photo uint8 (640, 480, 3), mask bool (640, 480))`` per made photo.
    areas : list of float
        Share of the frame covered by each truth mask.
    """

    ids: list[str]
    pairs: list[tuple[np.ndarray, np.ndarray]]
    areas: list[float]

    def __len__(self) -> int:
        return len(self.ids)


def columns_with_person(mask: np.ndarray, margin: int = MARGIN) -> tuple[int, int]:
    """``(first, end)`` column range of the person in ``mask`` widened by ``margin`` (clipped)."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        raise InputError("the mask holds no person")
    return max(0, int(cols[0]) - margin), min(mask.shape[1], int(cols[-1]) + 1 + margin)


def background_without_person(photo: np.ndarray, mask: np.ndarray, margin: int = MARGIN) -> np.ndarray:
    """``photo`` without the columns that hold its person: the two sides joined, ``(H, W', 3)``."""
    first, end = columns_with_person(mask, margin)
    return np.concatenate([photo[:, :first], photo[:, end:]], axis=1)


def frame_crop(background: np.ndarray, rng: np.random.Generator, frame: tuple[int, int] = FRAME) -> np.ndarray:
    """The widest crop of ``background`` with the frame's aspect ratio, at a random height, resized to ``frame``."""
    rows, cols = background.shape[:2]
    aspect = frame[0] / frame[1]
    width = min(cols, int(rows / aspect))
    height = int(round(width * aspect))
    top = int(rng.integers(0, rows - height + 1))
    left = (cols - width) // 2
    crop = np.ascontiguousarray(background[top:top + height, left:left + width])
    return np.asarray(Image.fromarray(crop).resize((frame[1], frame[0]), Image.Resampling.BILINEAR))


def cut_person(photo: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of the person: ``(photo crop uint8 (h, w, 3), mask crop bool (h, w))``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise InputError("the mask holds no person")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return photo[box], mask[box]


def paste(background: np.ndarray, person: np.ndarray, person_mask: np.ndarray, area: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``person`` onto ``background`` so that its mask covers about ``area`` of the frame.

    The person is scaled (photo bilinear, mask area-averaged into an alpha), placed at a random
    column with its lowest row in the lower half of the frame, and blended with the alpha.
    Returns the photo ``uint8 (H, W, 3)`` and its truth ``bool (H, W)``: alpha above 0.5.
    """
    rows, cols = background.shape[:2]
    scale = np.sqrt(area * rows * cols / person_mask.sum())
    scale = min(scale, (rows - 1) / person_mask.shape[0], (cols - 1) / person_mask.shape[1])
    h, w = max(1, int(round(person_mask.shape[0] * scale))), max(1, int(round(person_mask.shape[1] * scale)))
    small = np.asarray(Image.fromarray(person).resize((w, h), Image.Resampling.BILINEAR), np.float32)
    alpha = np.asarray(Image.fromarray(person_mask.astype(np.float32)).resize((w, h), Image.Resampling.BOX),
                       np.float32)[..., None]
    bottom = int(rng.integers(max(h, rows // 2), rows + 1))
    left = int(rng.integers(0, cols - w + 1))
    out = background.astype(np.float32)
    region = out[bottom - h:bottom, left:left + w]
    out[bottom - h:bottom, left:left + w] = alpha * small + (1 - alpha) * region
    truth = np.zeros((rows, cols), bool)
    truth[bottom - h:bottom, left:left + w] = alpha[..., 0] > 0.5
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), truth


def make(pairs: Sequence[tuple[np.ndarray, np.ndarray]], ids: Sequence[str], n: int, seed: int,
         frame: tuple[int, int] = FRAME) -> SmallPeople:
    """``n`` small-people photos from full-frame CCP ``pairs`` (person and background from different photos).

    Deterministic in ``seed``. No two made photos share both person and background, so ids are
    distinct. Photos whose sides join to fewer than :data:`MIN_BACKGROUND_WIDTH` columns serve as
    persons only.
    """
    if len(pairs) != len(ids) or len(pairs) < 2:
        raise InputError(f"need at least two photos with as many ids, got {len(pairs)} photos and {len(ids)} ids")
    rng = np.random.default_rng(seed)
    backgrounds = [k for k, (p, m) in enumerate(pairs)
                   if background_without_person(p, m).shape[1] >= MIN_BACKGROUND_WIDTH]
    if not backgrounds:
        raise InputError("no photo leaves a background wide enough once its person is cut out")
    if n > len(backgrounds) * (len(pairs) - 1):
        raise InputError(f"n={n}: more photos than {len(backgrounds)} backgrounds with one of the "
                         f"{len(pairs) - 1} other persons each can make")
    made = SmallPeople([], [], [])
    used = set()
    while len(made.ids) < n:
        person_index = int(rng.integers(len(pairs)))
        choices = [k for k in backgrounds if k != person_index]
        bg_index = choices[int(rng.integers(len(choices)))]
        if (person_index, bg_index) in used:  # every made photo its own pair, so that ids stay distinct
            continue
        used.add((person_index, bg_index))
        background = frame_crop(background_without_person(*pairs[bg_index]), rng, frame)
        photo, truth = paste(background, *cut_person(*pairs[person_index]), float(rng.uniform(*AREA_RANGE)), rng)
        made.ids.append(f"{ids[person_index]}@{ids[bg_index]}")
        made.pairs.append((photo, truth))
        made.areas.append(float(truth.mean()))
    return made


def small_people(split: str, n: int = 100, seed: int = 0, root: str | Path | None = None) -> SmallPeople:
    """``n`` small-people photos made from the CCP ids of ``split`` (``"train"``, ``"val"`` or ``"test"``).

    Reads the split's full-frame photos (:func:`lrn.data.ccp.originals`, every file checked);
    ``root`` as for :func:`lrn.data.ccp.load`.
    """
    if split not in ccp.SPLIT_NAMES:
        raise InputError(f"split={split!r}; expected one of {', '.join(ccp.SPLIT_NAMES)}")
    ids = ccp.split_ids(ccp.manifest_ids())[split]
    return make(ccp.originals(ids, "full", root), ids, n, seed)
