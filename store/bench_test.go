package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

var (
	benchOnce sync.Once
	benchDir  string
	benchPath string
	benchErr  error
)

const benchRuns = 10000

// benchDB returns the path of a results.db holding benchRuns runs (4
// experiments; axes augment x head x batch_size x temperature, ~9 seeds;
// 90% finished with 15 epochs of metrics and a linear and a fine-tune
// evaluation, 5% failed, 5% running), built once per test binary.
func benchDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "store-bench-")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "results.db")
		benchErr = generate(benchPath, benchRuns)
	})
	if benchErr != nil {
		b.Fatalf("generate bench DB: %v", benchErr)
	}
	return benchPath
}

// generate writes n runs through the store's own insert code, in one
// transaction for speed.
func generate(path string, n int) error {
	db, err := Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	augments := [][]string{{"crop", "color"}, {"crop"}, {"color"}, {"crop", "flip"}, {"cutout", "color"},
		{"crop", "blur"}, {"noise"}, {"crop", "color", "blur"}}
	heads := []string{"none", "linear", "nonlinear"}
	batches := []int{64, 128, 256, 512}
	temps := []float64{0.1, 0.5, 1.0}
	const exps = 4
	expIDs := make([]int64, exps)
	for e := range expIDs {
		if expIDs[e], err = db.EnsureExperiment(ctx, fmt.Sprintf("exp%d", e), "benchmark", ""); err != nil {
			return err
		}
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	confusion := make([][]int, 10)
	for i := range confusion {
		confusion[i] = make([]int, 10)
		confusion[i][i] = 80
		confusion[i][(i+1)%10] = 20
	}
	for r := 0; r < n; r++ {
		e, i := r%exps, r/exps
		cfg := testConfig(int64(i/288+1), func(c *config.Config) {
			c.Augment = augments[i%8]
			c.Head = heads[(i/8)%3]
			c.BatchSize = batches[(i/24)%4]
			c.Temperature = temps[(i/96)%3]
			c.Epochs = 15
		})
		params, err := FlattenConfig(cfg)
		if err != nil {
			return err
		}
		cfgJSON := fmt.Sprintf(`{"head":%q}`, cfg.Head)
		key := CellKey{ConfigHash: cfg.Hash(), Seed: cfg.Seed, Index: i}
		now := start.Add(time.Duration(r) * time.Minute)
		id, err := db.insertRun(ctx, tx, expIDs[e], fmt.Sprintf("cell %d", i), cfgJSON, key, testProv, now)
		if err != nil {
			return fmt.Errorf("run %d: %w", r, err)
		}
		if err := insertParams(ctx, tx, id, params); err != nil {
			return err
		}
		if err := updateAxes(ctx, tx, expIDs[e], id, params); err != nil {
			return err
		}
		epochs := make([]metrics.EpochStats, 15)
		for k := range epochs {
			epochs[k] = epochStats(k+1, 6-0.2*float64(k))
		}
		if err := insertEpochs(ctx, tx, id, epochs, formatTime(now)); err != nil {
			return err
		}
		switch {
		case r%20 == 7:
			_, err = tx.ExecContext(ctx, `UPDATE runs SET status = 'failed', error = 'diverged' WHERE id = ?`, id)
		case r%20 == 13:
			// stays running
		default:
			f1 := 0.5 + 0.4*float64(r%100)/100
			lin, ft := evaluation("linear", "h", 1, f1+0.01, f1), evaluation("finetune", "h", 0.1, f1+0.03, f1+0.02)
			lin.PerClassF1, ft.PerClassF1 = make([]float64, 10), make([]float64, 10)
			lin.Classes, ft.Classes, lin.Confusion, ft.Confusion = classes, classes, confusion, confusion
			if err := insertEvaluations(ctx, tx, id, []metrics.Evaluation{lin, ft}); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE runs SET status = 'finished', ended_at = ?, duration_s = 900, final_loss = 3.2 WHERE id = ?`,
				formatTime(now.Add(15*time.Minute)), id)
		}
		if err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func BenchmarkListRuns(b *testing.B) {
	db, err := OpenReadOnly(benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		f    RunFilter
		min  int
	}{
		{"all", RunFilter{}, benchRuns},
		{"limit50", RunFilter{Limit: 50}, 50},
		{"experiment+status", RunFilter{Experiment: "exp1", Status: StatusFinished}, 2000},
		{"where", RunFilter{Where: "head = 'nonlinear' and linear_f1 > 0.8"}, 100},
		{"where-or", RunFilter{Where: "(batch_size >= 256 or temperature = 0.1) and status = 'finished' and augment like '%color%'"}, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rows, err := db.ListRuns(context.Background(), c.f)
				if err != nil || len(rows) < c.min {
					b.Fatalf("ListRuns(%+v) = %d rows, %v, want at least %d", c.f, len(rows), err, c.min)
				}
			}
		})
	}
}

func BenchmarkGetRun(b *testing.B) {
	db, err := OpenReadOnly(benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		id := int64(i*7919%benchRuns + 1)
		d, err := db.GetRun(context.Background(), id)
		if err != nil || len(d.Epochs) != 15 {
			b.Fatalf("GetRun(%d) = %v epochs, %v, want 15", id, d, err)
		}
	}
}

func BenchmarkExportRuns(b *testing.B) {
	db, err := OpenReadOnly(benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, rows, err := db.ExportRuns(context.Background(), "exp0"); err != nil || len(rows) != benchRuns/4 {
			b.Fatalf("ExportRuns(exp0) = %d rows, %v", len(rows), err)
		}
	}
}

func BenchmarkRecordEpoch(b *testing.B) {
	db, _ := openTest(b)
	id := mustClaim(b, db, mustExperiment(b, db, "e"), "l", testConfig(1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.RecordEpoch(context.Background(), id, epochStats(i%1000+1, 1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCellWrites is every store write of one cell of 15 epochs:
// Claim, 15 RecordEpoch, 4 Heartbeat, Finish.
func BenchmarkCellWrites(b *testing.B) {
	db, _ := openTest(b)
	expID := mustExperiment(b, db, "e")
	ctx := context.Background()
	res := result(evaluation("linear", "h", 1, 0.8, 0.79), evaluation("finetune", "h", 0.1, 0.85, 0.84))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := testConfig(int64(i))
		id, claimed, _, err := db.Claim(ctx, expID, "l", cfg, keyOf(cfg), testProv, ClaimPolicy{})
		if err != nil || !claimed {
			b.Fatalf("Claim() = %v, %v", claimed, err)
		}
		for e := 1; e <= 15; e++ {
			if err := db.RecordEpoch(ctx, id, epochStats(e, 1)); err != nil {
				b.Fatal(err)
			}
			if e%4 == 0 {
				if err := db.Heartbeat(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := db.Finish(ctx, id, res); err != nil {
			b.Fatal(err)
		}
	}
}
