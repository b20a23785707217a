"""Peer for bench/als-peer.bench.ts: the same ALS on the same interactions with `implicit`.

Reads the training interactions (CSV `user_idx,item_idx,weight`, possibly Spark part files in a
folder), fits implicit's AlternatingLeastSquares on the CPU and writes JSON: the fit time and the
factors of every user and item that has an interaction (as Spark's ALS has), so the caller can
serve them through the project's own pipeline and score them with the same evaluation.

Spark's implicit ALS uses confidence c = 1 + alpha * r and scales the regularisation by each
user's (item's) number of interactions (ALS-WR); implicit takes the confidence matrix as given and
uses a constant regularisation. `--confidence spark` passes 1 + alpha * r, `--reg-scale` multiplies
the regularisation (e.g. by the mean interactions per row) to approximate Spark's weighting.
"""
import argparse
import glob
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402


def read_csv_rows(path):
    files = sorted(glob.glob(os.path.join(path, "*.csv"))) if os.path.isdir(path) else [path]
    users, items, weights = [], [], []
    for name in files:
        data = np.genfromtxt(name, delimiter=",", skip_header=1, dtype=np.float64, ndmin=2)
        if data.size == 0:
            continue
        users.append(data[:, 0].astype(np.int64))
        items.append(data[:, 1].astype(np.int64))
        weights.append(data[:, 2])
    return np.concatenate(users), np.concatenate(items), np.concatenate(weights)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--regularization", type=float, default=0.05)
    parser.add_argument("--reg-scale", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: all cores)")
    parser.add_argument("--confidence", choices=["spark", "implicit"], default="spark")
    args = parser.parse_args()

    users, items, weights = read_csv_rows(args.train)
    n_users = int(users.max()) + 1
    n_items = int(items.max()) + 1
    if args.confidence == "spark":
        values, alpha = 1.0 + args.alpha * weights, 1.0
    else:
        values, alpha = weights, args.alpha
    user_items = sp.csr_matrix((values.astype(np.float32), (users, items)), shape=(n_users, n_items))

    model = AlternatingLeastSquares(
        factors=args.factors,
        regularization=args.regularization * args.reg_scale,
        alpha=alpha,
        iterations=args.iterations,
        random_state=args.seed,
        calculate_training_loss=False,
        num_threads=args.threads,
    )
    started = time.perf_counter()
    model.fit(user_items, show_progress=False)
    fit_seconds = time.perf_counter() - started

    user_rows = np.flatnonzero(np.diff(user_items.indptr) > 0)
    item_cols = np.flatnonzero(np.bincount(user_items.indices, minlength=n_items) > 0)
    user_factors = np.asarray(model.user_factors, dtype=np.float32)
    item_factors = np.asarray(model.item_factors, dtype=np.float32)
    with open(args.out, "w") as f:
        json.dump({
            "fit_seconds": fit_seconds,
            "pairs": int(user_items.nnz),
            "users": [[int(u), [float(x) for x in user_factors[u]]] for u in user_rows],
            "items": [[int(i), [float(x) for x in item_factors[i]]] for i in item_cols],
        }, f)


if __name__ == "__main__":
    main()
