"""Diagnostic (not part of ``make bench``): how close single VGG-16 convolutions get to the peak.

    .venv/bin/python benchmarks/conv_efficiency.py [--quick] [--onednn 0|1]

Times, for representative 3x3 convolutions of the VGG-16 encoder at 224x224 and batch 8, the
forward pass, the gradient with respect to the input and the gradient with respect to the
kernel (each 2 FLOPs per multiply-add, the same FLOPs as the forward), as traced
``tf.function``\\ s, best of a few runs, and prints GFLOP/s and the share of the numpy sgemm
peak. This says what the convolution kernels themselves reach, before anything else a
training step does (bias, ReLU, pooling, upsampling, concatenation, loss, Adam) costs time.
Without ``--onednn`` it runs itself twice, in fresh processes with oneDNN on and off.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# (name, side, c_in, c_out): the distinct shapes of the VGG-16 encoder at 224x224
LAYERS = (("block1_conv1", 224, 3, 64), ("block1_conv2", 224, 64, 64), ("block2_conv2", 112, 128, 128),
          ("block3_conv2", 56, 256, 256), ("block4_conv2", 28, 512, 512), ("block5_conv2", 14, 512, 512))
# how many times each shape occurs in the 13 encoder convolutions (block2_conv1 etc. counted with the nearest)
COUNTS = {"block1_conv1": 1, "block1_conv2": 1, "block2_conv2": 2, "block3_conv2": 3, "block4_conv2": 3,
          "block5_conv2": 3}


def best_time(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(quick: bool) -> dict:
    import tensorflow as tf

    batch, repeats = (2, 2) if quick else (8, 4)
    rows = []
    for name, side, c_in, c_out in LAYERS:
        if quick:
            side = max(7, side // 4)
        x = tf.random.normal((batch, side, side, c_in))
        k = tf.Variable(tf.random.normal((3, 3, c_in, c_out)) * 0.05)
        dy = tf.random.normal((batch, side, side, c_out))

        @tf.function
        def forward():
            return tf.nn.conv2d(x, k, 1, "SAME")

        @tf.function
        def grad_input():
            return tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=k, out_backprop=dy,
                                                  strides=[1, 1, 1, 1], padding="SAME")

        @tf.function
        def grad_kernel():
            return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(k), out_backprop=dy,
                                                   strides=[1, 1, 1, 1], padding="SAME")

        flops = 2 * batch * side * side * c_in * c_out * 9
        row = {"layer": name, "side": side, "c_in": c_in, "c_out": c_out, "gflop": flops / 1e9}
        for label, fn in (("forward", forward), ("grad_input", grad_input), ("grad_kernel", grad_kernel)):
            row[label + "_gflops"] = flops / best_time(lambda: fn().numpy(), repeats) / 1e9
        rows.append(row)
    return {"onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "batch": batch, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--onednn", choices=("0", "1"))
    args = parser.parse_args()
    if args.onednn is not None:  # child: TF_ENABLE_ONEDNN_OPTS was set by the parent
        print("RESULT " + json.dumps(measure(args.quick)))
        return 0
    sys.path.insert(0, os.path.dirname(__file__))
    from run import sgemm_peak

    peak = sgemm_peak(1024 if args.quick else 4096, 3 if args.quick else 5)["gflops"]
    print(f"sgemm peak {peak:.1f} GFLOP/s")
    for onednn in ("1", "0"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run([sys.executable, __file__, "--onednn", onednn] + (["--quick"] if args.quick else []),
                              capture_output=True, text=True, env=env, check=True)
        result = json.loads([line for line in proc.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
        print(f"\noneDNN {'on' if onednn == '1' else 'off'}, batch {result['batch']}: share of peak")
        print(f"{'layer':14s} {'side':>4s} {'cin':>4s} {'cout':>4s} {'forward':>8s} {'d input':>8s} {'d kernel':>8s}")
        total_flop = total_time = 0.0
        for r in result["rows"]:
            shares = [r[f"{s}_gflops"] / peak for s in ("forward", "grad_input", "grad_kernel")]
            print(f"{r['layer']:14s} {r['side']:4d} {r['c_in']:4d} {r['c_out']:4d} "
                  + " ".join(f"{100 * s:7.1f}%" for s in shares))
            n = COUNTS[r["layer"]]
            for s in ("forward", "grad_input", "grad_kernel"):
                if not (s == "grad_input" and r["layer"] == "block1_conv1"):  # no input gradient needed there
                    total_flop += n * r["gflop"]
                    total_time += n * r["gflop"] / r[f"{s}_gflops"]
        print(f"encoder-weighted (13 convs, fwd + both grads): {100 * total_flop / total_time / peak:.1f} % of peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
