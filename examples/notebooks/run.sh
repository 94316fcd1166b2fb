#!/usr/bin/env bash
# Execute descent's notebooks headless with the gophernotes kernel and check them.
#
#   bash examples/notebooks/run.sh [-k] [NOTEBOOK...]   run all examples/notebooks/[0-9]*.ipynb,
#                                                       or the named ones (00_smoke, 00_smoke.ipynb
#                                                       or a path)
#   bash examples/notebooks/run.sh --setup              install the kernel only, for jupyter
#                                                       notebook/lab (prints the JUPYTER_PATH to use)
#   -k   keep the work directory (executed notebooks, nbconvert logs) and print its path
#   --test check|two-kernels|snippets   also run a test of the machinery (repeatable):
#        check: check.py on broken notebooks; two-kernels: two kernels started seconds apart
#        import and train; snippets: docs' notebook-safe Go snippets through the kernel
#   --no-notebooks   run only the --test ones
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
die() { printf '[notebooks] FAIL: %s\n' "$*" >&2; wait; exit 1; }  # wait: no background job outlives the run
usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
step_start=0
step() { step_start=$(date +%s); say "--- $*"; }
step_done() { say "    done in $(( $(date +%s) - step_start ))s"; }

keep=0 setup_only=0 no_notebooks=0 names=() tests=()
while (($#)); do
  case $1 in
    -k|--keep) keep=1 ;;
    --setup) setup_only=1 ;;
    --test)
      (($# > 1)) || die "--test needs a name: check, two-kernels or snippets"
      case $2 in check|two-kernels|snippets) tests+=("$2") ;; *) die "unknown test $2 (known: check, two-kernels, snippets)" ;; esac
      shift ;;
    --no-notebooks) no_notebooks=1 ;;
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
apt_pid=
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
  [[ $(id -u) == 0 ]] || die "missing Debian packages ${missing[*]}: run as root, or apt-get install them first"
  say "installing ${missing[*]} (apt-get, in the background while Go builds)"
  aptlog="$cache/apt.log"
  (
    export DEBIAN_FRONTEND=noninteractive
    for try in 1 2 3 4; do
      # The image deletes downloaded .debs after each dpkg run and another apt may run at the
      # same time: "cannot access archive" and lock errors go away on a retry.
      if apt-get update >"$aptlog" 2>&1 &&
         apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >>"$aptlog" 2>&1; then
        exit 0
      fi
      tail -n 20 "$aptlog" >&2
      printf '[notebooks] apt-get failed (try %s of 4), retrying in %ss\n' "$try" $((try * 5))
      sleep $((try * 5))
    done
    exit 1
  ) &
  apt_pid=$!
fi
step_done

# Jupyter and python, once apt-get (if it runs) is done.
py= jupyter=
need_python() {
  [[ -z $py ]] || return 0
  if [[ -n $apt_pid ]]; then
    wait "$apt_pid" || die "apt-get install ${missing[*]} failed (log: $cache/apt.log)"
    apt_pid=
  fi
  if [[ -x /usr/bin/jupyter && -x /usr/bin/python3 ]]; then
    jupyter=/usr/bin/jupyter py=/usr/bin/python3   # Debian's, whatever else is first in PATH
  else
    jupyter=$(command -v jupyter) || die "jupyter not found"
    py=$(command -v python3) || die "python3 not found"
  fi
  "$py" -c 'import nbformat, nbclient, jupyter_client' || die "$py cannot import nbformat, nbclient and jupyter_client"
  local v
  v=$("$jupyter" nbconvert --version 2>/dev/null) || die "'$jupyter nbconvert' does not run"
  say "jupyter nbconvert $v, $("$py" --version), $(go version)"
}

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
gn_pid=
if [[ -x $bin ]] && "$go121" version -m "$bin" 2>/dev/null | grep -q "^[[:space:]]*build[[:space:]]*-trimpath=true"; then
  say "cached: $bin"
