#!/usr/bin/env bash
# Training from shards against training from memory, interleaved (memory,
# shards, memory, shards, ...), with examples/stream: MLP 784-128-10,
# float32, batch 128, one epoch each run; then the peak RSS of training from
# shards at each size in SIZES. See docs/datasets.md ("Larger than memory").
#
#   bench/stream.sh                      # N=160000 (0.5 GB), 3 rounds, SIZES="160000 2000000"
#   N=60000 ROUNDS=2 SIZES=60000 bench/stream.sh
#
# Environment: N (examples of the interleaved comparison), ROUNDS (3),
# SIZES (data-set sizes of the RSS runs; 2000000 is 6.3 GB on disk),
# DIR (where the shards go; default a temporary directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-160000}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"160000 2000000"}
BIN=$(mktemp -d)
DIR=${DIR:-$BIN/shards}
trap 'rm -rf "$BIN"' EXIT
go build -o "$BIN/stream" ./examples/stream
echo "df: $(df -h "$(dirname "$DIR")" | tail -1)"
# write the shards once (or reuse them), warm the page cache with a read pass
"$BIN/stream" -n "$N" -dir "$DIR/n$N" -keep -mode read >"$BIN/warm.json"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) on $(nproc) cores"
for r in $(seq "$ROUNDS"); do
	for mode in memory shards; do
		"$BIN/stream" -n "$N" -dir "$DIR/n$N" -keep -mode "$mode" | tee -a "$BIN/rounds.json"
	done
done
/usr/bin/env python3 - "$BIN/rounds.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mem = [r["samples_per_sec"] for r in rows if r["mode"] == "memory"]
sh = [r["samples_per_sec"] for r in rows if r["mode"] == "shards"]
ratios = [s / m for m, s in zip(mem, sh)]
cmem = [r["samples_per_cpu_second"] for r in rows if r["mode"] == "memory"]
csh = [r["samples_per_cpu_second"] for r in rows if r["mode"] == "shards"]
cratios = [s / m for m, s in zip(cmem, csh)]
print(f"RESULT interleaved n={rows[0]['data_set']} memory_sps={statistics.median(mem):.0f} shards_sps={statistics.median(sh):.0f} "
      f"ratio_median={statistics.median(ratios):.3f} ratios={','.join(f'{x:.3f}' for x in ratios)} "
      f"cpu_ratio_median={statistics.median(cratios):.3f} cpu_ratios={','.join(f'{x:.3f}' for x in cratios)} "
      f"rss_memory_mb={max(r['peak_rss_mb'] for r in rows if r['mode']=='memory'):.0f} rss_shards_mb={max(r['peak_rss_mb'] for r in rows if r['mode']=='shards'):.0f}")
PY
rm -rf "$DIR/n$N"
for n in $SIZES; do
	"$BIN/stream" -n "$n" -dir "$DIR/s$n" -mode shards | tee "$BIN/size.json"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(f"RESULT size n={r[\"data_set\"]} gb_on_disk={r[\"bytes_on_disk\"]/1e9:.2f} peak_rss_mb={r[\"peak_rss_mb\"]:.0f} samples_per_sec={r[\"samples_per_sec\"]:.0f} final_loss={r[\"final_loss\"]:.4f}")' "$BIN/size.json"
	rm -rf "$DIR/s$n"
done
