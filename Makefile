# simclr-ablate: `make run` does everything on a fresh machine (data, build,
# a real grid, the report); `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin
GRID ?= experiments/seed_table.toml
DB ?= results/results.db
FMNIST_DIR ?= /usr/share/datasets/fashion-mnist
export CGO_ENABLED := 1

.PHONY: all build test run data data-cifar10 bench report fuzz vet clean

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN)/ ./runner ./report

test:
	$(GO) vet ./...
	$(GO) test -timeout 15m ./...

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

run: data build
	$(BIN)/runner run experiments/smoke.toml --db results/smoke.db
	$(BIN)/runner run $(GRID) --db $(DB)
	$(BIN)/report build --db $(DB) --out results/

report: build
	$(BIN)/report build --db $(DB) --out results/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzIDX -fuzztime 30s ./simclr/data
	$(GO) test -run '^$$' -fuzz FuzzCIFAR -fuzztime 30s ./simclr/data

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
