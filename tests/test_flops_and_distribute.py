"""Training under ``tf.distribute`` on the CPU split into two logical devices.

The FLOP counts of the built models (VGG-16 conv 30.69, LRN 37.93, U-Net 88.96 GFLOP at
224x224) are already checked by ``tests/test_models.py::test_conv_flops_match_the_reference_counts``.

Logical devices must be configured before TensorFlow initialises, so the training runs in
a subprocess (one, for both strategies, to stay well under a minute). It trains a tiny LRN
(64x64, width 0.125, 16 synthetic images, global batch 8, 2 epochs, augmentation on, op
determinism on, as ``lrn.train`` does by default) once under the default strategy and once
with ``TrainConfig(strategy="mirrored")`` on two logical CPUs (2 replicas of 4 images),
and compares the per-epoch losses.

A regression check: ``lrn.train`` once made a new strategy object for building and another
for compiling, which Keras refuses ("Mixing different tf.distribute.Strategy objects"); it
now makes one per run, and the runs below use ``lrn.train`` exactly as shipped.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

RTOL = 1e-4

SCRIPT = textwrap.dedent(r"""
    import json, sys, tempfile
    import lrn  # sets TF_ENABLE_ONEDNN_OPTS before TensorFlow is imported
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from lrn import data, train

    result = {"logical_cpus": len(tf.config.list_logical_devices("CPU"))}
    tr = data.synthetic(16, size=64, seed=0)
    va = data.synthetic(8, size=64, seed=1)

    def config(strategy):
        return train.TrainConfig(variant="lrn", size=64, width=0.125, epochs=2, batch_size=8,
                                 learning_rate=1e-3, patience=None, augment=True, strategy=strategy)

    for name in ("default", "mirrored"):
        run = train.train(config(name), tr, va, tempfile.mkdtemp(), verbose=0, deterministic=True)
        columns = [c for c in run.history.columns if c.endswith("loss")]
        result[name] = {"replicas": run.model.distribute_strategy.num_replicas_in_sync,
                        "columns": columns, "losses": run.history[columns].to_numpy().tolist()}
    print("RESULT " + json.dumps(result))
""")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    env = {**os.environ, "LRN_CACHE": str(tmp_path_factory.mktemp("lrn_cache")),
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"subprocess failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_mirrored_on_two_logical_cpus_gives_the_single_device_loss_curve(runs):
    import numpy as np

    assert runs["logical_cpus"] == 2
    default, mirrored = runs["default"], runs["mirrored"]
    assert default["replicas"] == 1 and mirrored["replicas"] == 2
    assert default["columns"] == mirrored["columns"] and "loss" in default["columns"] and "val_loss" in default["columns"]
    a, b = np.array(default["losses"]), np.array(mirrored["losses"])
    assert a.shape == b.shape == (2, len(default["columns"]))  # 2 epochs, every loss column
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(b, a, rtol=RTOL)
    assert not np.array_equal(a[0], a[1])  # it did train: the loss moved between the epochs
