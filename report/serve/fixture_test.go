package serve

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// The fixture database is written through store's write API (Claim,
// RecordEpoch, Finish, MarkFailed) with a clock that advances as real
// runs would: two experiments, finished, failed and running runs, a
// baseline without epochs and one run with a per-epoch knn_acc metric.

var classes = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// fixtureRun is a run of the fixture.
type fixtureRun struct {
	exp   string
	label string
	cfg   config.Config
	acc   float64 // linear accuracy
	fate  string  // "" finished, else the status it ends in
	knn   bool    // record a knn_acc metric per epoch
}

func fixtureRuns() []fixtureRun {
	base := func(mods ...func(*config.Config)) config.Config {
		c := config.DefaultConfig()
		c.Epochs = 6
		for _, m := range mods {
			m(&c)
		}
		return c
	}
	var out []fixtureRun
	for _, seed := range []int64{1, 2} {
		for _, h := range []struct {
			head string
			dim  int
			acc  float64
		}{{"none", 32, 0.71}, {"linear", 32, 0.74}, {"nonlinear", 32, 0.78}, {"nonlinear", 128, 0.79}} {
			c := base(func(c *config.Config) { c.Head, c.ProjDim, c.Seed = h.head, h.dim, seed })
			out = append(out, fixtureRun{exp: "heads", label: fmt.Sprintf("head=%s, proj_dim=%d", h.head, h.dim), cfg: c,
				acc: h.acc + 0.01*float64(seed), knn: seed == 1 && h.head == "nonlinear" && h.dim == 128})
		}
	}
	for _, bs := range []int{64, 128, 256} {
		c := base(func(c *config.Config) { c.BatchSize, c.Seed = bs, 1 })
		r := fixtureRun{exp: "scaling", label: fmt.Sprintf("batch_size=%d", bs), cfg: c, acc: 0.7 + 0.02*math.Log2(float64(bs)/64)}
		switch bs {
		case 128:
			r.fate = store.StatusFailed
		case 256:
			r.fate = store.StatusRunning
		}
		out = append(out, r)
	}
	raw := base(func(c *config.Config) { c.Method, c.Seed = config.MethodRawPixels, 1 })
	out = append(out, fixtureRun{exp: "scaling", label: "raw pixels", cfg: raw, acc: 0.8})
	return out
}

var fixtureProv = store.Provenance{GitCommit: "3f9c2a1b7d4e8f60", GoVersion: "go1.26.8", GOMAXPROCS: 2, Host: "lab-box", PID: 4242}

