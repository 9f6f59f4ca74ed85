"""One split of a data set: photos, masks, their ids and a hash of the source files."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lrn.errors import InputError
from lrn.shapes import check_side

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_size(size: object) -> int:
    """Check a square image side ``S`` (pixels): a positive multiple of 32 (:func:`lrn.shapes.check_side`)."""
    return check_side(size, "size")


@dataclass
class Split:
    """Photos with their person masks, all resized to the same ``H x W``.

    Attributes
    ----------
    name : str
        ``"train"``, ``"val"``, ``"test"``, a folder's name, ``"synthetic"``, ...
    images : numpy.ndarray
        ``uint8``, shape ``(N, H, W, 3)``, RGB 0..255 (``H == W == size`` for every
        loader in :mod:`lrn.data`).
    masks : numpy.ndarray
        ``bool``, shape ``(N, H, W)``, ``True`` = person.
    ids : list of str
        ``N`` distinct ids, in the order of ``images`` (EG1800: 5-digit strings such as
        ``"00017"``; folders: file stems).
    manifest_sha256 : str
        64 lower-case hex digits identifying the exact source files (see each loader).
    """

    name: str
    images: np.ndarray
    masks: np.ndarray
    ids: list[str]
    manifest_sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"Split name={self.name!r}; expected a non-empty string")
        images, masks = self.images, self.masks
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise InputError(
                f"Split {self.name!r}: images have shape {getattr(images, 'shape', None)} and dtype "
                f"{getattr(images, 'dtype', type(images).__name__)}; expected uint8 (N, H, W, 3)"
            )
        if not isinstance(masks, np.ndarray) or masks.dtype != bool or masks.shape != images.shape[:3]:
            raise InputError(
                f"Split {self.name!r}: masks have shape {getattr(masks, 'shape', None)} and dtype "
                f"{getattr(masks, 'dtype', type(masks).__name__)}; expected bool {images.shape[:3]}"
            )
        self.ids = list(self.ids)
        if len(self.ids) != len(images) or not all(isinstance(i, str) for i in self.ids):
            raise InputError(
                f"Split {self.name!r}: {len(self.ids)} ids for {len(images)} images; expected one string id per image"
            )
        if len(set(self.ids)) != len(self.ids):
            dupes = sorted({i for i in self.ids if self.ids.count(i) > 1})
            raise InputError(f"Split {self.name!r}: duplicate ids {dupes[:5]}; expected distinct ids")
        if not isinstance(self.manifest_sha256, str) or not _SHA256.match(self.manifest_sha256):
            raise InputError(
                f"Split {self.name!r}: manifest_sha256={self.manifest_sha256!r}; expected 64 lower-case hex digits"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices, name: str | None = None) -> "Split":
        """A new split with the chosen items, in the given order (arrays are copied).

        Parameters
        ----------
        indices : sequence of int
            Positions ``0 <= i < len(self)``; repeats are refused (ids must stay distinct).
        name : str, optional
            Name of the new split; default the same name.

        Returns
        -------
        Split
        """
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise InputError(f"subset indices {indices!r}; expected a 1-D sequence of ints")
        bad = idx[(idx < 0) | (idx >= len(self))]
        if bad.size:
            raise InputError(f"subset index {int(bad[0])} out of range for split {self.name!r} of {len(self)} items")
        return Split(
            name=self.name if name is None else name,
            images=self.images[idx],
            masks=self.masks[idx],
            ids=[self.ids[i] for i in idx],
            manifest_sha256=self.manifest_sha256,
        )
