"""CCP, Clothing Co-Parsing (Yang et al., 2014): full-body street photos, a fixed split, two framings.

Cite W. Yang, P. Luo, L. Lin, "Clothing Co-Parsing by Joint Image Segmentation and
Labeling", CVPR 2014, wherever results on these data are shown. Licence: the source
repository (github.com/bearpaw/clothing-co-parsing) is Apache-2.0; the photos are
third-party street-fashion shots: use them for research and evaluation.

Data: the 1004 photos with a pixel-level annotation (``photos/NNNN.jpg``,
``annotations/pixel-level/NNNN.mat``, key ``groundtruth``, one of 59 labels per pixel)
and ``label_list.mat``, at commit :data:`PINNED_COMMIT`, in a folder ``ccp/`` (see
:data:`LAYOUT`). Every file read is checked against the packaged manifest
``lrn/data/ccp.SHA256SUMS``. The person mask is ``groundtruth != 0`` (label 0 is
``null``, the background; bags and accessories count as person). No CCP photo carries an
EXIF orientation tag, so photo and annotation align as stored.

Fixed split (needs no data: a function of the manifest's ids only). Id 0536, whose
annotation is empty, is excluded first (:data:`KNOWN_EXCLUDED`); the other ids are
ordered by ``sha256(f"{SPLIT_SEED}:{id}")`` (a seeded permutation that no library version
can change); the first ``round(0.2 n)`` (half up) are the test split, the next ``round(0.2 n)`` the
validation split, the rest training: 601 / 201 / 201 of the 1003 usable ids
(:data:`SPLIT_COUNTS`). 20 % for testing keeps the 95 % interval of a mean IoU narrow
(~200 photos) while leaving 60 % to fine-tune on. A mask found uniform (all background
or all person) while reading is dropped from its split and listed in ``excluded``; no
other id moves.

Protocols:

- ``"full"``: the whole frame (550 px wide, 801-873 px tall; the person covers ~23 %).
- ``"head_torso"``: the 3:4 box of :func:`head_torso_box`, EG1800's framing (Shen et al.,
  2016 crop their portraits 600x800): from 5 % of the person's height above the top of
  the mask, half the person's height tall, centred on the head and torso, shifted to lie
  inside the photo (median 285x380 px; the person covers ~48 %).

Either is then squashed to ``size x size`` ignoring the aspect ratio, as EG1800 is
(photo bilinear, :func:`lrn.imageops.resize_photo`; mask nearest,
:func:`lrn.imageops.resize_mask`).
"""
from __future__ import annotations

import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import scipy.io
from tqdm.auto import tqdm

from lrn import imageops
from lrn.cache import sha256_bytes, sha256_file, sha256_text
from lrn.data.download import read_manifest
from lrn.data.folder import Pair, stack
from lrn.data.root import given_root
from lrn.data.split import Split, check_size
from lrn.errors import InputError

PINNED_COMMIT = "fe34fb77721a9973fbae92c05f7f12b664d10110"
"""Commit of github.com/bearpaw/clothing-co-parsing whose files the manifest lists."""

PACKAGED_MANIFEST = Path(__file__).with_name("ccp.SHA256SUMS")
"""sha256 of the 2009 files read (photos, pixel-level annotations, label list), paths relative to ``ccp/``."""

PHOTO_DIR, ANNOTATION_DIR, LABEL_LIST = "photos", "annotations/pixel-level", "label_list.mat"

LAYOUT = """\
ccp/
  photos/NNNN.jpg                    the photos (e.g. 0001.jpg); unannotated ones are ignored
  annotations/pixel-level/NNNN.mat   MATLAB v5, key 'groundtruth': label index per pixel
  label_list.mat                     key 'label_list': the 59 label names, 0 = 'null'"""
"""The folder layout CCP is expected in (that of the source repository)."""

PROTOCOLS = ("full", "head_torso")
"""``full``: the whole frame; ``head_torso``: the crop of :func:`head_torso_box`."""

SPLIT_NAMES = ("train", "val", "test")

SPLIT_SEED = 2014
"""Seed of the fixed split: ids are ordered by ``sha256(f"{SPLIT_SEED}:{id}")``."""

VAL_FRACTION = TEST_FRACTION = 0.20
"""Shares of the usable ids in the validation and test splits (each rounded half up)."""

SPLIT_COUNTS = {"train": 601, "val": 201, "test": 201}
"""Sizes of the fixed split of the packaged manifest's 1003 usable ids."""

