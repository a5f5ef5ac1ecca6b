#!/usr/bin/env python3
"""The reference for bench/gemm.cpp: the same float32 products through numpy
(OpenBLAS on Debian's python3-numpy), timed the same way: the median and
min-max of N timed repetitions after warm-up, as GFLOP/s.

    python3 bench/gemm_reference.py [--reps N] [--threads 1,2] [--shapes square|train|trainM|small|all]

The BLAS thread count is fixed when numpy loads, so each thread count runs in a
child process with OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) set. Lines
starting with "RESULT" are for bench/run_gemm.sh. Layouts as in gemm.cpp:
NT multiplies by the transpose of a row-major [N, K] matrix, TN by the
transpose of a row-major [K, M] one (views: BLAS reads them in place).
"""
import argparse
import os
import subprocess
import sys
import time

# (name, M, N, K, layout): the same list as shapes_of() in bench/gemm.cpp.
SHAPES = {
    "square": [(f"square{n}", n, n, n, "NN") for n in (256, 512, 1024, 2048)],
    "train": [
        ("S.qkv", 1024, 768, 256, "NT"),
        ("S.fc", 1024, 1024, 256, "NT"),
        ("S.proj", 1024, 256, 1024, "NT"),
        ("S.logits", 1024, 256, 256, "NT"),
        ("S.dx_qkv", 1024, 256, 768, "NN"),
        ("S.dx_fc", 1024, 256, 1024, "NN"),
        ("S.dx_proj", 1024, 1024, 256, "NN"),
        ("S.dw_qkv", 768, 256, 1024, "TN"),
        ("S.dw_fc", 1024, 256, 1024, "TN"),
        ("S.dw_proj", 256, 1024, 1024, "TN"),
    ],
    "trainM": [
        ("M.qkv", 256, 2304, 768, "NT"),
        ("M.fc", 256, 3072, 768, "NT"),
        ("M.proj", 256, 768, 3072, "NT"),
        ("M.logits", 256, 50257, 768, "NT"),
        ("M.dx_fc", 256, 768, 3072, "NN"),
        ("M.dx_logits", 256, 768, 50257, "NN"),
        ("M.dw_fc", 3072, 768, 256, "TN"),
        ("M.dw_logits", 50257, 768, 256, "TN"),
    ],
    "small": [
        ("decode.qkv.B1", 1, 768, 256, "NT"),
        ("decode.qkv.B16", 16, 768, 256, "NT"),
        ("decode.fc.B16", 16, 1024, 256, "NT"),
        ("head.scores", 128, 128, 64, "NT"),
        ("head.values", 128, 64, 128, "NN"),
        ("decode.scores", 1, 128, 64, "NT"),
        ("decode.values", 1, 64, 128, "NN"),
        ("gemv.col", 1024, 1, 256, "NN"),
    ],
}


def shapes_of(name):
    if name == "all":
        return SHAPES["square"] + SHAPES["train"] + SHAPES["trainM"] + SHAPES["small"]
    return SHAPES[name]


def run(threads, reps, shape_set):
    import numpy as np

    rng = np.random.default_rng(42)
    for name, M, N, K, layout in shapes_of(shape_set):
        a = rng.standard_normal((K, M) if layout == "TN" else (M, K), dtype=np.float32)
        b = rng.standard_normal((N, K) if layout == "NT" else (K, N), dtype=np.float32)
        A = a.T if layout == "TN" else a
        B = b.T if layout == "NT" else b
        c = np.empty((M, N), dtype=np.float32)
        inner = max(1, int(1e8 / (2.0 * M * N * K)))

        def rep():
            t0 = time.perf_counter()
            for _ in range(inner):
                np.matmul(A, B, out=c)
            return (time.perf_counter() - t0) / inner

        for _ in range(3):
            rep()
        times = sorted(rep() for _ in range(reps))
        n = len(times)
        med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
        gf = lambda t: 2.0 * M * N * K / t * 1e-9
        print(f"{name:<16} {M:5d} {N:5d} {K:5d} {layout:>3} {threads:3d}  "
              f"{gf(med):7.1f} [{gf(times[-1]):6.1f}-{gf(times[0]):6.1f}]")
        print(f"RESULT {name} {threads} {gf(med):.3f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--shapes", default="all", choices=["square", "train", "trainM", "small", "all"])
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    reps = max(10, args.reps)
    if args.child:
        run(args.child, reps, args.shapes)
        return
    try:
        import numpy as np
    except ImportError:
        print("numpy is not installed (Debian: apt-get install python3-numpy); no reference", file=sys.stderr)
        sys.exit(3)
    print(f"numpy {np.__version__} matmul, float32; median [min-max] of {reps} reps, GFLOP/s", flush=True)
    print(f"{'shape':<16} {'M':>5} {'N':>5} {'K':>5} lay thr  numpy", flush=True)
    for t in [int(x) for x in args.threads.split(",")]:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        subprocess.run([sys.executable, __file__, "--child", str(t), "--reps", str(reps), "--shapes", args.shapes],
                       env=env, check=True)


if __name__ == "__main__":
    main()
