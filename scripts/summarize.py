#!/usr/bin/env python3
"""Mean and standard deviation of test metrics over runs: summarize.py RUN_DIR [RUN_DIR ...].

Each RUN_DIR holds the metrics.json of one `genxfer train --test ...` run (one seed). Prints one
line: n runs, accuracy and test error (mean +- sample std, in %), macro F1, training time."""
import json
import statistics
import sys


def mean_std(values):
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return m, s


def main(dirs):
    if not dirs:
        sys.exit(__doc__)
    runs = []
    for d in dirs:
        try:
            with open(f"{d}/metrics.json") as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            sys.exit(f"summarize: {d}/metrics.json: {e}")
    acc = [100 * r["accuracy"] for r in runs]
    err = [100 - a for a in acc]
    f1 = [r["macro_f1"] for r in runs]
    secs = [r.get("train_seconds", float("nan")) for r in runs]
    (am, asd), (em, esd), (fm, fsd), (tm, _) = mean_std(acc), mean_std(err), mean_std(f1), mean_std(secs)
    seeds = ",".join(str(r.get("seed", "?")) for r in runs)
    print(f"{len(runs)} runs (seeds {seeds}): accuracy {am:.2f} +- {asd:.2f} %, "
          f"error {em:.2f} +- {esd:.2f} %, macro F1 {fm:.4f} +- {fsd:.4f}, "
          f"{tm / 60:.1f} min per run")


if __name__ == "__main__":
    main(sys.argv[1:])
