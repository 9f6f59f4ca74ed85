"""The rate at which this process's CPU multiplies float32 matrices: the most a convolution can reach.

Each training process of a fit measures it when it starts (:mod:`lrnbook.fit`); the training
pages divide a stage's training GFLOP/s by it (:mod:`lrnbook.speed`).
"""
from __future__ import annotations

import time

import numpy as np


def gflops(n: int = 2048, repeats: int = 5) -> float:
    """The best float32 ``n x n`` matrix product rate of NumPy's BLAS, in GFLOP/s (``2 n^3`` per product)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    a @ b  # warm up the threads
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n ** 3 / best / 1e9