KNOWN_EXCLUDED = {"0536": "annotation is all background (an empty mask)"}
"""Ids left out before the split. Uniform masks found while reading are excluded too."""

HEAD_TORSO_FRACTION = 0.45
"""Share of the person's height (from the top of the mask) that the crop covers below the top."""

HEAD_TORSO_MARGIN = 0.05
"""Share of the person's height the crop starts above the top of the mask."""

ASPECT = 3 / 4
"""Width : height of the head-and-torso crop (EG1800's 600x800)."""


@dataclass
class CCPData:
    """The loaded splits of one CCP protocol, and what was left out.

    Attributes
    ----------
    train, val, test : Split or None
        The fixed split (disjoint, ids sorted), images ``(N, size, size, 3) uint8``, masks
        ``(N, size, size) bool``; ``None`` for a split not asked for.
    excluded : dict of str to str
        Id -> reason: :data:`KNOWN_EXCLUDED` and uniform masks found while reading.
    root : Path
        The folder holding ``ccp/``.
    protocol : str
        ``"full"`` or ``"head_torso"``.
    size : int
        Side of the images in pixels.
    labels : tuple of str
        The 59 label names of ``label_list.mat``; index 0 is ``"null"`` (background).
    manifest_sha256 : str
        sha256 of the manifest the files were verified against.
    counts : dict of str to int
        ``ids`` (annotated ids in the manifest), ``excluded``, ``unlisted_photos`` (photos
        without a pixel-level annotation, e.g. the 1094 tagged-only photos of a clone of
        the source repository; ignored), and the size of each loaded split.
    """

    train: Split | None
    val: Split | None
    test: Split | None
    excluded: dict[str, str]
    root: Path
    protocol: str
    size: int
    labels: tuple[str, ...]
    manifest_sha256: str
    counts: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the crop rule
def _round(x: float) -> int:
    """Round half up (Python's ``round`` rounds half to even)."""
    return int(np.floor(x + 0.5))


