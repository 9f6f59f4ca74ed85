"""Diagnostic (not part of ``make bench``): the whiten forward pass through other runtimes.

    .venv/bin/python benchmarks/tflite_forward.py [--widths 1 0.25] [--reps N] [--measure-peak]
                                                  [--json out.json]

``lrn whiten`` (``lrn.cutout.segment``) runs one photo at a time, 1 x 224 x 224 x 3 float32 in
[0, 255], through an LRN with ``model.predict_on_batch``. For each width this script builds
the LRN with random weights (the s6 layer rescaled so that its sigmoid is not saturated, see
``calibrate_s6``: otherwise the outputs of any two runtimes agree trivially) and times, INTERLEAVED (one call of each method per round, the
order rotated every round, medians over rounds), so that a busy machine slows every method
alike (9 rounds at width >= 0.5, 25 below, unless ``--reps``):

* ``predict_on_batch``: what ``segment`` does today;
* ``tf.function``: ``tf.function(model)``, traced once, ``jit_compile=False``;
* ``tf.function XLA``: the same with ``jit_compile=True``;
* ``TFLite XNNPACK t2``: the model exported with ``model.export(dir, format="tf_saved_model")``
  and converted by ``tf.lite.TFLiteConverter.from_saved_model`` (float32, no quantisation,
  default optimisations off), run by ``tf.lite.Interpreter(num_threads=2)``, whose default
  delegate for float models is XNNPACK;
* ``TFLite XNNPACK t1``: the same interpreter setup with ``num_threads=1``;
* ``TFLite builtin t2``: ``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``, i.e. TFLite's own
  kernels without XNNPACK (how much of the gain is XNNPACK's).

Every call includes getting the s6 probability map back as a numpy array. The table gives
the median ms, the ratio to the FLOP-limited time (``lrn.models.conv_flops`` / peak), the
ratio to ``predict_on_batch`` (per round, then the median), and the largest absolute
difference of the s6 map from ``predict_on_batch``'s, and the process CPU time per call (all
threads; less sensitive to other load than the wall time, but it counts spin-waiting). It also prints the cost of each method's
first call (trace / compile / interpreter creation), the conversion time and the ``.tflite``
size, and the time to load the ``.keras`` file, which a cached conversion would save.

The peak is 190 GFLOP/s (numpy sgemm on this machine, see NOTES.md) unless ``--measure-peak``
(best of 3 4096 x 4096 float32 products; on a busy machine this is lower than the hardware's).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import lrn  # noqa: F401  (first: sets TF_ENABLE_ONEDNN_OPTS=1 before TensorFlow loads)

import numpy as np

PEAK_GFLOPS = 190.0
SIZE = 224


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sgemm_peak(n: int = 4096, repeats: int = 3) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def convert(model, work: Path) -> dict:
    """Keras 3 model -> .tflite bytes (float32). Returns bytes, timings and the route that worked."""
    import tensorflow as tf

    out = {"errors": []}
    t = time.perf_counter()
    try:
        saved = work / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        out["export_s"] = time.perf_counter() - t
        t = time.perf_counter()
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        out["route"] = "model.export + from_saved_model"
    except Exception as error:  # fall back to the Keras route
        out["errors"].append(f"export: {type(error).__name__}: {error}")
        out["export_s"] = time.perf_counter() - t
        t = time.perf_counter()
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        out["route"] = "from_keras_model"
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex (TF) ops allowed
    content = converter.convert()
    out["convert_s"] = time.perf_counter() - t
    out["content"] = content
    out["bytes"] = len(content)
    path = work / "model.tflite"
    path.write_bytes(content)
    out["sha256"] = hashlib.sha256(content).hexdigest()
    out["ops"] = op_histogram(content)
    return out


def calibrate_s6(model, x: np.ndarray, std: float = 2.0) -> float:
    """Rescale the s6 convolution so that its logits on ``x`` have mean 0 and standard deviation ``std``.

    With random Glorot weights the s6 sigmoid is saturated (0 or 1) almost everywhere, and the
    outputs of two runtimes would agree trivially. Only the last layer changes, so every
    runtime still computes the whole network; returns the factor applied.
    """
    import keras

    layer = model.get_layer("s6")
    feats = keras.Model(model.input, layer.input)(x)
    kernel, bias = layer.get_weights()
    logits = np.asarray(keras.ops.conv(feats, kernel, padding="same")) + bias
    scale = std / float(logits.std())
    layer.set_weights([kernel * scale, (bias - float(logits.mean())) * scale])
    return scale


def op_histogram(content: bytes) -> dict:
    """Op type -> count in a .tflite flatbuffer (checks e.g. that VGGPreprocess became builtin ops)."""
    import tensorflow as tf

    counts = {}
    for op in tf.lite.Interpreter(model_content=content)._get_ops_details():
        counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    return dict(sorted(counts.items()))


def tflite_runner(content: bytes, threads: int, xnnpack: bool):
    """A callable x -> s6 map (numpy) around a tf.lite.Interpreter, and the s6 output's index."""
    import tensorflow as tf

    kwargs = {"model_content": content, "num_threads": threads}
    if not xnnpack:
        kwargs["experimental_op_resolver_type"] = tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = tf.lite.Interpreter(**kwargs)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outs = interpreter.get_output_details()
    # s6 is the only full-resolution output; match by shape (TFLite may reorder / rename outputs)
    full = [o for o in outs if tuple(o["shape"]) == (1, SIZE, SIZE, 1)]
    assert len(full) == 1, [(o["name"], o["shape"]) for o in outs]
    s6 = full[0]["index"]

    def run(x):
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(s6)[0, ..., 0]

    return run, [(o["name"], tuple(int(v) for v in o["shape"])) for o in outs]


