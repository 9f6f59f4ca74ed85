"""EG1800 portraits (Shen et al., 2016): official lists, the paper's and the full protocol.

Cite X. Shen, A. Hertzmann, J. Jia, S. Paris, B. Price, E. Shechtman, I. Sachs,
"Automatic Portrait Segmentation for Image Stylization", Computer Graphics Forum 35(2),
2016, wherever results on these data are shown. The data are for academic exchange only.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from lrn import imageops
from lrn.cache import sha256_bytes, sha256_file
from lrn.data.download import LAYOUT, PACKAGED_MANIFEST, fetch_eg1800, read_manifest
from lrn.data.folder import Pair, read_pairs, stack
from lrn.data.root import given_root
from lrn.data.split import Split, check_size
from lrn.errors import InputError

PROTOCOLS = ("paper", "full")
"""``paper``: 250 train / 25 val / 48 test ids drawn at random; ``full``: every usable id."""

PAPER_COUNTS = {"train": 250, "val": 25, "test": 48}
"""Split sizes of the ``paper`` protocol (the paper's 250 training and 48 test photos)."""

FULL_VAL_FRACTION = 0.10
"""Share of the usable official training ids held out for validation by ``full``."""

KNOWN_BROKEN = {"02188": "broken mask: all foreground although the photo is an ordinary portrait"}
"""Ids excluded before any draw. Uniform masks found while reading are excluded too."""

PHOTO_DIR, MASK_DIR = "images_data_crop", "images_mask"


@dataclass
class EG1800Data:
    """The three splits of one EG1800 protocol, and what was left out.

    Attributes
    ----------
    train, val, test : Split
        Disjoint; ids sorted within each split; images ``(N, size, size, 3) uint8``,
        masks ``(N, size, size) bool``.
    excluded : dict of str to str
        Id -> reason, for ids that have a photo but were left out (broken masks).
    root : Path
        The folder holding ``eg1800/``.
    protocol : str
        ``"paper"`` or ``"full"``.
    seed : int
        Seed of the draw.
    size : int
        Side of the images in pixels.
    manifest_sha256 : str
        sha256 of the manifest the files were verified against (by default that of the
        packaged ``lrn/data/eg1800.SHA256SUMS``).
    counts : dict of str to int
        Summary: ``official_train``, ``official_test`` (list lengths), ``present_train``,
        ``present_test`` (ids with a photo), ``absent_train``, ``absent_test`` (listed ids
        without a photo: simply absent), ``unlisted`` (photos in neither list),
        ``excluded``.
    """

    train: Split
    val: Split
    test: Split
    excluded: dict[str, str]
    root: Path
    protocol: str
    seed: int
    size: int
    manifest_sha256: str
    counts: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- source
def _resolve_root(root: str | Path | None) -> tuple[Path, str]:
    """The folder holding ``eg1800/`` and a phrase saying where it came from."""
    return given_root(root) or (fetch_eg1800(), "the download cache")


def _check_layout(root: Path, source: str) -> Path:
    """Return ``root/eg1800`` after checking its folders and list files exist."""
    folder = root / "eg1800"
    needed = [folder / PHOTO_DIR, folder / MASK_DIR, folder / "trainlist.mat", folder / "testlist.mat"]
    missing = [p for p in needed if not p.exists()]
    if missing:
        raise InputError(
            f"EG1800 not found: {missing[0]} does not exist (root {root} from {source}). "
            f"Expected {root} to hold\n{LAYOUT}\n"
            "Pass root=<folder holding eg1800/>, set the environment variable LRN_DATA to it, "
            "or leave both unset to download into the cache (lrn.data.download.fetch_eg1800)."
        )
    return folder


class _Verifier:
    """Checks that a file's sha256 is the one the manifest lists for it."""

    def __init__(self, folder: Path, entries: dict[str, str], manifest: Path):
        self.folder, self.entries, self.manifest = folder, entries, manifest

    def __call__(self, path: Path, sha256: str) -> None:
        rel = Path(path).relative_to(self.folder).as_posix()
        expected = self.entries.get(rel)
        if expected is None:
            raise InputError(f"{path} is not listed in the EG1800 manifest {self.manifest}; it is not an EG1800 file")
        if sha256 != expected:
            raise InputError(
                f"{path} has sha256 {sha256} but the manifest {self.manifest} lists {expected}: "
                "it is not the EG1800 file the results assume"
            )


def _read_list(folder: Path, name: str, verify: _Verifier) -> list[str]:
    """Ids (5-digit strings) of ``<name>.mat``, key ``<name>``, verified against the manifest."""
    path = folder / f"{name}.mat"
    data = imageops.read_bytes(path)
    verify(path, sha256_bytes(data))
    try:
        values = np.asarray(scipy.io.loadmat(io.BytesIO(data))[name]).ravel()
    except Exception as exc:
        raise InputError(f"cannot read key {name!r} from {path}: {exc}") from exc
    if values.dtype.kind not in "iuf" or np.any(values < 1) or np.any(values != np.round(values)):
        raise InputError(f"{path}: {name!r} must hold positive integer ids")
    ids = [f"{int(v):05d}" for v in values]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: {name!r} lists some ids twice")
    return ids


def _official_lists(folder: Path, verify: _Verifier) -> dict[str, list[str]]:
    """``{"train": ids, "test": ids}`` from the two list files; refuses ids in both."""
    official = {"train": _read_list(folder, "trainlist", verify), "test": _read_list(folder, "testlist", verify)}
    both = set(official["train"]) & set(official["test"])
    if both:
        raise InputError(f"ids {sorted(both)[:5]} are in both trainlist.mat and testlist.mat of {folder}")
    return official


# ----------------------------------------------------------------------------- drawing
def _uniform_reason(pair: Pair, mask_path: Path) -> str | None:
    """Why a mask is unusable (all person or no person), or ``None``."""
    if pair.foreground == 1.0:
        return f"mask is all foreground ({mask_path.name})"
    if pair.foreground == 0.0:
        return f"mask is all background ({mask_path.name})"
    return None


def _take_usable(
    order: list[str], n: int, folder: Path, size: int, verify: _Verifier, excluded: dict[str, str], desc: str,
    progress: bool,
) -> tuple[list[str], list[Pair]]:
    """Read ids in ``order`` until ``n`` have a usable mask; record the others in ``excluded``."""
    ids: list[str] = []
    pairs: list[Pair] = []
    pos = 0
    while len(ids) < n and pos < len(order):
        batch = order[pos: pos + n - len(ids)]
        pos += len(batch)
        files = [(folder / PHOTO_DIR / f"{i}.jpg", folder / MASK_DIR / f"{i}_mask.mat") for i in batch]
        for i, (_, mask_path), pair in zip(batch, files, read_pairs(files, size, verify, desc, progress)):
            reason = _uniform_reason(pair, mask_path)
            if reason:
                excluded[i] = reason
            else:
                ids.append(i)
                pairs.append(pair)
    return ids, pairs


def _split(name: str, ids: list[str], pairs: list[Pair], size: int, manifest_sha256: str) -> Split:
    """A Split with ids sorted."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    images, masks = stack([pairs[k] for k in order], size)
    return Split(name, images, masks, [ids[k] for k in order], manifest_sha256)


def _check_args(protocol: object, size: object, seed: object) -> int:
    """Validate the arguments of :func:`eg1800`; return the size as an int."""
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol={protocol!r}; expected one of {', '.join(map(repr, PROTOCOLS))}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}; expected a non-negative int")
    return check_size(size)


def eg1800(
    root: str | Path | None = None,
    protocol: str = "paper",
    size: int = 224,
    seed: int = 0,
    *,
    manifest: str | Path | None = None,
    progress: bool = True,
) -> EG1800Data:
    """Load EG1800 with a reproducible train / validation / test draw.

    Source: ``root``, else the ``LRN_DATA`` environment variable (either names the folder
    *holding* ``eg1800/``), else the user cache, downloaded and verified by
    :func:`lrn.data.download.fetch_eg1800` if needed.

    The official lists (``trainlist.mat``, ``testlist.mat``) define the candidate ids; an
    id is present when its photo exists (282 listed ids have none and are simply absent,
    counted in ``counts``). Id 02188 (see :data:`KNOWN_BROKEN`) is excluded before any
    draw; any other mask read that is all person or all background is excluded too and
    replaced by the next id of the draw. Exclusions are returned in ``excluded`` and
    reported by one warning per call.

    Protocols, with ``rng = numpy.random.default_rng(seed)`` permuting the sorted usable
    official training ids, then the sorted usable test ids:

    - ``"paper"``: the first 250 usable ids of the training permutation are the training
      split, the next 25 the validation split; the first 48 of the test permutation the
      test split.
    - ``"full"``: every usable official id; of the training permutation the last
      ``round(0.1 * n)`` ids (half rounded up) are the validation split, the rest training;
      every usable test id is in the test split.

    Every file of the chosen splits is read and checked: its sha256 against the manifest
    (a differing file is refused), the photo with :func:`lrn.imageops.read_photo`, the mask
    with :func:`lrn.imageops.read_mask` and :func:`lrn.imageops.match_mask_to_photo`. Both
    are resized to ``size x size`` ignoring the aspect ratio (photos bilinear, masks
    nearest).

    Parameters
    ----------
    root : str or Path, optional
        Folder holding ``eg1800/``.
    protocol : {"paper", "full"}
    size : int
        Side of the output images in pixels; a positive multiple of 32.
    seed : int
        Seed of the draw (non-negative). Same seed, same ids; the ids do not depend on
        ``size``.
    manifest : str or Path, optional
        sha256 manifest to verify against; default the packaged
        ``lrn/data/eg1800.SHA256SUMS`` (paths relative to ``eg1800/``).
    progress : bool
        Show a progress bar while reading (``False`` in rendered pages and other logs).

    Returns
    -------
    EG1800Data

    Raises
    ------
    InputError
        Unknown protocol, bad size or seed, missing folders or files (the message shows the
        expected layout and ``LRN_DATA``), a file differing from the manifest, any bad
        photo or mask, too few usable ids for the protocol.

    Warns
    -----
    UserWarning
        Listing the excluded ids and the number of absent ones.
    """
    size = _check_args(protocol, size, seed)
    root, source = _resolve_root(root)
    folder = _check_layout(root, source)
    manifest_path = Path(manifest) if manifest is not None else PACKAGED_MANIFEST
    entries = read_manifest(manifest_path)
    manifest_sha256 = sha256_file(manifest_path)
    verify = _Verifier(folder, entries, manifest_path)

    official = _official_lists(folder, verify)
    photos = {p.stem for p in (folder / PHOTO_DIR).iterdir() if p.suffix == ".jpg"}
    present = {k: [i for i in ids if i in photos] for k, ids in official.items()}
    excluded = {i: r for i, r in KNOWN_BROKEN.items() if i in photos}

    rng = np.random.default_rng(int(seed))
    order = {k: [str(i) for i in rng.permutation(sorted(set(ids) - set(excluded)))] for k, ids in present.items()}
    paper = protocol == "paper"
    need_train = PAPER_COUNTS["train"] + PAPER_COUNTS["val"] if paper else len(order["train"])
    need_test = PAPER_COUNTS["test"] if paper else len(order["test"])
    read = dict(folder=folder, size=size, verify=verify, excluded=excluded, progress=progress)
    train_ids, train_pairs = _take_usable(order["train"], need_train, desc="EG1800 train+val", **read)
    test_ids, test_pairs = _take_usable(order["test"], need_test, desc="EG1800 test", **read)
    if paper and (len(train_ids) < need_train or len(test_ids) < need_test):
        raise InputError(
            f"protocol 'paper' needs {need_train} usable official training ids and {need_test} test ids, but "
            f"{folder} has {len(train_ids)} and {len(test_ids)}; use protocol='full'"
        )
    n_val = PAPER_COUNTS["val"] if paper else int(FULL_VAL_FRACTION * len(train_ids) + 0.5)
    n_train = len(train_ids) - n_val

    counts = {
        **{f"official_{k}": len(v) for k, v in official.items()},
        **{f"present_{k}": len(present[k]) for k in official},
        **{f"absent_{k}": len(official[k]) - len(present[k]) for k in official},
        "unlisted": len(photos - set(official["train"]) - set(official["test"])),
        "excluded": len(excluded),
    }
    _report(excluded, counts)
    return EG1800Data(
        train=_split("train", train_ids[:n_train], train_pairs[:n_train], size, manifest_sha256),
        val=_split("val", train_ids[n_train:], train_pairs[n_train:], size, manifest_sha256),
        test=_split("test", test_ids, test_pairs, size, manifest_sha256),
        excluded=dict(sorted(excluded.items())),
        root=root,
        protocol=protocol,
        seed=int(seed),
        size=size,
        manifest_sha256=manifest_sha256,
        counts=counts,
    )


def _report(excluded: dict[str, str], counts: dict[str, int]) -> None:
    """One warning listing the excluded ids and counting the absent ones (none if nothing to say)."""
    if not excluded and not counts["absent_train"] and not counts["absent_test"]:
        return
    listed = "; ".join(f"{i}: {r}" for i, r in sorted(excluded.items())) or "none"
    warnings.warn(
        f"EG1800: excluded {len(excluded)} id(s) with a photo: {listed}. "
        f"{counts['absent_train']} training and {counts['absent_test']} test ids of the official lists "
        "have no photo and are absent.",
        UserWarning,
        stacklevel=3,
    )


def originals(ids: list[str], root: str | Path | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Photos and masks of EG1800 ``ids`` at their own resolution (600x800 for EG1800).

    Returns a list of ``(photo uint8 (H, W, 3), mask bool (H, W))``, one per id, in order.
    Used to score predictions at the photo's resolution rather than at 224x224.
    """
    folder = _check_layout(*_resolve_root(root))
    pairs = []
    for i in ids:
        photo = imageops.read_photo(folder / PHOTO_DIR / f"{i}.jpg")
        mask = imageops.read_mask(folder / MASK_DIR / f"{i}_mask.mat")
        if mask.shape != photo.shape[:2]:
            raise InputError(f"EG1800 id {i}: mask {mask.shape} and photo {photo.shape[:2]} differ in size")
        pairs.append((photo, mask))
    return pairs
