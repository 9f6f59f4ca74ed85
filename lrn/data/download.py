"""Download EG1800 from its public source into a user cache and verify every file.

The source is the ``data/`` folder of github.com/bio-punk/AutoPortraitMatting at a pinned
commit, fetched as GitHub's zip archive of that commit. Every file is then checked
against a manifest of sha256 sums (default: the packaged ``eg1800.SHA256SUMS``), so the
archive itself needs no known hash.
"""
from __future__ import annotations

import os
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import pooch

from lrn.cache import cache_dir as lrn_cache_dir
from lrn.cache import sha256_file, sha256_text
from lrn.errors import InputError

PINNED_COMMIT = "5c89932069955ccf18a81ba824e466f8135aced4"
"""Commit of github.com/bio-punk/AutoPortraitMatting whose ``data/`` folder is EG1800 here."""

DEFAULT_URL = f"https://github.com/bio-punk/AutoPortraitMatting/archive/{PINNED_COMMIT}.zip"
"""GitHub's zip archive of :data:`PINNED_COMMIT`; ``LRN_EG1800_URL`` overrides it."""

PACKAGED_MANIFEST = Path(__file__).with_name("eg1800.SHA256SUMS")
"""sha256 sums of every EG1800 file, a copy of the mirror's ``SHA256SUMS``."""

LAYOUT = """\
eg1800/
  images_data_crop/NNNNN.jpg    the photos (e.g. 00001.jpg)
  images_mask/NNNNN_mask.mat    the masks, MATLAB v5, key 'mask'
  trainlist.mat                 key 'trainlist': official training ids
  testlist.mat                  key 'testlist': official test ids
  crop.txt"""
"""The folder layout EG1800 is expected in (that of the source repository's ``data/``)."""

_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def read_manifest(path: str | Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style manifest.

    Parameters
    ----------
    path : str or Path
        Text file of lines ``<64 hex digits>  <relative path>`` (``./`` prefix and the
        binary-mode ``*`` marker allowed; blank lines ignored).

    Returns
    -------
    dict of str to str
        Relative POSIX path without ``./`` -> lower-case sha256, in file order.

    Raises
    ------
    InputError
        Missing file, a malformed line (named by its number), an absolute path or one
        with ``..``, or no entries.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the manifest {path}: {exc}") from exc
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line.rstrip("\r"))
        rel = match.group(2).removeprefix("./") if match else ""
        if not match or rel.startswith("/") or ".." in rel.split("/"):
            raise InputError(
                f"manifest {path}, line {number}: {line!r}; expected '<sha256>  ./relative/path'"
            )
        entries[rel] = match.group(1).lower()
    if not entries:
        raise InputError(f"manifest {path} lists no files; expected lines '<sha256>  ./relative/path'")
    return entries


def first_problem(folder: Path, entries: dict[str, str]) -> str | None:
    """Check every manifest entry in order; describe the first missing or differing file.

    Parameters
    ----------
    folder : Path
        The folder the manifest's paths are relative to (``.../eg1800``).
    entries : dict of str to str
        From :func:`read_manifest`.

    Returns
    -------
    str or None
        ``None`` if every file exists with the listed sha256, else a sentence naming the
        first bad file.
    """
    for rel, expected in entries.items():
        file = folder / rel
        if not file.is_file():
            return f"{file} is missing"
        actual = sha256_file(file)
        if actual != expected:
            return f"{file} has sha256 {actual}, expected {expected}"
    return None


def _by_hand(cache: Path) -> str:
    """How to provide the files manually."""
    return (
        f"Put the files there by hand instead, in {cache / 'eg1800'} with the layout\n{LAYOUT}\n"
        f"(the data/ folder of github.com/bio-punk/AutoPortraitMatting at commit {PINNED_COMMIT}), "
        "or set the environment variable LRN_DATA to a folder holding eg1800/ with that layout."
    )


def _extract(zip_path: Path, dest: Path, entries: dict[str, str]) -> None:
    """Extract the members ``<top>/data/<rel>`` whose ``rel`` is in the manifest into ``dest``."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            parts = info.filename.split("/")
            rel = "/".join(parts[2:])
            if info.is_dir() or len(parts) < 3 or parts[1] != "data" or rel not in entries:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def fetch_eg1800(
    cache_dir: str | Path | None = None,
    url: str | None = None,
    manifest: str | Path | None = None,
) -> Path:
    """Make sure a verified copy of EG1800 is in the cache; download it if not.

    If ``<cache>/eg1800`` already holds every manifest file with the right sha256,
    nothing is downloaded. Otherwise the zip archive is fetched with :func:`pooch.retrieve`
    (with a progress bar) into ``<cache>/downloads/``, only the manifest's files under its
    ``<top folder>/data/`` are extracted into ``<cache>/eg1800.partial/``, every file is
    verified, the manifest is written beside them as ``SHA256SUMS``, the folder is renamed
    to ``<cache>/eg1800`` and the archive is deleted.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Default: the ``LRN_CACHE`` environment variable, else ``pooch.os_cache("lrn")``.
    url : str, optional
        Archive address. Default: the ``LRN_EG1800_URL`` environment variable, else
        :data:`DEFAULT_URL`.
    manifest : str or Path, optional
        sha256 manifest the files must match. Default: :data:`PACKAGED_MANIFEST`.

    Returns
    -------
    Path
        The cache folder, which holds ``eg1800/`` (pass it as ``root`` to
        :func:`lrn.data.eg1800`).

    Raises
    ------
    InputError
        The download failed (no network, bad address, ...) or the archive does not hold
        the expected files (the first missing or differing one is named; the archive is
        then deleted so that the next call downloads again). The message says where to
        put the files by hand.

    Warns
    -----
    UserWarning
        When an existing cached copy fails verification and is downloaded again.
    """
    cache = lrn_cache_dir(cache_dir)
    manifest_path = Path(manifest) if manifest is not None else PACKAGED_MANIFEST
    entries = read_manifest(manifest_path)
    target = cache / "eg1800"
    if target.is_dir():
        problem = first_problem(target, entries)
        if problem is None:
            return cache
        warnings.warn(
            f"cached EG1800 copy fails verification ({problem}); downloading again", UserWarning, stacklevel=2
        )

    url = url or os.environ.get("LRN_EG1800_URL") or DEFAULT_URL
    fname = f"eg1800-{sha256_text(url)[:16]}.zip"
    try:
        zip_path = Path(
            pooch.retrieve(url, known_hash=None, fname=fname, path=cache / "downloads", progressbar=True)
        )
    except Exception as exc:  # network, HTTP, file-system errors: all explained the same way
        raise InputError(
            f"could not download EG1800 from {url} into {cache / 'downloads'}: "
            f"{type(exc).__name__}: {exc}\n{_by_hand(cache)}"
        ) from exc

    partial = cache / "eg1800.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        try:
            _extract(zip_path, partial, entries)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(
                f"cannot extract the archive {zip_path} downloaded from {url}: {exc}\n{_by_hand(cache)}"
            ) from exc
        problem = first_problem(partial, entries)
        if problem is not None:
            raise InputError(
                f"the archive downloaded from {url} does not hold the expected EG1800 files: {problem} "
                f"(checked against {manifest_path}; the archive was deleted).\n{_by_hand(cache)}"
            )
    except InputError:
        shutil.rmtree(partial, ignore_errors=True)
        zip_path.unlink(missing_ok=True)
        raise
    shutil.copyfile(manifest_path, partial / "SHA256SUMS")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    zip_path.unlink(missing_ok=True)
    return cache
