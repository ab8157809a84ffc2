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
#   INIT=torch            initial weights of the PyTorch side: torch (its own
#                         draws, the same distribution) or go (Go's: the
#                         encoder a random-init run of the cell keeps, which is
#                         where the Go run starts)
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
INIT=${INIT:-torch}
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
case $INIT in
go | torch) ;;
*) echo "crosscheck: INIT=\"$INIT\": want go or torch" >&2; exit 2 ;;
esac
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
echo "crosscheck: $GRID cell \"$label\", seeds $seeds, $THREADS threads (torch workers $WORKERS, views $VIEWS, initial weights $INIT)"
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
	init=()
	if [ "$INIT" = go ]; then
		# Go's initial state of this cell and seed: a random-init run of the
		# same settings keeps it (simclr builds both networks alike from the
		# seed); its own probe is cut to 1 000 images, which the state
		# does not depend on.
		mkdir -p "$tmp/init.$s"
		GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=1 "$RUNNER" run "$tmp/cell.toml" --db "$tmp/init.$s/init.db" \
			--set "seeds=[$s]" --set method=random-init --set save_encoder=true --set eval_subset=1000 \
			--set test_subset=1000 --progress log 2>"$tmp/init.$s.log" >/dev/null || {
			echo "crosscheck: go random-init run of seed $s failed:" >&2
			tail -5 "$tmp/init.$s.log" >&2
			exit 1
		}
		f=$(find "$tmp/init.$s/artifacts" -name encoder.safetensors)
		init=(--init "$f")
	fi
	OMP_NUM_THREADS=$THREADS "$PYTHON" bench/torch_reference_cell.py --config "$tmp/cell.json" --seed "$s" \
		--threads "$THREADS" --workers "$WORKERS" --views "$VIEWS" "${checksum[@]}" "${init[@]}" >"$tmp/torch.$s.json"
done
echo "== $GRID \"$label\": linear probe on the test subset (torch: views $VIEWS, initial weights $INIT)"
"$PYTHON" bench/cell_util.py crosscheck "$tmp" $seeds
