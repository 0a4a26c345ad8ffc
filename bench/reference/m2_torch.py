#!/usr/bin/python3
"""The B1 model (M2 on MNIST) in PyTorch: the reference that `make bench-compare` times against
genxfer, and the cross-check of genxfer's loss and gradients.

The model is genxfer's m2 preset with its defaults, written the way a PyTorch user would write it:
  h = softplus(W2 softplus(W1 x))                  encoder 784-500-500
  q(y|x) = softmax(C h)                            linear classifier, 10 classes
  q(z|x,y) = N(mu, e^lv), [mu ; lv] = L [h ; y]    linear latent head, z = 50
  p(x|y,z) = Bernoulli(logits D3 sp(D2 sp(D1 [z ; y])))   decoder 60-500-500-784
  loss = mean_labelled (-L(x,y) - alpha log q(y|x)) + mean_unlabelled -U(x)
  L(x,y) = log p(x|y,z) - KL(q(z|x,y) || N(0,I)) + log pi_y,  U(x) = sum_k q(k|x) L(x,k) + H(q(.|x))
with one reparameterised sample per (row, class) branch. The unlabelled bound repeats every
unlabelled row once per class (torch.cat / repeat), as a framework implementation does.

    m2_torch.py time [--threads N] [--steps 100] [--warmup 10]   one timing, JSON on stdout
    m2_torch.py check EXPORT.safetensors                         compare with genxfer's export

`check` reads what `genxfer bench --export FILE` wrote (the model's weights, one fixed batch, the
noise it drew, and genxfer's loss and gradients), recomputes the loss and gradients here in
float64 with the same noise, and prints the largest relative differences; exit 1 when the loss
differs by more than 1e-4 (relative) or a gradient tensor by more than 1e-3 (relative to its
largest entry).
"""
import argparse
import gzip
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

N_IN, HID, Z, K = 784, 500, 50, 10


class M2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        L = torch.nn.Linear
        self.enc_in, self.enc_trunk, self.cls = L(N_IN, HID), L(HID, HID), L(HID, K)
        self.lat = L(HID + K, 2 * Z)
        self.dec1, self.dec2, self.dec_out = L(Z + K, HID), L(HID, HID), L(HID, N_IN)
        self.register_buffer("log_pi", torch.full((K,), -float(np.log(K))))

    # genxfer tensor name -> module parameter
    def genxfer_names(self):
        return {"enc.in.mnist.0": self.enc_in, "enc.trunk.0": self.enc_trunk, "cls.0": self.cls,
                "lat.0": self.lat, "dec.trunk.0": self.dec1, "dec.trunk.1": self.dec2,
                "dec.out.mnist.0": self.dec_out}

    def loss(self, xl, yl, xu, eps, alpha, beta=1.0):
        nl, nu = xl.shape[0], xu.shape[0]
        h = F.softplus(self.enc_trunk(F.softplus(self.enc_in(torch.cat([xl, xu])))))
        lp = F.log_softmax(self.cls(h), dim=1)
        p = lp.exp()
        # branches: the labelled rows with their label, then every unlabelled row with class k
        yb = torch.cat([yl, torch.arange(K).repeat_interleave(nu)])
        Y = F.one_hot(yb, K).to(h.dtype)
        hb = torch.cat([h[:nl], h[nl:].repeat(K, 1)])
        xb = torch.cat([xl, xu.repeat(K, 1)])
        out = self.lat(torch.cat([hb, Y], 1))
        mu, lv = out[:, :Z], out[:, Z:]
        z = mu + torch.exp(0.5 * lv) * eps
        logits = self.dec_out(F.softplus(self.dec2(F.softplus(self.dec1(torch.cat([z, Y], 1))))))
        rec = (xb * logits - F.softplus(logits)).sum(1)
        kl = 0.5 * (-lv + lv.exp() + mu * mu - 1).sum(1)
        elbo = rec - beta * kl + self.log_pi[yb]
        ce = -lp[:nl].gather(1, yl[:, None])[:, 0]
        loss_l = (-elbo[:nl] + alpha * ce).mean()
        Lu = elbo[nl:].view(K, nu).t()  # [nu, K]
        u = (p[nl:] * Lu).sum(1) - (p[nl:] * lp[nl:]).sum(1)
        return loss_l - u.mean()