// writeFixture writes the fixture into a new database at path and
// returns the run ids in fixtureRuns order.
func writeFixture(t testing.TB, path string) []int64 {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return clock })
	ctx := context.Background()
	var ids []int64
	var knnRuns []int64
	exps := map[string]int64{}
	for i, fr := range fixtureRuns() {
		if exps[fr.exp] == 0 {
			if exps[fr.exp], err = db.EnsureExperiment(ctx, fr.exp, "the "+fr.exp+" experiment", "experiments/"+fr.exp+".toml"); err != nil {
				t.Fatal(err)
			}
		}
		clock = clock.Add(time.Minute)
		id := addRun(t, db, exps[fr.exp], i, fr, func(d time.Duration) { clock = clock.Add(d) })
		ids = append(ids, id)
		if fr.knn {
			knnRuns = append(knnRuns, id)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// No store write records knn_acc yet: a runner that measures it would
	// store per-epoch rows like these.
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, id := range knnRuns {
		for e := 1; e <= 6; e++ {
			if _, err := raw.Exec(`INSERT INTO metrics (run_id, key, epoch, step, value, time) VALUES (?, 'knn_acc', ?, 0, ?, ?)`,
				id, e, 0.4+0.05*float64(e), "2024-05-01T10:00:00.000000Z"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// addRun claims, trains (per-epoch metrics) and ends one run.
func addRun(t testing.TB, db *store.DB, expID int64, index int, fr fixtureRun, advance func(time.Duration)) int64 {
	t.Helper()
	ctx := context.Background()
	key := store.CellKey{ConfigHash: fr.cfg.Hash(), Seed: fr.cfg.Seed, Index: index}
	id, claimed, _, err := db.Claim(ctx, expID, fr.label, fr.cfg, key, fixtureProv, store.ClaimPolicy{})
	if err != nil || !claimed {
		t.Fatalf("claim %s: %v, %v", fr.label, claimed, err)
	}
	var epochs []metrics.EpochStats
	if fr.cfg.Method == config.MethodSimCLR {
		for e := 1; e <= fr.cfg.Epochs; e++ {
			prog := 1 - math.Exp(-float64(e)/3)
			epochs = append(epochs, metrics.EpochStats{
				Epoch: e, Epochs: fr.cfg.Epochs, Steps: 10000 / fr.cfg.BatchSize,
				Loss: math.Log(float64(2*fr.cfg.BatchSize-1)) * (1 - 0.4*prog) * (1 + 0.02*float64(index%3)),
				LR:   fr.cfg.LR, ImagesPerSec: 900, ContrastiveAcc: 0.15 + 0.5*prog*fr.acc, PositiveCos: 0.3 + 0.5*prog,
				Duration: 20 * time.Second,
			})
		}
	}
	if fr.fate != "" {
		for _, e := range epochs[:2] {
			advance(20 * time.Second)
			if err := db.RecordEpoch(ctx, id, e); err != nil {
				t.Fatal(err)
			}
		}
		if fr.fate != store.StatusRunning {
			if err := db.MarkFailed(ctx, id, fr.fate, "training diverged at epoch 3: loss = NaN\nstack: ..."); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	advance(time.Duration(len(epochs)) * 20 * time.Second)
	ev := evaluation("linear", "h", fr.acc)
	res := &metrics.Result{Epochs: epochs, Evaluations: []metrics.Evaluation{ev}, DatasetChecksum: "0b7f3c9e",
		PretrainTime: time.Duration(len(epochs)) * 20 * time.Second, EvalTime: 30 * time.Second}
	if len(epochs) > 0 {
		res.FinalLoss = epochs[len(epochs)-1].Loss
	}
	if fr.exp == "heads" {
		res.Evaluations = append(res.Evaluations, evaluation("linear", "z", fr.acc-0.1))
	}
	if index == 0 {
		// The first finished run of an experiment kept its encoder.
		rel := store.ArtifactPath(fr.exp, id, "encoder.safetensors")
		if _, err := db.SaveArtifact(ctx, id, store.ArtifactEncoder, rel, []byte(fixtureEncoder)); err != nil {
			t.Fatal(err)
		}
	}
	advance(30 * time.Second)
	if err := db.Finish(ctx, id, res); err != nil {
		t.Fatal(err)
	}
	return id
}

// evaluation scores 100 test images a class, each class's recall near acc.
func evaluation(protocol, features string, acc float64) metrics.Evaluation {
	var yTrue, yPred []int
	for c := range classes {
		right := int(math.Round(math.Min(0.99, acc+0.03*float64(c%4-1)) * 100))
		for i := 0; i < 100; i++ {
			yTrue = append(yTrue, c)
			if i < right {
				yPred = append(yPred, c)
			} else {
				yPred = append(yPred, (c+1+i%2)%len(classes))
			}
		}
	}
	s, err := metrics.Compute(yTrue, yPred, len(classes))
	if err != nil {
		panic(err)
	}
	return metrics.Evaluation{Protocol: protocol, Features: features, LabelFraction: 1, TrainSize: 10000, TestSize: len(yTrue),
		Accuracy: s.Accuracy, MacroF1: s.MacroF1, PerClassF1: s.PerClassF1, Confusion: s.Confusion, Classes: classes, Duration: 4.5}
}

// fixtureDB writes the fixture into a temporary directory and opens it
// read-only, as report serve does.
// fixtureEncoder stands for the bytes of a kept encoder: the page only
// lists and checks the file, it never parses it.
const fixtureEncoder = "fixture encoder bytes"

func fixtureDB(t testing.TB) (db *store.DB, path string, ids []int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "results.db")
	ids = writeFixture(t, path)
	db, err := store.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path, ids
}
