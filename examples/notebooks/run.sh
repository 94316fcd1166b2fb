#!/usr/bin/env bash
# Execute descent's notebooks headless with the gophernotes kernel and check them.
#
#   bash examples/notebooks/run.sh [-k] [NOTEBOOK...]   run all examples/notebooks/[0-9]*.ipynb,
#                                                       or the named ones (00_smoke, 00_smoke.ipynb
#                                                       or a path)
#   bash examples/notebooks/run.sh --setup              install the kernel only, for jupyter
#                                                       notebook/lab (prints the JUPYTER_PATH to use)
#   -k   keep the work directory (executed notebooks, nbconvert logs) and print its path
#
# What it does, every step skipped when already done (reruns take seconds plus the notebooks):
#  1. Jupyter from Debian (jupyter-nbconvert python3-nbclient jupyter-client python3-nbformat),
#     installed with apt-get when missing (needs root then).
#  2. The Go 1.21.13 toolchain (GOTOOLCHAIN=go1.21.13 go env GOROOT) and gophernotes v0.7.5
#     built with it, CGO_ENABLED=1 and -trimpath, cached under $CACHE (see below).
#  3. A kernel-private GOPATH whose module cache holds exactly descent's dependencies
#     (GOTOOLCHAIN=go1.21.13 go mod download all): that cache is file proxy B.
#  4. File proxy A serving this checkout as module github.com/descent-go/descent at a
#     version derived from its content (modproxy.py).
#  5. kernel.json in a private JUPYTER_PATH, with GOROOT (go1.21.13), GOTOOLCHAIN=local,
#     CGO_ENABLED=1, the private GOPATH, GOPROXY=file://A,file://B, GOSUMDB=off,
#     GOFLAGS=-trimpath, and first in PATH a `go` wrapper without which the kernel cannot
#     import anything but the standard library (see "kernel spec" below).
#  6. Each notebook through `jupyter nbconvert --execute`, one after another (the kernel
#     wipes its plugin folder at start), then check.py on the executed copy: no error
#     output, an image, the SUMMARY line against the notebook's metadata checks.
# Any missing tool or failed step fails the run, loudly. See docs/notebooks.md.
#
# Environment: DESCENT_NOTEBOOKS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/descent-notebooks).
set -euo pipefail

GO_VERSION=go1.21.13
GOPHERNOTES_VERSION=v0.7.5
APT_PACKAGES=(jupyter-nbconvert python3-nbclient jupyter-client python3-nbformat)
CELL_TIMEOUT=1800
STARTUP_TIMEOUT=120

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${DESCENT_NOTEBOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/descent-notebooks}

say() { printf '[notebooks] %s\n' "$*"; }
die() { printf '[notebooks] FAIL: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
step_start=0
step() { step_start=$(date +%s); say "--- $*"; }
step_done() { say "    done in $(( $(date +%s) - step_start ))s"; }

keep=0 setup_only=0 names=()
while (($#)); do
  case $1 in
    -k|--keep) keep=1 ;;
    --setup) setup_only=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) names+=("$1") ;;
  esac
  shift
done

