#!/usr/bin/python3
"""`make bench-compare`: genxfer's benchmarks beside the PyTorch references of the same models.

Runs, in one go on the same machine:
  1. `genxfer bench --json` (the B1 step and the E4 CNN step at 1 and all threads, SGEMM peak,
     MNIST loading, an E1 epoch with its peak memory);
  2. bench/reference/m2_torch.py and cnn_torch.py at each of their thread settings, every one in a
     fresh process (torch.set_num_threads and OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are read at
     start-up);
  3. the cross-checks: `genxfer bench --export` (--export-cnn) writes the model after a few steps,
     one batch, its noise (dropout mask) and genxfer's loss and gradients, and m2_torch.py
     (cnn_torch.py) recomputes them with PyTorch;
then prints the ratios of genxfer's best step times to PyTorch's best, and each target of issue 18.
Exit status 1 when a run fails or a cross-check does not pass.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference", "m2_torch.py")
CNN_REFERENCE = os.path.join(HERE, "reference", "cnn_torch.py")
PYTHON = "/usr/bin/python3"  # Debian's python3-torch is not visible to other interpreters

# (label, torch.set_num_threads argument (0: leave it), environment)
TORCH_SETTINGS = [
    ("default (no setting)", 0, {}),
    ("set_num_threads(1), OMP/OPENBLAS_NUM_THREADS=1", 1,
     {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}),
    ("set_num_threads(2), OMP/OPENBLAS_NUM_THREADS=2", 2,
     {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}),
    ("set_num_threads(2), OPENBLAS_NUM_THREADS=1", 2,
     {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}),
    ("set_num_threads(1), OPENBLAS_NUM_THREADS=2", 1,
     {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "2"}),
]


def run(cmd, env=None, capture=True):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE if capture else None, text=True)
    if r.returncode != 0:
        sys.exit(f"bench-compare: {' '.join(cmd)} failed (exit {r.returncode})")
    return r.stdout


def time_torch(script, steps):
    """Times script at every TORCH_SETTINGS entry, prints a table; returns (best label, result,
    the result with 1 thread for torch and OpenBLAS)."""
    print(f"{'setting':50s}  step ms (median    min)  examples/s")
    results = []
    for label, threads, extra in TORCH_SETTINGS:
        env = dict(os.environ)
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.pop(k, None)
        env.update(extra)
        out = run([PYTHON, script, "time", "--threads", str(threads)] + steps, env=env)
        t = json.loads(out.strip().splitlines()[-1])
        results.append((label, t))
        print(f"{label:50s}  {t['median_ms']:15.2f} {t['min_ms']:6.2f}  {t['examples_per_s']:10.0f}",
              flush=True)
    best_label, best = min(results, key=lambda r: r[1]["median_ms"])
    print(f"PyTorch {best['torch']}, best: {best['median_ms']:.2f} ms ({best_label})")
    return best_label, best, results[1][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genxfer", default="build/genxfer", help="the genxfer binary [build/genxfer]")
    ap.add_argument("--steps", type=int, default=100, help="measured steps per setting [100]")
    ap.add_argument("--warmup", type=int, default=10, help="steps before measuring [10]")
    ap.add_argument("--no-epoch", action="store_true", help="skip the E1 epoch")
    a = ap.parse_args()
    load_before = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="genxfer-compare-")
    steps = ["--steps", str(a.steps), "--warmup", str(a.warmup)]

    print("== genxfer ==", flush=True)
    cjson = os.path.join(tmp, "genxfer.json")
    cmd = [a.genxfer, "bench", "--json", cjson] + steps + (["--no-epoch"] if a.no_epoch else [])
    run(cmd, capture=False)
    c = json.load(open(cjson))

    print("\n== PyTorch reference (bench/reference/m2_torch.py): the same model, batch and "
          "optimiser ==", flush=True)
    best_label, best, _ = time_torch(REFERENCE, steps)
    print("\n== PyTorch reference (bench/reference/cnn_torch.py): the E4 CNN, the same layers, batch "
          "and optimiser ==", flush=True)
    cnn_label, cnn_best, cnn_torch_one = time_torch(CNN_REFERENCE, steps)

    print("\n== cross-check: the same weights, batch and noise in genxfer and PyTorch ==", flush=True)
    export = os.path.join(tmp, "step.safetensors")
    run([a.genxfer, "bench", "--export", export, "--warmup", "20"], capture=False)
    check = subprocess.run([PYTHON, REFERENCE, "check", export])
    print("\n== cross-check of the CNN: the same weights, batch and dropout mask ==", flush=True)
    cnn_export = os.path.join(tmp, "cnn-step.safetensors")
    run([a.genxfer, "bench", "--export-cnn", cnn_export, "--warmup", "20"], capture=False)
    cnn_check = subprocess.run([PYTHON, CNN_REFERENCE, "check", cnn_export])
    check_ok = check.returncode == 0 and cnn_check.returncode == 0

    runs = c["runs"]
    cbest = min(runs, key=lambda r: r["median_ms"])
    ratio = best["median_ms"] / cbest["median_ms"]
    bound = cbest["median_ms"] / cbest["gemm_bound_ms"]
    one = [r for r in runs if r["threads"] == 1]
    two = [r for r in runs if r["threads"] == 2]
    print("\n== comparison ==")
    print(f"genxfer best: {cbest['median_ms']:.2f} ms/step at {cbest['threads']} thread(s); "
          f"PyTorch best: {best['median_ms']:.2f} ms/step ({best_label})")
    print(f"genxfer is {ratio:.2f}x faster than PyTorch's best setting")
    cnn_runs = c["cnn"]["runs"]
    cnn_c = min(cnn_runs, key=lambda r: r["median_ms"])
    cnn_ratio = cnn_best["median_ms"] / cnn_c["median_ms"]
    cnn_one = [r for r in cnn_runs if r["threads"] == 1]
    print(f"CNN: genxfer best: {cnn_c['median_ms']:.2f} ms/step at {cnn_c['threads']} thread(s), "
          f"{cnn_c['median_ms'] / cnn_c['gemm_bound_ms']:.2f}x its GEMM-bound time; PyTorch best: "
          f"{cnn_best['median_ms']:.2f} ms/step ({cnn_label}): {cnn_ratio:.2f}x")
    if cnn_one:  # the fairest pair on a loaded machine: one thread each
        print(f"CNN at 1 thread each: genxfer {cnn_one[0]['median_ms']:.2f} ms, PyTorch "
              f"{cnn_torch_one['median_ms']:.2f} ms: "
              f"{cnn_torch_one['median_ms'] / cnn_one[0]['median_ms']:.2f}x")

    def verdict(ok):
        return "met" if ok else "NOT met"
    print("\n== targets (issue 18: oneDNN kernels) ==")
    print(f"(1) B1 step >= 2.5x faster than PyTorch's best (goal 3x): {ratio:.2f}x  "
          f"[{verdict(ratio >= 2.5)}]")
    print(f"(2) B1 step within 1.35x of the GEMM-bound time at the peak measured through "
          f"{c.get('gemm_backend', 'the backend')}: {bound:.2f}x at {cbest['threads']} "
          f"thread(s)  [{verdict(bound <= 1.35)}]")
    if one and two:
        s = one[0]["median_ms"] / two[0]["median_ms"]
        print(f"(3) 1 -> 2 threads speeds the B1 step up >= 1.8x: {s:.2f}x  [{verdict(s >= 1.8)}]")
    else:
        print("(3) 1 -> 2 threads: not measured (this machine or --threads has no 1 and 2)")
    if "e1_max_rss_mb" in c:
        rss = c["e1_max_rss_mb"]
        print(f"(4) peak RSS of an E1 training run < 300 MB: {rss:.0f} MB  [{verdict(rss < 300)}]")
    else:
        print("(4) peak RSS of an E1 run: not measured (--no-epoch)")
    print(f"(5) E4 CNN step >= 5x faster than PyTorch's best (goal 6x): {cnn_ratio:.2f}x  "
          f"[{verdict(cnn_ratio >= 5)}]")
    print(f"(6) losses agree to 1e-4 and gradients to 1e-3: B1 "
          f"{'PASS' if check.returncode == 0 else 'FAIL'}, CNN "
          f"{'PASS' if cnn_check.returncode == 0 else 'FAIL'}")
    print(f"load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
          f"(2 cores shared with other work make every absolute figure noisy; the ratios come "
          f"from one run)")
    for f in (cjson, export, cnn_export):
        if os.path.exists(f):
            os.remove(f)
    os.rmdir(tmp)
    return 0 if check_ok else 1


if __name__ == "__main__":
    sys.exit(main())
