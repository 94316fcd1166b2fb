#!/usr/bin/python3
"""Reference implementations of bench/'s cases: PyTorch and scikit-learn.

Reads the synthetic data files bench/internal/synth writes (run
`go run ./bench/cmd/descent-bench -cases none` or bench/run.sh first) and
prints one RESULT line per case, in the format of the Go commands.

    /usr/bin/python3 bench/reference.py --threads 1          # PyTorch, 1 thread
    /usr/bin/python3 bench/reference.py --threads 2
    /usr/bin/python3 bench/reference.py --sklearn            # SGDClassifier epoch

Debian: apt-get install -y python3-torch python3-sklearn
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

FEATURES, CLASSES, N, SEED = 784, 10, 60000, 1


def default_dir():
    d = os.environ.get("DESCENT_BENCH_DATA")
    if d:
        return d
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "descent-bench")


def load(data_dir, n):
    base = os.path.join(data_dir, "synthetic-mnist-N%d-seed%d" % (N, SEED))
    x = np.fromfile(base + ".x", dtype="<f4", count=n * FEATURES).reshape(n, FEATURES)
    y = np.fromfile(base + ".y", dtype=np.uint8, count=n)
    return x, y


def result(impl, case, samples, seconds, steps, loss, cpu=None):
    util = " cpu_util=%.2f" % (cpu / seconds) if cpu is not None else ""
    print("RESULT impl=%s case=%s samples_per_sec=%.1f steps=%d examples=%d seconds=%.3f loss=%.4f%s"
          % (impl, case, samples / seconds, steps, samples, seconds, loss, util), flush=True)


def lenet(nn):
    """models.LeNet: conv 6@5x5 pad 2, ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2, 120, 84, 10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, CLASSES))


def bncnn(nn):
    """models.ConvNet: two blocks of conv 3x3 pad 1 (16, 32), BatchNorm, ReLU, max-pool 2; 128 with BatchNorm, ReLU; 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, CLASSES))


def torch_case(torch, impl, case, hidden, batch, n, epochs, x, y, lr, dtype="float32", cnn=None):
    nn = torch.nn
    torch.manual_seed(SEED)
    X = torch.from_numpy(np.ascontiguousarray(x[:n], dtype=dtype))
    if cnn:
        X = X.reshape(n, 1, 28, 28)
    Y = torch.from_numpy(y[:n].astype(np.int64))
    if cnn:
        model = cnn(nn)
    elif hidden:
        model = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))
    else:
        model = nn.Linear(FEATURES, CLASSES)
    model = model.to(getattr(torch, dtype))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lossf = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    bs = batch or n
    warm = 20 if batch else 1
    step, t0, samples0, samples, loss = 0, None, 0, 0, float("nan")
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen) if batch else None
        for start in range(0, n, bs):
            if step == warm:
                t0, cpu0, samples0 = time.perf_counter(), time.process_time(), samples
            if batch:
                idx = perm[start:start + bs]
                xb, yb = X.index_select(0, idx), Y.index_select(0, idx)
            else:
                xb, yb = X, Y
            opt.zero_grad(set_to_none=True)
            out = lossf(model(xb), yb)
            out.backward()
            opt.step()
            loss = out.item()
            step += 1
            samples += xb.shape[0]
    seconds = time.perf_counter() - t0
    result(impl, case, samples - samples0, seconds, step - warm, loss, time.process_time() - cpu0)


def sklearn_case(n, x, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    X = np.asarray(x[:n], dtype=np.float64)  # SGDClassifier works in float64: convert outside the timing
    Y = y[:n].astype(np.int64)
    clf = SGDClassifier(loss="log_loss", max_iter=1, tol=None, shuffle=True, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X, Y)
        seconds = time.perf_counter() - t0
    result("sklearn", "softmax-b1", n, seconds, n, float("nan"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=default_dir())
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--sklearn", action="store_true", help="run scikit-learn's SGDClassifier instead of PyTorch")
    ap.add_argument("--cases", default="", help="comma-separated: mlp-b128, mlp-b32, mlp-b1, mlp-gd, softmax-b1, mlp-b128-f64, lenet-b64, bncnn-b64")
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--online-n", type=int, default=N)
    ap.add_argument("--gd-epochs", type=int, default=3)
    ap.add_argument("--cnn-n", type=int, default=20000)
    ap.add_argument("--quick", action="store_true", help="--n 20000 --online-n 10000 --gd-epochs 2 --cnn-n 6400")
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    if a.quick:
        a.n, a.online_n, a.gd_epochs, a.cnn_n = 20000, 10000, 2, 6400
    want = set(c for c in a.cases.split(",") if c)
    x, y = load(a.data, max(a.n, a.online_n, a.cnn_n))
    if a.sklearn:
        sklearn_case(a.online_n, x, y)
        return
    import torch
    torch.set_num_threads(a.threads)
    impl = "pytorch-%dt" % a.threads
    cases = [("mlp-b128", 128, 128, a.n, 1), ("mlp-b32", 128, 32, a.n, 1), ("mlp-b1", 128, 1, a.online_n, 1),
             ("mlp-gd", 128, 0, a.n, a.gd_epochs), ("softmax-b1", 0, 1, a.online_n, 1)]
    for case, hidden, batch, n, epochs in cases:
        if want and case not in want:
            continue
        torch_case(torch, impl, case, hidden, batch, n, epochs, x, y, a.lr)
    # float64 MLP, LeNet-5 and the small CNN with BatchNorm
    if not want or "mlp-b128-f64" in want:
        torch_case(torch, impl, "mlp-b128-f64", 128, 128, a.n, 1, x, y, a.lr, dtype="float64")
    if not want or "lenet-b64" in want:
        torch_case(torch, impl, "lenet-b64", 0, 64, a.cnn_n, 1, x, y, a.lr, cnn=lenet)
    if not want or "bncnn-b64" in want:
        torch_case(torch, impl, "bncnn-b64", 0, 64, a.cnn_n, 1, x, y, a.lr, cnn=bncnn)


if __name__ == "__main__":
    sys.exit(main())