def head_torso_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The 3:4 head-and-torso box of a full-body person mask.

    Rule, with ``t`` the first and ``b`` the last row holding person pixels and
    ``h = b - t + 1`` the person's height in pixels:

    - height ``H = round((HEAD_TORSO_FRACTION + HEAD_TORSO_MARGIN) * h)`` (0.5 h, at least
      4 px), width ``round(ASPECT * H)``;
    - top ``t - round(HEAD_TORSO_MARGIN * h)``: a margin above the hair;
    - horizontally centred on the mean column of the person pixels in the rows
      ``t .. t + round(HEAD_TORSO_FRACTION * h) - 1`` (head and torso, so a swinging
      arm or leg below them does not pull the box);
    - then shifted (never cropped) to lie inside the mask's frame; a box larger than the
      frame is first shrunk to fit, keeping 3:4 (never the case on CCP).

    Parameters
    ----------
    mask : numpy.ndarray
        ``bool``, shape ``(rows, cols)``, ``True`` = person; at least one person pixel.

    Returns
    -------
    (top, left, height, width) : tuple of int
        In pixels; ``mask[top:top + height, left:left + width]`` is the crop, inside the
        frame, with ``width == round(0.75 * height)``.

    Raises
    ------
    InputError
        Not a 2-D bool array, or no person pixel.
    """
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim != 2:
        raise InputError(f"mask has shape {mask.shape} and dtype {mask.dtype}; expected bool (H, W)")
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        raise InputError("mask has no person pixel: there is no head and torso to crop around")
    frame_h, frame_w = mask.shape
    top0, person = int(rows[0]), int(rows[-1] - rows[0] + 1)
    band = mask[top0: top0 + max(1, _round(HEAD_TORSO_FRACTION * person))]
    centre = np.nonzero(band)[1].mean() + 0.5  # column c covers [c, c + 1)

    height = max(4, _round((HEAD_TORSO_FRACTION + HEAD_TORSO_MARGIN) * person))
    if height > frame_h or _round(ASPECT * height) > frame_w:
        height = min(frame_h, int(frame_w / ASPECT))
    width = _round(ASPECT * height)
    top = min(max(top0 - _round(HEAD_TORSO_MARGIN * person), 0), frame_h - height)
    left = min(max(_round(centre - width / 2), 0), frame_w - width)
    return top, left, height, width


# ----------------------------------------------------------------------------- the fixed split
def manifest_ids(manifest: str | Path | None = None) -> list[str]:
    """Sorted ids with a photo and a pixel-level annotation in a manifest.

    Parameters
    ----------
    manifest : str or Path, optional
        Default the packaged ``lrn/data/ccp.SHA256SUMS``.

    Returns
    -------
    list of str
        4-digit ids (1004 for the packaged manifest, ``"0001"`` .. ``"1004"``).

    Raises
    ------
    InputError
        An unreadable manifest, or a photo listed without its annotation or vice versa.
    """
    path = Path(manifest) if manifest is not None else PACKAGED_MANIFEST
    return _ids_of(read_manifest(path), path)


def _ids_of(entries: dict[str, str], path: Path) -> list[str]:
    def stems(folder: str, suffix: str) -> set[str]:
        return {r[len(folder) + 1: -len(suffix)] for r in entries if r.startswith(folder + "/") and r.endswith(suffix)}

    photos, annotations = stems(PHOTO_DIR, ".jpg"), stems(ANNOTATION_DIR, ".mat")
    if photos != annotations:
        odd = sorted(photos ^ annotations)[0]
        raise InputError(f"CCP manifest {path}: id {odd} has a photo or an annotation listed but not both")
    return sorted(photos)


def split_ids(ids: Iterable[str]) -> dict[str, list[str]]:
    """The fixed train / val / test split of CCP ids (see the module docstring).

    Parameters
    ----------
    ids : iterable of str
        Candidate ids, e.g. :func:`manifest_ids`; :data:`KNOWN_EXCLUDED` ids are dropped.

    Returns
    -------
    dict of str to list of str
        ``{"train": ..., "val": ..., "test": ...}``, each sorted; disjoint, covering every
        usable id; the same for the same ids, whatever the order they are given in.
    """
    usable = sorted(set(ids) - set(KNOWN_EXCLUDED))
    order = sorted(usable, key=lambda i: sha256_text(f"{SPLIT_SEED}:{i}"))
    n_test, n_val = _round(TEST_FRACTION * len(order)), _round(VAL_FRACTION * len(order))
    return {
        "train": sorted(order[n_test + n_val:]),
        "val": sorted(order[n_test: n_test + n_val]),
        "test": sorted(order[:n_test]),
    }


# ----------------------------------------------------------------------------- reading
class _Source:
    """A verified CCP folder: resolves the root, checks layout and manifest, reads items."""

    def __init__(self, root: str | Path | None, manifest: str | Path | None):
        self.root, source = _resolve_root(root)
        self.folder = self.root / "ccp"
        needed = [self.folder / PHOTO_DIR, self.folder / ANNOTATION_DIR, self.folder / LABEL_LIST]
        missing = [p for p in needed if not p.exists()]
        if missing:
            raise InputError(
                f"CCP not found: {missing[0]} does not exist (root {self.root} from {source}). "
                f"Expected {self.root} to hold\n{LAYOUT}\n{_where_to_get(self.root)}"
            )
        self.manifest = Path(manifest) if manifest is not None else PACKAGED_MANIFEST
        self.entries = read_manifest(self.manifest)
        self.manifest_sha256 = sha256_file(self.manifest)
        self.ids = _ids_of(self.entries, self.manifest)
        for p in sorted((self.folder / ANNOTATION_DIR).glob("*.mat")):
            if f"{ANNOTATION_DIR}/{p.name}" not in self.entries:
                raise InputError(f"{p} is not listed in the CCP manifest {self.manifest}; it is not a CCP file")
        self.unlisted_photos = sum(
            f"{PHOTO_DIR}/{p.name}" not in self.entries for p in (self.folder / PHOTO_DIR).glob("*.jpg")
        )
        self.labels = self._label_list()

    def read(self, path: Path) -> tuple[bytes, str]:
        """The bytes of a file and their sha256, after checking it against the manifest."""
        rel = path.relative_to(self.folder).as_posix()
        expected = self.entries.get(rel)
        if expected is None:
            raise InputError(f"{path} is not listed in the CCP manifest {self.manifest}; it is not a CCP file")
        data = imageops.read_bytes(path)
        actual = sha256_bytes(data)
        if actual != expected:
            raise InputError(
                f"{path} has sha256 {actual} but the manifest {self.manifest} lists {expected}: "
                "it is not the CCP file the results assume"
            )
        return data, actual

    def _label_list(self) -> tuple[str, ...]:
        path = self.folder / LABEL_LIST
        try:
            cells = scipy.io.loadmat(io.BytesIO(self.read(path)[0]))["label_list"].ravel()
            labels = tuple(str(np.asarray(c).ravel()[0]) if np.asarray(c).size else "" for c in cells)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"cannot read key 'label_list' from {path}: {exc}") from exc
        if len(labels) < 2 or labels[0] != "null":
            raise InputError(f"{path}: expected a list of label names starting with 'null', got {labels[:3]}")
        return labels

    def original(self, i: str, protocol: str) -> tuple[np.ndarray, np.ndarray, str, str, float]:
        """Photo and mask of id ``i`` (cropped for ``head_torso``), their sha256, the frame's person share."""
        photo_path = self.folder / PHOTO_DIR / f"{i}.jpg"
        mask_path = self.folder / ANNOTATION_DIR / f"{i}.mat"
        (photo_bytes, photo_sha), (mask_bytes, mask_sha) = self.read(photo_path), self.read(mask_path)
        photo = imageops.read_photo(photo_path, photo_bytes)
        try:
            labels = np.asarray(scipy.io.loadmat(io.BytesIO(mask_bytes))["groundtruth"])
        except Exception as exc:
            raise InputError(f"cannot read key 'groundtruth' from {mask_path}: {exc}") from exc
        valid = labels.ndim == 2 and labels.dtype.kind in "iu" and labels.size > 0
        if not valid or not 0 <= labels.min() <= labels.max() < len(self.labels):
            raise InputError(
                f"{mask_path}: 'groundtruth' has shape {labels.shape}, dtype {labels.dtype}; expected a 2-D "
                f"integer array of labels 0..{len(self.labels) - 1}"
            )
        mask = imageops.match_mask_to_photo(labels != 0, photo.shape, mask_path)
        foreground = float(mask.mean())
        if protocol == "head_torso" and foreground > 0:
            top, left, h, w = head_torso_box(mask)
            photo, mask = photo[top:top + h, left:left + w].copy(), mask[top:top + h, left:left + w].copy()
        return photo, mask, photo_sha, mask_sha, foreground

    def pair(self, i: str, protocol: str, size: int) -> Pair:
        photo, mask, photo_sha, mask_sha, foreground = self.original(i, protocol)
        photo, mask = imageops.resize_photo(photo, size), imageops.resize_mask(mask, size)
        return Pair(photo, mask, photo_sha, mask_sha, foreground)


