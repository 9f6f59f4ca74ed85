/* Pixel work of the Try-it page, on plain typed arrays (no DOM), the same as the Python
 * package does it, so that the browser feeds the model the very input `lrn whiten` would:
 *
 *  - resizeRGB / resizeFloat: Pillow's BILINEAR resize (src/libImaging/Resample.c), exactly:
 *    a separable triangle filter whose support grows with the reduction factor (antialiased
 *    when shrinking), horizontal pass first, 8-bit images in 22-bit fixed point, float maps in
 *    double with a float32 intermediate (lrn.imageops.resize_photo / resize_prob).
 *  - fitSquare / letterbox / unletterbox: lrn.letterbox (the "pad" feed); squash: the "squash" feed.
 *  - edgeAlpha / compose: lrn.cutout.edge_alpha and compose.
 *  - guidedFilter / refinementFor: lrn.refine.guided_filter with lrn.cutout.Refinement's settings
 *    (the edge refinement of `lrn whiten`).
 *  - largestComponentFilled / dilateCross / cleanProbability: lrn.postprocess.largest_component_filled
 *    and lrn.cutout.clean_probability (one person: the largest region, holes filled, a band of
 *    the map kept around it), which `lrn whiten` applies to the refined matte before the ramp.
 *
 * An image is {width, height, data}: data row-major, 3 interleaved channels (Uint8Array) for
 * a photo, 1 channel (Float32Array) for a probability map.
 */

const PRECISION_BITS = 22; // Pillow: 32 - 8 (bits of a pixel) - 2 (headroom)

function triangle(x) {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

/* Pillow's precompute_coeffs for the bilinear filter (support 1): for every output index the
 * first input index, the number of inputs and their normalised weights. */
export function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const base = xx * ksize;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      total += w;
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) weights[base + x] /= total;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, weights, bounds };
}

