#!/usr/bin/python3
"""Run the Go snippets of docs/ that are marked notebook-safe through the kernel.

    JUPYTER_PATH=... /usr/bin/python3 snippets.py [--list] [PAGE.md...]

run.sh runs it (`run.sh --test snippets`); --list only checks the markers and
lists the snippets, without a kernel. Every ```go fence in docs/*.md must be
preceded (blank lines allowed) by one of

    <!-- notebook-safe -->
    <!-- not notebook-safe: WHY -->

A safe snippet works when pasted into a notebook cell after the import cells
below (PRELUDE), following the page's earlier safe snippets, as a learner
reading the page top to bottom would paste them. Each page runs in a kernel of
its own. A snippet that declares `func main()` or `func ExampleXxx()` is then
called, and an Example's `// Output:` comment must match what it printed.
New snippets are found by themselves; an unmarked one fails the test.
"""

import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCS = os.path.join(ROOT, "docs")
CELL_TIMEOUT = 900

SAFE = re.compile(r"^<!--\s*notebook-safe\s*-->$")
UNSAFE = re.compile(r"^<!--\s*not notebook-safe:\s*(\S.*?)\s*-->$")

# What a learner's notebook imports first: descent with gorgonia, as the
# notebooks do (gorgonia also as G, as some snippets name it), and tensor in a
# cell of its own (imported in one cell with
# gorgonia, their same-named interfaces clash: "P_Zeroer redeclared").
PRELUDE = [
    '''import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"log"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/models"
	"github.com/descent-go/descent/plot"
	"github.com/descent-go/descent/trainers"
	"github.com/pkg/errors"
	"gorgonia.org/gorgonia"
)''',
    'import G "gorgonia.org/gorgonia"',
    'import "gorgonia.org/tensor"',
]


class Snippet:
    def __init__(self, path, line, code, safe, why):
        self.path, self.line, self.code, self.safe, self.why = path, line, code, safe, why

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, ROOT), self.line)

    def calls(self):
        """The functions the snippet declares that a reader would run: main and Examples."""
        return re.findall(r"^func (main|Example\w*)\(\)", self.code, re.M)

    def expected_output(self, fn):
        """The lines of fn's // Output: comment, or None when it has none."""
        m = re.search(r"^func %s\(\) \{\n(.*?)^\}" % re.escape(fn), self.code, re.M | re.S)
        if not m:
            return None
        body = m.group(1).splitlines()
        for i, l in enumerate(body):
            if l.strip() in ("// Output:", "// Unordered output:"):
                if l.strip() != "// Output:":
                    return None
                return [re.sub(r"^\s*//\s?", "", x).rstrip() for x in body[i + 1:] if x.strip().startswith("//")]
        return None


def snippets(path):
    """The ```go snippets of a markdown file with their markers; (snippets, problems)."""
    out, problems = [], []
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```go":
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = lines[k].strip() if k >= 0 else ""
        s = Snippet(path, start + 1, code, False, "")
        if SAFE.match(marker):
            s.safe = True
        elif UNSAFE.match(marker):
            s.why = UNSAFE.match(marker).group(1)
        else:
            problems.append("%s: a ```go snippet without a marker: put <!-- notebook-safe --> or "
                            "<!-- not notebook-safe: WHY --> on the line before it (docs/notebooks.md)" % s.where())
        out.append(s)
        i = j + 1
    return out, problems


def compare(want, got):
    got = [l.rstrip() for l in got.rstrip("\n").splitlines()]
    want = [l.rstrip() for l in want]
    while want and not want[-1]:
        want.pop()
    return got == want


def run_page(path, snips):
    import kernels
    failures = []
    k = kernels.Kernel(os.path.basename(path))
    try:
        for n, cell in enumerate(PRELUDE):
            r = k.execute(cell, CELL_TIMEOUT)
            if not r.ok():
                return ["%s: import cell %d of the prelude failed:\n%s" % (os.path.relpath(path, ROOT), n + 1, r.describe())]
        for s in snips:
            r = k.execute(s.code, CELL_TIMEOUT)
            if not r.ok():
                failures.append("%s: the snippet failed in the kernel:\n%s" % (s.where(), r.describe()))
                continue
            for fn in s.calls():
                r = k.execute("%s()" % fn, CELL_TIMEOUT)
                if not r.ok():
                    failures.append("%s: %s() failed in the kernel:\n%s" % (s.where(), fn, r.describe()))
                    continue
                want = s.expected_output(fn)
                if want is not None and not compare(want, r.stdout):
                    failures.append("%s: %s() printed\n%s\n  want (its // Output: comment)\n%s"
                                    % (s.where(), fn, r.stdout.rstrip(), "\n".join(want)))
            print("  ok %s%s (%.1fs)" % (s.where(), "".join(" + %s()" % f for f in s.calls()), r.seconds))
    finally:
        k.shutdown()
    return failures


def main(argv):
    list_only = False
    if argv and argv[0] == "--list":
        list_only, argv = True, argv[1:]
    pages = [os.path.abspath(p) for p in argv] or sorted(glob.glob(os.path.join(DOCS, "*.md")))
    if not pages:
        print("FAIL no docs/*.md found in %s" % DOCS)
        return 1
    problems, by_page, total = [], [], 0
    for p in pages:
        snips, probs = snippets(p)
        problems += probs
        total += len(snips)
        safe = [s for s in snips if s.safe]
        for s in snips:
            print("%-28s %s" % (s.where(), "notebook-safe" if s.safe else ("not notebook-safe: " + s.why if s.why else "UNMARKED")))
        if safe:
            by_page.append((p, safe))
    nsafe = sum(len(s) for _, s in by_page)
    print("%d go snippets in %d pages, %d marked notebook-safe" % (total, len(pages), nsafe))
    if problems:
        print("FAIL snippet markers:")
        for p in problems:
            print("  - " + p)
        return 1
    if nsafe == 0:
        print("FAIL no snippet is marked notebook-safe: the test would check nothing")
        return 1
    if list_only:
        return 0
    failures = []
    # Kernels start in a scratch folder: snippets that write files (a plot's
    # WriteFile, say) leave nothing in the checkout.
    import shutil
    import tempfile
    scratch = tempfile.mkdtemp(prefix="descent-snippets.")
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        for p, safe in by_page:
            print("%s: %d snippets" % (os.path.relpath(p, ROOT), len(safe)))
            failures += run_page(p, safe)
    finally:
        os.chdir(cwd)
        shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        print("FAIL %d of %d notebook-safe snippets:" % (len(failures), nsafe))
        for f in failures:
            print("  - " + f.replace("\n", "\n    "))
        return 1
    print("ok   all %d notebook-safe snippets of docs/ ran in the kernel" % nsafe)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main(sys.argv[1:]))
