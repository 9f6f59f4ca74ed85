/* The Try-it page: the shipped cut-out model on the reader's own photo, in the browser.
 *
 * Everything runs here: the photo is decoded by the browser (EXIF orientation applied, no
 * colour management, like Pillow), squashed or letterboxed into the model's 224 x 224 square
 * exactly as lrn.segment does (imaging.js, the model card's feed), run by LiteRT.js (WebAssembly, the CPU) on the same
 * .tflite file that `lrn whiten` runs, and its six label maps are cropped back to the photo.
 * Nothing is sent anywhere: the page makes no request but for its own files.
 *
 * The page's elements carry ids starting with "tryit-" (book/tryit.md). The root element's
 * data-state is "loading", "ready", "busy", "done" or "error" (tests wait on it);
 * window.lrnTryit holds the last result (maps as Float32Array) for the tests.
 */
import { loadLiteRt, loadAndCompile, Tensor } from "@litertjs/core";
import * as im from "./imaging.js";

const HERE = new URL(".", import.meta.url);
const MODEL_DIR = new URL("../tryit-model/", HERE);
const WASM_DIR = new URL("../vendor/litertjs/core/wasm/", HERE);
const FORMATS = "JPEG, PNG, WebP, GIF or BMP";

const $ = (id) => document.getElementById(`tryit-${id}`);
const root = $("app");
const state = { config: null, model: null, photo: null, result: null };
window.lrnTryit = state;  // the tests and benchmarks/tryit_browser.py also call state.forward and state.segment

function setState(name) {
  root.dataset.state = name;
  for (const el of root.querySelectorAll("input, button")) el.disabled = name === "loading" || name === "busy";
}

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.className = `tryit-message tryit-${kind}`;
}

function notes(lines) {
  const list = $("notes");
  list.replaceChildren(...lines.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
  list.hidden = lines.length === 0;
}

const paint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const ms = (t) => `${Math.round(t)} ms`;
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// ------------------------------------------------------------------ reading the file

/* What the file's first bytes say: its format, and for JPEG and PNG the size and colour kind
 * (read before decoding, so that a huge photo is refused before it takes the memory). */
export function sniff(bytes) {
  const b = bytes;
  const ascii = (from, n) => String.fromCharCode(...b.subarray(from, from + n));
  if (b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) { i++; continue; }
      const marker = b[i + 1];
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xff) { i += marker === 0xff ? 1 : 2; continue; }
      const length = (b[i + 2] << 8) | b[i + 3];
      const frame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (frame) {
        const height = (b[i + 5] << 8) | b[i + 6], width = (b[i + 7] << 8) | b[i + 8], components = b[i + 9];
        return { format: "JPEG", width, height, colour: { 1: "grey", 3: "colour", 4: "CMYK" }[components] || `${components} channels` };
      }
      i += 2 + length;
    }
    return { format: "JPEG" };
  }
  if (ascii(0, 8) === "\x89PNG\r\n\x1a\n") {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const width = view.getUint32(16), height = view.getUint32(20), type = b[25];
    let alpha = type === 4 || type === 6;
    for (let i = 8; !alpha && i + 8 <= b.length;) {  // a tRNS chunk also makes pixels transparent
      const length = view.getUint32(i), name = ascii(i + 4, 4);
      if (name === "tRNS") alpha = true;
      if (name === "IDAT" || name === "IEND") break;
      i += 12 + length;
    }
    return { format: "PNG", width, height, colour: type === 0 || type === 4 ? "grey" : "colour", alpha };
  }
  if (ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") return { format: "WebP" };
  if (ascii(0, 4) === "GIF8") return { format: "GIF" };
  if (ascii(0, 2) === "BM") return { format: "BMP" };
  return null;
}

function checkSize(width, height, name) {
  const { min_side: minSide, max_pixels: maxPixels } = state.config;
  if (width * height > maxPixels) {
    throw new Error(`${name} is ${width} x ${height} pixels (${(width * height / 1e6).toFixed(0)} megapixels); ` +
      `this page takes photos up to ${maxPixels / 1e6} megapixels: scale it down first.`);
  }
  if (Math.min(width, height) < minSide) {
    throw new Error(`${name} is ${width} x ${height} pixels; the model needs at least ${minSide} pixels on each side.`);
  }
}

