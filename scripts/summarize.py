#!/usr/bin/env python3
"""Mean and standard deviation of test metrics over runs (one run = one seed).

  summarize.py RUN_DIR [RUN_DIR ...]
      one line for these runs: accuracy and test error (mean +- sample std, in %), macro F1,
      training time
  summarize.py --tree DIR [--class NAME ...]
      a Markdown table with one row per folder under DIR that holds seed*/metrics.json: runs,
      accuracy, macro F1, the F1 of each --class NAME, minutes per run
  summarize.py --val --tree DIR
      the same for runs with a validation split and no test set (the tuning runs of
      scripts/run-e4.sh): the validation accuracy of the last epoch (train_log.csv), and the best
  summarize.py --controls DIR
      the tables of scripts/run-controls.sh: one row per model, one column per setting (E2: the
      last epoch's test accuracy; E3: the macro F1 of the model kept)
  summarize.py --selection --tree DIR
      for runs trained with --monitor-test (scripts/run-controls.sh): the test accuracy of the
      last epoch, of the epoch an unsupervised criterion picks (--select im: the largest
      im_criterion in train_log.csv) and of the best epoch (the oracle, which a user without
      labels cannot know)

Each RUN_DIR holds the metrics.json of one `genxfer train --test ...` run."""
import json
import os
import re
import statistics
import sys


def mean_std(values):
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return m, s


def load(d):
    try:
        with open(os.path.join(d, "metrics.json")) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"summarize: {d}/metrics.json: {e}")


def class_f1(run, name):
    for c in run.get("classes", []):
        if c.get("name") == name:
            return c.get("f1", float("nan"))
    return float("nan")


def one_line(dirs):
    runs = [load(d) for d in dirs]
    acc = [100 * r["accuracy"] for r in runs]
    err = [100 - a for a in acc]
    f1 = [r["macro_f1"] for r in runs]
    secs = [r.get("train_seconds", float("nan")) for r in runs]
    (am, asd), (em, esd), (fm, fsd), (tm, _) = mean_std(acc), mean_std(err), mean_std(f1), mean_std(secs)
    seeds = ",".join(str(r.get("seed", "?")) for r in runs)
    print(f"{len(runs)} runs (seeds {seeds}): accuracy {am:.2f} +- {asd:.2f} %, "
          f"error {em:.2f} +- {esd:.2f} %, macro F1 {fm:.4f} +- {fsd:.4f}, "
          f"{tm / 60:.1f} min per run")


def seed_groups(root, name):
    """{setting: [run folders]}: the seed*/ folders under root that hold `name`, by parent."""
    groups = {}
    for d, _, files in os.walk(root, followlinks=True):
        if name in files and re.fullmatch(r"seed\d+", os.path.basename(d)):
            groups.setdefault(os.path.relpath(os.path.dirname(d), root), []).append(d)
    if not groups:
        sys.exit(f"summarize: no seed*/{name} under {root}")
    return groups


