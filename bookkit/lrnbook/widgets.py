"""Kernel-free interactive views for notebooks and the static book.

The one widget here, :func:`coarse_to_fine_explorer`, shows the label maps
``s1 .. s6`` of a Label Refinement Network one at a time, chosen with a slider.
It is built only from core ``ipywidgets`` models (``Stack``, ``Image``,
``SelectionSlider``, ``HTML``, boxes) tied together by a front-end link
(``ipywidgets.jslink``): no Python callback is involved, so the saved widget
state of an executed notebook is enough for the slider to work in the static
HTML book, where no kernel runs.

Why a ``SelectionSlider`` and not an ``IntSlider``
--------------------------------------------------
``jslink`` copies a value unchanged from one model to the other. A slider that
reads ``1 .. 6`` cannot drive a ``Stack`` whose ``selected_index`` counts from
``0`` without a transform, and transforms need a kernel. A ``SelectionSlider``
has both: its ``value`` is the level number ``1 .. 6`` (on the Python side),
its label reads ``s1 .. s6``, and its integer ``index`` (``0 .. 5``, the
trait that lives in the browser) is what is linked to
``Stack.selected_index``.
"""
from __future__ import annotations

import html
import io
from collections.abc import Sequence

import ipywidgets as w
import numpy as np
from matplotlib import colormaps
from PIL import Image as PILImage

from lrnbook.plots import TRUTH_OUTLINE, overlay, with_outline