function fixedPoint(weights) {
  const out = new Int32Array(weights.length);
  const one = 2 ** PRECISION_BITS;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

function clip8(sum) {
  const v = Math.floor(sum / 2 ** PRECISION_BITS);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* The rows of the input that the vertical pass reads (Pillow resizes only those horizontally). */
function rowSpan(vertical, outH) {
  const first = vertical.bounds[0];
  const last = vertical.bounds[2 * outH - 2] + vertical.bounds[2 * outH - 1];
  return [first, last];
}

function resize(src, outW, outH, channels, horizontalPass, verticalPass, makeArray) {
  if (!(outW >= 1 && outH >= 1)) throw new Error(`resize to ${outW}x${outH}: sizes must be positive`);
  if (src.width === outW && src.height === outH) {
    return { width: outW, height: outH, data: src.data.slice() };
  }
  const vertical = coefficients(src.height, outH);
  let img = src;
  let rowOffset = 0;
  if (outW !== src.width) {
    const [first, last] = rowSpan(vertical, outH);
    const horizontal = coefficients(src.width, outW);
    const tmp = { width: outW, height: last - first, data: makeArray(outW * (last - first) * channels) };
    horizontalPass(tmp, src, first, horizontal);
    img = tmp;
    rowOffset = first;
  }
  if (outH === src.height) return img;
  const out = { width: outW, height: outH, data: makeArray(outW * outH * channels) };
  verticalPass(out, img, rowOffset, vertical);
  return out;
}

/* Pillow BILINEAR resize of an 8-bit RGB image ({width, height, data: 3 channels}). */
export function resizeRGB(src, outW, outH) {
  function horizontalPass(out, inp, firstRow, c) {
    const kk = fixedPoint(c.weights);
    const half = 2 ** (PRECISION_BITS - 1);
    for (let y = 0; y < out.height; y++) {
      const row = (y + firstRow) * inp.width * 3;
      for (let xx = 0; xx < out.width; xx++) {
        const xmin = c.bounds[2 * xx], n = c.bounds[2 * xx + 1], k = xx * c.ksize;
        let r = half, g = half, b = half;
        for (let x = 0; x < n; x++) {
          const p = row + (x + xmin) * 3, w = kk[k + x];
          r += inp.data[p] * w;
          g += inp.data[p + 1] * w;
          b += inp.data[p + 2] * w;
        }
        const o = (y * out.width + xx) * 3;
        out.data[o] = clip8(r);
        out.data[o + 1] = clip8(g);
        out.data[o + 2] = clip8(b);
      }
    }
  }
  function verticalPass(out, inp, rowOffset, c) {
    const kk = fixedPoint(c.weights);
    const half = 2 ** (PRECISION_BITS - 1);
    for (let yy = 0; yy < out.height; yy++) {
      const ymin = c.bounds[2 * yy] - rowOffset, n = c.bounds[2 * yy + 1], k = yy * c.ksize;
      for (let x = 0; x < out.width; x++) {
        let r = half, g = half, b = half;
        for (let y = 0; y < n; y++) {
          const p = ((y + ymin) * inp.width + x) * 3, w = kk[k + y];
          r += inp.data[p] * w;
          g += inp.data[p + 1] * w;
          b += inp.data[p + 2] * w;
        }
        const o = (yy * out.width + x) * 3;
        out.data[o] = clip8(r);
        out.data[o + 1] = clip8(g);
        out.data[o + 2] = clip8(b);
      }
    }
  }
  return resize(src, outW, outH, 3, horizontalPass, verticalPass, (n) => new Uint8Array(n));
}

/* Pillow BILINEAR resize of a float map (mode "F"; {width, height, data: Float32Array}). */
export function resizeFloat(src, outW, outH) {
  function horizontalPass(out, inp, firstRow, c) {
    for (let y = 0; y < out.height; y++) {
      const row = (y + firstRow) * inp.width;
      for (let xx = 0; xx < out.width; xx++) {
        const xmin = c.bounds[2 * xx], n = c.bounds[2 * xx + 1], k = xx * c.ksize;
        let s = 0;
        for (let x = 0; x < n; x++) s += inp.data[row + x + xmin] * c.weights[k + x];
        out.data[y * out.width + xx] = s;
      }
    }
  }
  function verticalPass(out, inp, rowOffset, c) {
    for (let yy = 0; yy < out.height; yy++) {
      const ymin = c.bounds[2 * yy] - rowOffset, n = c.bounds[2 * yy + 1], k = yy * c.ksize;
      for (let x = 0; x < out.width; x++) {
        let s = 0;
        for (let y = 0; y < n; y++) s += inp.data[(y + ymin) * inp.width + x] * c.weights[k + y];
        out.data[yy * out.width + x] = s;
      }
    }
  }
  return resize(src, outW, outH, 1, horizontalPass, verticalPass, (n) => new Float32Array(n));
}

/* Python's round(): halves go to the even neighbour (for x >= 0). */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/* Where a height x width photo sits in the size x size square (lrn.letterbox.fit_square). */
export function fitSquare(height, width, size) {
  const scale = size / Math.max(height, width);
  const innerHeight = Math.max(1, Math.min(size, roundHalfEven(height * scale)));
  const innerWidth = Math.max(1, Math.min(size, roundHalfEven(width * scale)));
  return {
    height, width, size, innerHeight, innerWidth,
    top: Math.floor((size - innerHeight) / 2),
    left: Math.floor((size - innerWidth) / 2),
  };
}

/* The photo scaled into the square, padded with `fill` (RGB): {square, box}. */
export function letterbox(photo, size, fill) {
  const box = fitSquare(photo.height, photo.width, size);
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set(fill, i * 3);
  const inner = resizeRGB(photo, box.innerWidth, box.innerHeight);
  for (let y = 0; y < box.innerHeight; y++) {
    const from = y * box.innerWidth * 3;
    data.set(inner.data.subarray(from, from + box.innerWidth * 3), ((y + box.top) * size + box.left) * 3);
  }
  return { square: { width: size, height: size, data }, box };
}

/* The photo resized to the whole square, its aspect ratio ignored (lrn's "squash" feed): {square, box},
 * the box covering the square, so that photoRegion and unletterbox take the whole map back. */
export function squash(photo, size) {
  const square = resizeRGB(photo, size, size);
  const box = { height: photo.height, width: photo.width, size, innerHeight: size, innerWidth: size, top: 0, left: 0 };
  return { square: { width: size, height: size, data: square.data }, box };
}

/* The model's input for `photo` as its feed asks ("pad": letterboxed, "squash": resized): {square, box}. */
export function feedPhoto(photo, size, fill, feed) {
  if (feed === "pad") return letterbox(photo, size, fill);
  if (feed === "squash") return squash(photo, size);
  throw new Error(`unknown feed "${feed}" (expected "pad" or "squash")`);
}

function crop(map, top, left, height, width) {
  const data = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const from = (y + top) * map.width + left;
    data.set(map.data.subarray(from, from + width), y * width);
  }
  return { width, height, data };
}

/* The photo's part of a square map at any level's resolution (lrn.letterbox.unletterbox's crop). */
export function photoRegion(map, box) {
  const s = map.width;
  if (s === box.size) return crop(map, box.top, box.left, box.innerHeight, box.innerWidth);
  const scale = s / box.size;
  const top = Math.floor(box.top * scale), left = Math.floor(box.left * scale);
  const bottom = Math.max(top + 1, Math.ceil((box.top + box.innerHeight) * scale));
  const right = Math.max(left + 1, Math.ceil((box.left + box.innerWidth) * scale));
  return crop(map, top, left, bottom - top, right - left);
}

/* A square map cropped to the photo and resized to outH x outW (lrn.letterbox.unletterbox). */
export function unletterbox(map, box, outH = box.height, outW = box.width) {
  return resizeFloat(photoRegion(map, box), outW, outH);
}

export function clip01(map) {
  const data = map.data.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v));
  return { width: map.width, height: map.height, data };
}

