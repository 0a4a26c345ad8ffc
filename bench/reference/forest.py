#!/usr/bin/env python3
"""The reference a practitioner of the field runs instead of transfer (issue 19): a random forest
and gradient boosting (scikit-learn, Debian's python3-sklearn) on the splits of E2 and E3.

  forest.py e3 [--seeds 1,2,3,4,5]   MACHO, four classes, four features (mean magnitude, colour,
      log10 period, log10 amplitude): k = 1, 5, 10 labelled stars per class, tested on a
      stratified 30 %; and k = 0: trained on EROS-1's shared features (magnitude_r,
      colour = magnitude_b - magnitude_r, log10 period), each survey standardised with its own
      statistics as genxfer does (and, as std-from=eros:period, MACHO's log10 period on EROS-1's
      scale), tested on the same MACHO 30 %.
  forest.py e2 [--seeds 1,2,3]       MNIST <-> USPS on pixels: k = 0 (trained on the source,
      USPS in MNIST's frame: bilinear 16x16 -> 20x20, padded by 4, as genxfer's
      resize=20x20,pad=4), and k = 1, 5, 10 labels per class of the target alone (native size).

Options: --data DIR (default $GENXFER_DATA or ../shared/data), --trees N (default 500 for e3,
100 for e2: 60000 images of 784 pixels), --jobs N (default 2).
Prints Markdown tables: macro F1 (e3) or accuracy (e2), mean +- sample std over the seeds.

The splits are drawn here with numpy (per class, with the seed), by the same protocol as
genxfer's test=0.3 and k=, not the same rows: the tables compare distributions over seeds."""
import argparse
import gzip
import os
import statistics
import sys

import numpy as np

try:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score
except ImportError:
    sys.exit("forest.py: scikit-learn is missing (apt-get install python3-sklearn)")

MACHO_FILES = [("EB", "EB"), ("CEPH", "CEPH"), ("RRL", "RRL"), ("longperiod_lc", "LPV")]
EROS_TYPES = {1: "EB", 2: "CEPH", 3: "RRL", 4: "LPV"}
CLASSES = ["EB", "CEPH", "RRL", "LPV"]


def mean_std(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def split(y, seed, test_frac, k):
    """Per class: a stratified test fraction, then k training rows from the rest (all if k < 0)."""
    rng = np.random.default_rng(seed)
    test, train = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_frac * len(rows)))
        test.extend(rows[:n_test])
        rest = rows[n_test:]
        train.extend(rest if k < 0 else rest[:k])
    return np.array(train), np.array(test)


def standardise(x):
    return (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)


def models(seed, trees, jobs, balanced=False):
    w = "balanced" if balanced else None
    return {"random forest": RandomForestClassifier(n_estimators=trees, random_state=seed,
                                                    n_jobs=jobs, class_weight=w),
            "gradient boosting": GradientBoostingClassifier(random_state=seed)}


def read_macho(data):
    xs, ys = [], []
    for f, name in MACHO_FILES:
        a = np.loadtxt(os.path.join(data, "stars", "macho", f + ".csv"), delimiter=",", ndmin=2)
        xs.append(a)
        ys += [CLASSES.index(name)] * len(a)
    x = np.vstack(xs)
    four = np.column_stack([x[:, 0], x[:, 1], np.log10(x[:, 2]), np.log10(x[:, 3])])
    shared = np.column_stack([x[:, 0], x[:, 1], np.log10(x[:, 2])])
    return four, shared, np.array(ys)


def read_eros_shared(data):
    import csv
    with open(os.path.join(data, "stars", "eros1", "train.csv")) as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r["magnitude_r"]), float(r["magnitude_b"]) - float(r["magnitude_r"]),
                   np.log10(float(r["period"]))] for r in rows])
    y = np.array([CLASSES.index(EROS_TYPES[int(float(r["type"]))]) for r in rows])
    return x, y


