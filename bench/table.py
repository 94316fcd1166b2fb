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
    ("bncnn-b64", "CNN + BatchNorm f32, batch 64"),
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

    def cell(case, i):
        v = sps.get((case, i))
        if not v:
            return "–"
        m = med[(case, i)]
        spread = (max(v) - min(v)) / m * 100 if m else 0
        return "%s (%.0f%%)" % (fmt(m), spread)

    table("samples/second: median over rounds (spread: (max−min)/median)", impls, str, cell)
    ratio_table("ratios of medians", med, impls)

    go = [i for i in impls if i.startswith(("descent", "gorgonia"))]
    if go:
        table("allocations per update (median; includes compiling the partial last batch's graph once)", go, str,
              lambda case, i: "%.1f" % statistics.median(allocs[(case, i)]) if allocs.get((case, i)) else "–")


def table(title, items, name, cell):
    """Prints a markdown table: one row per case, one column per item."""
    print()
    print(title)
    print()
    print("| case | " + " | ".join(name(i) for i in items) + " |")
    print("|---|" + "---|" * len(items))
    for case, label in CASES:
        print("| %s | %s |" % (label, " | ".join(cell(case, i) for i in items)))


def ratio_table(title, med, impls):
    """The RATIOS of the medians med whose implementations both ran."""
    ratios = [(a, b) for a, b in RATIOS if a in impls and b in impls]
    if ratios:
        table(title, ratios, lambda ab: "%s / %s" % ab,
              lambda case, ab: "%.2f" % (med[(case, ab[0])] / med[(case, ab[1])])
              if (case, ab[0]) in med and med.get((case, ab[1]), 0) > 0 else "–")


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
    table("samples per CPU-second: median over rounds (samples/s ÷ cpu_util)", impls, str,
          lambda case, i: fmt(med[(case, i)]) if (case, i) in med else "–")
    ratio_table("ratios of medians per CPU-second", med, impls)


def fmt(v):
    return "{:,.0f}".format(v)


if __name__ == "__main__":
    main(sys.argv[1])
    per_cpu(sys.argv[1])