/* The photo's RGB pixels, upright, plus notes for the reader about what was done to it. */
async function readPhoto(blob, name) {
  const head = sniff(new Uint8Array(await blob.slice(0, 256 * 1024).arrayBuffer()));
  if (!head) throw new Error(`${name} is not an image this page can read (${FORMATS}).`);
  if (head.width) checkSize(head.width, head.height, name);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch (error) {
    throw new Error(`${name} looks like a ${head.format} file but the browser cannot decode it (damaged or cut short?).`);
  }
  const { width, height } = bitmap;
  checkSize(width, height, name);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  let transparent = 0;
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3];
    if (a === 255) {
      data[j] = rgba[i]; data[j + 1] = rgba[i + 1]; data[j + 2] = rgba[i + 2];
    } else {  // put see-through pixels on white: their hidden colour is lost in a canvas
      transparent++;
      for (let c = 0; c < 3; c++) data[j + c] = Math.round((rgba[i + c] * a + 255 * (255 - a)) / 255);
    }
  }
  const said = [];
  if (head.width && (head.width !== width || head.height !== height)) {
    said.push(`The photo's EXIF orientation turns it upright: stored ${head.width} x ${head.height}, shown ${width} x ${height}.`);
  }
  if (head.colour === "grey") said.push("A greyscale photo: the model sees the same grey in its three colour channels, as lrn whiten does.");
  if (head.colour === "CMYK") {
    said.push("A CMYK JPEG (a print file): the browser turned it into RGB; its colours, and so the cut-out, " +
      "can differ a little from lrn whiten's, which converts CMYK with Pillow.");
  }
  if (transparent) {
    said.push(`${(100 * transparent / (width * height)).toFixed(1)} % of the pixels are transparent: the model sees them on white ` +
      "(lrn whiten drops the alpha channel and keeps their hidden colours).");
  }
  return { photo: { width, height, data }, said };
}

// ------------------------------------------------------------------ the model

async function forward(square) {
  const input = new Float32Array(square.data.length);
  for (let i = 0; i < input.length; i++) input[i] = square.data[i];  // 0..255: the model normalises itself
  const tensor = new Tensor(input, [1, square.height, square.width, 3]);
  let outputs;
  try {
    outputs = await state.model.run(tensor);
  } finally {
    tensor.delete();
  }
  try {
    // s1 .. s6 are told apart by their side (the converter's output order is its own)
    const maps = outputs.map((t) => {
      const data = Float32Array.from(t.toTypedArray());
      const side = Math.round(Math.sqrt(data.length));
      return { width: side, height: side, data };
    });
    return maps.sort((a, b) => a.width - b.width);
  } finally {
    for (const t of outputs) t.delete();
  }
}

async function segment(photo) {
  const { size, fill, feed } = state.config;
  const t0 = performance.now();
  const { square, box } = im.feedPhoto(photo, size, fill, feed);
  const t1 = performance.now();
  const levels = await forward(square);
  const t2 = performance.now();
  const prob = im.clip01(im.unletterbox(levels[levels.length - 1], box));
  const t3 = performance.now();
  const result = { box, square, levels, prob };
  result.opacity = opacityOf(photo, result);
  result.refinedEdges = $("refine").checked;
  const t4 = performance.now();
  result.timings = { input: t1 - t0, model: t2 - t1, back: t3 - t2, edges: t4 - t3, total: t4 - t0 };
  if (result.refinedEdges) result.refinedMs = t4 - t3;
  return result;
}

/* The cut-out's opacity, as lrn whiten makes it (lrn.cutout.opacity): the map cleaned (the largest
 * person region kept, holes filled, the map kept only in a band around it) and refined with the
 * photo as guide, in the order of config.json's "steps" (lrn.cutout.WHITEN_STEPS), then the
 * soft-edge ramp (lrn whiten's default; kept in result.refinedOpacity, the matte before the ramp
 * in result.matte); or, with the box
 * unticked, the map, cleaned if the model's card says so, with the ramp (lrn whiten --refine none). */
function opacityOf(photo, result) {
  const { width: w, height: h } = photo;
  const ramp = (data) => im.edgeAlpha({ width: w, height: h, data }, state.config.edge.low, state.config.edge.high);
  const clean = (data) => im.cleanProbability(data, h, w, state.config.clean.edge_fraction, state.config.clean.threshold);
  if ($("refine").checked) {
    if (!result.refinedOpacity) {
      const s = im.refinementFor(h, w, state.config.refinement);
      const apply = {
        clean: (map) => ({ width: w, height: h, data: clean(map.data) }),
        refine: (map) => im.guidedFilter(photo, map, s.radius, s.eps, s.subsample),
      };
      let map = result.prob;
      for (const step of state.config.steps) {
        if (!apply[step]) throw new Error(`config.json names an unknown step "${step}"`);
        map = apply[step](map);
      }
      result.matte = map;
      result.refinedOpacity = ramp(map.data);
    }
    return result.refinedOpacity;
  }
  return ramp(state.config.clean.default ? clean(result.prob.data) : result.prob.data);
}

