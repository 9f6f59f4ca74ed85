"""Your own photos and masks from two folders, and masks from remove.bg-style cut-outs.

Also holds :func:`read_pairs`, the checked, parallel reading of (photo, mask) file pairs
that :func:`lrn.data.eg1800` shares.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from lrn import imageops
from lrn.cache import sha256_bytes, sha256_text
from lrn.data.split import Split, check_size
from lrn.errors import InputError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
"""Extensions (any case) of the files in an images folder that are read as photos."""

MASK_SUFFIXES = PHOTO_SUFFIXES + (".mat",)
"""Extensions (any case) of the files in a masks folder that are read as masks."""

MASK_STEM_SUFFIX = "_mask"
"""A mask is named ``<stem>.<ext>`` or ``<stem>_mask.<ext>`` for the photo ``<stem>.<ext>``."""


# ----------------------------------------------------------------------------- pair reading
@dataclass
class Pair:
    """One photo and its mask, read, checked and resized.

    Attributes
    ----------
    photo : numpy.ndarray
        ``uint8``, ``(size, size, 3)``.
    mask : numpy.ndarray
        ``bool``, ``(size, size)``.
    photo_sha256, mask_sha256 : str
        sha256 (hex) of the bytes of the two files as read.
    foreground : float
        Fraction of person pixels in the mask at the photo's full resolution, in [0, 1].
    """

    photo: np.ndarray
    mask: np.ndarray
    photo_sha256: str
    mask_sha256: str
    foreground: float


Verifier = Callable[[Path, str], None]
"""``verify(path, sha256_hex)``: raise :class:`InputError` if the file is not the expected one."""


def read_pair(photo_path: Path, mask_path: Path, size: int, verify: Verifier | None = None) -> Pair:
    """Read, verify, check and resize one photo and its mask.

    Each file is read once; its bytes are hashed, passed to ``verify`` (before decoding),
    then decoded. The mask is matched to the photo's size
    (:func:`lrn.imageops.match_mask_to_photo`), then both are resized to ``size x size``
    ignoring the aspect ratio (photo bilinear, mask nearest).

    Parameters
    ----------
    photo_path, mask_path : Path
        The two files.
    size : int
        Output side length in pixels.
    verify : callable, optional
        ``verify(path, sha256_hex)`` raising :class:`InputError` on an unexpected file.

    Returns
    -------
    Pair
    """
    photo_bytes = imageops.read_bytes(photo_path)
    mask_bytes = imageops.read_bytes(mask_path)
    photo_sha = sha256_bytes(photo_bytes)
    mask_sha = sha256_bytes(mask_bytes)
    if verify is not None:
        verify(photo_path, photo_sha)
        verify(mask_path, mask_sha)
    photo = imageops.read_photo(photo_path, photo_bytes)
    mask = imageops.match_mask_to_photo(imageops.read_mask(mask_path, mask_bytes), photo.shape, mask_path)
    return Pair(
        photo=imageops.resize_photo(photo, size),
        mask=imageops.resize_mask(mask, size),
        photo_sha256=photo_sha,
        mask_sha256=mask_sha,
        foreground=float(mask.mean()),
    )


def read_pairs(
    pairs: Sequence[tuple[Path, Path]],
    size: int,
    verify: Verifier | None = None,
    desc: str = "reading",
    progress: bool = True,
) -> list[Pair]:
    """Read many (photo, mask) pairs with :func:`read_pair`, in threads, with a progress bar.

    Pillow decodes with the GIL released, so a few threads speed reading up. The first
    error stops the reading (queued pairs are cancelled) and is raised.

    Parameters
    ----------
    pairs : sequence of (Path, Path)
        ``(photo_path, mask_path)`` for each item.
    size : int
        Output side length in pixels.
    verify : callable, optional
        See :func:`read_pair`.
    desc : str
        Label of the progress bar.
    progress : bool
        Show the progress bar (``False`` in rendered pages and other logs).

    Returns
    -------
    list of Pair
        In the order of ``pairs``.
    """
    workers = min(8, (os.cpu_count() or 1) + 2)
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(read_pair, p, m, size, verify) for p, m in pairs]
        results = []
        with tqdm(total=len(futures), desc=desc, unit="pair", disable=not progress) as bar:
            for future in futures:
                results.append(future.result())
                bar.update(1)
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def stack(pairs: Sequence[Pair], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack pairs into ``(N, S, S, 3) uint8`` images and ``(N, S, S) bool`` masks."""
    if not pairs:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros((0, size, size), bool)
    return np.stack([p.photo for p in pairs]), np.stack([p.mask for p in pairs])


