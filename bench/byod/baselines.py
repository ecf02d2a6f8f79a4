"""The Python baselines of bench:byod: LightGBM and logistic regression on the same split files
the TypeScript side wrote (train.csv, validation.csv, test.csv in one directory), with the
hand-written config's features. Prints one JSON object: test NE (standard: log loss / entropy of
the training base rate), the test-rate NE, log loss and AUC of each model.

usage: python -m baselines <dir> <features.json>
features.json: {"label", "dense": [...], "log1p": [...], "categorical": [...], "time"?: column}
"""

import csv
import json
import math
import sys
from datetime import datetime, timezone

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from scipy import sparse


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def epoch_seconds(v):
    try:
        return float(v)
    except ValueError:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).replace(tzinfo=timezone.utc).timestamp()


def columns(rows, spec):
    """Dense matrix (NaN missing) and categorical text columns (hour and weekday of the time)."""
    dense = np.full((len(rows), len(spec["dense"])), np.nan)
    for j, name in enumerate(spec["dense"]):
        for i, r in enumerate(rows):
            v = r.get(name, "")
            if v != "":
                x = float(v)
                dense[i, j] = math.log1p(max(x, 0.0)) if name in spec["log1p"] else x
    cats = [[r.get(name, "") for r in rows] for name in spec["categorical"]]
    if spec.get("time"):
        ts = [epoch_seconds(r[spec["time"]]) for r in rows]
        cats.append([str(int(t // 3600) % 24) for t in ts])
        cats.append([str((int(t // 86400) + 4) % 7) for t in ts])
    return dense, cats


def entropy(p):
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def metrics(y, p, train_rate):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    ll = log_loss(y, p, labels=[0, 1])
    return {
        "ne": ll / entropy(train_rate),
        "neTestRate": ll / entropy(float(np.mean(y))),
        "logloss": ll,
        "auc": float(roc_auc_score(y, p)),
    }


def main():
    out_dir, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    parts = {k: read(f"{out_dir}/{k}.csv") for k in ("train", "validation", "test")}
    ys = {k: np.array([int(float(r[spec["label"]])) for r in rows]) for k, rows in parts.items()}
    cols = {k: columns(rows, spec) for k, rows in parts.items()}
    train_rate = float(np.mean(ys["train"]))

    # LightGBM: categoricals as integer codes learned on train (unseen → missing).
    codes = [{v: i for i, v in enumerate(sorted(set(c)))} for c in cols["train"][1]]

    def lgb_matrix(k):
        dense, cats = cols[k]
        coded = np.array(
            [[codes[j].get(v, np.nan) if v != "" else np.nan for v in c] for j, c in enumerate(cats)],
            dtype=float,
        ).T.reshape(len(ys[k]), len(cats))
        return np.hstack([dense, coded])

    n_dense = len(spec["dense"])
    cat_idx = list(range(n_dense, n_dense + len(codes)))
    train = lgb.Dataset(lgb_matrix("train"), ys["train"], categorical_feature=cat_idx, free_raw_data=False)
    valid = lgb.Dataset(lgb_matrix("validation"), ys["validation"], reference=train)
    model = lgb.train(
        {
            "objective": "binary",
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 20,
            "cat_smooth": 10,
            "verbosity": -1,
            "num_threads": 1,
            "seed": 1,
            "deterministic": True,
        },
        train,
        num_boost_round=1000,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(30, verbose=False)],
    )
    lgb_pred = model.predict(lgb_matrix("test"), num_iteration=model.best_iteration)

    # Logistic regression: standardized dense (missing → 0 after scaling) + one-hot categoricals.
    enc = OneHotEncoder(handle_unknown="ignore", min_frequency=2)
    scaler = StandardScaler()

    def lr_matrix(k, fit=False):
        dense, cats = cols[k]
        cat = np.array(cats, dtype=object).T.reshape(len(ys[k]), len(cats))
        if fit:
            scaler.fit(dense) if n_dense else None
            enc.fit(cat)
        blocks = []
        if n_dense:
            blocks.append(sparse.csr_matrix(np.nan_to_num(scaler.transform(dense))))
        if cats:
            blocks.append(enc.transform(cat))
        return sparse.hstack(blocks).tocsr()

    x_train = lr_matrix("train", fit=True)
    best = None
    for c in (0.03, 0.1, 0.3, 1.0):
        lr = LogisticRegression(C=c, max_iter=500)
        lr.fit(x_train, ys["train"])
        v = log_loss(ys["validation"], lr.predict_proba(lr_matrix("validation"))[:, 1], labels=[0, 1])
        if best is None or v < best[0]:
            best = (v, c, lr)
    lr_pred = best[2].predict_proba(lr_matrix("test"))[:, 1]

    print(
        json.dumps(
            {
                "rows": {k: len(v) for k, v in ys.items()},
                "trainBaseRate": train_rate,
                "lightgbm": {**metrics(ys["test"], lgb_pred, train_rate), "rounds": model.best_iteration},
                "logisticRegression": {**metrics(ys["test"], lr_pred, train_rate), "C": best[1]},
            }
        )
    )


if __name__ == "__main__":
    main()
