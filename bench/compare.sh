#!/usr/bin/env bash
# bench/compare.sh: one SimCLR step of the reference model (resnet-small,
# batch 128 = 256 views, nonlinear head 64-64-32, NT-Xent τ = 0.5, SGD
# momentum 0.9 lr 0.1 wd 1e-6) in Go (simclr/nn BenchmarkSimCLRStep) and in
# PyTorch (bench/torch_simclr_step.py), alternating Go and PyTorch runs
# (A B A B ...) so both see the same machine load, for 1x28x28 and 3x32x32
# inputs. Prints images/s per run, the medians and the ratio Go/PyTorch.
#
# It installs nothing: PyTorch runs only when $PYTHON (default
# /usr/bin/python3) imports torch (Debian: apt-get install python3-torch).
#
# Environment:
#   RUNS=5           runs of each side per input (at least 5, as in docs/performance.md)
#   BENCHTIME=5x     go test -benchtime of each Go run (steps measured per run)
#   TORCH_STEPS=5    measured steps per PyTorch run (median step time)
#   THREADS=2        threads of both sides: GOMAXPROCS, torch.set_num_threads
#   GOTAGS=auto      go build tags of the Go side: "openblas" (OpenBLAS GEMM,
#                    needs Debian's libopenblas-dev; CGO_LDFLAGS=-lopenblas is
#                    set for it), "" (gonum's pure-Go GEMM), or auto: openblas
#                    when libopenblas.so is installed
#   OPENBLAS_NUM_THREADS=1  the convolutions already split the batch between
#                    GOMAXPROCS workers; more OpenBLAS threads oversubscribe
#   INPUTS="1x28x28 3x32x32"
#
# The two sides must see the same machine: on a loaded machine (load
# average above 0.5 at the start is reported) PyTorch's OpenMP threads spin
# at barriers waiting for a busy core and its 2-thread speed collapses far
# below its 1-thread speed; compare THREADS=1 as well there.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BENCHTIME=${BENCHTIME:-5x}
TORCH_STEPS=${TORCH_STEPS:-5}
THREADS=${THREADS:-2}
GOTAGS=${GOTAGS-auto}
INPUTS=${INPUTS:-1x28x28 3x32x32}
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$GOTAGS" = auto ]; then
	GOTAGS=""
	# grep without -q reads all of ldconfig's output: with -q it exits at
	# the first match, ldconfig dies of SIGPIPE, and pipefail fails the test.
	if /sbin/ldconfig -p 2>/dev/null | grep 'libopenblas\.so ' >/dev/null; then
		GOTAGS=openblas
	fi
fi
case " $GOTAGS " in
*" openblas "*) export CGO_LDFLAGS="${CGO_LDFLAGS:--lopenblas}" CGO_ENABLED=1 ;;
esac
echo "building the Go benchmark (tags: ${GOTAGS:-none, pure-Go GEMM})"
"$GO" test -c -tags "$GOTAGS" -o "$tmp/nn.test" ./simclr/nn

have_torch=0
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
	have_torch=1
	echo "pytorch: $("$PYTHON" -c 'import torch; print(torch.__version__)')"
else
	echo "pytorch: not found ($PYTHON -c 'import torch' failed; Debian: apt-get install python3-torch); Go only"
fi
echo "threads: $THREADS, runs: $RUNS, go -benchtime $BENCHTIME, torch steps $TORCH_STEPS"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN {exit !(l > 0.5)}'; then
	echo "warning: load average $load before the runs: other processes share the cores, timings are noisy" \
		"and PyTorch's multi-threaded runs suffer most (see the header of bench/compare.sh)"
fi

# median of the numbers on stdin
median() {
	sort -g | awk '{a[NR] = $1} END {if (NR == 0) {print "nan"; exit} if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

go_run() { # $1 = CxHxW; prints images/s, allocs/op, B/op
	GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} \
		"$tmp/nn.test" -test.run '^$' -test.bench "^BenchmarkSimCLRStep/$1\$" \
		-test.benchtime "$BENCHTIME" -test.benchmem |
		awk '/^BenchmarkSimCLRStep/ {for (i = 2; i <= NF; i++) {if ($i == "images/s") ips = $(i-1); if ($i == "allocs/op") al = $(i-1); if ($i == "B/op") by = $(i-1)}} END {if (ips == "") exit 1; print ips, al, by}'
}

torch_run() { # $1 = channels, $2 = side; prints images/s
	OMP_NUM_THREADS=$THREADS "$PYTHON" bench/torch_simclr_step.py 128 "$THREADS" "$TORCH_STEPS" "$1" "$2" |
		sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p'
}

summary=""
for in in $INPUTS; do
	c=${in%%x*}
	side=${in##*x}
	: >"$tmp/go.$in"
	: >"$tmp/torch.$in"
	echo "== $in, batch 128 (256 views)"
	for r in $(seq 1 "$RUNS"); do
		read -r ips allocs bytes < <(go_run "$in")
		echo "$ips" >>"$tmp/go.$in"
		printf '  run %d  go     %8.1f images/s  (%s allocs/op, %s B/op)\n' "$r" "$ips" "$allocs" "$bytes"
		if [ "$have_torch" = 1 ]; then
			t=$(torch_run "$c" "$side")
			echo "$t" >>"$tmp/torch.$in"
			printf '  run %d  torch  %8.1f images/s\n' "$r" "$t"
		fi
	done
	gm=$(median <"$tmp/go.$in")
	if [ "$have_torch" = 1 ]; then
		tm=$(median <"$tmp/torch.$in")
		ratio=$(awk -v a="$gm" -v b="$tm" 'BEGIN {printf "%.2f", a / b}')
		line=$(printf '%-8s  go median %8.1f images/s  torch median %8.1f images/s  go/torch %s' "$in" "$gm" "$tm" "$ratio")
	else
		line=$(printf '%-8s  go median %8.1f images/s  (no torch)' "$in" "$gm")
	fi
	echo "$line"
	summary+="$line"$'\n'
done
echo "== summary (median of $RUNS runs each, alternating go/torch, $THREADS threads)"
printf '%s' "$summary"