# ----------------------------------------------------------------------------- folders
def _files(directory: Path, what: str) -> list[Path]:
    """Non-hidden entries of a folder, sorted; the folder must exist."""
    if not directory.exists():
        raise InputError(f"{what} folder not found: {directory}")
    if not directory.is_dir():
        raise InputError(f"{what} folder {directory} is not a folder")
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def _pair_up(images_dir: Path, masks_dir: Path) -> tuple[list[tuple[str, Path, Path]], list[Path]]:
    """Match photos to masks by stem; return ``(id, photo, mask)`` triples and unused files."""
    same = images_dir.resolve() == masks_dir.resolve()
    image_entries = _files(images_dir, "images")
    mask_entries = image_entries if same else _files(masks_dir, "masks")

    photos: dict[str, Path] = {}
    for p in image_entries:
        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES and not (same and p.stem.endswith(MASK_STEM_SUFFIX)):
            if p.stem in photos:
                raise InputError(f"two photos with the id {p.stem!r}: {photos[p.stem]} and {p}; expected one per stem")
            photos[p.stem] = p
    if not photos:
        raise InputError(
            f"images folder {images_dir} holds no photos; expected files ending in {', '.join(PHOTO_SUFFIXES)}"
        )

    photo_files = set(photos.values())
    by_stem: dict[str, list[Path]] = {}
    for m in mask_entries:
        if m.is_file() and m.suffix.lower() in MASK_SUFFIXES and m not in photo_files:
            by_stem.setdefault(m.stem, []).append(m)

    triples, used = [], set(photo_files)
    for stem in sorted(photos):
        names = [stem + MASK_STEM_SUFFIX] if same else [stem, stem + MASK_STEM_SUFFIX]
        found = [m for n in names for m in by_stem.get(n, [])]
        if not found:
            raise InputError(
                f"no mask for photo {photos[stem]}: expected {masks_dir / (stem + '.png')}, "
                f"{masks_dir / (stem + MASK_STEM_SUFFIX + '.png')}, or the same names ending in .mat or "
                "another image extension"
            )
        if len(found) > 1:
            raise InputError(
                f"several masks for photo {photos[stem]}: {', '.join(str(f) for f in found)}; expected exactly one"
            )
        triples.append((stem, photos[stem], found[0]))
        used.add(found[0])
    unused = [p for p in dict.fromkeys(image_entries + mask_entries) if p not in used]
    return triples, unused


def _manifest_hash(triples: Sequence[tuple[str, Path, Path]], pairs: Sequence[Pair]) -> str:
    """sha256 of the sorted lines ``<sha256>  images/<name>`` and ``<sha256>  masks/<name>``."""
    lines = []
    for (_, photo, mask), pair in zip(triples, pairs):
        lines.append(f"{pair.photo_sha256}  images/{photo.name}")
        lines.append(f"{pair.mask_sha256}  masks/{mask.name}")
    return sha256_text("\n".join(sorted(lines)) + "\n")


