package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr"
	"github.com/simclr-ablate/simclr-ablate/store"
)

var (
	benchDBOnce sync.Once
	benchDBDir  string
	benchDBPath string
	benchDBErr  error
)

const benchRuns = 10000

// benchDB returns a results.db of benchRuns runs (2 experiments; axes
// augment x head x batch_size x temperature; 15 epochs of metrics, a linear
// evaluation with 10 classes; every 20th run failed), written once per test
// binary through the store's API.
func benchDB(b *testing.B) string {
	b.Helper()
	benchDBOnce.Do(func() {
		benchDBDir, benchDBErr = os.MkdirTemp("", "runner-bench-")
		if benchDBErr != nil {
			return
		}
		benchDBPath = filepath.Join(benchDBDir, "results.db")
		benchDBErr = generateRuns(benchDBPath, benchRuns)
	})
	if benchDBErr != nil {
		b.Fatalf("generate %d runs: %v", benchRuns, benchDBErr)
	}
	return benchDBPath
}

func generateRuns(path string, n int) error {
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	augments := [][]string{{"crop", "color"}, {"crop"}, {"color"}, {"crop", "flip"}, {"cutout", "color"}}
	heads := []string{"none", "linear", "nonlinear"}
	batches := []int{64, 128, 256, 512}
	temps := []float64{0.1, 0.5}
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	confusion := make([][]int, 10)
	f1s := make([]float64, 10)
	for i := range confusion {
		confusion[i] = make([]int, 10)
		confusion[i][i], confusion[i][(i+1)%10] = 80, 20
		f1s[i] = 0.8
	}
	epochs := make([]simclr.EpochStats, 15)
	for k := range epochs {
		epochs[k] = simclr.EpochStats{Epoch: k + 1, Epochs: 15, Steps: 39, Loss: 6 - 0.2*float64(k), LR: 1e-3,
			ImagesPerSec: 800, ContrastiveAcc: 0.5, PositiveCos: 0.6, Duration: 12 * time.Second}
	}
	res := &simclr.Result{Epochs: epochs, FinalLoss: 3, DatasetChecksum: "bench",
		Evaluations: []simclr.Evaluation{{Protocol: "linear", Features: "h", LabelFraction: 1, TrainSize: 10000, TestSize: 2000,
			Accuracy: 0.8, MacroF1: 0.79, PerClassF1: f1s, Confusion: confusion, Classes: classes, Duration: 3}}}
	prov := store.Provenance{GitCommit: "bench", GoVersion: "go", GOMAXPROCS: 2, Host: "bench", PID: 1}
	const combos = 5 * 3 * 4 * 2
	for e := 0; e < 2; e++ {
		name := fmt.Sprintf("bench%d", e)
		expID, err := db.EnsureExperiment(ctx, name, "benchmark", "")
		if err != nil {
			return err
		}
		for i := 0; i < n/2; i++ {
			cfg := simclr.DefaultConfig()
			cfg.Dataset = "synthetic"
			cfg.Augment = augments[i%5]
			cfg.Head = heads[(i/5)%3]
			cfg.BatchSize = batches[(i/15)%4]
			cfg.Temperature = temps[(i/60)%2]
			cfg.Epochs = 15
			cfg.Seed = int64(i/combos + 1)
			key := store.CellKey{Experiment: name, ConfigHash: cfg.Hash(), Seed: cfg.Seed, Index: i}
			id, claimed, _, err := db.Claim(ctx, expID, fmt.Sprintf("cell %d", i%combos), cfg, key, prov, store.ClaimPolicy{})
			if err != nil || !claimed {
				return fmt.Errorf("claim %d: %v (claimed %v)", i, err, claimed)
			}
			if i%20 == 7 {
				err = db.MarkFailed(ctx, id, store.StatusFailed, "training diverged at epoch 3 step 2: loss = NaN")
			} else {
				err = db.Finish(ctx, id, res)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkLs is `runner ls` (open, query, format) over 10 000 runs: one
// a line, all of them, then a filtered listing.
func BenchmarkLs(b *testing.B) {
	db := benchDB(b)
	for _, args := range [][]string{
		{"ls", "--db", db},
		{"ls", "--db", db, "--where", "head = 'nonlinear' and linear_f1 > 0.5", "--experiment", "bench1"},
	} {
		b.Run(map[bool]string{true: "all", false: "where"}[len(args) == 3], func(b *testing.B) {
			b.ReportAllocs()
			m := &Main{Stdout: io.Discard, Stderr: io.Discard}
			for b.Loop() {
				if err := m.Run(context.Background(), args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkShow is `runner show` of one run in a database of 10 000.
func BenchmarkShow(b *testing.B) {
	db := benchDB(b)
	b.ReportAllocs()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard}
	args := []string{"show", "5000", "--db", db}
	for b.Loop() {
		if err := m.Run(context.Background(), args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJobs runs a grid of four smoke-sized SimCLR cells (the pairwise
// generator on crop and color, 2 epochs of 256 synthetic 16x16 images) with
// one and with two cells at once: the measurement behind defaultJobs.
func BenchmarkJobs(b *testing.B) {
	for _, j := range []string{"1", "2"} {
		b.Run("j="+j, func(b *testing.B) {
			for b.Loop() {
				db := filepath.Join(b.TempDir(), "results.db")
				m := &Main{Stdout: io.Discard, Stderr: io.Discard}
				err := m.Run(context.Background(), []string{"run", "testdata/pairwise.toml", "--db", db, "-j", j,
					"--set", "epochs=2", "--set", "synthetic_size=256", "--set", "width=8", "--set", "linear_epochs=50"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