state.forward = forward;
state.segment = segment;

// ------------------------------------------------------------------ drawing

function canvasOf(id, width, height, rgba) {
  const canvas = $(id);
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas;
}

function photoRGBA(photo) {
  const out = new Uint8ClampedArray(photo.width * photo.height * 4);
  for (let i = 0, j = 0; j < photo.data.length; i += 4, j += 3) {
    out[i] = photo.data[j]; out[i + 1] = photo.data[j + 1]; out[i + 2] = photo.data[j + 2]; out[i + 3] = 255;
  }
  return out;
}

function greyRGBA(map) {
  const out = new Uint8ClampedArray(map.data.length * 4);
  for (let i = 0; i < map.data.length; i++) {
    const v = Math.round(map.data[i] * 255);
    out[i * 4] = out[i * 4 + 1] = out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
  return out;
}

function showLevel(k) {
  const { result, config } = state;
  if (!result) return;
  const level = result.levels[k - 1];
  const region = im.photoRegion(level, result.box);
  canvasOf("level", region.width, region.height, im.colourMap(region, config.colours));
  $("level").style.aspectRatio = `${result.box.width} / ${result.box.height}`;
  $("level-caption").textContent = `s${k}: the model's ${level.width} x ${level.height} map; ` +
    `shown: its ${region.width} x ${region.height} part over the photo`;
  for (const thumb of root.querySelectorAll(".tryit-thumb")) thumb.classList.toggle("tryit-selected", Number(thumb.dataset.level) === k);
  $("level-slider").value = String(k);
  $("level-readout").textContent = `s${k}`;
}

function drawThumbnails() {
  const { result, config } = state;
  const strip = $("thumbs");
  strip.replaceChildren(...result.levels.map((level, i) => {
    const region = im.photoRegion(level, result.box);
    const canvas = document.createElement("canvas");
    canvas.width = region.width;
    canvas.height = region.height;
    canvas.getContext("2d").putImageData(new ImageData(im.colourMap(region, config.colours), region.width, region.height), 0, 0);
    canvas.className = "tryit-thumb";
    canvas.dataset.level = String(i + 1);
    canvas.style.aspectRatio = `${result.box.width} / ${result.box.height}`;
    canvas.title = `s${i + 1} (${level.width} x ${level.height})`;
    canvas.addEventListener("click", () => showLevel(i + 1));
    const figure = document.createElement("figure");
    figure.append(canvas, Object.assign(document.createElement("figcaption"), { textContent: `s${i + 1}` }));
    return figure;
  }));
}

function stemOf(name) {
  return name.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "") || "photo";
}

function drawCutOut() {
  const { photo, result } = state;
  const { width, height } = photo;
  canvasOf("mask", width, height, greyRGBA(result.opacity));
  canvasOf("white", width, height, im.compose(photo, result.opacity, [255, 255, 255]));
  canvasOf("transparent", width, height, im.compose(photo, result.opacity, null));
}

function drawResult(name) {
  const { photo } = state;
  canvasOf("photo", photo.width, photo.height, photoRGBA(photo));
  drawCutOut();
  drawThumbnails();
  showLevel(Number($("level-slider").value) || result.levels.length);
  const stem = stemOf(name);
  $("save-white").dataset.filename = `${stem}_white.png`;
  $("save-transparent").dataset.filename = `${stem}_cutout.png`;
  $("save-mask").dataset.filename = `${stem}_mask.png`;
  $("results").hidden = false;
}

function save(canvasId, button) {
  $(canvasId).toBlob((blob) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }, "image/png");
}

// ------------------------------------------------------------------ wiring

const STEP_WORDS = { clean: "largest region kept", refine: "edges refined with the photo" };

/* The line above the pictures: the photo, and how long each step took; the last step names
 * what made the cut-out's edge (config.json's steps in their order and the ramp, or the ramp
 * alone when "refine" is unticked). */
function statusLine(name, photo, result) {
  const t = result.timings;
  const cleaned = state.config.clean.default ? "largest region kept, " : "";
  const edge = result.refinedEdges
    ? `${state.config.steps.map((step) => STEP_WORDS[step] + ", ").join("")}soft edge ramp ${ms(t.edges)}`
    : `${cleaned}soft edge ramp ${ms(t.edges)}, not refined`;
  return `${name}: ${photo.width} x ${photo.height} pixels, segmented in ${ms(t.total)} on this computer ` +
    `(${state.config.feed === "pad" ? "letterbox" : "resize"} ${ms(t.input)}, model ${ms(t.model)}, map back to the photo ${ms(t.back)}, ${edge}).`;
}

