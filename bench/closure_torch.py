"""PyTorch baseline for the Gaussian-closure bench (npm run bench, sections closure and pytorch).

The mean/covariance recursion of a network with phi(z) = z + a z^2 under the Gaussian closure,
written directly in PyTorch (float32, batched over classes): per layer mu <- W mu + b,
Sigma <- W Sigma W^T, then for a hidden layer (the exact rules of a quadratic at K = 2)
E[y] = mu + a (mu^2 + diag Sigma) and Cov(y) = (1 + 2 a mu_i)(1 + 2 a mu_j) Sigma_ij + 2 a^2 Sigma_ij^2.
It is an independent implementation of what corrmap derives: the bench checks that both give the
same output layer, then compares their times.

Reads the problem from DIR (written by src/bench/pytorch.ts): meta.json {widths, classes, a,
threads, runs} and float32 little-endian files w{l}.bin (rows x cols), b{l}.bin, mean.bin
(classes x n0), cov.bin (classes x n0 x n0). Prints one JSON line: the median seconds of the
recursion after a warm-up (wall clock and process CPU time), the output layer's means and
covariances, and the GFLOP/s of a plain square matMul in PyTorch and in NumPy on the same threads,
per second of wall clock and per second of CPU time.

usage: /usr/bin/python3 bench/closure_torch.py DIR
"""
import json
import os
import sys
import time


def main():
    folder = sys.argv[1]
    meta = json.load(open(os.path.join(folder, "meta.json")))
    threads = int(meta["threads"])
    # NumPy's BLAS reads its thread count when it loads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    widths, classes, a = meta["widths"], meta["classes"], float(meta["a"])
    load = lambda name, shape: torch.from_numpy(np.fromfile(os.path.join(folder, name), dtype="<f4").reshape(shape))
    weights = [load(f"w{l}.bin", (widths[l + 1], widths[l])) for l in range(len(widths) - 1)]
    biases = [load(f"b{l}.bin", (widths[l + 1],)) for l in range(len(widths) - 1)]
    mean0 = load("mean.bin", (classes, widths[0]))
    cov0 = load("cov.bin", (classes, widths[0], widths[0]))

    def recursion():
        mu, sigma = mean0, cov0
        for l, (w, b) in enumerate(zip(weights, biases)):
            mu = mu @ w.T + b
            sigma = w @ sigma @ w.T
            if l < len(weights) - 1:
                d = 1 + 2 * a * mu
                mu = mu + a * (mu * mu + torch.diagonal(sigma, dim1=1, dim2=2))
                sigma = d[:, :, None] * d[:, None, :] * sigma + 2 * a * a * sigma * sigma
        return mu, sigma

    with torch.no_grad():
        recursion()
        times, cpu = [], []
        for _ in range(int(meta["runs"])):
            t, c = time.perf_counter(), time.process_time()
            mu, sigma = recursion()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)

    median = lambda xs: sorted(xs)[len(xs) // 2]

    def rate(matmul, x, y, runs=7):
        """FLOP per second of wall clock and per second of process CPU time (all threads)."""
        matmul(x, y)
        ts, cs = [], []
        for _ in range(runs):
            t, c = time.perf_counter(), time.process_time()
            matmul(x, y)
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c)
        return 2 * x.shape[0] ** 3 / median(ts), 2 * x.shape[0] ** 3 / median(cs)

    m = int(meta["plainSize"])
    xt, yt = torch.randn(m, m), torch.randn(m, m)
    xn, yn = xt.numpy(), yt.numpy()
    torch_rate, numpy_rate = rate(torch.matmul, xt, yt), rate(np.matmul, xn, yn)
    print(json.dumps({
        "seconds": median(times),
        "cpuSeconds": median(cpu),
        "runs": times,
        "mean": mu.flatten().tolist(),
        "cov": sigma.flatten().tolist(),
        "torchMatMulFlops": torch_rate[0],
        "torchMatMulFlopsPerCpuSecond": torch_rate[1],
        "numpyMatMulFlops": numpy_rate[0],
        "numpyMatMulFlopsPerCpuSecond": numpy_rate[1],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
    }))


main()