else
  # cgo needs a C compiler: when apt-get installs it, build after it.
  if [[ " ${missing[*]} " == *" gcc "* && -n $apt_pid ]]; then
    say "waiting for apt-get (gcc)"
    wait "$apt_pid" || die "apt-get install ${missing[*]} failed (log: $cache/apt.log)"
    apt_pid=
  fi
  gnlog="$cache/gophernotes-build.log"
  say "building in the background (a cold build takes minutes; log: $gnlog)"
  (
    set -e
    # `go install ...@v0.7.5` can fail on the checksum database (gomacro's pseudo-version) or on
    # a version list; the module's own go.sum verifies its dependencies when it is built in place.
    src=$(cd "$cache" && GOWORK=off go mod download -json "github.com/gopherdata/gophernotes@$GOPHERNOTES_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [[ -n $src && -d $src ]] || { echo "go mod download github.com/gopherdata/gophernotes@$GOPHERNOTES_VERSION gave no Dir"; exit 1; }
    build="$cache/gophernotes-build"
    rm -rf "$build" && cp -r "$src" "$build" && chmod -R u+w "$build"
    # -trimpath here and in the kernel's GOFLAGS: a plugin loads only if every package it shares
    # with the kernel (golang.org/x/xerrors, say) was compiled identically, file paths included,
    # and the kernel builds plugins in a module cache of its own.
    cd "$build"
    GOTOOLCHAIN=local CGO_ENABLED=1 GOWORK=off "$go121" build -trimpath -o "$build/gophernotes.bin" .
    mkdir -p "$bindir" && mv "$build/gophernotes.bin" "$bin" && cd "$cache" && rm -rf "$build"
  ) >"$gnlog" 2>&1 &
  gn_pid=$!
fi
# Waits for the background build, if any, and fails loudly with its log.
need_gophernotes() {
  [[ -n $gn_pid ]] || return 0
  local s=$(date +%s)
  wait "$gn_pid" || { cat "$gnlog" >&2; die "building gophernotes failed (log above: $gnlog)"; }
  gn_pid=
  say "gophernotes built ($bin; waited $(( $(date +%s) - s ))s for it)"
}
step_done

# ---------------------------------------------------------------------------
step "module cache B: descent's dependencies for $GO_VERSION"
kgopath="$cache/kernel-gopath"
kmodcache="$kgopath/pkg/mod"
proxyb="$kmodcache/cache/download"
mkdir -p "$kmodcache"
# Filled once per go.mod/go.sum: the stamp names their hash.
deps=$(cat "$root/go.mod" "$root/go.sum" 2>/dev/null | sha256sum | cut -c1-16)
stamp="$kgopath/deps-$GO_VERSION-$deps.stamp"
if [[ -f $stamp ]]; then
  say "cached: descent's dependencies for go.mod/go.sum $deps"
else
  # $go121 itself (GOTOOLCHAIN=local), so no second copy of the toolchain lands in this cache.
  (cd "$root" && GOTOOLCHAIN=local GOWORK=off GOMODCACHE="$kmodcache" GOFLAGS="${GOFLAGS:-} -modcacherw" \
    "$go121" mod download all) || die "$GO_VERSION go mod download all failed"
  rm -f "$kgopath"/deps-*.stamp && touch "$stamp"
fi
step_done

# ---------------------------------------------------------------------------
step "file proxy A: this checkout as $module"
need_python
proxya="$cache/proxy-a"
version=$("$py" "$here/modproxy.py" "$root" "$proxya") || die "modproxy.py failed"
say "$module $version"
# Copies of descent that kernels fetched from A on earlier runs, other than this version's.
for d in "$kmodcache/$module"@* "$kmodcache/cache/download/$module/@v"/*; do
  [[ -e $d && $d != *"@$version" && $d != */"$version".* && $d != */list ]] || continue
  chmod -R u+w "$d" && rm -rf "$d"
done
step_done

