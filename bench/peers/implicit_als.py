"""Peer for bench/als-peer.bench.ts: the same ALS on the same interactions with `implicit`.

Reads the training interactions (CSV `user_idx,item_idx,weight`, possibly Spark part files in a
folder) and the evaluation users (one `user_idx` per line), fits implicit's
AlternatingLeastSquares on the CPU and writes JSON: the fit time and, per evaluation user, the
top-N items ranked by the model (no filtering; the caller applies exclusions and metrics so both
models are scored by the same code).

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
    parser.add_argument("--users", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--regularization", type=float, default=0.05)
    parser.add_argument("--reg-scale", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--top", type=int, default=212)
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
    )
    started = time.perf_counter()
    model.fit(user_items, show_progress=False)
    fit_seconds = time.perf_counter() - started

    with open(args.users) as f:
        eval_users = np.array([int(line) for line in f if line.strip()], dtype=np.int64)
    eval_users = eval_users[eval_users < n_users]
    ids, _ = model.recommend(
        eval_users, user_items[eval_users], N=min(args.top, n_items), filter_already_liked_items=False
    )
    recs = {str(int(u)): [int(i) for i in row if i >= 0] for u, row in zip(eval_users, ids)}
    with open(args.out, "w") as f:
        json.dump({"fit_seconds": fit_seconds, "users": n_users, "items": n_items,
                   "pairs": int(user_items.nnz), "recs": recs}, f)


if __name__ == "__main__":
    main()