async function run(blob, name) {
  setState("busy");
  say(`Reading ${name} ...`);
  await paint();
  try {
    const { photo, said } = await readPhoto(blob, name);
    say(`Segmenting ${name} (${photo.width} x ${photo.height}) ...`);
    await paint();
    state.photo = photo;
    state.result = await segment(photo);
    state.result.name = name;
    drawResult(name);
    say(statusLine(name, photo, state.result), "ok");
    notes(said);
    setState("done");
  } catch (error) {
    say(error instanceof Error ? error.message : String(error), "error");
    notes([]);
    setState("error");
    console.info("Try-it:", error);
  }
}

async function start() {
  setState("loading");
  try {
    const t0 = performance.now();
    const response = await fetch(new URL("config.json", MODEL_DIR));
    if (!response.ok) throw new Error(`the model's description (config.json) is missing from this build (HTTP ${response.status})`);
    state.config = await response.json();
    if (!["pad", "squash"].includes(state.config.feed)) throw new Error(`the model is fed "${state.config.feed}", which this page cannot do`);
    say(`Loading LiteRT.js and the model (${megabytes(state.config.model_bytes)}) ...`);
    // The runtime's native log (its stdout and stderr) goes to the console's debug level: it
    // reports which accelerators exist, nothing a reader needs, and not errors.
    window.Module = { print: (text) => console.debug(text), printErr: (text) => console.debug(text) };
    await loadLiteRt(WASM_DIR.href);
    state.model = await loadAndCompile(new URL(state.config.model, MODEL_DIR).href, { accelerator: "wasm" });
    state.loadMs = performance.now() - t0;
    const sides = state.model.getOutputDetails().map((d) => d.shape[1]).sort((a, b) => a - b);
    const wanted = state.config.levels.map((l) => l.side);
    if (sides.join() !== wanted.join()) throw new Error(`the model's outputs are ${sides.join(", ")} pixels wide, expected ${wanted.join(", ")}`);
  } catch (error) {
    say(`The model could not be loaded: ${error instanceof Error ? error.message : error}`, "error");
    setState("error");
    console.info("Try-it:", error);
    return;
  }
  const bar = $("colourbar");
  canvasOf("colourbar", 256, 1, im.colourMap({ data: Float32Array.from({ length: 256 }, (_, i) => (i + 0.5) / 256) }, state.config.colours));
  bar.title = "probability of person";
  const samples = $("samples");
  for (const sample of state.config.samples) {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: sample.label });
    button.className = "tryit-sample";
    button.addEventListener("click", async () => {
      const name = sample.file.replace(/^.*\//, "");
      const response = await fetch(new URL(sample.file, MODEL_DIR)).catch(() => null);
      if (response && response.ok) run(await response.blob(), name);
      else say(`The sample photo ${name} is missing from this build.`, "error");
    });
    samples.append(button);
  }
  if (!state.config.samples.length) samples.append("(this build has no sample photos)");
  say(`Ready: LiteRT.js and the model loaded in ${ms(state.loadMs)}. Choose a photo.`, "ok");
  setState("ready");
}

$("file").addEventListener("change", (event) => {
  const file = event.target.files && event.target.files[0];
  if (file) run(file, file.name);
});
$("refine").addEventListener("change", () => {
  if (!state.result) return;
  const result = state.result, t = result.timings;
  const started = performance.now();
  result.opacity = opacityOf(state.photo, result);
  const elapsed = performance.now() - started;
  result.refinedEdges = $("refine").checked;
  // A refined matte is computed once and kept: report the time it took then, not the lookup.
  const edges = result.refinedEdges ? (result.refinedMs ?? elapsed) : elapsed;
  if (result.refinedEdges && result.refinedMs === undefined) result.refinedMs = elapsed;
  t.total += edges - t.edges;  // the total holds the edge step now shown
  t.edges = edges;
  drawCutOut();
  say(statusLine(result.name, state.photo, result), "ok");
});
$("level-slider").addEventListener("input", (event) => showLevel(Number(event.target.value)));
$("save-white").addEventListener("click", (event) => save("white", event.currentTarget));
$("save-transparent").addEventListener("click", (event) => save("transparent", event.currentTarget));
$("save-mask").addEventListener("click", (event) => save("mask", event.currentTarget));
start();