def e3(args):
    four, shared, y = read_macho(args.data)
    ex_raw, ey = read_eros_shared(args.data)
    ex = standardise(ex_raw)
    # MACHO standardised with its own statistics; or, as genxfer's std-from=eros:period, its log10
    # period (days in both surveys) with EROS-1's
    own = standardise(shared)
    period_eros = own.copy()
    period_eros[:, 2] = (shared[:, 2] - ex_raw[:, 2].mean()) / ex_raw[:, 2].std()
    results = {}  # (setting, model) -> [macro F1 per seed]
    for seed in args.seeds:
        for k in (1, 5, 10):
            tr, te = split(y, seed, 0.3, k)
            for name, m in models(seed, args.trees, args.jobs).items():
                m.fit(four[tr], y[tr])
                f1 = f1_score(y[te], m.predict(four[te]), average="macro")
                results.setdefault((f"four, k = {k}", name), []).append(f1)
        _, te = split(y, seed, 0.3, 0)
        for scale, target in (("its own", own), ("EROS-1's", period_eros)):
            for balanced in (False, True):
                for name, m in models(seed, args.trees, args.jobs, balanced).items():
                    if balanced and name != "random forest":
                        continue  # (gradient boosting has no class weights)
                    m.fit(ex, ey)
                    pred = m.predict(target[te])
                    f1 = f1_score(y[te], pred, average="macro")
                    ceph = f1_score(y[te], pred, labels=[CLASSES.index("CEPH")], average="macro")
                    key = (f"shared, k = 0 (trained on EROS-1), MACHO's period on {scale} scale",
                           name + (", balanced" if balanced else ""))
                    results.setdefault(key, []).append(f1)
                    results.setdefault((key[0] + ": CEPH F1", key[1]), []).append(ceph)
        print(f"forest.py e3: seed {seed} done", file=sys.stderr)
    print(f"| setting | model | macro F1 ({len(args.seeds)} seeds) |")
    print("|---|---|---|")
    for (setting, name), v in results.items():
        print(f"| {setting} | {name} | {mean_std(v)[0]:.3f} ± {mean_std(v)[1]:.3f} |")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    ndim = b[3]
    shape = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_mnist(data, part):
    pre = "train" if part == "train" else "t10k"
    x = read_idx(os.path.join(data, "mnist", f"{pre}-images-idx3-ubyte.gz")).astype(np.float32)
    y = read_idx(os.path.join(data, "mnist", f"{pre}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x.reshape(len(x), -1) / 255, y


def read_usps(data, part):
    try:
        import h5py
    except ImportError:
        sys.exit("forest.py: h5py is missing (apt-get install python3-h5py)")
    with h5py.File(os.path.join(data, "usps", "usps.h5"), "r") as f:
        return np.asarray(f[f"/{part}/data"], np.float32), np.asarray(f[f"/{part}/target"], np.int64)


def resize_bilinear(img, H, W):
    """genxfer's gx_resize_bilinear (align_corners=False, no antialiasing), one grey image."""
    h, w = img.shape

    def axis(n_out, n_in):
        s = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
        i0 = np.floor(s).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), s - i0

    y0, y1, fy = axis(H, h)
    x0, x1, fx = axis(W, w)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def frame_usps(x):
    out = np.zeros((len(x), 28, 28), np.float32)
    for i, img in enumerate(x.reshape(-1, 16, 16)):
        out[i, 4:24, 4:24] = resize_bilinear(img, 20, 20)
    return out.reshape(len(x), -1)


def e2(args):
    mx, my = read_mnist(args.data, "train")
    mtx, mty = read_mnist(args.data, "test")
    ux, uy = read_usps(args.data, "train")
    utx, uty = read_usps(args.data, "test")
    fux, futx = frame_usps(ux), frame_usps(utx)
    results = {}
    for seed in args.seeds:
        rf = RandomForestClassifier(n_estimators=args.trees, random_state=seed, n_jobs=args.jobs)
        rf.fit(mx, my)
        results.setdefault(("MNIST -> USPS, same space, k = 0", "random forest"), []).append(
            accuracy_score(uty, rf.predict(futx)))
        rf.fit(fux, uy)
        results.setdefault(("USPS -> MNIST, same space, k = 0", "random forest"), []).append(
            accuracy_score(mty, rf.predict(mtx)))
        for k in (1, 5, 10):
            for name, (x, y, tx, ty) in {"USPS": (ux, uy, utx, uty),
                                        "MNIST": (mx, my, mtx, mty)}.items():
                tr, _ = split(y, seed, 0.0, k)
                for mname, m in models(seed, args.trees, args.jobs).items():
                    m.fit(x[tr], y[tr])
                    results.setdefault((f"{name} alone, k = {k}", mname), []).append(
                        accuracy_score(ty, m.predict(tx)))
        print(f"forest.py e2: seed {seed} done", file=sys.stderr)
    print(f"| setting | model | test accuracy, % ({len(args.seeds)} seeds) |")
    print("|---|---|---|")
    for (setting, name), v in results.items():
        m, s = mean_std([100 * a for a in v])
        print(f"| {setting} | {name} | {m:.2f} ± {s:.2f} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("experiment", choices=["e2", "e3"])
    p.add_argument("--data", default=os.environ.get("GENXFER_DATA", "../shared/data"))
    p.add_argument("--seeds", default=None, help="comma-separated (e3: 1..5, e2: 1..3)")
    p.add_argument("--trees", type=int, default=None)
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    default_seeds = "1,2,3,4,5" if args.experiment == "e3" else "1,2,3"
    args.seeds = [int(s) for s in (args.seeds or default_seeds).split(",")]
    args.trees = args.trees or (500 if args.experiment == "e3" else 100)
    if not os.path.isdir(args.data):
        sys.exit(f"forest.py: {args.data}: no such folder (give --data or GENXFER_DATA)")
    (e3 if args.experiment == "e3" else e2)(args)


if __name__ == "__main__":
    main()
