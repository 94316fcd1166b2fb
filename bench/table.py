#!/usr/bin/python3
"""Summarize bench/run.sh's RESULT lines: median samples/s per case and
implementation, spread (min–max over rounds, in % of the median), and the
ratios descent/PyTorch, descent/plain gorgonia, descent/scikit-learn."""
import statistics
import sys
from collections import defaultdict

CASES = [
    ("mlp-b128", "MLP 784-128-10 f32, batch 128"),
    ("mlp-b32", "MLP, batch 32"),
    ("mlp-b1", "MLP, batch 1 (online)"),
    ("mlp-gd", "MLP, full batch (GD epoch)"),
    ("softmax-b1", "softmax regression, online"),
    ("mlp-b128-f64", "MLP f64, batch 128"),
    ("lenet-b64", "LeNet-5 f32, batch 64"),
]
IMPLS = ["descent", "descent-base", "descent-openblas", "gorgonia", "gorgonia-openblas", "pytorch-1t", "pytorch-2t", "sklearn"]
RATIOS = [
    ("descent", "descent-base"), ("descent", "pytorch-1t"), ("descent-openblas", "pytorch-1t"), ("descent", "pytorch-2t"),
    ("descent", "gorgonia"), ("descent-openblas", "gorgonia-openblas"), ("descent", "sklearn"),
]


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT"):
                continue
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv))
    return rows


def main(path):
    sps = defaultdict(list)
    allocs = defaultdict(list)
    for r in parse(path):
        key = (r["case"], r["impl"])
        sps[key].append(float(r["samples_per_sec"]))
        if "allocs_per_step" in r:
            allocs[key].append(float(r["allocs_per_step"]))
    impls = [i for i in IMPLS if any(k[1] == i for k in sps)]
    med = {k: statistics.median(v) for k, v in sps.items()}

    print()
    print("samples/second: median over rounds (spread: (max−min)/median)")
    print()
    print("| case | " + " | ".join(impls) + " |")
    print("|---|" + "---|" * len(impls))
    for case, label in CASES:
        cells = []
        for i in impls:
            v = sps.get((case, i))
            if not v:
                cells.append("–")
                continue
            m = med[(case, i)]
            spread = (max(v) - min(v)) / m * 100 if m else 0
            cells.append("%s (%.0f%%)" % (fmt(m), spread))
        print("| %s | %s |" % (label, " | ".join(cells)))

    ratios = [(a, b) for a, b in RATIOS if a in impls and b in impls]
    if ratios:
        print()
        print("ratios of medians")
        print()
        print("| case | " + " | ".join("%s / %s" % (a, b) for a, b in ratios) + " |")
        print("|---|" + "---|" * len(ratios))
        for case, label in CASES:
            cells = []
            for a, b in ratios:
                if (case, a) in med and (case, b) in med and med[(case, b)] > 0:
                    cells.append("%.2f" % (med[(case, a)] / med[(case, b)]))
                else:
                    cells.append("–")
            print("| %s | %s |" % (label, " | ".join(cells)))

    go = [i for i in impls if i.startswith(("descent", "gorgonia"))]
    if go:
        print()
        print("allocations per update (median; includes compiling the partial last batch's graph once)")
        print()
        print("| case | " + " | ".join(go) + " |")
        print("|---|" + "---|" * len(go))
        for case, label in CASES:
            cells = ["%.1f" % statistics.median(allocs[(case, i)]) if allocs.get((case, i)) else "–" for i in go]
            print("| %s | %s |" % (label, " | ".join(cells)))


def per_cpu(path):
    """Samples per CPU-second (samples/s ÷ cpu_util), for a machine whose
    load changes within a round: what each implementation does with the
    CPU time it got. A Go implementation using both cores counts both."""
    cps = defaultdict(list)
    for r in parse(path):
        if "cpu_util" in r and float(r["cpu_util"]) > 0:
            cps[(r["case"], r["impl"])].append(float(r["samples_per_sec"]) / float(r["cpu_util"]))
    impls = [i for i in IMPLS if any(k[1] == i for k in cps)]
    if not impls:
        return
    med = {k: statistics.median(v) for k, v in cps.items()}
    print()
    print("samples per CPU-second: median over rounds (samples/s ÷ cpu_util)")
    print()
    print("| case | " + " | ".join(impls) + " |")
    print("|---|" + "---|" * len(impls))
    for case, label in CASES:
        print("| %s | %s |" % (label, " | ".join(fmt(med[(case, i)]) if (case, i) in med else "–" for i in impls)))
    ratios = [(a, b) for a, b in RATIOS if a in impls and b in impls]
    if ratios:
        print()
        print("| case (per CPU-second) | " + " | ".join("%s / %s" % (a, b) for a, b in ratios) + " |")
        print("|---|" + "---|" * len(ratios))
        for case, label in CASES:
            cells = ["%.2f" % (med[(case, a)] / med[(case, b)]) if (case, a) in med and (case, b) in med else "–"
                     for a, b in ratios]
            print("| %s | %s |" % (label, " | ".join(cells)))


def fmt(v):
    return "{:,.0f}".format(v)


if __name__ == "__main__":
    main(sys.argv[1])
    per_cpu(sys.argv[1])