# ---------------------------------------------------------------------------
step "kernel spec"
# The kernel's go. gomacro runs `go get`, `go mod tidy` and `go build -buildmode=plugin` as
# $GOROOT/bin/go and `go list` (through go/packages) as the go in PATH. The kernel's GOROOT is
# therefore $cache/kernel-goroot: Go 1.21.13's GOROOT, linked entry by entry, except bin/go,
# which is this wrapper; it runs the real go with the real GOROOT and changes two commands:
# - `go list -export=true` becomes -export=false. gomacro finds an import's exported names with
#   golang.org/x/tools v0.1.8 (go/packages), which cannot read Go 1.21's (unified) export data;
#   it drops the error and the import block "succeeds" with nothing in it ("package ... exports
#   zero constants, functions, types and variables", then "undefined" at the first use). With
#   -export=false go/packages type-checks the packages from source, with Go 1.21's go/types.
# - `go get` in a plugin folder also gets $module at this checkout's version. Each import cell
#   is a module of its own, and `go get gorgonia.org/tensor` alone would select tensor's own
#   minimum dependency versions (an older gonum), which the kernel's module cache does not hold
#   ("reading file://.../gonum/@v/v0.11.0.zip: no such file or directory"); with descent in the
#   build list every cell gets descent's dependency versions, whatever it imports.
kgoroot="$cache/kernel-goroot"
rm -rf "$kgoroot.tmp" && mkdir -p "$kgoroot.tmp/bin"
for e in "$goroot"/* "$goroot"/.[!.]*; do
  [[ -e $e && ${e##*/} != bin ]] || continue
  ln -s "$e" "$kgoroot.tmp/${e##*/}"
done
ln -s "$goroot/bin/gofmt" "$kgoroot.tmp/bin/gofmt"
cat >"$kgoroot.tmp/bin/go" <<EOF
#!/bin/sh
# Written by examples/notebooks/run.sh: the gophernotes kernel's go, see there.
GOROOT="$goroot"; export GOROOT
case "\$1" in
list)
  shift
  for a in "\$@"; do
    shift
    [ "\$a" = -export=true ] && a=-export=false
    set -- "\$@" "\$a"
  done
  exec "$go121" list "\$@" ;;
get)
  case "\$(pwd -P)" in */gomacro.imports/*) exec "$go121" "\$@" "$module@$version" ;; esac ;;
esac
exec "$go121" "\$@"
EOF
chmod +x "$kgoroot.tmp/bin/go"
rm -rf "$kgoroot" && mv "$kgoroot.tmp" "$kgoroot"
kbin="$cache/kernel-bin"
mkdir -p "$kbin"
rm -f "$kbin/go"  # the wrapper of earlier versions of this script
# The kernel's launcher. gomacro builds a kernel's imports as plugins under
# $GOPATH/src/gomacro.imports and deletes that whole folder at the kernel's first import, so
# kernels sharing a GOPATH break each other (one fails with "go.mod file not found" inside a build,
# another imports nothing). The launcher gives each kernel a GOPATH of its own,
# $cache/kernels/k.XXXXXX, locked with flock for the kernel's lifetime (the lock is an open file
# the kernel inherits); the next kernel to start removes the folders whose lock is free. The module
# cache and Go's build cache stay shared: what one kernel compiled, the next one reuses.
kernels="$cache/kernels"
mkdir -p "$kernels"
cat >"$kbin/gophernotes-kernel.tmp" <<EOF
#!/bin/sh
# Written by examples/notebooks/run.sh: starts a gophernotes kernel with a GOPATH of its own.
set -e
base="$kernels"
mkdir -p "\$base"
for d in "\$base"/k.*; do
  [ -d "\$d" ] || continue
  flock -n "\$d/lock" rm -rf "\$d" 2>/dev/null || true
done
find "\$base" -maxdepth 1 -name 'new.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
d=\$(mktemp -d "\$base/new.XXXXXX")
exec 9>"\$d/lock"
flock -n 9
k="\$base/k.\${d##*/new.}"
mv "\$d" "\$k"
export GOPATH="\$k"
exec "$bin" "\$@"
EOF
chmod +x "$kbin/gophernotes-kernel.tmp" && mv "$kbin/gophernotes-kernel.tmp" "$kbin/gophernotes-kernel"
jpath="$cache/jupyter"
kdir="$jpath/kernels/gophernotes"
mkdir -p "$kdir"
GN_BIN="$kbin/gophernotes-kernel" GN_GOROOT=$kgoroot GN_MODCACHE=$kmodcache \
GN_PROXY="file://$proxya,file://$proxyb" GN_PATH="$kgoroot/bin:$PATH" \
  "$py" - "$kdir/kernel.json" <<'EOF'
