#!/usr/bin/python3
"""Weights exchange between descent and PyTorch through safetensors.

Run with Debian's python3-torch (/usr/bin/python3); Debian has no python
safetensors package, so this script reads and writes the format itself: an
8-byte little-endian header length, a JSON header, raw little-endian data.

    exchange.py make DIR    torch trains each model below briefly and writes
                            DIR/<name>.safetensors (its state_dict) and
                            DIR/<name>-io.safetensors (an input x and torch's
                            predictions y); models/safetensors_test.go
                            (TestTorchToDescent) loads them into descent and
                            compares. testdata/torch holds the committed ones.
    exchange.py check DIR   loads descent's exports (TestDescentToTorchExport
                            with DESCENT_TORCH_EXPORT=DIR) into the torch
                            models and compares their predictions with
                            descent's, to 1e-6 (relative to max(1, max |y|));
                            exits 1 on any difference.

The models are the torch equivalents of descent's built-in ones, as
models.TorchNames maps them (keep the two in step).
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F64": torch.float64}
NAMES = {torch.float32: "F32", torch.float64: "F64"}


def models():
    """name → (constructor, one example's shape), as in safetensors_test.go."""
    return {
        "linear": (lambda: nn.Sequential(nn.Linear(5, 2)), (5,)),
        "logistic": (lambda: nn.Sequential(nn.Linear(5, 1)), (5,)),
        "softmax": (lambda: nn.Sequential(nn.Linear(5, 3)), (5,)),
        "mlp": (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3)), (5,)),
        "mlp_dropout": (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)), (5,)),
        "lenet": (lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(16 * 2 * 2, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)), (1, 16, 16)),
    }


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, not a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header of {n} bytes runs past the end ({len(data)} bytes)")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']} (want F32 or F64)")
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise ValueError(f"{path}: {name}: offsets {start}..{end} outside the {len(body)} data bytes")
        t = torch.frombuffer(bytearray(body[start:end]), dtype=dt) if end > start else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write(path, tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def make(d):
    for i, (name, (ctor, shape)) in enumerate(models().items()):
        torch.manual_seed(100 + i)
        model = ctor()
        # A few steps of training, so the weights are torch-trained ones.
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        xs = torch.randn(16, *shape)
        for _ in range(5):
            opt.zero_grad()
            loss = (model(xs) ** 2).mean()
            loss.backward()
            opt.step()
        model.eval()
        x = torch.randn(4, *shape)
        with torch.no_grad():
            y = model(x)
        write(f"{d}/{name}.safetensors", model.state_dict())
        write(f"{d}/{name}-io.safetensors", {"x": x, "y": y})
        print(f"{name}: wrote {len(model.state_dict())} tensors, predictions {tuple(y.shape)}")


def check(d):
    bad = 0
    for name, (ctor, _) in models().items():
        model = ctor()
        model.load_state_dict(read(f"{d}/{name}.safetensors"), strict=True)
        model.eval()
        io = read(f"{d}/{name}-io.safetensors")
        with torch.no_grad():
            y = model(io["x"])
        want = io["y"]
        if y.shape != want.shape:
            print(f"{name}: torch predicts shape {tuple(y.shape)}, descent {tuple(want.shape)}")
            bad += 1
            continue
        scale = max(1.0, want.double().abs().max().item())
        worst = (y.double() - want.double()).abs().max().item() / scale
        ok = worst <= 1e-6
        bad += not ok
        print(f"{name}: {want.numel()} predictions agree to {worst:.3g} {'ok' if ok else 'FAIL (want ≤ 1e-6)'}")
    if bad:
        sys.exit(f"{bad} models differ")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit(__doc__)
    torch.set_num_threads(1)
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