/* Opacity: 0 below `low`, 1 above `high`, smoothstep between (lrn.cutout.edge_alpha). The ramp
 * is lrn.cutout_model.SOFT_EDGE, read from config.json's "edge": no default here. */
export function edgeAlpha(prob, low, high) {
  const data = new Float32Array(prob.data.length);
  for (let i = 0; i < data.length; i++) {
    const t = Math.min(1, Math.max(0, (prob.data[i] - low) / (high - low)));
    data[i] = t * t * (3 - 2 * t);
  }
  return { width: prob.width, height: prob.height, data };
}

/* RGBA pixels (for ImageData) of the photo over a solid colour, or with the opacity as alpha. */
export function compose(photo, opacity, background /* [r, g, b] or null for transparency */) {
  const n = photo.width * photo.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const a = opacity.data[i];
    for (let c = 0; c < 3; c++) {
      const v = photo.data[i * 3 + c];
      out[i * 4 + c] = background ? Math.round(a * v + (1 - a) * background[c]) : v;
    }
    out[i * 4 + 3] = background ? 255 : Math.round(a * 255);
  }
  return out;
}

/* RGBA pixels of a [0, 1] map through a 256-entry colour table ([[r, g, b], ...]). */
export function colourMap(map, table) {
  const out = new Uint8ClampedArray(map.data.length * 4);
  for (let i = 0; i < map.data.length; i++) {
    const v = Math.min(1, Math.max(0, map.data[i]));
    const rgb = table[Math.min(255, Math.floor(v * 256))];
    out.set(rgb, i * 4);
    out[i * 4 + 3] = 255;
  }
  return out;
}

// ------------------------------------------------------------------ the guided filter (lrn.refine)

/* Mean over a (2r + 1)-wide window along one axis of a field of `channels` values per pixel,
 * edges reflected like scipy.ndimage.uniform_filter(mode="reflect") (d c b a | a b c d). */
function box1d(src, width, height, channels, r, alongRows) {
  const out = new Float64Array(src.length);
  const n = alongRows ? width : height, lines = alongRows ? height : width;
  const k = 2 * r + 1;
  const index = new Int32Array(n + 2 * r);
  for (let j = -r; j < n + r; j++) {
    let m = j;
    for (;;) {  // fold back until inside (several folds when r exceeds the line)
      if (m < 0) m = -m - 1;
      else if (m >= n) m = 2 * n - m - 1;
      else break;
    }
    index[j + r] = m;
  }
  for (let line = 0; line < lines; line++) {
    const at = (i) => (alongRows ? line * width + i : i * width + line) * channels;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += src[at(index[t]) + c];
      for (let i = 0; i < n; i++) {
        out[at(i) + c] = sum / k;
        if (i + 1 < n) sum += src[at(index[i + k]) + c] - src[at(index[i]) + c];
      }
    }
  }
  return out;
}

function box(src, width, height, channels, r) {
  return box1d(box1d(src, width, height, channels, r, false), width, height, channels, r, true);
}

function resizeChannels(src, width, height, channels, outW, outH) {
  const out = new Float32Array(outW * outH * channels);
  for (let c = 0; c < channels; c++) {
    const one = new Float32Array(width * height);
    for (let i = 0; i < one.length; i++) one[i] = src[i * channels + c];
    const small = resizeFloat({ width, height, data: one }, outW, outH).data;
    for (let i = 0; i < small.length; i++) out[i * channels + c] = small[i];
  }
  return out;
}

