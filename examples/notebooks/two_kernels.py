#!/usr/bin/python3
"""Two gophernotes kernels started seconds apart must not break each other.

    JUPYTER_PATH=... /usr/bin/python3 two_kernels.py [DELAY_SECONDS]

run.sh runs it (`run.sh --test two-kernels`). Kernel A starts and runs an
import-and-train cell; DELAY seconds later (default 3, allowed 1 to 8) kernel B
starts and runs the same cell while A is still importing, as two browser tabs
do. Both cells must succeed, train, and report different plugin folders
(GOPATHs). Before each kernel had a GOPATH of its own, the second kernel's
first import deleted the first one's plugin folder mid-build: one kernel
failed with "go.mod file not found", the other imported nothing.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernels  # noqa: E402

CELL_TIMEOUT = 1800
CELL = r'''
import (
	"context"
	"fmt"
	"os"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/trainers"
)

ds, err := datasets.Iris(graph.Float64)
if err != nil {
	panic(err)
}
hist, err := trainers.MiniBatchSGD{BatchSize: 16, Config: trainers.Config{
	Epochs: 5, Loss: graph.SoftmaxCrossEntropy, Optimizer: trainers.SGD{LR: 0.1}, Seed: %d,
}}.Fit(context.Background(), models.MLP{Hidden: []int{8}, Outputs: 3}, graph.NewParams(graph.Float64, %d), ds)
if err != nil {
	panic(err)
}
_, _ = fmt.Printf("TRAINED epochs=%%d loss=%%.4f gopath=%%s\n", len(hist.Epochs), hist.Last().TrainLoss, os.Getenv("GOPATH"))
'''


def main(argv):
    delay = float(argv[0]) if argv else 3.0
    if not 1 <= delay <= 8:
        sys.exit("two_kernels.py: the delay must be 1 to 8 seconds, got %g" % delay)
    results, errors = {}, []

    def run(label, seed):
        k = None
        try:
            k = kernels.Kernel(label)
            results[label] = k.execute(CELL % (seed, seed), CELL_TIMEOUT)
        except Exception as e:  # a kernel that dies or never starts is a failure too
            errors.append("kernel %s: %s: %s" % (label, type(e).__name__, e))
        finally:
            if k is not None:
                k.shutdown()

    t0 = time.monotonic()
    a = threading.Thread(target=run, args=("A", 1))
    a.start()
    time.sleep(delay)
    b = threading.Thread(target=run, args=("B", 2))
    b.start()
    a.join()
    b.join()

    gopaths = {}
    for label in ("A", "B"):
        r = results.get(label)
        if r is None:
            continue
        line = [l for l in r.stdout.splitlines() if l.startswith("TRAINED ")]
        if not r.ok() or len(line) != 1:
            errors.append("kernel %s: the import-and-train cell failed:\n%s" % (label, r.describe()))
            continue
        fields = dict(f.split("=", 1) for f in line[0].split()[1:])
        if fields.get("epochs") != "5":
            errors.append("kernel %s trained %s epochs, want 5: %s" % (label, fields.get("epochs"), line[0]))
        gopaths[label] = fields.get("gopath", "")
        print("kernel %s: %s (%.1fs)" % (label, line[0], r.seconds))
    if len(gopaths) == 2:
        if gopaths["A"] == gopaths["B"] or not all(gopaths.values()):
            errors.append("the kernels share a plugin folder: GOPATH %r and %r" % (gopaths["A"], gopaths["B"]))
        for label, p in gopaths.items():
            if os.path.basename(os.path.dirname(p)) != "kernels":
                errors.append("kernel %s's GOPATH %s is not a per-kernel folder of run.sh's launcher" % (label, p))
    elif not errors:
        errors.append("got results of %d kernels, want 2" % len(gopaths))
    if errors:
        print("FAIL two kernels started %gs apart:" % delay)
        for e in errors:
            print("  - " + e.replace("\n", "\n    "))
        return 1
    print("ok   two kernels started %gs apart both imported and trained, in their own plugin folders (%.0fs)"
          % (delay, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
