#!/usr/bin/env python3
"""Write a Go file proxy (GOPROXY=file://OUT) that serves a checkout as a module.

    modproxy.py ROOT OUT

ROOT is the module's root (it holds go.mod); OUT is emptied and filled with

    OUT/<module>/@v/list            one line: VERSION
    OUT/<module>/@v/VERSION.info    {"Version": VERSION, "Time": ...}
    OUT/<module>/@v/VERSION.mod     ROOT/go.mod
    OUT/<module>/@v/VERSION.zip     the module's files under <module>@VERSION/

and VERSION is printed on stdout. VERSION is v0.0.1-dev.h<hash>, where <hash>
is a hash of the files' paths and contents: a changed checkout gets a new
version, so a module cache never serves a stale copy of an older one.

The files are the checkout's: `git ls-files --cached --others --exclude-standard`
in a git work tree (tracked files plus new, not ignored ones), every file
otherwise. Left out, as the module zip rules require or as is sensible: .git,
directories holding their own go.mod (nested modules) and vendor directories,
notebook checkpoints, symlinks and other irregular files, and files larger than
MAX_FILE bytes (each reported on stderr). The zip is checked against the other
rules of golang.org/x/mod/zip: total size, valid file paths, no two paths that
differ only in case.
"""

import datetime
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

MAX_FILE = 64 << 20        # larger files are left out (data belongs elsewhere)
MAX_TOTAL = 500 << 20      # golang.org/x/mod/zip: MaxZipFile (uncompressed content)
MAX_GOMOD = 16 << 20       # golang.org/x/mod/zip: MaxGoMod
SKIP_DIRS = {".git", ".hg", ".svn", ".bzr", "vendor", ".ipynb_checkpoints"}
# golang.org/x/mod/module.CheckFilePath: ASCII letters, digits and these.
FILE_CHARS = re.compile(r"^[A-Za-z0-9!#$%&()+,\-.;=@\[\]^_{}~ ]+$")
SEMVER_DATE = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def die(msg):
    sys.exit("modproxy.py: " + msg)


def module_path(gomod):
    for line in gomod.decode("utf-8").splitlines():
        m = re.match(r"^\s*module\s+(\S+)", line)
        if m:
            return m.group(1).strip('"')
    die("go.mod has no module line")


def candidate_files(root):
    """Relative slash paths of the checkout's files, before the zip rules."""
    if os.path.isdir(os.path.join(root, ".git")) or os.path.isfile(os.path.join(root, ".git")):
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, stdout=subprocess.PIPE).stdout
        return sorted({p for p in out.decode("utf-8").split("\0") if p})
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        rel = os.path.relpath(dirpath, root)
        for f in filenames:
            files.append(f if rel == "." else (rel.replace(os.sep, "/") + "/" + f))
    return sorted(files)


def select(root, files):
    """Apply the module zip rules; returns (kept, notes)."""
    nested = set()
    for p in files:
        d = os.path.dirname(p)
        if os.path.basename(p) == "go.mod" and d:
            nested.add(d + "/")
    kept, notes = [], []
    for p in files:
        parts = p.split("/")
        full = os.path.join(root, *parts)
        if any(part in SKIP_DIRS for part in parts[:-1]):
            continue
        if any(p.startswith(n) for n in nested):
            notes.append("left out %s: inside a nested module" % p)
            continue
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            continue  # tracked but deleted in the work tree
        if not stat.S_ISREG(st.st_mode):
            notes.append("left out %s: not a regular file" % p)
            continue
        if st.st_size > MAX_FILE:
            notes.append("left out %s: %d MB is larger than %d MB"
                         % (p, st.st_size >> 20, MAX_FILE >> 20))
            continue
        for part in parts:
            if part in (".", "..") or not FILE_CHARS.match(part):
                die("%s: not a valid module file path (golang.org/x/mod/module.CheckFilePath)" % p)
        kept.append((p, full, st.st_size))
    folded = {}
    for p, _, _ in kept:
        other = folded.setdefault(p.lower(), p)
        if other != p:
            die("%s and %s differ only in case, which a module zip forbids" % (other, p))
    total = sum(size for _, _, size in kept)
    if total > MAX_TOTAL:
        die("the module's files add up to %d MB, over the module zip limit of %d MB"
            % (total >> 20, MAX_TOTAL >> 20))
    return kept, notes


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, out = os.path.abspath(argv[0]), os.path.abspath(argv[1])
    with open(os.path.join(root, "go.mod"), "rb") as f:
        gomod = f.read()
    if len(gomod) > MAX_GOMOD:
        die("go.mod is larger than 16 MB")
    mod = module_path(gomod)
    kept, notes = select(root, candidate_files(root))
    for n in notes:
        print("modproxy.py: " + n, file=sys.stderr)

    h = hashlib.sha256()
    blobs = []
    for p, full, _ in kept:
        with open(full, "rb") as f:
            data = f.read()
        h.update(p.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
        blobs.append((p, os.access(full, os.X_OK), data))
    version = "v0.0.1-dev.h" + h.hexdigest()[:16]

    escaped = re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), mod)  # module.EscapePath
    vdir = os.path.join(out, *escaped.split("/"), "@v")
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(vdir)
    prefix = "%s@%s/" % (mod, version)
    tmp = os.path.join(vdir, version + ".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p, executable, data in blobs:
            info = zipfile.ZipInfo(prefix + p, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if executable else 0o644) << 16
            z.writestr(info, data)
    os.rename(tmp, os.path.join(vdir, version + ".zip"))
    with open(os.path.join(vdir, version + ".mod"), "wb") as f:
        f.write(gomod)
    with open(os.path.join(vdir, version + ".info"), "w") as f:
        json.dump({"Version": version, "Time": SEMVER_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")}, f)
    with open(os.path.join(vdir, "list"), "w") as f:
        f.write(version + "\n")
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
