#!/usr/bin/python3
"""Generates layers.json, the PyTorch reference values graph/torch_test.go
checks descent's layers against (float64, forward and backward).

Run with Debian's python3-torch: /usr/bin/python3 graph/testdata/torch/gen.py
Every case gives the layer's inputs and parameters in descent's layout, an
upstream weight R of the output's shape (the loss is sum(y * R)), and what
PyTorch computes: the output y, the gradients (grad/<name>) of the input x
and of every parameter, and for BatchNorm the running statistics after the
training step and the evaluation-mode output that uses them.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261130)
torch.set_default_dtype(torch.float64)
cases = []


def tensor(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def case(name, layer, args, inputs, params, y, extra=None):
    """inputs/params: dicts of leaf tensors (x requires grad unless ids)."""
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    ts = {"R": tensor(r), "y": tensor(y)}
    for k, v in list(inputs.items()) + list(params.items()):
        ts[k] = tensor(v)
        if v.requires_grad:
            ts["grad/" + k] = tensor(v.grad)
    for k, v in (extra or {}).items():
        ts[k] = tensor(v)
    cases.append({"name": name, "layer": layer, "args": args, "tensors": ts})


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


# Activations, on values spread over both sides of every kink and threshold.
acts = {
    "tanh": (torch.tanh, {}),
    "sigmoid": (torch.sigmoid, {}),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), {"alpha": 0.1}),
    "elu": (lambda x: F.elu(x, 1.3), {"alpha": 1.3}),
    "gelu": (F.gelu, {}),
    "silu": (F.silu, {}),
    "softplus": (F.softplus, {}),
}
for name, (f, args) in acts.items():
    x = torch.cat([torch.randn(18) * 3, torch.tensor([25.0, -25.0, 19.5, 20.5, 0.5, -0.5])]).reshape(4, 6)
    x.requires_grad_()
    case(name, name, args, {"x": x}, {}, f(x))

# BatchNorm, dense (N, C) and convolutional (N, C, H, W), with non-trivial
# affine parameters and running statistics.
for name, shape in [("batchnorm_dense", (6, 4)), ("batchnorm_conv", (3, 2, 4, 5))]:
    c = shape[1]
    bn = torch.nn.BatchNorm2d(c) if len(shape) == 4 else torch.nn.BatchNorm1d(c)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c) + 0.5)
        bn.bias.copy_(torch.randn(c))
        bn.running_mean.copy_(torch.randn(c))
        bn.running_var.copy_(torch.rand(c) + 0.5)
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    x = leaf(*shape, scale=2.0)
    with torch.no_grad():
        x += 1.5
    bn.train()
    y = bn(x)
    bn.eval()
    with torch.no_grad():
        ye = bn(x)
    params = {"bn/gamma": bn.weight, "bn/beta": bn.bias}
    case(name, "batchnorm", {}, {"x": x}, params, y, {
        "bn/running_mean": rm0, "bn/running_var": rv0,
        "after/bn/running_mean": bn.running_mean, "after/bn/running_var": bn.running_var,
        "eval_y": ye})

# LayerNorm over the last axis of (N, T, D).
ln = torch.nn.LayerNorm(6)
with torch.no_grad():
    ln.weight.copy_(torch.rand(6) + 0.5)
    ln.bias.copy_(torch.randn(6))
x = leaf(3, 4, 6, scale=2.0)
case("layernorm", "layernorm", {}, {"x": x}, {"ln/gamma": ln.weight, "ln/beta": ln.bias}, ln(x))

# Embedding of (N, T) ids with repeats.
w = leaf(7, 5)
ids = torch.tensor([[0, 3, 3, 6], [1, 0, 6, 6], [2, 2, 5, 4]])
case("embedding", "embedding", {"vocab": 7, "dim": 5}, {"ids": ids.double()}, {"emb/w": w}, F.embedding(ids, w))

# Average pooling, two windows, and global average pooling.
for name, size, stride in [("avgpool_2_2", 2, 2), ("avgpool_3_2", 3, 2)]:
    x = leaf(2, 3, 6, 7)
    case(name, "avgpool", {"size": size, "stride": stride}, {"x": x}, {}, F.avg_pool2d(x, size, stride))
x = leaf(2, 3, 4, 5)
case("global_avgpool", "global_avgpool", {}, {"x": x}, {}, F.adaptive_avg_pool2d(x, 1).flatten(1))

# LSTM, batch first; descent's W_ih and W_hh are PyTorch's transposed, and
# its one bias is the sum of PyTorch's two (whose gradients are equal).
for name, seq in [("lstm_last", False), ("lstm_seq", True)]:
    hidden, feats = 6, 4
    lstm = torch.nn.LSTM(feats, hidden, batch_first=True)
    x = leaf(3, 5, feats)
    out, _ = lstm(x)
    y = out if seq else out[:, -1, :]
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    ts = {"R": tensor(r), "y": tensor(y), "x": tensor(x), "grad/x": tensor(x.grad),
          "lstm/w_ih": tensor(lstm.weight_ih_l0.t()), "lstm/w_hh": tensor(lstm.weight_hh_l0.t()),
          "lstm/b": tensor(lstm.bias_ih_l0 + lstm.bias_hh_l0),
          "grad/lstm/w_ih": tensor(lstm.weight_ih_l0.grad.t()), "grad/lstm/w_hh": tensor(lstm.weight_hh_l0.grad.t()),
          "grad/lstm/b": tensor(lstm.bias_ih_l0.grad)}
    cases.append({"name": name, "layer": "lstm", "args": {"hidden": hidden, "sequences": seq}, "tensors": ts})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.json")
with open(out + ".tmp", "w") as f:
    json.dump({"generator": "graph/testdata/torch/gen.py", "torch": torch.__version__, "cases": cases}, f, indent=None, separators=(",", ":"))
    f.write("\n")
os.replace(out + ".tmp", out)
print("wrote", out, len(cases), "cases")