def tree(root, classes):
    groups = seed_groups(root, "metrics.json")
    head = ["setting", "runs", "accuracy (%)", "macro F1"] + [f"F1 {c}" for c in classes] + ["min/run"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for g in sorted(groups):
        runs = [load(d) for d in sorted(groups[g])]
        runs = [r for r in runs if "accuracy" in r]
        if not runs:
            continue
        am, asd = mean_std([100 * r["accuracy"] for r in runs])
        fm, fsd = mean_std([r["macro_f1"] for r in runs])
        cells = [g, str(len(runs)), f"{am:.2f} ± {asd:.2f}", f"{fm:.3f} ± {fsd:.3f}"]
        for c in classes:
            cm, csd = mean_std([class_f1(r, c) for r in runs])
            cells.append(f"{cm:.3f} ± {csd:.3f}")
        tm, _ = mean_std([r.get("train_seconds", float("nan")) for r in runs])
        cells.append(f"{tm / 60:.1f}")
        print("| " + " | ".join(cells) + " |")


def last_val(d):
    """(last epoch's, best) validation accuracy of the run in d, from its train_log.csv."""
    try:
        with open(os.path.join(d, "train_log.csv")) as f:
            rows = [line.strip().split(",") for line in f]
        col = rows[0].index("val_accuracy")
        vals = [float(r[col]) for r in rows[1:] if len(r) > col and r[col] not in ("", "nan")]
    except (OSError, ValueError, IndexError) as e:
        sys.exit(f"summarize: {d}/train_log.csv: {e}")
    if not vals:
        sys.exit(f"summarize: {d}/train_log.csv has no validation accuracy")
    return vals[-1], max(vals)


def val_tree(root):
    groups = seed_groups(root, "train_log.csv")
    print("| setting | runs | last-epoch validation accuracy (%) | best epoch's (%) |")
    print("|---|---|---|---|")
    for g in sorted(groups):
        v = [last_val(d) for d in sorted(groups[g])]
        lm, ls = mean_std([100 * a for a, _ in v])
        bm, bs = mean_std([100 * b for _, b in v])
        print(f"| {g} | {len(v)} | {lm:.2f} ± {ls:.2f} | {bm:.2f} ± {bs:.2f} |")


def read_log(d):
    """train_log.csv of the run in d as {column: [values]}."""
    try:
        with open(os.path.join(d, "train_log.csv")) as f:
            rows = [line.strip().split(",") for line in f if line.strip()]
        return {name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}
    except (OSError, ValueError, IndexError) as e:
        sys.exit(f"summarize: {d}/train_log.csv: {e}")


def selection_tree(root):
    groups = seed_groups(root, "metrics.json")
    print("| setting | runs | last epoch (%) | unsupervised choice (%) | best epoch, oracle (%) |")
    print("|---|---|---|---|---|")
    for g in sorted(groups):
        last, chosen, oracle = [], [], []
        for d in sorted(groups[g]):
            log = read_log(d)
            test = log.get("test_accuracy_monitor")
            if not test:
                sys.exit(f"summarize: {d}: no test_accuracy_monitor (train with --monitor-test)")
            last.append(100 * test[-1])
            oracle.append(100 * max(test))
            im = log.get("im_criterion")
            if im:
                chosen.append(100 * test[im.index(max(im))])
        cells = [g, str(len(last))]
        for v in (last, chosen, oracle):
            cells.append("{:.2f} ± {:.2f}".format(*mean_std(v)) if v else "-")
        print("| " + " | ".join(cells) + " |")


E2_SETTINGS = [("m2u/same/k0", "MNIST -> USPS, k = 0"), ("u2m/same/k0", "USPS -> MNIST, k = 0"),
               ("m2u/native/k1", "MNIST -> USPS native, k = 1"),
               ("u2m/native/k1", "USPS -> MNIST native, k = 1"),
               ("m2u/same/k5", "MNIST -> USPS, k = 5"), ("u2m/same/k5", "USPS -> MNIST, k = 5"),
               ("m2u/native/k5", "MNIST -> USPS native, k = 5"),
               ("u2m/native/k5", "USPS -> MNIST native, k = 5"),
               ("m2u/same/k10", "MNIST -> USPS, k = 10"), ("u2m/same/k10", "USPS -> MNIST, k = 10"),
               ("m2u/native/k10", "MNIST -> USPS native, k = 10"),
               ("u2m/native/k10", "USPS -> MNIST native, k = 10")]
E3_SETTINGS = [("e3/shared/k0/period-own", "k = 0, own scales"),
               ("e3/shared/k0/period-eros", "k = 0, period on EROS-1's"),
               ("e3/four/k1", "k = 1"), ("e3/four/k5", "k = 5"), ("e3/four/k10", "k = 10"),
               ("e3/eight/k5", "eight classes, k = 5")]


ORDER = ["source-only", "self-training", "dann", "m2-target", "dvt-standard", "dvt",
         "dvt-translate", "dvt-generate", "dvt-dann", "dvt-all", "source-only-em",
         "self-training-em", "dvt-em", "dvt-generate-em"]


def seed_dirs(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, s) for s in os.listdir(d)
                  if re.fullmatch(r"seed\d+", s) and os.path.isfile(os.path.join(d, s, "metrics.json")))