def folder(images_dir: str | Path, masks_dir: str | Path, size: int = 224, name: str = "folder") -> Split:
    """Load your own photos and their masks, paired by file name.

    The photo ``<stem>.<ext>`` (``ext`` one of :data:`PHOTO_SUFFIXES`, any case) is paired
    with the one mask in ``masks_dir`` named ``<stem>.<ext2>`` or ``<stem>_mask.<ext2>``
    (``ext2`` one of :data:`MASK_SUFFIXES`: ``.png``, ``.mat``, ...), e.g. ``0042.jpg`` with
    ``0042.png``, ``0042_mask.png`` or ``0042_mask.mat``. If both folders are the same
    folder, only ``<stem>_mask.<ext2>`` names are masks. Masks are read by
    :func:`lrn.imageops.read_mask` (see there for the binarisation rule); a mask of another
    size but the same aspect ratio (within 2 %) is resized to its photo's size.
    Everything is then resized to ``size x size`` ignoring the aspect ratio (photos
    bilinear, masks nearest).

    Nothing is dropped silently: files that are neither photos nor paired masks (and
    sub-folders) are listed in a warning; hidden files (names starting with ``.``) are
    ignored. Masks that are all background or all person are kept (a photo without a
    person, or a close-up, can be legitimate) and listed in a warning.

    Parameters
    ----------
    images_dir : str or Path
        Folder of photos.
    masks_dir : str or Path
        Folder of masks (may be ``images_dir``).
    size : int
        Side of the output images in pixels; a positive multiple of 32.
    name : str
        Name of the returned split.

    Returns
    -------
    Split
        Sorted by id (the photo's stem). ``manifest_sha256`` is the sha256 of the sorted
        lines ``"<sha256 of file>  images/<photo name>"`` and ``"...  masks/<mask name>"``
        (``\\n``-joined, with a final newline) of the files read.

    Raises
    ------
    InputError
        Missing folders, no photos, a photo without a mask or with several, any bad file
        (see :func:`lrn.imageops.read_photo`, :func:`lrn.imageops.read_mask`), a bad size.
    """
    size = check_size(size)
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    triples, unused = _pair_up(images_dir, masks_dir)
    if unused:
        shown = ", ".join(str(p) for p in unused[:10]) + (f", ... ({len(unused)} in all)" if len(unused) > 10 else "")
        warnings.warn(f"folder(): not used (neither a photo nor a paired mask): {shown}", UserWarning, stacklevel=2)
    pairs = read_pairs([(p, m) for _, p, m in triples], size, desc=f"reading {images_dir.name}")
    degenerate = [
        f"{m} ({'all person' if pair.foreground == 1 else 'no person'})"
        for (_, _, m), pair in zip(triples, pairs)
        if pair.foreground in (0.0, 1.0)
    ]
    if degenerate:
        warnings.warn(f"folder(): masks kept although uniform: {'; '.join(degenerate)}", UserWarning, stacklevel=2)
    images, masks = stack(pairs, size)
    return Split(
        name=name,
        images=images,
        masks=masks,
        ids=[stem for stem, _, _ in triples],
        manifest_sha256=_manifest_hash(triples, pairs),
    )


def mask_from_cutout(path: str | Path, alpha_threshold: int = 128) -> np.ndarray:
    """Person mask from a cut-out image (e.g. a remove.bg RGBA PNG): opaque enough = person.

    Parameters
    ----------
    path : str or Path
        Image with an alpha channel (or a palette/greyscale PNG with a transparent colour).
    alpha_threshold : int
        1..255; pixels with ``alpha >= alpha_threshold`` are person.

    Returns
    -------
    numpy.ndarray
        ``bool``, shape ``(H, W)``.

    Raises
    ------
    InputError
        Missing or unreadable file, no alpha channel, threshold outside 1..255.
    """
    is_int = isinstance(alpha_threshold, (int, np.integer)) and not isinstance(alpha_threshold, bool)
    if not is_int or not 1 <= alpha_threshold <= 255:
        raise InputError(f"alpha_threshold={alpha_threshold!r}; expected an int in 1..255")
    return imageops.read_alpha(path) >= alpha_threshold