__all__ = ["coarse_to_fine_explorer", "png_bytes", "probability_to_rgb"]


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an image as PNG.

    Parameters
    ----------
    rgb : numpy.ndarray
        ``(H, W, 3)`` or ``(H, W)`` array of dtype ``uint8``.

    Returns
    -------
    bytes
        The PNG file content (starts with ``b"\\x89PNG\\r\\n\\x1a\\n"``).
    """
    arr = np.ascontiguousarray(rgb)
    if arr.dtype != np.uint8:
        raise TypeError(f"png_bytes needs uint8 pixels, got {arr.dtype}")
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _nearest_resize(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D or 3-D array by index lookup (blocky on purpose)."""
    rows = (np.arange(height) * arr.shape[0] // height).clip(0, arr.shape[0] - 1)
    cols = (np.arange(width) * arr.shape[1] // width).clip(0, arr.shape[1] - 1)
    return arr[rows][:, cols]


def probability_to_rgb(prob: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Colour a probability map with a matplotlib colormap.

    Parameters
    ----------
    prob : numpy.ndarray
        2-D float array; values are clipped to ``[0, 1]``.
    cmap : str, optional
        Name of a matplotlib colormap (default ``"viridis"``: dark for background,
        yellow for person).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8`` RGB image of the same height and width as ``prob``.
    """
    p = np.clip(np.nan_to_num(np.asarray(prob, dtype=np.float64), nan=0.0), 0.0, 1.0)
    rgba = colormaps[cmap](p)
    return (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)


def _check_inputs(photo, truth, levels):
    photo = np.asarray(photo)
    truth = np.asarray(truth)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be an (H, W, 3) uint8 array, got shape {photo.shape} dtype {photo.dtype}")
    if truth.shape != photo.shape[:2]:
        raise ValueError(f"truth must be (H, W) = {photo.shape[:2]}, got {truth.shape}")
    if truth.dtype != bool:
        raise ValueError(f"truth must be a bool array, got dtype {truth.dtype}")
    if len(levels) == 0:
        raise ValueError("levels is empty: give at least one 2-D probability map")
    arrays = []
    for k, lev in enumerate(levels, start=1):
        a = np.asarray(lev)
        if a.ndim == 3 and a.shape[-1] == 1:  # a model's (h, w, 1) output
            a = a[..., 0]
        if a.ndim != 2:
            raise ValueError(f"levels[{k - 1}] (s{k}) must be 2-D, got shape {a.shape}")
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"levels[{k - 1}] (s{k}) must hold floats (probabilities), got {a.dtype}")
        arrays.append(a)
    sizes = [a.shape[0] * a.shape[1] for a in arrays]
    if any(b < a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(
            "levels must be ordered coarse to fine (non-decreasing size), got shapes "
            + ", ".join(str(a.shape) for a in arrays)
        )
    return photo, truth, arrays


def coarse_to_fine_explorer(
    photo: np.ndarray,
    truth: np.ndarray,
    levels: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    width_px: int = 200,
    style: str = "map",
    cmap: str = "viridis",
):
    """Build a slider that steps through the label maps s1 .. sK of one photo.

    The result is a plain ``ipywidgets`` container that works live in Jupyter
    and, after the notebook was executed with widget state saved, in the static
    HTML book with no kernel: the slider and the image stack are linked in the
    browser (``ipywidgets.jslink``), not through Python callbacks.

    Layout: ``VBox[ slider, HBox[ VBox[photo], VBox[truth], VBox[caption, Stack[Image s1 .. sK]] ] ]``;
    the panels wrap onto a new line when the page is narrow.

    Parameters
    ----------
    photo : numpy.ndarray
        ``(H, W, 3)`` ``uint8`` RGB photo.
    truth : numpy.ndarray
        ``(H, W)`` ``bool`` ground-truth mask (True = person).
    levels : sequence of numpy.ndarray
        The probability maps, coarse to fine, each 2-D float in ``[0, 1]`` (an
        ``(h, w, 1)`` model output is accepted too), e.g. an LRN's ``s1`` (7x7) ..
        ``s6`` (224x224). Sizes must not decrease.
    titles : sequence of str, optional
        One caption per level, shown above the level's picture (the slider itself
        reads ``s1 .. sK``). Default ``"s1: 7x7"``, ``"s2: 14x14"``, ... from the
        shapes.
    width_px : int, optional
        Display width in pixels of every panel (default 200, so that three panels
        fit side by side in the book's text column); the height follows
        the photo's aspect ratio. Each level is upsampled to this size by nearest
        neighbour, so coarse levels look blocky, as they are.
    style : {"map", "overlay"}, optional
        ``"map"`` (default) shows each level as a colour map (``cmap``);
        ``"overlay"`` tints the photo red in proportion to the probability.
    cmap : str, optional
        Matplotlib colormap for ``style="map"`` (default ``"viridis"``).

    Returns
    -------
    ipywidgets.VBox
        The explorer (CSS class ``lrn-coarse-to-fine``; the slider has class
        ``lrn-level-slider``, the image stack ``lrn-levels`` and the caption stack
        ``lrn-level-captions``, for browser tests). It carries these attributes:
        ``slider`` (the ``ipywidgets.SelectionSlider``; ``slider.value`` is the
        level number 1 .. K, ``slider.index`` is 0 .. K-1), ``stack`` (the
        ``ipywidgets.Stack`` of K ``ipywidgets.Image`` children, PNG bytes),
        ``link`` (the ``ipywidgets.Link`` from ``(slider, "index")`` to
        ``(stack, "selected_index")``), ``captions`` (a ``Stack`` of K
        ``ipywidgets.HTML`` captions) and ``caption_link`` (its link to the slider).

    Raises
    ------
    ValueError
        If shapes or dtypes are not as described, ``levels`` is empty or not
        ordered coarse to fine, ``titles`` has the wrong length, ``width_px`` is
        not positive, or ``style`` is unknown.

    Examples
    --------
    >>> import ipywidgets as w
    >>> import numpy as np
    >>> photo = np.zeros((32, 32, 3), np.uint8)
    >>> truth = np.zeros((32, 32), bool)
    >>> levels = [np.full((n, n), 0.5) for n in (4, 8, 16, 32)]
    >>> box = coarse_to_fine_explorer(photo, truth, levels, width_px=64)
    >>> len(box.stack.children), box.slider.value, box.stack.selected_index
    (4, 1, 0)
    """
    photo, truth, arrays = _check_inputs(photo, truth, levels)
    if style not in ("map", "overlay"):
        raise ValueError(f"style must be 'map' or 'overlay', got {style!r}")
    n = len(arrays)
    if titles is None:
        titles = [f"s{k}: {a.shape[0]}x{a.shape[1]}" for k, a in enumerate(arrays, start=1)]
    titles = [str(t) for t in titles]
    if len(titles) != n:
        raise ValueError(f"titles has {len(titles)} entries for {n} levels")

    width_px = int(width_px)
    if width_px < 1:
        raise ValueError(f"width_px must be positive, got {width_px}")
    height_px = max(1, round(width_px * photo.shape[0] / photo.shape[1]))

    photo_disp = np.asarray(
        PILImage.fromarray(photo).resize((width_px, height_px), PILImage.Resampling.BILINEAR)
    )
    truth_disp = _nearest_resize(truth, height_px, width_px)
    truth_rgb = framed(np.where(truth_disp[..., None], np.uint8(255), np.uint8(0)).repeat(3, axis=2))

    def panel(rgb: np.ndarray) -> w.Image:
        return w.Image(
            value=png_bytes(rgb),
            format="png",
            width=str(width_px),
            height=str(height_px),
            layout=w.Layout(width=f"{width_px}px", height=f"{height_px}px"),
        )

    level_images = []
    for a in arrays:
        up = _nearest_resize(a.astype(np.float64), height_px, width_px)
        rgb = probability_to_rgb(up, cmap) if style == "map" else overlay(photo_disp, up)
        level_images.append(panel(rgb))

    stack = w.Stack(children=level_images, selected_index=0)
    stack.add_class("lrn-levels")
    captions = w.Stack(children=[w.HTML(f"<b>{html.escape(t)}</b>") for t in titles], selected_index=0)
    captions.add_class("lrn-level-captions")
    slider = w.SelectionSlider(
        options=[(f"s{k}", k) for k in range(1, n + 1)],
        value=1,
        description="level",
        continuous_update=True,
        readout=True,
        layout=w.Layout(width=f"{max(2 * width_px, 240)}px"),
        style={"description_width": "initial"},
    )
    slider.add_class("lrn-level-slider")
    link = w.jslink((slider, "index"), (stack, "selected_index"))
    caption_link = w.jslink((slider, "index"), (captions, "selected_index"))

    def captioned(caption: w.Widget, child: w.Widget) -> w.VBox:
        return w.VBox([caption, child])

    panels = w.HBox(
        [
            captioned(w.HTML("<b>photo</b>"), panel(photo_disp)),
            captioned(w.HTML("<b>truth</b>"), panel(truth_rgb)),
            captioned(captions, stack),
        ],
        layout=w.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px"),
    )
    box = w.VBox([slider, panels])
    box.add_class("lrn-coarse-to-fine")
    box.slider = slider
    box.stack = stack
    box.link = link
    box.captions = captions
    box.caption_link = caption_link
    return box


CMAP = "viridis"
"""Colours of the label maps, in the explorer and in the static figures of the same page."""


def colour_bar_html(cmap: str = CMAP, width_px: int = 240) -> str:
    """A horizontal colour bar for probability maps: a CSS gradient (no image, no request) with its ends named."""
    stops = ", ".join(f"rgb{tuple(int(v) for v in probability_to_rgb(np.array([[t]]), cmap)[0, 0])} {100 * t:.0f}%"
                      for t in np.linspace(0, 1, 9))
    return (f'<div class="lrn-colour-bar" style="display:flex;flex-wrap:wrap;align-items:center;gap:2px 6px;'
            f'font-size:0.9em"><span style="display:flex;align-items:center;gap:6px"><span>0 (background)</span>'
            f'<span style="display:inline-block;width:{width_px}px;max-width:30vw;height:12px;'
            f'background:linear-gradient(to right, {stops})"></span><span>1 (person)</span></span>'
            f'<span style="margin-left:6px;color:rgb{TRUTH_OUTLINE}">&#9473; outline of the truth</span></div>')


def level_picture(level: np.ndarray, truth: np.ndarray, height_px: int, width_px: int, cmap: str = CMAP) -> np.ndarray:
    """One label map as shown: blocky upsampling to the panel, colour map, the truth's outline on top (uint8 RGB)."""
    rgb = probability_to_rgb(_nearest_resize(np.asarray(level, np.float64), height_px, width_px), cmap)
    return with_outline(rgb, _nearest_resize(truth, height_px, width_px))


FRAME = (128, 128, 128)
"""The grey of the one-pixel frame drawn round a truth panel: a white person at its edge would
otherwise melt into the white page."""


def framed(rgb: np.ndarray) -> np.ndarray:
    """A copy of an ``(H, W, 3)`` uint8 picture with a one-pixel :data:`FRAME` round it."""
    out = np.array(rgb, copy=True)
    out[[0, -1], :] = FRAME
    out[:, [0, -1]] = FRAME
    return out


def levels_explorer(items: Sequence[dict], width_px: int = 150, cmap: str = CMAP):
    """One slider that steps every shown photo and run through its label maps s1 .. sK together.

    Parameters
    ----------
    items : sequence of dict
        One per photo: ``label`` (str, shown above the row), ``photo`` (``(H, W, 3)`` uint8),
        ``truth`` (``(H, W)`` bool), ``runs`` (``{run name: [s1 .. sK maps]}``, coarse to
        fine, every run with the same K) and ``scores`` (``{run name: [(Jaccard %, Hausdorff
        px) of s1 .. sK]}``), shown under each map with its level.
    width_px : int
        Width of every panel in pixels (default 150: photo, truth and two runs side by side
        fit the book's text column).
    cmap : str
        Colour map of the label maps (:data:`CMAP`); a colour bar names its ends.

    Returns
    -------
    ipywidgets.VBox
        Class ``lrn-coarse-to-fine``; the slider has class ``lrn-level-slider``, every image
        stack ``lrn-levels`` and every caption stack ``lrn-level-captions``. Attributes
        ``slider``, ``stacks`` and ``links`` (one ``jslink`` per stack, all from the slider's
        ``index``): kernel-free, like :func:`coarse_to_fine_explorer`.
    """
    if not items:
        raise ValueError("items is empty: give at least one photo")
    counts = {len(levels) for item in items for levels in item["runs"].values()}
    if len(counts) != 1:
        raise ValueError(f"every run must have the same number of levels, got {sorted(counts)}")
    n = counts.pop()
    slider = w.SelectionSlider(options=[(f"s{k}", k) for k in range(1, n + 1)], value=1, description="level",
                               continuous_update=True, readout=True, layout=w.Layout(width="320px"),
                               style={"description_width": "initial"})
    slider.add_class("lrn-level-slider")
    rows, stacks, links = [], [], []
    for item in items:
        photo, truth, _ = _check_inputs(item["photo"], item["truth"], next(iter(item["runs"].values())))
        height_px = max(1, round(width_px * photo.shape[0] / photo.shape[1]))

        def panel(rgb):
            return w.Image(value=png_bytes(rgb), format="png", width=str(width_px), height=str(height_px),
                           layout=w.Layout(width=f"{width_px}px", height=f"{height_px}px"))

        photo_disp = np.asarray(PILImage.fromarray(photo).resize((width_px, height_px), PILImage.Resampling.BILINEAR))
        truth_rgb = framed(np.where(_nearest_resize(truth, height_px, width_px)[..., None], np.uint8(255),
                                    np.uint8(0)).repeat(3, axis=2))
        panels = [w.VBox([w.HTML("<b>photo</b>"), panel(photo_disp)]), w.VBox([w.HTML("<b>truth</b>"), panel(truth_rgb)])]
        for run, levels in item["runs"].items():
            _, _, arrays = _check_inputs(photo, truth, levels)
            stack = w.Stack(children=[panel(level_picture(a, truth, height_px, width_px, cmap)) for a in arrays],
                            selected_index=0)
            stack.add_class("lrn-levels")
            scores = item["scores"][run]
            captions = w.Stack(children=[w.HTML(
                f"<b>s{k}</b> {html.escape(run)} ({a.shape[0]}x{a.shape[1]})<br>J {j:.1f} %, H {h:.1f} px")
                for k, (a, (j, h)) in enumerate(zip(arrays, scores), start=1)], selected_index=0)
            captions.add_class("lrn-level-captions")
            links += [w.jslink((slider, "index"), (stack, "selected_index")),
                      w.jslink((slider, "index"), (captions, "selected_index"))]
            stacks.append(stack)
            panels.append(w.VBox([captions, stack]))
        rows += [w.HTML(f"<b>{html.escape(item['label'])}</b>"),
                 w.HBox(panels, layout=w.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px"))]
    box = w.VBox([slider, w.HTML(colour_bar_html(cmap)), *rows])
    box.add_class("lrn-coarse-to-fine")
    box.slider, box.stacks, box.links = slider, stacks, links
    return box
