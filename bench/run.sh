#!/usr/bin/env bash
# Interleaved benchmark of descent against plain gorgonia, PyTorch and
# scikit-learn on the same synthetic data; prints one table of medians,
# spreads and ratios. See bench/README.md.
#
#   bench/run.sh                 # 3 rounds, full-size cases
#   QUICK=1 bench/run.sh         # shortened cases (a few minutes)
#   ROUNDS=5 OPENBLAS=0 bench/run.sh
#
# Environment: ROUNDS (3), QUICK (0), OPENBLAS (1 if libopenblas is
# installed: also runs descent and plain gorgonia built with -tags openblas),
# TORCH (1 if /usr/bin/python3 imports torch), TORCH_THREADS ("1 2"),
# SKLEARN (1 if it imports sklearn), GORGONIA (1: plain gorgonia too),
# BASELINE (a descent-bench binary of another tree, e.g. the main branch,
# run as impl descent-base to compare two trees in the same rounds),
# DESCENT_BENCH_DATA (the data directory), OUT (the raw results file),
# CASES (comma-separated cases for descent, the baseline and PyTorch, e.g.
# lenet-b64; default all).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
QUICK=${QUICK:-0}
PY=${PY:-/usr/bin/python3}
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
OUT=${OUT:-$BIN/results.txt}
: >"$OUT"

if [[ -z "${OPENBLAS:-}" ]]; then
	OPENBLAS=0
	# (no grep -q: with pipefail, ldconfig's SIGPIPE would fail the test)
	if ldconfig -p 2>/dev/null | grep 'libopenblas\.so' >/dev/null; then OPENBLAS=1; fi
fi
if [[ -z "${TORCH:-}" ]]; then
	TORCH=0
	if "$PY" -c 'import torch' 2>/dev/null; then TORCH=1; fi
fi
if [[ -z "${SKLEARN:-}" ]]; then
	SKLEARN=0
	if "$PY" -c 'import sklearn' 2>/dev/null; then SKLEARN=1; fi
fi

goflags=()
pyflags=()
if [[ "$QUICK" == 1 ]]; then
	goflags=(-quick)
	pyflags=(--quick)
fi
if [[ -n "${CASES:-}" ]]; then
	goflags+=(-cases "$CASES")
	pyflags+=(--cases "$CASES")
fi

echo "building..." >&2
go build -o "$BIN/descent-bench" ./bench/cmd/descent-bench
go build -o "$BIN/gorgonia-bench" ./bench/cmd/gorgonia-bench
if [[ "$OPENBLAS" == 1 ]]; then
	go build -tags openblas -o "$BIN/descent-bench-openblas" ./bench/cmd/descent-bench
	go build -tags openblas -o "$BIN/gorgonia-bench-openblas" ./bench/cmd/gorgonia-bench
fi
"$BIN/descent-bench" -cases none >/dev/null # writes the data files once

impls=(descent)
[[ -n "${BASELINE:-}" ]] && impls+=(descent-base)
[[ "${GORGONIA:-1}" == 1 ]] && impls+=(gorgonia)
[[ "$OPENBLAS" == 1 ]] && impls+=(descent-openblas gorgonia-openblas)
if [[ "$TORCH" == 1 ]]; then
	for t in ${TORCH_THREADS:-1 2}; do impls+=("pytorch-${t}t"); done
fi
[[ "$SKLEARN" == 1 ]] && impls+=(sklearn)

run() {
	case "$1" in
	descent-base) "$BASELINE" "${goflags[@]}" | sed 's/impl=descent /impl=descent-base /' ;;
	descent | gorgonia | descent-openblas | gorgonia-openblas)
		local b=${1/-openblas/-bench-openblas}
		[[ "$b" == "$1" ]] && b="$1-bench"
		"$BIN/$b" "${goflags[@]}" ;;
	pytorch-*t)
		local t=${1#pytorch-}
		"$PY" bench/reference.py --threads "${t%t}" "${pyflags[@]}" ;;
	sklearn) "$PY" bench/reference.py --sklearn "${pyflags[@]}" ;;
	esac
}

for ((r = 1; r <= ROUNDS; r++)); do
	for impl in "${impls[@]}"; do
		echo "round $r/$ROUNDS: $impl" >&2
		run "$impl" | grep '^RESULT' | sed "s/^RESULT /RESULT round=$r /" | tee -a "$OUT" >&2
	done
done

echo >&2
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1); load average before the table: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds: $ROUNDS, quick: $QUICK, raw results: $OUT"
"$PY" bench/table.py "$OUT"