t0=$(date +%s)
[[ -f $root/go.mod ]] || die "$root/go.mod not found: run.sh must stay in examples/notebooks of the module"
module=$(sed -n 's/^module[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$root/go.mod" | head -n 1)
[[ -n $module ]] || die "no module line in $root/go.mod"
[[ $module == "${module,,}" ]] || die "module path $module has upper case letters; the cache clean-up below assumes none"

# ---------------------------------------------------------------------------
step "tools"
command -v go >/dev/null || die "go not found in PATH: install Go (1.21 or newer) first"
command -v flock >/dev/null || die "flock not found (Debian package util-linux)"
if [[ -e $root/.git ]]; then command -v git >/dev/null || die "git not found (Debian package git)"; fi
mkdir -p "$cache"
exec 9>"$cache/lock"
flock -w 3600 9 || die "another run.sh holds $cache/lock for an hour"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
cc=$(go env CC); cc=${cc:-gcc}
command -v "${cc%% *}" >/dev/null || missing+=(gcc libc6-dev)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
  [[ $(id -u) == 0 ]] || die "missing Debian packages ${missing[*]}: run as root, or apt-get install them first"
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  aptlog=$(mktemp)
  ok=0
  for try in 1 2 3 4; do
    # The image deletes downloaded .debs after each dpkg run and another apt may run at the
    # same time: "cannot access archive" and lock errors go away on a retry.
    if apt-get update >"$aptlog" 2>&1 &&
       apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >>"$aptlog" 2>&1; then
      ok=1; break
    fi
    tail -n 20 "$aptlog" >&2
    say "apt-get failed (try $try of 4), retrying in $((try * 5))s"
    sleep $((try * 5))
  done
  rm -f "$aptlog"
  ((ok)) || die "apt-get install ${missing[*]} failed"
fi
if [[ -x /usr/bin/jupyter && -x /usr/bin/python3 ]]; then
  jupyter=/usr/bin/jupyter py=/usr/bin/python3   # Debian's, whatever else is first in PATH
else
  jupyter=$(command -v jupyter) || die "jupyter not found"
  py=$(command -v python3) || die "python3 not found"
fi
"$py" -c 'import nbformat, nbclient' || die "$py cannot import nbformat and nbclient"
nbconvert_version=$("$jupyter" nbconvert --version 2>/dev/null) || die "'$jupyter nbconvert' does not run"
say "jupyter nbconvert $nbconvert_version, $("$py" --version), $(go version)"
step_done

# ---------------------------------------------------------------------------
step "Go $GO_VERSION toolchain"
goroot=$(cd "$cache" && GOTOOLCHAIN=$GO_VERSION GOWORK=off go env GOROOT) ||
  die "could not fetch $GO_VERSION (GOTOOLCHAIN=$GO_VERSION go env GOROOT)"
go121="$goroot/bin/go"
[[ -x $go121 ]] || die "$go121 is missing"
"$go121" version | grep -q "go version $GO_VERSION " || die "$go121 is not $GO_VERSION: $("$go121" version)"
say "GOROOT $goroot"
step_done

# ---------------------------------------------------------------------------
step "gophernotes $GOPHERNOTES_VERSION"
bindir="$cache/gophernotes-$GOPHERNOTES_VERSION-$GO_VERSION"
bin="$bindir/gophernotes"
if [[ -x $bin ]] && "$go121" version -m "$bin" 2>/dev/null | grep -q "^[[:space:]]*build[[:space:]]*-trimpath=true"; then
  say "cached: $bin"
else
  # `go install ...@v0.7.5` can fail on the checksum database (gomacro's pseudo-version) or on a
  # version list; the module's own go.sum verifies its dependencies when it is built in place.
  srcjson=$(cd "$cache" && GOWORK=off go mod download -json "github.com/gopherdata/gophernotes@$GOPHERNOTES_VERSION") ||
    die "go mod download github.com/gopherdata/gophernotes@$GOPHERNOTES_VERSION failed: $srcjson"
  src=$(printf '%s' "$srcjson" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  build="$cache/gophernotes-build"
  rm -rf "$build" && cp -r "$src" "$build" && chmod -R u+w "$build"
  say "building (a cold build takes a few minutes)"
  # -trimpath here and in the kernel's GOFLAGS: a plugin loads only if every package it shares
  # with the kernel (golang.org/x/xerrors, say) was compiled identically, file paths included,
  # and the kernel builds plugins in a module cache of its own.
  (cd "$build" && GOTOOLCHAIN=local CGO_ENABLED=1 GOWORK=off "$go121" build -trimpath -o "$build/gophernotes.bin" .) ||
    die "building gophernotes failed"
  mkdir -p "$bindir" && mv "$build/gophernotes.bin" "$bin" && rm -rf "$build"
fi
step_done

# ---------------------------------------------------------------------------
step "module cache B: descent's dependencies for $GO_VERSION"
kgopath="$cache/kernel-gopath"
kmodcache="$kgopath/pkg/mod"
mkdir -p "$kmodcache"
# Copies of descent that the kernel fetched from A on earlier runs: never needed again.
for d in "$kmodcache/$module"@* "$kmodcache/cache/download/$module"; do
  [[ -e $d ]] || continue
  chmod -R u+w "$d" && rm -rf "$d"
done
# $go121 itself (GOTOOLCHAIN=local), so no second copy of the toolchain lands in this cache.
(cd "$root" && GOTOOLCHAIN=local GOWORK=off GOMODCACHE="$kmodcache" GOFLAGS="${GOFLAGS:-} -modcacherw" \
  "$go121" mod download all) || die "$GO_VERSION go mod download all failed"
proxyb="$kmodcache/cache/download"
step_done

# ---------------------------------------------------------------------------
step "file proxy A: this checkout as $module"
proxya="$cache/proxy-a"
version=$("$py" "$here/modproxy.py" "$root" "$proxya") || die "modproxy.py failed"
say "$module $version"
step_done

# ---------------------------------------------------------------------------
step "kernel spec"
# gomacro finds an import's exported names with golang.org/x/tools v0.1.8 (go/packages), which
# asks `go list -export=true` for export data and cannot read Go 1.21's (unified) format: it drops
# the error and the import block "succeeds" with nothing in it ("package ... exports zero
# constants, functions, types and variables", then "undefined" at the first use). With
# -export=false go/packages type-checks the packages from source, with the kernel's Go 1.21
# go/types. This wrapper, first in the kernel's PATH, makes that change; every other go command
# passes through untouched (gomacro runs go get, go mod tidy and go build as $GOROOT/bin/go).
kbin="$cache/kernel-bin"
mkdir -p "$kbin"
cat >"$kbin/go.tmp" <<EOF
#!/bin/sh
# Written by examples/notebooks/run.sh: the gophernotes kernel's go, see there.
if [ "\$1" = list ]; then
  shift
  for a in "\$@"; do
    shift
    [ "\$a" = -export=true ] && a=-export=false
    set -- "\$@" "\$a"
  done
  exec "$go121" list "\$@"
fi
exec "$go121" "\$@"
EOF
chmod +x "$kbin/go.tmp" && mv "$kbin/go.tmp" "$kbin/go"
jpath="$cache/jupyter"
kdir="$jpath/kernels/gophernotes"
mkdir -p "$kdir"
GN_BIN=$bin GN_GOROOT=$goroot GN_GOPATH=$kgopath GN_MODCACHE=$kmodcache \
GN_PROXY="file://$proxya,file://$proxyb" GN_PATH="$kbin:$goroot/bin:$PATH" \
  "$py" - "$kdir/kernel.json" <<'EOF'
import json, os, sys
e = os.environ
spec = {
    "argv": [e["GN_BIN"], "{connection_file}"],
    "display_name": "Go (gophernotes, descent)",
    "language": "go",
    "env": {
        # Imports are compiled as plugins by exactly the Go that built the kernel.
        "GOROOT": e["GN_GOROOT"], "GOTOOLCHAIN": "local", "CGO_ENABLED": "1",
        "PATH": e["GN_PATH"],
        # Plugins are built under $GOPATH/src/gomacro.imports; modules come only from the
        # checkout (A) and from descent's own dependency versions (B).
        "GOPATH": e["GN_GOPATH"], "GOMODCACHE": e["GN_MODCACHE"],
        "GOPROXY": e["GN_PROXY"], "GOSUMDB": "off",
        "GOPRIVATE": "", "GONOPROXY": "", "GONOSUMDB": "",
        "GOFLAGS": "-modcacherw -trimpath", "GOWORK": "off",
    },
}
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump(spec, f, indent=1)
    f.write("\n")
os.replace(tmp, sys.argv[1])
EOF
say "JUPYTER_PATH=$jpath"
step_done

if ((setup_only)); then
  cat <<EOF

The kernel is installed. To use it interactively (Debian: apt-get install jupyter-notebook):
  export JUPYTER_PATH=$jpath
  cd $here && jupyter notebook        # choose the kernel "Go (gophernotes, descent)"
The kernel sees descent as it is now ($version): after changing descent, run --setup again
and restart the kernel.
EOF
  exit 0
fi

# ---------------------------------------------------------------------------
step "notebooks"
notebooks=()
if ((${#names[@]})); then
  for n in "${names[@]}"; do
    for cand in "$n" "$here/$n" "$here/$n.ipynb"; do
      if [[ -f $cand ]]; then notebooks+=("$(cd "$(dirname "$cand")" && pwd)/$(basename "$cand")"); continue 2; fi
    done
    die "no notebook $n (looked for $n, $here/$n, $here/$n.ipynb)"
  done
else
  shopt -s nullglob
  notebooks=("$here"/[0-9]*.ipynb)
  shopt -u nullglob
  ((${#notebooks[@]})) || die "no notebooks matching $here/[0-9]*.ipynb"
fi
"$py" "$here/check.py" --check-clean "${notebooks[@]}" ||
  die "notebooks must be committed without outputs: /usr/bin/python3 $here/check.py --clear FILE..."

work=$(mktemp -d "${TMPDIR:-/tmp}/descent-notebooks.XXXXXX")
if ((keep)); then
  trap 'say "work directory kept: $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
out="$work/out"
mkdir -p "$out" "$work/runtime" "$work/config"
# Notebooks that read large data sets (06_mnist) look in $DESCENT_DATA first:
# point it at the project's shared data beside the checkout when there is one.
if [[ -z ${DESCENT_DATA:-} && -d $root/../shared/data ]]; then
  export DESCENT_DATA=$(cd "$root/../shared/data" && pwd)
fi
say "DESCENT_DATA=${DESCENT_DATA:-(unset)}"

failed=() results=()
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  log="$out/$name.log"
  say "running $name"
  s=$(date +%s)
  status=ok
  if ! JUPYTER_PATH=$jpath JUPYTER_RUNTIME_DIR="$work/runtime" JUPYTER_CONFIG_DIR="$work/config" \
       "$jupyter" nbconvert --to notebook --execute \
         --ExecutePreprocessor.kernel_name=gophernotes \
         --ExecutePreprocessor.timeout=$CELL_TIMEOUT \
         --ExecutePreprocessor.startup_timeout=$STARTUP_TIMEOUT \
         --output-dir "$out" "$nb" >"$log" 2>&1; then
    status="FAILED (nbconvert)"
    printf '\n===== nbconvert log of %s =====\n' "$name"
    cat "$log"
    printf '===== end of log =====\n\n'
  elif ! "$py" "$here/check.py" "$out/$name.ipynb"; then
    status="FAILED (checks)"
    printf '\n===== nbconvert log of %s =====\n' "$name"
    cat "$log"
    printf '===== end of log =====\n\n'
  fi
  secs=$(( $(date +%s) - s ))
  results+=("$(printf '%-40s %-20s %5ss' "$name" "$status" "$secs")")
  [[ $status == ok ]] || failed+=("$name")
done
step_done

say "summary (total $(( $(date +%s) - t0 ))s):"
printf '[notebooks]   %s\n' "${results[@]}"
if ((${#failed[@]})); then
  die "${#failed[@]} of ${#notebooks[@]} notebooks failed: ${failed[*]}"
fi
say "all ${#notebooks[@]} notebooks passed"
