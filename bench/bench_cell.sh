#!/usr/bin/env bash
# bench/bench_cell.sh: one whole SimCLR cell — pretraining + linear probe,
# bench/cell.toml: fashion-mnist-color, 2 epochs on 5 000 images at batch
# 256, probe on 5 000 labelled images scored on 5 000 test images — timed in
# Go (bin/runner run into a fresh database) and in PyTorch
# (bench/torch_reference_cell.py), alternating Go and PyTorch runs (A B A B
# ...) so both see the same machine load. Prints each run's wall time (the
# whole process: start-up, data, pretraining, probe), the medians, the
# medians of the pretraining and probe times each side records, and the
# ratio torch/go (how many times faster Go is).
#
# The thread budget is the same on both sides: GOMAXPROCS=THREADS for the
# runner (its view-making goroutines share those threads with training);
# for PyTorch torch.set_num_threads(THREADS - WORKERS) plus WORKERS
# DataLoader worker processes. With the default WORKERS=0 the views are
# made on the main thread between steps, with one torch thread (single-image
# ops gain nothing from more), so neither side ever runs more than THREADS
# threads. WORKERS=1 overlaps view-making with training in a worker process
# and leaves THREADS-1 threads to the steps.
#
# It installs nothing: PyTorch is Debian's python3-torch and
# python3-torchvision at /usr/bin/python3.
#
# Environment:
#   RUNS=3          runs of each side
#   THREADS=2       the thread budget of both sides
#   WORKERS=0       DataLoader worker processes of the PyTorch side
#   VIEWS=go        view randomness of the PyTorch side (go or torch)
#   GRID=bench/cell.toml  CELL=  another cell to time (label or index)
#   RUNNER=bin/runner  PYTHON=/usr/bin/python3
#
# The two sides must see the same machine: on a loaded machine (load
# average above 0.5 at the start is reported) PyTorch's OpenMP threads spin
# at barriers waiting for a busy core and its multi-threaded speed
# collapses (as bench/compare.sh warns); OMP_WAIT_POLICY=passive, passed
# through, makes them sleep instead.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-0}
VIEWS=${VIEWS:-go}
GRID=${GRID:-bench/cell.toml}
CELL=${CELL:-}
RUNNER=${RUNNER:-bin/runner}
PYTHON=${PYTHON:-/usr/bin/python3}

case $RUNS in '' | *[!0-9]* | 0) echo "bench-cell: RUNS=$RUNS: want a positive integer" >&2; exit 2 ;; esac
case $THREADS in '' | *[!0-9]* | 0) echo "bench-cell: THREADS=$THREADS: want a positive integer" >&2; exit 2 ;; esac
if [ ! -x "$RUNNER" ]; then
	echo "bench-cell: $RUNNER not found (make build)" >&2
	exit 2
fi
if ! "$PYTHON" -c 'import torch, torchvision' >/dev/null 2>&1; then
	echo "bench-cell: $PYTHON cannot import torch and torchvision (Debian: apt-get install python3-torch python3-torchvision)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$RUNNER" plan "$GRID" --json >"$tmp/plan.json"
label=$("$PYTHON" bench/cell_util.py grid "$tmp/plan.json" "$CELL" "$tmp")
"$RUNNER" plan "$tmp/cell.toml" --json >"$tmp/cell-plan.json"
"$PYTHON" bench/cell_util.py same "$tmp/cell.json" "$tmp/cell-plan.json"

echo "bench-cell: $GRID \"$label\", $RUNS runs each, alternating go/torch, $THREADS threads" \
	"(torch: $((THREADS > WORKERS ? THREADS - WORKERS : 1)) threads + $WORKERS workers, views $VIEWS)"
echo "pytorch: $("$PYTHON" -c 'import torch, torchvision; print(torch.__version__, "torchvision", torchvision.__version__)'), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN {exit !(l > 0.5)}'; then
	echo "warning: load average $load before the runs: other processes share the cores, timings are noisy" \
		"and PyTorch's multi-threaded runs suffer most (see the header of bench/bench_cell.sh)"
fi

now() { date +%s.%N; }
for r in $(seq 1 "$RUNS"); do
	t0=$(now)
	GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=1 "$RUNNER" run "$tmp/cell.toml" --db "$tmp/go.$r.db" \
		--progress log >/dev/null 2>"$tmp/go.$r.log" || {
		echo "bench-cell: go run $r failed:" >&2
		tail -5 "$tmp/go.$r.log" >&2
		exit 1
	}
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' >"$tmp/go.$r.wall"
	"$PYTHON" bench/cell_util.py go "$tmp/go.$r.db" "" >"$tmp/go.$r.json"
	printf '  run %d  go     %7.1f s\n' "$r" "$(cat "$tmp/go.$r.wall")"

	t0=$(now)
	OMP_NUM_THREADS=$THREADS "$PYTHON" bench/torch_reference_cell.py --config "$tmp/cell.json" \
		--threads "$THREADS" --workers "$WORKERS" --views "$VIEWS" >"$tmp/torch.$r.json" 2>"$tmp/torch.$r.log" || {
		echo "bench-cell: torch run $r failed:" >&2
		tail -5 "$tmp/torch.$r.log" >&2
		exit 1
	}
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' >"$tmp/torch.$r.wall"
	printf '  run %d  torch  %7.1f s\n' "$r" "$(cat "$tmp/torch.$r.wall")"
done
echo "== summary (median of $RUNS runs each, alternating go/torch, $THREADS threads)"
"$PYTHON" bench/cell_util.py bench "$tmp" "$RUNS"
