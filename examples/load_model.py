#!/usr/bin/env python3
"""Open a genxfer model.safetensors with numpy alone and classify data with it.

Runs the classifier q(y|x) of a genxfer M2, DVT or mlp model -- the input block of one domain,
the shared encoder trunk and the classifier head, batch norm in evaluation mode with the stored
running statistics -- on the rows of an .npy file, and writes the class probabilities as the CSV
that `genxfer predict` writes (id, predicted, p_CLASS...). The results match genxfer's to about
1e-6.

    python3 load_model.py --model runs/demo/model.safetensors --domain usps --input x.npy
    python3 load_model.py --model model.safetensors --info      # tensors and configuration

The input holds raw features, [n, d] (or [n, h, w] images), as the training data were read:
the model's standardisation of the domain (tensors prep.DOMAIN.mean / .std) is applied here.
With --reader safetensors the tensors and metadata are read by the `safetensors` package
instead of the numpy reader below (both give the same arrays).

The file format (safetensors): an 8-byte little-endian header length N, N bytes of JSON mapping
each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that
follow the header) plus "__metadata__" (string -> string), then the raw little-endian data.
genxfer's metadata: "format" = "genxfer.ssdgm", "config" (the model configuration as JSON) and
"class_names" (a JSON array).
"""
import argparse
import json
import signal
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1"}
BN_EPS = 1e-5          # GX_BN_EPS in src/core/batchnorm.h
LEAKY_SLOPE = 0.01     # GX_LEAKY_SLOPE in src/core/layers.h


class ModelError(Exception):
    pass


# ---- reading ------------------------------------------------------------------------------

def read_safetensors_numpy(path):
    """(tensors, metadata): name -> numpy array, and the __metadata__ dict, with numpy alone."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ModelError(f"{path}: too short for a safetensors file")
    n = int.from_bytes(blob[:8], "little")
    if n > len(blob) - 8:
        raise ModelError(f"{path}: header length {n} exceeds the file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: the header is not JSON ({e})")
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, t in header.items():
        dtype = DTYPES.get(t.get("dtype"))
        if dtype is None:
            raise ModelError(f"{path}: tensor '{name}' has unsupported dtype {t.get('dtype')}")
        begin, end = t["data_offsets"]
        shape = tuple(t["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * np.dtype(dtype).itemsize:
            raise ModelError(f"{path}: tensor '{name}' has offsets {begin}..{end} that do not "
                             f"fit its shape {list(shape)}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
    return tensors, meta


def read_safetensors_package(path):
    """The same with the `safetensors` package (pip install safetensors)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file
    with safe_open(path, framework="np") as f:
        meta = f.metadata() or {}
    return load_file(path), meta


class Model:
    """A genxfer model's tensors, configuration and class names."""

    def __init__(self, path, reader="numpy"):
        read = read_safetensors_package if reader == "safetensors" else read_safetensors_numpy
        self.tensors, self.meta = read(path)
        if self.meta.get("format") != "genxfer.ssdgm":
            raise ModelError(f"{path}: not a genxfer model (metadata format is "
                             f"'{self.meta.get('format')}', expected 'genxfer.ssdgm')")
        self.config = json.loads(self.meta["config"])
        self.class_names = json.loads(self.meta["class_names"])
        self.domains = [d["name"] for d in self.config["domains"]]

    def domain_index(self, name):
        if name is None:
            return len(self.domains) - 1
        if name not in self.domains:
            raise ModelError(f"the model has no domain '{name}' (its domains: "
                             f"{', '.join(self.domains)})")
        return self.domains.index(name)


# ---- the forward pass ---------------------------------------------------------------------

def activation(name, a):
    if name == "identity":
        return a
    if name == "relu":
        return np.maximum(a, 0)
    if name == "leaky_relu":
        return np.where(a < 0, LEAKY_SLOPE * a, a)
    if name == "softplus":   # log(1 + e^a), stably: max(a, 0) + log1p(e^-|a|)
        return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(0.5 * a))
    raise ModelError(f"unknown activation '{name}'")