def one_width(width: float, reps: int, peak: float, rng: np.random.Generator) -> dict:
    import keras
    import tensorflow as tf
    from lrn import models

    keras.utils.set_random_seed(0)
    model = models.build_lrn((SIZE, SIZE, 3), width=width)
    flops = models.conv_flops(model)
    limit_ms = flops / (peak * 1e9) * 1e3
    x = rng.uniform(0, 255, (1, SIZE, SIZE, 3)).astype(np.float32)
    result = {"width": width, "rounds": reps, "gflop": flops / 1e9, "flop_limit_ms": limit_ms, "first_call_s": {},
              "s6_logit_scale": calibrate_s6(model, x)}

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # what a cached conversion would save per run of `lrn whiten`: loading the .keras file
        keras_path = work / "lrn.keras"
        model.save(keras_path)
        t = time.perf_counter()
        models.load(keras_path)
        result["keras_load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        hashlib.sha256(keras_path.read_bytes()).hexdigest()
        result["keras_sha256_s"] = time.perf_counter() - t
        result["keras_bytes"] = keras_path.stat().st_size

        log(f"width {width}: converting to TFLite")
        conv = convert(model, work)
        result.update({k: v for k, v in conv.items() if k != "content"})
        log(f"width {width}: {conv['route']}, export {conv['export_s']:.1f} s, convert "
            f"{conv['convert_s']:.1f} s, {conv['bytes'] / 1e6:.1f} MB")

    def keras_pob(x):
        return np.asarray(model.predict_on_batch(x)[-1])[0, ..., 0]

    graph = tf.function(model, jit_compile=False)
    xla = tf.function(model, jit_compile=True)

    def tf_graph(x):
        return graph(x, training=False)[-1].numpy()[0, ..., 0]

    def tf_xla(x):
        return xla(x, training=False)[-1].numpy()[0, ..., 0]

    methods = {"predict_on_batch": keras_pob, "tf.function": tf_graph, "tf.function XLA": tf_xla}
    for name, threads, xnn in (("TFLite XNNPACK t2", 2, True), ("TFLite XNNPACK t1", 1, True),
                               ("TFLite builtin t2", 2, False)):
        t = time.perf_counter()
        run, outs = tflite_runner(conv["content"], threads, xnn)
        result.setdefault("interpreter_create_s", {})[name] = time.perf_counter() - t
        result["tflite_outputs"] = outs
        methods[name] = run

    # first calls (trace, compile, XNNPACK weight packing) and the outputs
    maps = {}
    for name, fn in methods.items():
        t = time.perf_counter()
        maps[name] = np.array(fn(x))
        result["first_call_s"][name] = time.perf_counter() - t
        log(f"width {width}: first call {name}: {result['first_call_s'][name]:.2f} s")
    ref = maps["predict_on_batch"]
    result["s6_stats"] = {"min": float(ref.min()), "max": float(ref.max()), "mean": float(ref.mean()),
                          "share_in_0.01_0.99": float(np.mean((ref > 0.01) & (ref < 0.99)))}
    result["max_abs_diff"] = {name: float(np.max(np.abs(m - ref))) for name, m in maps.items()}

    # interleaved rounds, order rotated per round
    names = list(methods)
    times = {name: [] for name in names}
    cpu = {name: [] for name in names}
    log(f"width {width}: {reps} interleaved rounds of {len(names)} methods")
    for r in range(reps):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            c, t = time.process_time(), time.perf_counter()
            methods[name](x)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    base = np.array(times["predict_on_batch"])
    result["methods"] = {}
    for name in names:
        ts = np.array(times[name])
        med_ms = float(np.median(ts)) * 1e3
        result["methods"][name] = {
            "median_ms": med_ms, "min_ms": float(ts.min()) * 1e3, "times_ms": (ts * 1e3).round(2).tolist(),
            "vs_flop_limit": med_ms / limit_ms,
            "cpu_ms": float(np.median(cpu[name])) * 1e3,  # process CPU time, all threads
            "vs_predict_on_batch": float(np.median(ts / base)),  # per round, then the median
            "max_abs_diff_s6": result["max_abs_diff"][name],
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.25])
    parser.add_argument("--reps", type=int, help="interleaved rounds per width (default 9 at width >= 0.5, else 25)")
    parser.add_argument("--measure-peak", action="store_true", help="measure the sgemm peak instead of 190")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    peak = sgemm_peak() if args.measure_peak else PEAK_GFLOPS
    info = {"tensorflow": tf.__version__, "keras": keras.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
            "peak_gflops": peak, "peak_measured": args.measure_peak,
            "loadavg_start": os.getloadavg(), "start": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    rng = np.random.default_rng(0)
    reps = {w: args.reps or (9 if w >= 0.5 else 25) for w in args.widths}
    results = [one_width(w, reps[w], peak, rng) for w in args.widths]
    info["loadavg_end"] = os.getloadavg()

    print(f"\nwhiten forward, 1 x {SIZE} x {SIZE} x 3, LRN random weights; peak {peak:.1f} GFLOP/s"
          f" ({'measured' if args.measure_peak else 'NOTES.md'}); interleaved rounds "
          f"{', '.join(f'{r} at width {w:g}' for w, r in reps.items())}; "
          f"load average {info['loadavg_start'][0]:.1f} -> {info['loadavg_end'][0]:.1f}")
    header = f"{'method':<20}{'width':>6}{'median ms':>11}{'x limit':>9}{'x pob':>8}{'max|diff| s6':>14}{'CPU ms':>9}{'1st call s':>12}"
    print(header)
    print("-" * len(header))
    for res in results:
        for name, m in res["methods"].items():
            print(f"{name:<20}{res['width']:>6g}{m['median_ms']:>11.1f}{m['vs_flop_limit']:>9.2f}"
                  f"{m['vs_predict_on_batch']:>8.2f}{m['max_abs_diff_s6']:>14.2e}{m['cpu_ms']:>9.1f}"
                  f"{res['first_call_s'][name]:>12.2f}")
        print(f"{'FLOP limit':<20}{res['width']:>6g}{res['flop_limit_ms']:>11.1f}   ({res['gflop']:.2f} GFLOP)")
        print("-" * len(header))
    print("\nconversion (route, export s, convert s, .tflite MB, .keras MB, keras load s, sha256 s, "
          "interpreter creation s for XNNPACK t2):")
    for res in results:
        print(f"  width {res['width']:g}: {res['route']}, {res['export_s']:.1f}, {res['convert_s']:.1f}, "
              f"{res['bytes'] / 1e6:.2f}, {res['keras_bytes'] / 1e6:.2f}, {res['keras_load_s']:.2f}, "
              f"{res['keras_sha256_s']:.3f}, {res['interpreter_create_s']['TFLite XNNPACK t2']:.3f}"
              + (f"  [errors: {res['errors']}]" if res["errors"] else ""))
        print(f"    s6 of predict_on_batch (logits rescaled by {res['s6_logit_scale']:.3g}): "
              + ", ".join(f"{k} {v:.3g}" for k, v in res["s6_stats"].items()))
        print(f"    .tflite ops: {res['ops']}")
    if args.json:
        args.json.write_text(json.dumps({"info": info, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