# ---- data -----------------------------------------------------------------------------------

def data_dir():
    d = os.environ.get("GENXFER_DATA")
    if d and os.path.isdir(d):
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "..", "shared", "data")


def load_mnist_train():
    """Training images in [0, 1] [60000, 784] float32 and labels, from the gzip'd IDX files."""
    d = os.path.join(data_dir(), "mnist")
    with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, N_IN)
    with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)


# ---- timing ---------------------------------------------------------------------------------

def time_steps(threads, steps, warmup, batch=100, alpha=10.0, seed=1):
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = load_mnist_train()
    # 10 labels per class (E1); every image is in the unlabelled set
    lab = torch.cat([torch.nonzero(y == k)[:10, 0] for k in range(K)])
    model = M2()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    times, cpu = [], []
    for step in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        il = lab[torch.randint(len(lab), (batch,), generator=gen)]
        iu = torch.randint(x.shape[0], (batch,), generator=gen)
        eps = torch.randn(batch + K * batch, Z)
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x[il], y[il], x[iu], eps, alpha)
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step >= warmup:
            times.append(dt)
            cpu.append(dc)
        if not torch.isfinite(loss):
            raise SystemExit(f"m2_torch: the loss is not finite at step {step + 1}")
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
            "mean_ms": 1e3 * statistics.fmean(times), "cpu_ms": 1e3 * statistics.median(cpu),
            "steps": steps,
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "examples_per_s": 2 * batch / statistics.median(times)}


# ---- cross-check ----------------------------------------------------------------------------

def check(path, loss_tol=1e-4, grad_tol=1e-3):
    t, meta = read_safetensors_numpy(path)
    torch.set_default_dtype(torch.float64)
    model = M2().double()
    for name, mod in model.genxfer_names().items():
        with torch.no_grad():
            mod.weight.copy_(torch.from_numpy(t[name + ".weight"].astype(np.float64)))
            mod.bias.copy_(torch.from_numpy(t[name + ".bias"].astype(np.float64)))
    model.log_pi.copy_(torch.from_numpy(t["prior.log_pi.mnist"].astype(np.float64)))
    xl = torch.from_numpy(t["batch.xl"].astype(np.float64))
    yl = torch.from_numpy(t["batch.yl"].astype(np.int64))
    xu = torch.from_numpy(t["batch.xu"].astype(np.float64))
    eps = torch.from_numpy(t["batch.eps"].astype(np.float64))
    alpha, beta = float(meta["alpha"]), float(meta["beta"])
    loss = model.loss(xl, yl, xu, eps, alpha, beta)
    loss.backward()
    c_loss = float(t["loss"].reshape(()))
    rel = abs(c_loss - loss.item()) / max(abs(loss.item()), 1e-30)
    ok = rel <= loss_tol
    print(f"loss: genxfer {c_loss:.8g}, PyTorch (float64) {loss.item():.8g}, relative "
          f"difference {rel:.2e} (limit {loss_tol:g})")
    worst = 0.0
    for name, mod in model.genxfer_names().items():
        for part, prm in (("weight", mod.weight), ("bias", mod.bias)):
            g_c = t["grad." + name + "." + part].astype(np.float64)
            g_t = prm.grad.numpy()
            err = np.abs(g_c - g_t).max() / max(np.abs(g_t).max(), 1e-30)
            worst = max(worst, err)
            flag = "" if err <= grad_tol else "   <-- over the limit"
            print(f"  grad.{name + '.' + part:26s} {str(list(g_t.shape)):11s} max |difference| / "
                  f"max |gradient| = {err:.2e}{flag}")
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
