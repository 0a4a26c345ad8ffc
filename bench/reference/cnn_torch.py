#!/usr/bin/python3
"""The CNN of E4 in PyTorch: the reference that `make bench-compare` times against genxfer's CNN
step, and the cross-check of genxfer's loss and gradients.

The network is the default --arch of genxfer scratch/pp/pssl/kd,
    conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc
written the way a PyTorch user would write it: 3x3 convolutions with padding 1 and no bias (batch
norm follows), BatchNorm2d, ReLU, 2x2 max pooling, flatten, Linear(3136, 128), ReLU, Dropout(0.3),
Linear(128, 5); 28x28x1 MNIST images, batch 64, labels y mod 5, mean cross-entropy, Adam with lr
1e-3 and weight decay 5e-4 (L2 added to the gradient, as genxfer's adam), in NCHW as PyTorch
works.

    cnn_torch.py time [--threads N] [--steps 100] [--warmup 10]   one timing, JSON on stdout
    cnn_torch.py check EXPORT.safetensors                         compare with genxfer's export

`check` reads what `genxfer bench --export-cnn FILE` wrote (the weights, one batch in NHWC, the
dropout mask genxfer drew for it, genxfer's loss and gradients), converts the weights to PyTorch's
layouts (conv [Cout, K, K, Cin] -> [Cout, Cin, K, K]; the first fc's inputs from HWC to CHW
order), recomputes loss and gradients in float64 with batch norm in training mode and the same
dropout mask, and prints the largest relative differences; exit 1 when the loss differs by more
than 1e-4 (relative) or a gradient tensor by more than 1e-3 (relative to its largest entry).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
from load_model import read_safetensors_numpy  # noqa: E402  (the numpy safetensors reader)
from m2_torch import load_mnist_train  # noqa: E402  (MNIST's training images in [0, 1])

H = W = 28
K = 5
BATCH = 64
P_DROP = 0.3


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(32, eps=1e-5, momentum=0.1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(64, eps=1e-5, momentum=0.1)
        self.fc1 = torch.nn.Linear(64 * (H // 4) * (W // 4), 128)
        self.head = torch.nn.Linear(128, K)

    def forward(self, x, keep=None):
        """x [B, 1, H, W]; keep: the dropout's kept units [B, 128] (None: draw them)."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.dropout(x, P_DROP, self.training) if keep is None else x * keep / (1 - P_DROP)
        return self.head(x)


# ---- timing ---------------------------------------------------------------------------------

def time_steps(threads, steps, warmup, seed=1):
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = load_mnist_train()
    x = x.view(-1, 1, H, W)
    y = y % K
    model = CNN()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(seed)
    times, cpu = [], []
    for step in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        idx = torch.randint(x.shape[0], (BATCH,), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step >= warmup:
            times.append(dt)
            cpu.append(dc)
        if not torch.isfinite(loss):
            raise SystemExit(f"cnn_torch: the loss is not finite at step {step + 1}")
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "mean_ms": 1e3 * statistics.fmean(times), "cpu_ms": 1e3 * statistics.median(cpu),
            "steps": steps, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "examples_per_s": BATCH / statistics.median(times)}


# ---- cross-check ----------------------------------------------------------------------------

def conv_to_torch(w):
    """genxfer's conv weight [Cout, K, K, Cin] as PyTorch's [Cout, Cin, K, K] (and back: .T)."""
    return np.ascontiguousarray(w.transpose(0, 3, 1, 2))


def fc1_to_torch(w, c=64, h=H // 4, wd=W // 4):
    """The first fc's weight [out, h*w*c] (NHWC flatten) as [out, c*h*w] (NCHW flatten)."""
    return np.ascontiguousarray(w.reshape(-1, h, wd, c).transpose(0, 3, 1, 2).reshape(len(w), -1))


def check(path, loss_tol=1e-4, grad_tol=1e-3):
    t, meta = read_safetensors_numpy(path)
    torch.set_default_dtype(torch.float64)
    model = CNN().double()
    model.train()
    # genxfer name -> (module parameter, genxfer layout -> PyTorch layout)
    same = np.asarray
    names = {"layers.0.weight": (model.conv1.weight, conv_to_torch),
             "layers.1.weight": (model.bn1.weight, same), "layers.1.bias": (model.bn1.bias, same),
             "layers.4.weight": (model.conv2.weight, conv_to_torch),
             "layers.5.weight": (model.bn2.weight, same), "layers.5.bias": (model.bn2.bias, same),
             "layers.8.weight": (model.fc1.weight, fc1_to_torch),
             "layers.8.bias": (model.fc1.bias, same),
             "head.weight": (model.head.weight, same), "head.bias": (model.head.bias, same)}
    for name, (prm, conv) in names.items():
        with torch.no_grad():
            prm.copy_(torch.from_numpy(conv(t[name].astype(np.float64))))
    masks = [k for k in t if k.startswith("batch.dropout.")]
    if len(masks) != 1:
        raise SystemExit(f"cnn_torch: {path}: expected one batch.dropout.* mask, found {masks}")
    keep = torch.from_numpy(t[masks[0]].astype(np.float64))
    x = torch.from_numpy(t["batch.x"].astype(np.float64)).permute(0, 3, 1, 2)  # NHWC -> NCHW
    y = torch.from_numpy(t["batch.y"].astype(np.int64))
    loss = F.cross_entropy(model(x, keep), y)
    loss.backward()
    c_loss = float(t["loss"].reshape(()))
    rel = abs(c_loss - loss.item()) / max(abs(loss.item()), 1e-30)
    ok = rel <= loss_tol
    print(f"loss: genxfer {c_loss:.8g}, PyTorch (float64) {loss.item():.8g}, relative "
          f"difference {rel:.2e} (limit {loss_tol:g})")
    worst = 0.0
    for name, (prm, conv) in names.items():
        g_c = conv(t["grad." + name].astype(np.float64))
        g_t = prm.grad.numpy()
        err = np.abs(g_c - g_t).max() / max(np.abs(g_t).max(), 1e-30)
        worst = max(worst, err)
        flag = "" if err <= grad_tol else "   <-- over the limit"
        print(f"  grad.{name:18s} {str(list(g_t.shape)):16s} max |difference| / max |gradient| "
              f"= {err:.2e}{flag}")
        ok &= err <= grad_tol
    print(f"gradients: largest relative difference {worst:.2e} (limit {grad_tol:g})")
    print("cross-check: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tp = sub.add_parser("time", help="time training steps; JSON on stdout")
    tp.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    tp.add_argument("--steps", type=int, default=100)
    tp.add_argument("--warmup", type=int, default=10)
    cp = sub.add_parser("check", help="compare loss and gradients with a genxfer export")
    cp.add_argument("export")
    a = ap.parse_args()
    if a.cmd == "time":
        print(json.dumps(time_steps(a.threads, a.steps, a.warmup)))
        return 0
    return check(a.export)


if __name__ == "__main__":
    sys.exit(main())