/* The refined matte of `prob` with `photo` as guide: lrn.refine.guided_filter (colour guided
 * filter, fitted on the photo shrunk by `subsample`, coefficients resized back). */
export function guidedFilter(photo, prob, radius, eps, subsample) {
  const W = photo.width, H = photo.height, N = W * H;
  const guideFull = new Float32Array(N * 3);
  for (let i = 0; i < N * 3; i++) guideFull[i] = photo.data[i] / 255;
  let guide = guideFull, p = Float32Array.from(prob.data), w = W, h = H, r = radius;
  if (subsample > 1) {
    w = Math.max(1, Math.floor(W / subsample));
    h = Math.max(1, Math.floor(H / subsample));
    guide = resizeChannels(guideFull, W, H, 3, w, h);
    p = resizeFloat({ width: W, height: H, data: p }, w, h).data;
    r = Math.max(1, Math.floor(radius / subsample));
  }
  const n = w * h;
  const ip = new Float32Array(n * 3), products = new Float32Array(n * 9);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      ip[i * 3 + c] = guide[i * 3 + c] * p[i];
      for (let d = 0; d < 3; d++) products[i * 9 + c * 3 + d] = guide[i * 3 + c] * guide[i * 3 + d];
    }
  }
  const meanI = box(guide, w, h, 3, r), meanP = box(p, w, h, 1, r);
  const meanIP = box(ip, w, h, 3, r), meanII = box(products, w, h, 9, r);
  const a = new Float64Array(n * 3), b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const mi = [meanI[i * 3], meanI[i * 3 + 1], meanI[i * 3 + 2]];
    const v = [0, 1, 2].map((c) => meanIP[i * 3 + c] - mi[c] * meanP[i]);
    const m = (c, d) => meanII[i * 9 + c * 3 + d] - mi[c] * mi[d] + (c === d ? eps : 0);
    const A = m(0, 0), B = m(0, 1), C = m(0, 2), D = m(1, 1), E = m(1, 2), F = m(2, 2);
    const c00 = D * F - E * E, c01 = C * E - B * F, c02 = B * E - C * D;
    const c11 = A * F - C * C, c12 = B * C - A * E, c22 = A * D - B * B;
    const det = A * c00 + B * c01 + C * c02;
    a[i * 3] = (c00 * v[0] + c01 * v[1] + c02 * v[2]) / det;
    a[i * 3 + 1] = (c01 * v[0] + c11 * v[1] + c12 * v[2]) / det;
    a[i * 3 + 2] = (c02 * v[0] + c12 * v[1] + c22 * v[2]) / det;
    b[i] = meanP[i] - (a[i * 3] * mi[0] + a[i * 3 + 1] * mi[1] + a[i * 3 + 2] * mi[2]);
  }
  let meanA = Float32Array.from(box(a, w, h, 3, r)), meanB = Float32Array.from(box(b, w, h, 1, r));
  if (subsample > 1) {
    meanA = resizeChannels(meanA, w, h, 3, W, H);
    meanB = resizeFloat({ width: w, height: h, data: meanB }, W, H).data;
  }
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = meanA[i * 3] * guideFull[i * 3] + meanA[i * 3 + 1] * guideFull[i * 3 + 1] + meanA[i * 3 + 2] * guideFull[i * 3 + 2] + meanB[i];
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { width: W, height: H, data: out };
}

/* lrn.cutout.Refinement's radius and subsample for a photo (Python's round: halves to even). */
export function refinementFor(height, width, settings) {
  const shorter = Math.min(height, width);
  return {
    radius: Math.max(1, roundHalfEven(settings.radius_fraction * shorter)),
    subsample: Math.max(1, Math.floor(shorter / settings.coarse_side)),
    eps: settings.eps,
  };
}

// ------------------------------------------------------------------ one person (lrn.postprocess, lrn.cutout)

/* The largest 4-connected region of a binary mask (Uint8Array, h x w, row-major, nonzero =
 * person) with its holes filled, as a new Uint8Array of 0/1: lrn.postprocess.largest_component_filled.
 * Regions are numbered in raster order of their first pixel, as skimage.measure.label numbers
 * them, and a tie in size keeps the first. A hole is background that is not 4-connected to the
 * image's border (scipy.ndimage.binary_fill_holes with its default cross). An empty mask stays empty. */