import json, os, sys
e = os.environ
spec = {
    "argv": [e["GN_BIN"], "{connection_file}"],
    "display_name": "Go (gophernotes, descent)",
    "language": "go",
    "env": {
        # Imports are compiled as plugins by exactly the Go that built the kernel (its GOROOT
        # with the wrapper above as bin/go).
        "GOROOT": e["GN_GOROOT"], "GOTOOLCHAIN": "local", "CGO_ENABLED": "1",
        "PATH": e["GN_PATH"],
        # Plugins are built under $GOPATH/src/gomacro.imports, GOPATH being the kernel's own
        # (set by the launcher); modules come only from the checkout (A) and from descent's own
        # dependency versions (B).
        "GOMODCACHE": e["GN_MODCACHE"],
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

# ---------------------------------------------------------------------------
step "descent's packages compiled for the kernel's plugins"
# A kernel's first import compiles descent and its dependencies in plugin mode (-dynlink), which
# on a cold machine takes minutes. Building a plugin of every public package of descent here,
# exactly as the kernel does (same Go, module cache, proxies and flags), fills Go's build cache
# with those compilations while gophernotes builds in the background; each kernel then only
# type-checks and links. Done once per descent version and build cache.
gocache=$(GOTOOLCHAIN=local "$go121" env GOCACHE)
warm="$cache/warm"
wstamp="$warm/$version-$(printf '%s' "$gocache" | sha256sum | cut -c1-12).stamp"
if [[ -f $wstamp ]]; then
  say "cached: $version in $gocache"
else
  wdir="$warm/gopath/src/gomacro.imports/warm"
  rm -rf "$warm" && mkdir -p "$wdir"
  mapfile -t pkgs < <(cd "$root" && GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod GOMODCACHE="$kmodcache" \
    GOPROXY=off "$go121" list -e -f '{{if ne .Name "main"}}{{.ImportPath}}{{end}}' ./... |
    grep -v -e '/internal/' -e '/internal$' -e '/examples/' -e '/bench' || true)
  ((${#pkgs[@]})) || die "no public packages of $module found (go list ./... in $root)"
  printf 'module gomacro.imports/warm\n' >"$wdir/go.mod"
  { printf 'package main\n\nimport (\n'; printf '\t_ "%s"\n' "${pkgs[@]}"; printf ')\n\nfunc main() {}\n'; } >"$wdir/main.go"
  (cd "$wdir" && export GOROOT=$goroot GOTOOLCHAIN=local CGO_ENABLED=1 GOPATH="$warm/gopath" \
     GOMODCACHE=$kmodcache GOPROXY="file://$proxya,file://$proxyb" GOSUMDB=off GOPRIVATE= GONOPROXY= GONOSUMDB= \
     GOFLAGS="-modcacherw -trimpath" GOWORK=off GO111MODULE=on &&
   "$go121" get "${pkgs[@]}" && "$go121" mod tidy && "$go121" build -buildmode=plugin -o "$warm/warm.so" .) ||
    die "building descent's packages as a plugin failed"
  rm -rf "$warm/gopath" "$warm/warm.so" && touch "$wstamp"
  say "${#pkgs[@]} packages: ${pkgs[*]#$module/}"
fi
step_done

step "gophernotes (background build)"
need_gophernotes
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
# The machinery's own tests (CI runs them all: .ci/run notebooks).
test_failed=()
for t in "${tests[@]}"; do
  step "test $t"
  case $t in
    check) cmd=("$py" "$here/test_check.py") ;;
    two-kernels) cmd=("$py" "$here/two_kernels.py" "${DESCENT_TWO_KERNELS_DELAY:-3}") ;;
    snippets) cmd=("$py" "$here/snippets.py") ;;
  esac
  [[ -f ${cmd[1]} ]] || die "test $t: ${cmd[1]} is missing"
  if ! JUPYTER_PATH=$jpath "${cmd[@]}"; then
    say "test $t FAILED"
    test_failed+=("$t")
  fi
  step_done
done
if ((no_notebooks)); then
  ((${#test_failed[@]} == 0)) || die "${#test_failed[@]} of ${#tests[@]} tests failed: ${test_failed[*]}"
  say "all ${#tests[@]} tests passed (total $(( $(date +%s) - t0 ))s)"
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
if ((${#test_failed[@]})); then
  die "${#test_failed[@]} of ${#tests[@]} tests failed: ${test_failed[*]}; notebooks: ${#failed[@]} of ${#notebooks[@]} failed ${failed[*]}"
fi
if ((${#failed[@]})); then
  die "${#failed[@]} of ${#notebooks[@]} notebooks failed: ${failed[*]}"
fi
say "all ${#notebooks[@]} notebooks passed${tests:+, and the tests ${tests[*]}}"