def dense_block(t, prefix, x, act, last_act, slot):
    """A genxfer dense block: layers PREFIX.0, PREFIX.1, ..., each linear (W [out, in], only
    the first `in` columns: label columns are not used here) -> batch norm with the running
    statistics of `slot` (layers that have PREFIX.i.bn.*) -> activation (`act`, the last layer
    `last_act`)."""
    n_layers = 0
    while f"{prefix}.{n_layers}.weight" in t:
        n_layers += 1
    if n_layers == 0:
        raise ModelError(f"the model has no block '{prefix}'")
    for i in range(n_layers):
        w = t[f"{prefix}.{i}.weight"].astype(np.float64)
        b = t[f"{prefix}.{i}.bias"].astype(np.float64)
        x = x @ w[:, :x.shape[1]].T + b
        if f"{prefix}.{i}.bn.weight" in t:
            gamma = t[f"{prefix}.{i}.bn.weight"].astype(np.float64)
            beta = t[f"{prefix}.{i}.bn.bias"].astype(np.float64)
            mean = t[f"{prefix}.{i}.bn.running_mean.{slot}"].astype(np.float64)
            var = t[f"{prefix}.{i}.bn.running_var.{slot}"].astype(np.float64)
            x = gamma * (x - mean) / np.sqrt(var + BN_EPS) + beta
        x = activation(last_act if i == n_layers - 1 else act, x)
    return x


def predict(model, domain, x):
    """q(y|x) [n, K] for the raw rows x [n, d] of the named domain (None: the last)."""
    t, cfg = model.tensors, model.config
    d = model.domain_index(domain)
    doms = cfg["domains"]
    name = doms[d]["name"]
    n_in = doms[d]["n_in"]
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] != n_in:
        raise ModelError(f"{x.shape[1]} features per row, but domain {name} of the model takes "
                         f"{n_in}")
    if f"prep.{name}.mean" in t:   # the domain's standardisation, in float32 as genxfer does
        x = (x - t[f"prep.{name}.mean"]) / t[f"prep.{name}.std"]
    x = x.astype(np.float64)
    # A domain with share= uses the input block of the domain it names; a block used by several
    # domains keeps batch-norm statistics per domain (slot = the domain's index), else slot 0.
    owner = doms[d].get("shares", name)
    shared = "shares" in doms[d] or any(e.get("shares") == name for e in doms)
    act = cfg["activation"]
    h = dense_block(t, f"enc.in.{owner}", x, act, act, d if shared else 0)
    h = dense_block(t, "enc.trunk", h, act, act, d)       # trunk statistics: one slot per domain
    logits = dense_block(t, "cls", h, act, "identity", 0)  # the head has no batch norm
    logits = logits - logits.max(axis=1, keepdims=True)
    return np.exp(logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)))


# ---- command line -------------------------------------------------------------------------

def csv_field(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n\r') else s


def write_predictions(f, probs, class_names):
    """The CSV of `genxfer predict`: id (the row number), predicted class, p_CLASS columns."""
    f.write("id,predicted," + ",".join(csv_field("p_" + c) for c in class_names) + "\n")
    for i, p in enumerate(probs):
        f.write(f"{i},{csv_field(class_names[int(np.argmax(p))])},"
                + ",".join(f"{v:.9g}" for v in p) + "\n")


def print_info(model):
    print(f"preset {model.config['preset']}, classes: {', '.join(model.class_names)}")
    for d in model.config["domains"]:
        shares = f", shares the blocks of {d['shares']}" if "shares" in d else ""
        print(f"domain {d['name']}: {d['n_in']} features, {d['likelihood']}{shares}")
    for name, a in model.tensors.items():
        print(f"  {name:40s} {str(a.dtype):8s} {list(a.shape)}")


def main(argv=None):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a model.safetensors from genxfer train")
    ap.add_argument("--domain", help="the model's domain the data belong to [the last domain]")
    ap.add_argument("--input", help="an .npy of raw features, [n, d] or [n, h, w]")
    ap.add_argument("--out", help="the CSV of probabilities [standard output]")
    ap.add_argument("--reader", choices=["numpy", "safetensors"], default="numpy",
                    help="read the file with numpy alone or with the safetensors package "
                         "[numpy]")
    ap.add_argument("--info", action="store_true", help="list the configuration and tensors")
    args = ap.parse_args(argv)
    try:
        model = Model(args.model, args.reader)
        if args.info:
            print_info(model)
            return 0
        if not args.input:
            ap.error("--input is required (or --info)")
        probs = predict(model, args.domain, np.load(args.input))
        if args.out:
            with open(args.out, "w", newline="") as f:
                write_predictions(f, probs, model.class_names)
        else:
            write_predictions(sys.stdout, probs, model.class_names)
    except ImportError as e:
        print(f"load_model.py: error: --reader safetensors needs the safetensors package ({e})",
              file=sys.stderr)
        return 1
    except KeyError as e:
        print(f"load_model.py: error: {args.model}: no tensor or metadata entry {e}",
              file=sys.stderr)
        return 1
    except (ModelError, OSError, ValueError) as e:
        print(f"load_model.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