export function largestComponentFilled(mask, h, w) {
  const n = h * w;
  if (mask.length !== n) throw new Error(`mask of ${mask.length} pixels is not ${h} x ${w}`);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);  // every pixel enters once: marked when pushed
  const flood = (start, inside) => {  // marks in `seen` the 4-connected pixels where inside(i); returns their count
    let top = 0, count = 0;
    seen[start] = 1;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top], x = i % w;
      count++;
      if (x > 0 && !seen[i - 1] && inside(i - 1)) { seen[i - 1] = 1; stack[top++] = i - 1; }
      if (x < w - 1 && !seen[i + 1] && inside(i + 1)) { seen[i + 1] = 1; stack[top++] = i + 1; }
      if (i >= w && !seen[i - w] && inside(i - w)) { seen[i - w] = 1; stack[top++] = i - w; }
      if (i + w < n && !seen[i + w] && inside(i + w)) { seen[i + w] = 1; stack[top++] = i + w; }
    }
    return count;
  };
  const isPerson = (i) => mask[i] !== 0;
  let best = -1, bestSize = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] && !seen[i]) {
      const size = flood(i, isPerson);
      if (size > bestSize) { best = i; bestSize = size; }  // strictly larger: ties keep the first
    }
  }
  const keep = new Uint8Array(n);
  if (best < 0) return keep;
  seen.fill(0);
  flood(best, isPerson);
  const region = seen.slice();  // the largest region alone
  // The background reached from the border through 4-connected non-region pixels is outside;
  // everything else (the region and its holes) is kept.
  seen.fill(0);
  const outside = (i) => !region[i];
  for (let x = 0; x < w; x++) {
    for (const i of [x, (h - 1) * w + x]) if (!region[i] && !seen[i]) flood(i, outside);
  }
  for (let y = 0; y < h; y++) {
    for (const i of [y * w, y * w + w - 1]) if (!region[i] && !seen[i]) flood(i, outside);
  }
  for (let i = 0; i < n; i++) keep[i] = seen[i] ? 0 : 1;
  return keep;
}

/* The mask grown `band` times by the 3 x 3 cross (scipy.ndimage.binary_dilation with its default
 * structure and iterations=band, nothing outside the image): the pixels within city-block (L1)
 * distance `band` of the mask, from a two-pass distance transform whatever the band. */
export function dilateCross(mask, h, w, band) {
  const n = h * w, far = Math.min(band + 1, 65535);
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = mask[i] ? 0 : far;
  for (let y = 0; y < h; y++) {
    for (let x = 0, i = y * w; x < w; x++, i++) {
      let v = d[i];
      if (x > 0 && d[i - 1] + 1 < v) v = d[i - 1] + 1;
      if (y > 0 && d[i - w] + 1 < v) v = d[i - w] + 1;
      d[i] = v;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1, i = y * w + w - 1; x >= 0; x--, i--) {
      let v = d[i];
      if (x < w - 1 && d[i + 1] + 1 < v) v = d[i + 1] + 1;
      if (y < h - 1 && d[i + w] + 1 < v) v = d[i + w] + 1;
      d[i] = v;
    }
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = d[i] <= band ? 1 : 0;
  return out;
}

/* One person in a probability map (Float32Array, h x w): lrn.cutout.clean_probability. The mask
 * is the map above `threshold` (lrn.metrics.threshold_prob, strictly above); its largest region,
 * holes filled, is kept; the map is kept within round(edgeFraction x the diagonal) pixels of that
 * region (its soft edge) and is 0 beyond; holes inside become 1. An empty mask gives all zeros.
 * edgeFraction and threshold are lrn's (config.json's "clean"): no defaults here. */
export function cleanProbability(prob, h, w, edgeFraction, threshold) {
  if (!(typeof edgeFraction === "number" && typeof threshold === "number")) {
    throw new Error("cleanProbability needs the edge fraction and the threshold (config.json's \"clean\")");
  }
  const n = h * w;
  const person = new Uint8Array(n);
  for (let i = 0; i < n; i++) person[i] = prob[i] > threshold ? 1 : 0;
  const keep = largestComponentFilled(person, h, w);
  const out = new Float32Array(n);
  if (!keep.includes(1)) return out;
  const band = Math.max(1, roundHalfEven(edgeFraction * Math.hypot(h, w)));
  const near = dilateCross(keep, h, w, band);
  for (let i = 0; i < n; i++) out[i] = keep[i] && !person[i] ? 1 : near[i] ? prob[i] : 0;
  return out;
}