def _where_to_get(root: Path | str) -> str:
    return (
        "Get the files from the repository github.com/bearpaw/clothing-co-parsing at commit "
        f"{PINNED_COMMIT}, e.g.\n  git clone https://github.com/bearpaw/clothing-co-parsing {root}/ccp\n"
        f"  git -C {root}/ccp checkout {PINNED_COMMIT}\n"
        f"then pass root={root} or set the environment variable LRN_DATA={root}."
    )


def _resolve_root(root: str | Path | None) -> tuple[Path, str]:
    """The folder holding ``ccp/`` and a phrase saying where it came from."""
    found = given_root(root)
    if found is not None:
        return found
    raise InputError(
        "CCP needs a local copy: no root argument was given and LRN_DATA is not set. Put the files in "
        f"<folder>/ccp/ with the layout\n{LAYOUT}\n{_where_to_get('<folder>')}"
    )


def _check_protocol(protocol: object) -> None:
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol={protocol!r}; expected one of {', '.join(map(repr, PROTOCOLS))}")


def _map(function, items: Sequence, desc: str, progress: bool = True) -> list:
    """``[function(x) for x in items]`` in a few threads (Pillow and zlib release the GIL), with a progress bar."""
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        try:
            return list(tqdm(pool.map(function, items), total=len(items), desc=desc, unit="pair", disable=not progress))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


