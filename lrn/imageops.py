"""Reading and resizing photos, masks and probability maps: the one place that does it.

Every function checks its input and raises :class:`lrn.errors.InputError` with a message
naming the file or value and saying what was expected.

Conventions
-----------
- A *photo* is a ``uint8`` array of shape ``(H, W, 3)``, RGB, values 0..255.
- A *mask* is a ``bool`` array of shape ``(H, W)``, ``True`` = person.
- A *probability map* is a ``float32`` array of shape ``(H, W)``, values in [0, 1].
- Sizes are in pixels. A ``size`` argument is either one int ``S`` (meaning ``S x S``) or
  an ``(height, width)`` tuple.
- Resizing uses Pillow: photos and probability maps with its bilinear filter (pixel
  centres aligned; when shrinking, Pillow widens the filter so that every source pixel
  contributes, i.e. it anti-aliases), masks with nearest neighbour.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError

from lrn.errors import InputError

MIN_SIDE = 32
"""Smallest accepted photo height or width in pixels (one cell of the 32-pixel encoder grid)."""

MAX_ASPECT_MISMATCH = 0.02
"""Relative aspect-ratio difference up to which a mask is resized to its photo's size."""

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)


# ----------------------------------------------------------------------------- reading
def read_bytes(path: str | Path) -> bytes:
    """Return the bytes of a file, refusing missing, non-regular and empty files.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bytes
        The whole file content (at least one byte).

    Raises
    ------
    InputError
        If the path does not exist, is not a regular file, cannot be read or is empty.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"{path} is not a file (a folder?); expected an image or mask file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if not data:
        raise InputError(f"{path} is empty (0 bytes); expected an image or mask file")
    return data


def _open_image(path: Path, data: bytes, what: str) -> Image.Image:
    """Decode ``data`` completely with Pillow (first frame of a multi-frame file)."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()  # full decode: truncated or corrupt files fail here, not later
    except _DECODE_ERRORS as exc:
        raise InputError(
            f"cannot decode {what} {path}: {str(exc).split(' <_io.')[0]}; expected a complete image file Pillow can read "
            "(JPEG, PNG, BMP, TIFF, ...)"
        ) from exc
    return img


ORIENTATION_TAG = 0x0112
"""EXIF tag of the orientation: 1 = upright as stored, 2..8 = flips and quarter turns."""


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation (1..8) of a decoded image; 1 when it has none or an invalid one."""
    try:
        value = int(img.getexif().get(ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to ``pixels`` (``(H, W)`` or ``(H, W, C)``): the upright view.

    The same transforms as ``PIL.ImageOps.exif_transpose``: 2 mirror, 3 half turn, 4 flip,
    5 transpose, 6 quarter turn clockwise, 7 transverse, 8 quarter turn counter-clockwise.
    Orientations 5 to 8 swap height and width.
    """
    if orientation == 1:
        return pixels
    swapped = np.swapaxes(pixels, 0, 1)
    upright = {2: pixels[:, ::-1], 3: pixels[::-1, ::-1], 4: pixels[::-1], 5: swapped,
               6: swapped[:, ::-1], 7: swapped[::-1, ::-1], 8: swapped[::-1]}[orientation]
    return np.ascontiguousarray(upright)