def controls(root):
    """scripts/run-controls.sh's tables: rows = models, columns = settings."""
    def table(settings, cell, what):
        # settings without a finished run are left out
        settings = [(key, name) for key, name in settings
                    if os.path.isdir(os.path.join(root, key)) and
                    any(seed_dirs(os.path.join(root, key, m)) for m in os.listdir(os.path.join(root, key)))]
        if not settings:
            return
        found = {m for key, _ in settings for m in
                 (os.listdir(os.path.join(root, key)) if os.path.isdir(os.path.join(root, key)) else [])
                 if os.path.isdir(os.path.join(root, key, m))}
        rows = [m for m in ORDER if m in found] + sorted(found - set(ORDER))
        print(f"{what}\n")
        print("| model | " + " | ".join(name for _, name in settings) + " |")
        print("|---|" + "---|" * len(settings))
        for m in rows:
            cells = [cell(seed_dirs(os.path.join(root, key, m))) for key, _ in settings]
            if any(c != "-" for c in cells):
                print(f"| {m} | " + " | ".join(cells) + " |")
        print()

    def last_acc(dirs):  # test accuracy of the last epoch, from the monitor column
        v = [100 * read_log(d)["test_accuracy_monitor"][-1] for d in dirs]
        return "{:.2f} ± {:.2f} ({})".format(*mean_std(v), len(v)) if v else "-"

    def f1(dirs):  # macro F1 of the model kept (the epoch --select chose)
        v = [load(d)["macro_f1"] for d in dirs]
        return "{:.3f} ± {:.3f} ({})".format(*mean_std(v), len(v)) if v else "-"

    table(E2_SETTINGS[:4], last_acc, "E2: test accuracy (%) of the last epoch, mean ± std (runs)")
    table(E2_SETTINGS[4:], last_acc, "E2 with more target labels: test accuracy (%) of the last "
          "epoch, mean ± std (runs)")
    table(E3_SETTINGS, f1, "E3: macro F1 of the model kept (DVT, M2, self-training, DANN: the "
          "epoch --select im chose; source-only: the last), mean ± std (runs)")

    def ceph(dirs):
        v = [class_f1(load(d), "CEPH") for d in dirs]
        return "{:.3f} ± {:.3f} ({})".format(*mean_std(v), len(v)) if v else "-"

    table(E3_SETTINGS[:2], ceph, "E3, k = 0: F1 of CEPH, the rarest class")
    # source-only rows of E2 live beside the settings
    for key, name in (("m2u/source-only", "MNIST -> USPS"), ("u2m/source-only", "USPS -> MNIST")):
        print(f"source-only, {name}: {last_acc(seed_dirs(os.path.join(root, key)))}")


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        sys.exit(__doc__)
    if argv[0] == "--controls":
        if len(argv) != 2:
            sys.exit(__doc__)
        controls(argv[1])
        return
    if argv[0] == "--selection":
        if len(argv) != 3 or argv[1] != "--tree":
            sys.exit(__doc__)
        selection_tree(argv[2])
        return
    if argv[0] == "--val":
        if len(argv) != 3 or argv[1] != "--tree":
            sys.exit(__doc__)
        val_tree(argv[2])
        return
    if argv[0] == "--tree":
        if len(argv) < 2:
            sys.exit(__doc__)
        classes = [argv[i + 1] for i in range(2, len(argv) - 1) if argv[i] == "--class"]
        tree(argv[1], classes)
    else:
        one_line(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