# ----------------------------------------------------------------------------- public
def load(
    protocol: str = "head_torso",
    size: int = 224,
    root: str | Path | None = None,
    splits: Sequence[str] = SPLIT_NAMES,
    *,
    manifest: str | Path | None = None,
    progress: bool = True,
) -> CCPData:
    """Load the fixed CCP split in one framing, resized to ``size x size``.

    Source: ``root``, else the ``LRN_DATA`` environment variable (either names the folder
    *holding* ``ccp/``), else an :class:`InputError` saying where to put the files. Every
    file read (label list, photos and annotations of the splits asked for) is checked
    against the manifest first. Reading all 1004 pairs takes seconds (threads: Pillow and zlib release the GIL).

    Parameters
    ----------
    protocol : {"head_torso", "full"}
        Framing; see the module docstring and :func:`head_torso_box`.
    size : int
        Side of the output images in pixels; a positive multiple of 32.
    root : str or Path, optional
        Folder holding ``ccp/``.
    splits : sequence of {"train", "val", "test"}
        Splits to read; the others are ``None`` in the result.
    manifest : str or Path, optional
        sha256 manifest to verify against (paths relative to ``ccp/``); default the
        packaged ``lrn/data/ccp.SHA256SUMS``. The split is computed from its ids.
    progress : bool
        Show a progress bar while reading (``False`` in rendered pages and other logs).

    Returns
    -------
    CCPData
        Photos ``uint8 (N, size, size, 3)`` and masks ``bool (N, size, size)``, squashed
        (aspect ratio ignored; photos bilinear, masks nearest).

    Raises
    ------
    InputError
        Unknown protocol or split, bad size, no root, missing folders or files, a file not
        in the manifest or differing from it, a bad photo or annotation.

    Warns
    -----
    UserWarning
        Listing the ids excluded while reading (uniform masks other than 0536).
    """
    _check_protocol(protocol)
    size = check_size(size)
    splits = tuple(splits) if not isinstance(splits, str) else (splits,)
    if not splits or any(s not in SPLIT_NAMES for s in splits):
        raise InputError(f"splits={splits!r}; expected a non-empty subset of {SPLIT_NAMES}")
    src = _Source(root, manifest)
    fixed = split_ids(src.ids)
    excluded = {i: r for i, r in KNOWN_EXCLUDED.items() if i in src.ids}
    found: dict[str, str] = {}
    loaded: dict[str, Split | None] = dict.fromkeys(SPLIT_NAMES)
    for name in splits:
        ids = fixed[name]
        pairs = _map(lambda i: src.pair(i, protocol, size), ids, f"CCP {name}", progress)
        keep = [k for k, p in enumerate(pairs) if 0.0 < p.foreground < 1.0]
        for k in sorted(set(range(len(ids))) - set(keep)):
            found[ids[k]] = f"annotation is all {'person' if pairs[k].foreground else 'background'}"
        images, masks = stack([pairs[k] for k in keep], size)
        loaded[name] = Split(name, images, masks, [ids[k] for k in keep], src.manifest_sha256)
    if found:
        warnings.warn(f"CCP: excluded {'; '.join(f'{i}: {r}' for i, r in found.items())}", UserWarning, stacklevel=2)
    excluded.update(found)
    counts = {"ids": len(src.ids), "excluded": len(excluded), "unlisted_photos": src.unlisted_photos}
    counts.update({name: len(s) for name, s in loaded.items() if s is not None})
    return CCPData(
        **loaded,
        excluded=dict(sorted(excluded.items())),
        root=src.root,
        protocol=protocol,
        size=size,
        labels=src.labels,
        manifest_sha256=src.manifest_sha256,
        counts=counts,
    )


def originals(
    ids: Sequence[str], protocol: str, root: str | Path | None = None, *, manifest: str | Path | None = None,
    progress: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Photos and masks of CCP ``ids`` at their own resolution, for scoring at full resolution.

    Parameters
    ----------
    ids : sequence of str
        4-digit ids, e.g. ``data.test.ids``.
    protocol : {"head_torso", "full"}
        ``"full"``: the whole photo (550 px wide, 801-873 px tall); ``"head_torso"``: the
        :func:`head_torso_box` crop, unresized (about 320x430 px).
    root, manifest, progress
        As for :func:`load`; every file is verified.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``(photo uint8 (H, W, 3), mask bool (H, W))`` per id, in order.

    Raises
    ------
    InputError
        As for :func:`load`; also an id not in the manifest, and ``head_torso`` of an empty
        mask (0536).
    """
    _check_protocol(protocol)
    src = _Source(root, manifest)
    known = set(src.ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(f"CCP ids {unknown[:5]} are not in the manifest {src.manifest}; expected ids such as '0001'")

    def one(i: str) -> tuple[np.ndarray, np.ndarray]:
        photo, mask, _, _, foreground = src.original(i, protocol)
        if protocol == "head_torso" and foreground == 0:
            raise InputError(f"CCP id {i}: the annotation is empty, so there is no head-and-torso crop")
        return photo, mask

    return _map(one, list(ids), "CCP originals", progress)