def _to_rgb(img: Image.Image, path: Path) -> np.ndarray:
    """Convert a decoded Pillow image of any supported mode to ``uint8`` RGB ``(H, W, 3)``."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(img).astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise InputError(
                f"photo {path}: 32-bit integer pixel values outside 0..65535 "
                f"(found {values.min()}..{values.max()}); expected an 8- or 16-bit image"
            )
        grey = np.round(values / 257.0).astype(np.uint8)  # 65535 -> 255, scaled not clipped
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "F":
        raise InputError(
            f"photo {path} has floating-point pixels (Pillow mode 'F'); expected an 8- or "
            "16-bit RGB or greyscale image"
        )
    try:
        rgb = img.convert("RGB")  # L, LA, P, PA, 1, RGBA, CMYK, YCbCr, ...: alpha dropped
    except ValueError as exc:
        raise InputError(f"photo {path}: cannot convert Pillow mode {mode!r} to RGB: {exc}") from exc
    return np.array(rgb, dtype=np.uint8)


def read_photo(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """Read a photo as RGB.

    The file is decoded completely, so a truncated or corrupt file fails here.
    The format is detected from the content, not the extension: a JPEG named ``.png``
    still decodes. Of a multi-frame file (GIF, TIFF) the first frame is used.
    Conversions to RGB:

    - greyscale (``L``, ``1``, palette ``P``): grey copied to the three channels / palette
      colours looked up;
    - with alpha (``RGBA``, ``LA``, ``PA``): the alpha channel is dropped, the colour kept
      (not composited onto any background);
    - 16-bit greyscale (``I;16``, ``I``): scaled to 8 bits by ``round(v / 257)``;
      values outside 0..65535 raise; floating-point images (``F``) raise;
    - other modes Pillow converts (``CMYK``, ``YCbCr``): Pillow's conversion.

    Photos are returned upright: an EXIF orientation tag (a phone's "rotate 90 degrees") is
    applied to the pixels (:func:`orient`), so the result has the size a viewer shows.
    Readers of photo-mask pairs apply the same orientation to the mask.

    Parameters
    ----------
    path : str or Path
        The photo file; named in every error message.
    data : bytes, optional
        The file's bytes if already read (to hash and decode the same bytes); ``path`` is
        then only used in messages.

    Returns
    -------
    numpy.ndarray
        ``uint8``, shape ``(H, W, 3)``, RGB, with ``H, W >= 32``.

    Raises
    ------
    InputError
        Missing, empty, undecodable or truncated file; unsupported pixel format; a side
        shorter than 32 pixels.
    """
    path = Path(path)
    if data is None:
        data = read_bytes(path)
    img = _open_image(path, data, "photo")
    rgb = orient(_to_rgb(img, path), exif_orientation(img))
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(
            f"photo {path} is {w}x{h} pixels (W x H); expected at least {MIN_SIDE} pixels on each side"
        )
    return rgb


def _mask_from_mat(path: Path, data: bytes) -> np.ndarray:
    """The ``mask`` variable of a MATLAB v5 file as a 2-D numeric array."""
    try:
        content = scipy.io.loadmat(io.BytesIO(data))
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError, NotImplementedError...
        raise InputError(
            f"cannot read mask file {path} as a MATLAB v5 .mat file: {exc}"
        ) from exc
    if "mask" not in content:
        keys = sorted(k for k in content if not k.startswith("__"))
        raise InputError(f"mask file {path} has no variable 'mask' (found: {keys}); expected key 'mask'")
    values = np.asarray(content["mask"])
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim != 2 or values.dtype.kind not in "biuf":
        raise InputError(
            f"mask file {path}: variable 'mask' has shape {values.shape} and dtype {values.dtype}; "
            "expected a 2-D numeric array"
        )
    return values


def _mask_from_image(path: Path, data: bytes) -> np.ndarray:
    """The pixel values of a mask image as a 2-D array (colour -> brightest channel)."""
    img = _open_image(path, data, "mask")
    if img.mode == "1":
        return np.array(img, dtype=bool)
    if img.mode in ("L", "F") or img.mode.startswith("I"):
        values = np.array(img)
        if img.mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
            raise InputError(f"mask {path}: 32-bit values outside 0..65535; expected an 8- or 16-bit mask")
        return values.astype(np.uint16) if img.mode == "I" else values
    try:
        rgb = np.array(img.convert("RGB"), dtype=np.uint8)  # alpha dropped, palette looked up
    except ValueError as exc:
        raise InputError(f"mask {path}: cannot convert Pillow mode {img.mode!r}: {exc}") from exc
    return rgb.max(axis=2)


def _value_range(values: np.ndarray, path: Path) -> float:
    """Largest value of the mask's value range: 1.0 for floats, 255 or 65535 for integers."""
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise InputError(f"mask {path} contains NaN or infinite values; expected finite values")
        return 1.0
    if values.dtype == np.uint8:
        return 255
    if values.dtype == np.uint16:
        return 65535
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if lo < 0 or hi > 65535:
        raise InputError(
            f"mask {path} has integer values {lo}..{hi}; expected values within 0..255 or 0..65535"
        )
    return 255 if hi <= 255 else 65535


def mask_values_to_bool(values: np.ndarray, path: str | Path) -> np.ndarray:
    """Turn mask values into a boolean mask.

    Rule: values that are all in {0, 1} or all in {0, maxval} are taken as they are
    (1 or maxval = person); maxval is 255 for 8-bit, 65535 for 16-bit and 1.0 for
    floating-point masks (other integer types use the 8-bit range if their values fit,
    else the 16-bit one). Any other values are thresholded at half the range
    (``> 127``, ``> 32767``, ``> 0.5``) and a warning naming the file is issued.

    Parameters
    ----------
    values : numpy.ndarray
        2-D ``bool``, integer or floating-point array.
    path : str or Path
        The file the values came from, for messages.

    Returns
    -------
    numpy.ndarray
        ``bool``, same shape as ``values``.

    Raises
    ------
    InputError
        NaN/infinite values, negative or > 65535 integers.

    Warns
    -----
    UserWarning
        When non-binary values were thresholded.
    """
    path = Path(path)
    if values.dtype == bool:
        return values.copy()
    maxval = _value_range(values, path)
    if values.size == 0:
        raise InputError(f"mask {path} has no pixels (shape {values.shape})")
    hi = values.max()
    two_valued = values.min() >= 0 and (hi == 0 or np.count_nonzero(values) == np.count_nonzero(values == hi))
    if two_valued and hi in (0, 1, maxval):  # values within {0, 1} or {0, maxval}
        return values == hi if hi != 0 else np.zeros(values.shape, bool)
    present = np.unique(values)
    threshold = maxval / 2 if values.dtype.kind == "f" else maxval // 2
    shown = ", ".join(str(v) for v in present[:6]) + (", ..." if present.size > 6 else "")
    warnings.warn(
        f"mask {path} is not binary (values {shown}); thresholded at > {threshold}",
        UserWarning,
        stacklevel=3,
    )
    return values > threshold


def read_mask(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """Read a binary person mask from a ``.mat`` or an image file.

    - ``.mat`` (by extension): MATLAB v5 file read with :func:`scipy.io.loadmat`; the
      variable ``mask`` must be a 2-D numeric array.
    - anything else: an image file decoded by Pillow. A colour mask is first reduced to
      greyscale by taking its brightest channel (so any non-black colour counts like
      white); an alpha channel is dropped (for cut-outs use
      :func:`lrn.data.mask_from_cutout`); a palette image is looked up in its palette.

    The values are then turned to bool by :func:`mask_values_to_bool`: {0, 1} and {0, maxval} taken as
    they are, anything else thresholded at half the range with a warning.

    Parameters
    ----------
    path : str or Path
        The mask file; named in every error message.
    data : bytes, optional
        The file's bytes if already read; ``path`` is then only used for the extension and
        in messages.

    Returns
    -------
    numpy.ndarray
        ``bool``, shape ``(H, W)``, ``True`` = person.

    Raises
    ------
    InputError
        Missing, empty or unreadable file, a ``.mat`` without ``mask``, values that are
        not a 2-D numeric array.
    """
    path = Path(path)
    if data is None:
        data = read_bytes(path)
    if path.suffix.lower() == ".mat":
        values = _mask_from_mat(path, data)
    else:
        values = _mask_from_image(path, data)
    return mask_values_to_bool(values, path)


def read_alpha(path: str | Path) -> np.ndarray:
    """Read the alpha (opacity) channel of a cut-out image, e.g. a remove.bg PNG.

    Parameters
    ----------
    path : str or Path
        An image with transparency: mode ``RGBA``, ``LA``, ``PA`` or a palette image with
        a transparent colour.

    Returns
    -------
    numpy.ndarray
        ``uint8``, shape ``(H, W)``, 0 = transparent, 255 = opaque.

    Raises
    ------
    InputError
        Missing or undecodable file, or an image without transparency.
    """
    path = Path(path)
    img = _open_image(path, read_bytes(path), "cut-out")
    has_alpha = "A" in img.getbands() or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)
    if not has_alpha:
        raise InputError(
            f"cut-out {path} has no alpha channel (Pillow mode {img.mode!r}); expected a PNG with "
            "transparency, such as an RGBA cut-out saved by remove.bg"
        )
    return np.array(img.convert("RGBA"), dtype=np.uint8)[:, :, 3]


# ----------------------------------------------------------------------------- resizing
def _target_shape(size: int | tuple[int, int], what: str = "size") -> tuple[int, int]:
    """Normalise ``size`` (``S`` or ``(h, w)``) to a ``(h, w)`` tuple of positive ints."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        shape = (int(size), int(size))
    elif (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
    ):
        shape = (int(size[0]), int(size[1]))
    else:
        raise InputError(f"{what}={size!r}; expected a positive int or a (height, width) pair of ints")
    if min(shape) < 1:
        raise InputError(f"{what}={size!r}; expected positive sizes in pixels")
    return shape


def resize_photo(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a photo with Pillow's bilinear filter, ignoring its aspect ratio.

    Parameters
    ----------
    img : numpy.ndarray
        ``uint8``, shape ``(H, W, 3)``.
    size : int or (int, int)
        Target ``S`` (meaning ``S x S``) or ``(height, width)`` in pixels.

    Returns
    -------
    numpy.ndarray
        ``uint8``, shape ``(height, width, 3)``.
    """
    h, w = _target_shape(size)
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"photo array has shape {img.shape} and dtype {img.dtype}; expected uint8 (H, W, 3)")
    if img.shape[:2] == (h, w):
        return img.copy()
    return np.array(Image.fromarray(img).resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint8)


