#!/usr/bin/env bash
# Regenerates the full-size lecture figures of docs/results.md and the
# tables beside them (docs/figures/claimN.txt), from the repository root:
#
#   bash examples/lectures/regen.sh [claim ...]     # default: every implemented claim
#
# Needs MNIST in shared/data/mnist (the working directory or a parent) or a
# network connection. Takes about 100 minutes on 2 busy cores (claim 1 about 30, claim 2 about 15, claim 3 about 6,
# claim 4 about 2, claim 5 about 2, claim 6 about 15, claim 7 about 5, claim 8 under 10 on an idle machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/figures
mkdir -p "$out"
claims=("$@")
[ ${#claims[@]} -gt 0 ] || claims=(2 1 5 3 4 6 7 8)
go build -o /tmp/descent-lectures.$$ ./examples/lectures
trap 'rm -f /tmp/descent-lectures.$$' EXIT
for c in "${claims[@]}"; do
	echo "claim $c ..." >&2
	case $c in
	1) args=(-n 20000 -tune-seeds 100) ;; # a third of MNIST, one tuning seed: online SGD's 60,000-step runs stay within minutes
	4) args=(-n 2000) ;; # 2000 training examples and a wide layer: a setting that overfits within a few epochs
	6) args=(-n 0 -tune-seeds 100) ;;     # all of MNIST loaded; -convex-ns picks the sizes (300 … 30k); one tuning seed, for time
	8) args=(-n 20000) ;;                 # a third of MNIST: online SGD's and Hogwild's reruns stay within minutes
	*) args=() ;;
	esac
	/tmp/descent-lectures.$$ -claim "$c" "${args[@]}" -out "$out" >"$out/claim$c.txt"
done
