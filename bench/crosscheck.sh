#!/usr/bin/env bash
# bench/crosscheck.sh: one cell of a grid run in Go (bin/runner, into a
# temporary database) and in PyTorch (bench/torch_reference_cell.py), seed
# by seed, alternating Go and PyTorch; prints both linear-probe F1 scores
# side by side and the mean difference. docs/crosscheck.md says what the two
# implementations share and where they differ.
#
# The cell's resolved settings come from `runner plan GRID --json`; the Go
# side runs them as a one-cell grid (named "crosscheck", every setting in
# [base]) whose resolved config is checked equal to the cell's. Protocols
# other than the linear probe (eval = "finetune") are dropped on both sides.
#
# It installs nothing: PyTorch is Debian's python3-torch and
# python3-torchvision at /usr/bin/python3.
#
# Environment:
#   GRID=bench/cell.toml  the grid file
#   CELL=                 the cell's label or 0-based index in `runner plan
#                         GRID` (may be empty when the grid has one cell)
#   SEEDS="1"             seeds to run, "1 2 3" or "[1,2,3]"
#   SET=                  extra settings for every side, "epochs=3
#                         pretrain_subset=5000" (runner --set syntax, one
#                         per word)
#   THREADS=2             GOMAXPROCS of the runner, the thread budget of
#                         PyTorch (torch threads + DataLoader workers)
#   WORKERS=0             DataLoader worker processes (counted in THREADS)
#   VIEWS=go              view randomness of the PyTorch side: go (Go's
#                         streams: the same views) or torch (torch's generator)
#   KEEP=                 non-empty: keep the temporary folder (databases, JSON)
#   RUNNER=bin/runner  PYTHON=/usr/bin/python3
set -euo pipefail

cd "$(dirname "$0")/.."
GRID=${GRID:-bench/cell.toml}
CELL=${CELL:-}
SEEDS=${SEEDS:-1}
SET=${SET:-}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-0}
VIEWS=${VIEWS:-go}
RUNNER=${RUNNER:-bin/runner}
PYTHON=${PYTHON:-/usr/bin/python3}

seeds=$(echo "$SEEDS" | tr '[],' '   ')
if [ -z "${seeds// /}" ]; then
	echo "crosscheck: SEEDS is empty" >&2
	exit 2
fi
for s in $seeds; do
	case $s in
	'' | *[!0-9]*) echo "crosscheck: SEEDS=\"$SEEDS\": seed \"$s\" is not a non-negative integer" >&2; exit 2 ;;
	esac
done
if [ ! -x "$RUNNER" ]; then
	echo "crosscheck: $RUNNER not found (make build)" >&2
	exit 2
fi
if ! "$PYTHON" -c 'import torch, torchvision' >/dev/null 2>&1; then
	echo "crosscheck: $PYTHON cannot import torch and torchvision (Debian: apt-get install python3-torch python3-torchvision)" >&2
	exit 2
fi

tmp=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then
	echo "crosscheck: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi

sets=()
for kv in $SET; do
	sets+=(--set "$kv")
done
"$RUNNER" plan "$GRID" --json "${sets[@]}" >"$tmp/plan.json"
label=$("$PYTHON" bench/cell_util.py grid "$tmp/plan.json" "$CELL" "$tmp")
"$RUNNER" plan "$tmp/cell.toml" --json >"$tmp/cell-plan.json"
"$PYTHON" bench/cell_util.py same "$tmp/cell.json" "$tmp/cell-plan.json"

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "crosscheck: $GRID cell \"$label\", seeds $seeds, $THREADS threads (torch workers $WORKERS, views $VIEWS)"
if awk -v l="$load" -v t="$THREADS" 'BEGIN {exit !(l > 0.5)}'; then
	echo "crosscheck: load average $load at the start: other processes share the cores (scores are unaffected, times are)"
fi

for s in $seeds; do
	echo "== seed $s: go"
	GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=1 "$RUNNER" run "$tmp/cell.toml" --db "$tmp/go.db" \
		--set "seeds=[$s]" --progress log 2>"$tmp/go.$s.log" >/dev/null || {
		echo "crosscheck: go run of seed $s failed:" >&2
		tail -5 "$tmp/go.$s.log" >&2
	}
	"$PYTHON" bench/cell_util.py go "$tmp/go.db" "$s" >"$tmp/go.$s.json"
	echo "== seed $s: torch"
	checksum=()
	if [ "$s" = "$(echo $seeds | cut -d' ' -f1)" ]; then
		checksum=(--checksum)
	fi
	OMP_NUM_THREADS=$THREADS "$PYTHON" bench/torch_reference_cell.py --config "$tmp/cell.json" --seed "$s" \
		--threads "$THREADS" --workers "$WORKERS" --views "$VIEWS" "${checksum[@]}" >"$tmp/torch.$s.json"
done
echo "== $GRID \"$label\": linear probe on the test subset (torch: views $VIEWS)"
"$PYTHON" bench/cell_util.py crosscheck "$tmp" $seeds