def resize_mask(mask: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a mask by nearest neighbour (Pillow ``NEAREST``, pixel centres aligned).

    Parameters
    ----------
    mask : numpy.ndarray
        ``bool``, shape ``(H, W)``.
    size : int or (int, int)
        Target ``S`` or ``(height, width)`` in pixels.

    Returns
    -------
    numpy.ndarray
        ``bool``, shape ``(height, width)``.
    """
    h, w = _target_shape(size)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim != 2:
        raise InputError(f"mask array has shape {mask.shape} and dtype {mask.dtype}; expected bool (H, W)")
    if mask.shape == (h, w):
        return mask.copy()
    small = Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)
    return np.asarray(small) > 127


def resize_prob(prob: np.ndarray, shape: int | tuple[int, int]) -> np.ndarray:
    """Resize a probability map bilinearly (Pillow mode ``'F'``, 32-bit float).

    Works for any sizes, up (``7x7 -> 224x224``) or down. The filter's weights are
    non-negative and sum to one, so the output stays within the input's value range.

    Parameters
    ----------
    prob : numpy.ndarray
        Floating-point (or integer), shape ``(H, W)`` or ``(H, W, 1)``, finite values.
    shape : int or (int, int)
        Target ``S`` or ``(height, width)`` in pixels.

    Returns
    -------
    numpy.ndarray
        ``float32``, shape ``(height, width)``.
    """
    h, w = _target_shape(shape, "shape")
    prob = np.asarray(prob)
    if prob.ndim == 3 and prob.shape[2] == 1:
        prob = prob[:, :, 0]
    if prob.ndim != 2 or prob.dtype.kind not in "biuf" or prob.size == 0:
        raise InputError(
            f"probability map has shape {prob.shape} and dtype {prob.dtype}; expected a non-empty "
            "2-D (H, W) or (H, W, 1) numeric array"
        )
    prob = prob.astype(np.float32)
    if not np.all(np.isfinite(prob)):
        raise InputError("probability map contains NaN or infinite values; expected finite values")
    if prob.shape == (h, w):
        return prob.copy()
    return np.array(Image.fromarray(prob).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def match_mask_to_photo(
    mask: np.ndarray, photo_shape: tuple[int, ...], mask_path: str | Path
) -> np.ndarray:
    """Bring a mask to its photo's size when the two differ only by scale.

    If the mask's aspect ratio is within 2 % of the photo's, the mask is resized by
    nearest neighbour to the photo's size; otherwise the pair is refused.

    Parameters
    ----------
    mask : numpy.ndarray
        ``bool``, shape ``(h, w)``.
    photo_shape : tuple of int
        The photo's shape, ``(H, W)`` or ``(H, W, 3)``.
    mask_path : str or Path
        The mask's file, for messages.

    Returns
    -------
    numpy.ndarray
        ``bool``, shape ``(H, W)``.

    Raises
    ------
    InputError
        Aspect ratios differ by more than 2 %; the message names the mask file and both
        sizes.
    """
    ph, pw = int(photo_shape[0]), int(photo_shape[1])
    mh, mw = mask.shape
    if (mh, mw) == (ph, pw):
        return mask
    mismatch = abs((mw / mh) / (pw / ph) - 1.0)
    if mismatch > MAX_ASPECT_MISMATCH:
        raise InputError(
            f"mask {mask_path} is {mw}x{mh} pixels (W x H) but its photo is {pw}x{ph}: the aspect "
            f"ratios differ by {mismatch:.1%} (more than {MAX_ASPECT_MISMATCH:.0%}); expected a mask "
            "of the photo's size or a scaled copy of it"
        )
    return resize_mask(mask, (ph, pw))
