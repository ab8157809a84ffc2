# simclr-ablate: `make run` does everything on a fresh machine (data, build,
# a real grid, the report); `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin
GRID ?= experiments/seed_table_short.toml
# make run trains into its own DB and report (results/run/), so that it
# really trains on a fresh clone; the published runs are results/results.db.
RUN_DIR ?= results/run
DB ?= results/results.db
FMNIST_DIR ?= /usr/share/datasets/fashion-mnist
export CGO_ENABLED := 1

# The convolutions' products run on our own AVX2/AVX-512 tiles where the
# CPU has them; the rest (small-K weight gradients, float64) on OpenBLAS
# (Debian's libopenblas-dev) when it is installed, else gonum's pure-Go
# GEMM, 1.3-1.7x slower a step on an AMD EPYC Zen 5 (more on CPUs without
# AVX2). `make deps` installs it; NOBLAS=1 forces the pure-Go build.
ifeq ($(NOBLAS),)
GOTAGS := $(shell /sbin/ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && echo -tags openblas)
endif
# (simclr/nn links -lopenblas itself and keeps OpenBLAS single-threaded: the
# convolutions already split each batch between GOMAXPROCS workers.)

.PHONY: results all build test run data deps data-cifar10 bench report fuzz vet clean bench-cell crosscheck

all: build

# The runner records the commit it was built from and whether the source
# (all but results/, which runs write) had uncommitted changes.
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
GIT_DIRTY := $(shell test -n "$$(git status --porcelain -- . ':(exclude)results' 2>/dev/null)" && echo true || echo false)
LDFLAGS := -X main.buildCommit=$(GIT_COMMIT) -X main.buildDirty=$(GIT_DIRTY)

build:
	$(GO) build $(GOTAGS) -buildvcs=auto -ldflags "$(LDFLAGS)" -o $(BIN)/ ./runner ./report

# test runs every test with the build `make` makes, and the network package
# in the pure-Go build too (gonum's GEMM, and with the purego tag the Go
# loops instead of the AVX2 assembly kernels): both must stay green.
test:
	$(GO) vet $(GOTAGS) ./...
	$(GO) test $(GOTAGS) -timeout 15m ./...
	$(GO) test -count=1 -tags purego ./simclr/nn/...

# deps installs OpenBLAS where apt-get is available (optional: without it
# the build is pure Go and slower to train).
deps:
	@if /sbin/ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; then \
		echo "openblas: present"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev; \
	else \
		echo "openblas: no apt-get; building pure Go (install OpenBLAS for faster training)"; \
	fi

# data installs Debian's Fashion-MNIST package where apt-get is available.
data:
	@if [ -f $(FMNIST_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "fashion-mnist: present in $(FMNIST_DIR)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif command -v apt-get >/dev/null 2>&1; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "fashion-mnist: no apt-get here. Download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,"; \
		echo "  t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from"; \
		echo "  https://github.com/zalandoresearch/fashion-mnist (data/fashion) into a folder and set path = \"<folder>\""; \
		exit 1; \
	fi

# data-cifar10 fetches the official CIFAR-10 binary archive (needs internet)
# and checks its published MD5 before unpacking into data/.
CIFAR_URL := https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
CIFAR_MD5 := c32a1d4ab5d03f1284b67883e8d87530
data-cifar10:
	mkdir -p data
	curl -fL -o data/cifar-10-binary.tar.gz $(CIFAR_URL)
	echo "$(CIFAR_MD5)  data/cifar-10-binary.tar.gz" | md5sum -c -
	tar -xzf data/cifar-10-binary.tar.gz -C data
	@echo "cifar10: set dataset = \"cifar10\" and path = \"data/cifar-10-batches-bin\""

run: data deps
	$(MAKE) build
	$(BIN)/runner run experiments/smoke.toml --db $(RUN_DIR)/smoke.db
	$(BIN)/runner run $(GRID) --db $(RUN_DIR)/results.db
	$(BIN)/report build --db $(RUN_DIR)/results.db --out $(RUN_DIR)/

# report rebuilds results/report.md and its charts from the committed
# results/results.db (no training).
report:
	$(MAKE) build
	$(BIN)/report build --db $(DB) --out results/

# results runs exactly the published grids into results/results.db (hours;
# resumable: rerun it after an interruption, finished cells are skipped;
# failed cells are retried), then rebuilds the report (results/report.md;
# docs/findings.md reads it). The earlier published runs
# (seed_table_short, augment_one_branch, augment_crop_first,
# color_strength, batch_size_epochs) are finished there and cost nothing;
# the grids redesigned to give SimCLR a fair budget (seed_table,
# augment_ablation), fashion_full, augment_recipes and batch_size at equal
# steps run new cells.
SEEDS ?= [1,2,3]
results: data deps
	$(MAKE) build
	$(BIN)/runner run experiments/augment_recipes.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/seed_table.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/fashion_full.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/augment_ablation.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/projection_head.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/batch_size.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/seed_table_short.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/augment_one_branch.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/augment_crop_first.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/runner run experiments/color_strength.toml --db $(DB) --retry-failed
	$(BIN)/runner run experiments/batch_size_epochs.toml --db $(DB) --retry-failed --set 'seeds=$(SEEDS)'
	$(BIN)/report build --db $(DB) --out results/

# bench compares one SimCLR step in Go and in PyTorch (when python3-torch
# is installed), alternating runs; BENCH_ALL=1 also runs every Go benchmark.
bench:
	bench/compare.sh
	@if [ -n "$(BENCH_ALL)" ]; then $(GO) test $(GOTAGS) -run '^$$' -bench . -benchmem ./...; fi

# bench-cell times one whole SimCLR cell (bench/cell.toml: pretraining +
# linear probe) in Go and in PyTorch with the same thread budget,
# alternating RUNS times (default 3); THREADS=2. docs/crosscheck.md.
bench-cell: build
	bench/bench_cell.sh

# crosscheck runs one cell of a grid in Go and in PyTorch for each seed and
# prints both linear-probe F1 scores and their mean difference:
#   make crosscheck GRID=experiments/x.toml CELL=<label or index> SEEDS="1 2 3"
# Without GRID it runs bench/cell.toml; without SEEDS, seed 1. SET="epochs=3"
# changes settings on both sides. docs/crosscheck.md.
crosscheck: build
	GRID='$(if $(filter command line environment,$(origin GRID)),$(GRID),bench/cell.toml)' \
	SEEDS='$(if $(filter command line environment,$(origin SEEDS)),$(SEEDS),1)' \
	bench/crosscheck.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzIDX -fuzztime 30s ./simclr/data
	$(GO) test -run '^$$' -fuzz FuzzCIFAR -fuzztime 30s ./simclr/data
	$(GO) test -run '^$$' -fuzz FuzzUnmarshal -fuzztime 30s ./internal/safetensors

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
