package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
	"github.com/simclr-ablate/simclr-ablate/simclr/metrics"
	"github.com/simclr-ablate/simclr-ablate/store"
)

// The fixture databases are written through store's write API only
// (EnsureExperiment, Claim, RecordEpoch, Finish, MarkFailed), with a
// clock that advances as a real run would, so every stored time and
// duration is reproducible.

// fashionClasses are Fashion-MNIST's classes, in label order.
var fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// classEase shifts each class's recall from a run's mean: shirts are hard,
// trousers and bags easy (as on the real data).
var classEase = []float64{-0.04, 0.12, -0.06, 0.03, -0.07, 0.1, -0.3, 0.07, 0.11, 0.04}

// confusedWith is the class each class is mostly mistaken for.
var confusedWith = []int{6, 3, 4, 0, 2, 7, 0, 9, 2, 7}

// outcome of a run in the fixture.
const (
	finished    = ""
	failed      = store.StatusFailed
	interrupted = store.StatusInterrupted
	running     = store.StatusRunning
)

// cellSpec is one row of a fixture grid.
type cellSpec struct {
	label string
	cfg   config.Config
	acc   float64          // mean linear-evaluation accuracy the runs scatter around
	zDrop float64          // accuracy lost on z when eval_features has z
	fates map[int64]string // seed → outcome; missing = finished
}

// expSpec is a fixture experiment: its grid rows repeated for each seed.
type expSpec struct {
	name, description, grid string
	seeds                   []int64
	cells                   []cellSpec
	prov                    store.Provenance
}

// fixtureClock is the clock the fixture DB stamps rows with.
type fixtureClock struct{ t time.Time }

func (c *fixtureClock) now() time.Time          { return c.t }
func (c *fixtureClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var labProv = store.Provenance{GitCommit: "3f9c2a1b7d4e8f60", GoVersion: "go1.26.8", GOMAXPROCS: 2, Host: "lab-box", PID: 4242}

func base(mods ...func(*config.Config)) config.Config {
	c := config.DefaultConfig()
	c.Eval = []string{"linear"}
	for _, m := range mods {
		m(&c)
	}
	return c
}

// fixtureSpecs is the realistic mix of the golden test: a seed table with
// baselines and fine-tuning, a 3×3 pairwise grid, heads × output dims
// with h and z features, and batch sizes × epochs; failed, interrupted and
// still-running runs among them.
func fixtureSpecs() []expSpec {
	seedTable := expSpec{
		name: "seed_table", description: "The seed document's F1 table: augmentations and baselines",
		grid: "experiments/seed_table.toml", seeds: []int64{1, 2, 3}, prov: labProv,
	}
	ft := func(c *config.Config) { c.Eval = []string{"linear", "finetune"}; c.LabelFraction = []float64{0.1} }
	aug := func(list ...string) func(*config.Config) { return func(c *config.Config) { c.Augment = list } }
	method := func(m string) func(*config.Config) { return func(c *config.Config) { c.Method = m } }
	seedTable.cells = []cellSpec{
		{label: "crop+color", cfg: base(ft, aug("crop", "color")), acc: 0.83},
		{label: "crop", cfg: base(ft, aug("crop")), acc: 0.71, fates: map[int64]string{3: running}},
		{label: "color", cfg: base(ft, aug("color")), acc: 0.75, fates: map[int64]string{3: interrupted}},
		{label: "cutout+color+noise+blur", cfg: base(ft, aug("cutout", "color", "noise", "blur")), acc: 0.78, fates: map[int64]string{2: failed}},
		{label: "raw pixels", cfg: base(ft, method(config.MethodRawPixels)), acc: 0.8},
		{label: "random-init", cfg: base(ft, method(config.MethodRandomInit)), acc: 0.76},
		{label: "supervised", cfg: base(ft, method(config.MethodSupervised)), acc: 0.89},
	}

	pairs := expSpec{
		name: "pairwise", description: "Finding 1: which pairs of augmentations make good views (Figure 5)",
		grid: "experiments/pairwise.toml", seeds: []int64{1, 2}, prov: labProv,
	}
	ts := []string{"crop", "color", "blur"}
	pairAcc := map[[2]string]float64{
		{"crop", "crop"}: 0.62, {"crop", "color"}: 0.82, {"crop", "blur"}: 0.64,
		{"color", "crop"}: 0.80, {"color", "color"}: 0.66, {"color", "blur"}: 0.69,
		{"blur", "crop"}: 0.63, {"blur", "color"}: 0.71, {"blur", "blur"}: 0.38,
	}
	for _, a := range ts {
		for _, b := range ts {
			label, augA := a+"+"+b, []string{"crop", a, b}
			if a == b {
				label, augA = a, []string{"crop", a}
			}
			c := cellSpec{label: label, cfg: base(func(c *config.Config) { c.Augment = augA; c.AugmentB = []string{"crop"} }), acc: pairAcc[[2]string{a, b}]}
			if a == "blur" && b == "crop" {
				c.fates = map[int64]string{2: failed}
			}
			pairs.cells = append(pairs.cells, c)
		}
	}

	heads := expSpec{
		name: "heads", description: "Finding 2: projection head kind and output dimension, h vs z",
		grid: "experiments/heads.toml", seeds: []int64{1, 2}, prov: labProv,
	}
	headAcc := map[string]float64{"none": 0.72, "linear": 0.76, "nonlinear": 0.8}
	headZ := map[string]float64{"none": 0, "linear": 0.07, "nonlinear": 0.15}
	for _, h := range []string{"none", "linear", "nonlinear"} {
		for _, d := range []int{32, 128} {
			hh, dd := h, d
			heads.cells = append(heads.cells, cellSpec{
				label: fmt.Sprintf("head=%s, proj_dim=%d", h, d),
				cfg: base(func(c *config.Config) {
					c.Head, c.ProjDim, c.EvalFeatures = hh, dd, []string{"h", "z"}
				}),
				acc: headAcc[h] + 0.005*float64(d/64), zDrop: headZ[h],
			})
		}
	}

	scaling := expSpec{
		name: "scaling", description: "Finding 3: batch size and training length (Figure 9)",
		grid: "experiments/scaling.toml", seeds: []int64{1, 2},
		prov: store.Provenance{GitCommit: "9a8b7c6d5e4f3a2b", GitDirty: true, GoVersion: "go1.26.8", GOMAXPROCS: 2, Host: "lab-box", PID: 5151},
	}
	for _, bs := range []int{64, 128, 256} {
		for _, ep := range []int{5, 10, 20} {
			b, e := bs, ep
			c := cellSpec{
				label: fmt.Sprintf("batch_size=%d, epochs=%d", bs, ep),
				cfg:   base(func(c *config.Config) { c.BatchSize, c.Epochs = b, e }),
				acc:   0.62 + 0.025*math.Log2(float64(bs)/64) + 0.05*math.Log2(float64(ep)/5),
			}
			if bs == 256 && ep == 20 {
				c.fates = map[int64]string{2: interrupted}
			}
			scaling.cells = append(scaling.cells, c)
		}
	}
	return []expSpec{seedTable, pairs, heads, scaling}
}

// writeFixture writes the experiments into a new results.db at path.
func writeFixture(tb testing.TB, path string, specs []expSpec) {
	tb.Helper()
	db, err := store.Open(path)
	if err != nil {
		tb.Fatalf("store.Open(%s) = %v", path, err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			tb.Fatal(err)
		}
	}()
	clk := &fixtureClock{t: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	db.SetClock(clk.now)
	ctx := context.Background()
	for _, e := range specs {
		if err := writeExperiment(ctx, db, clk, e); err != nil {
			tb.Fatalf("fixture experiment %s: %v", e.name, err)
		}
	}
}

func writeExperiment(ctx context.Context, db *store.DB, clk *fixtureClock, e expSpec) error {
	expID, err := db.EnsureExperiment(ctx, e.name, e.description, e.grid)
	if err != nil {
		return err
	}
	for si, seed := range e.seeds {
		for ci, c := range e.cells {
			cfg := c.cfg
			cfg.Seed = seed
			key := store.CellKey{Experiment: e.name, ConfigHash: cfg.Hash(), Seed: seed, Index: si*len(e.cells) + ci}
			clk.advance(3 * time.Second)
			id, claimed, _, err := db.Claim(ctx, expID, c.label, cfg, key, e.prov, store.ClaimPolicy{})
			if err != nil {
				return err
			}
			if !claimed {
				return fmt.Errorf("cell %s seed %d not claimed", c.label, seed)
			}
			rng := rand.New(rand.NewPCG(labelHash(e.name+"/"+c.label), uint64(seed)))
			epochs := fixtureEpochs(cfg, rng)
			perEpoch := time.Duration(float64(20*time.Second) * float64(cfg.BatchSize) / 256 * 4)
			switch fate := c.fates[seed]; fate {
			case finished:
				clk.advance(time.Duration(len(epochs)) * perEpoch)
				res := &metrics.Result{
					Epochs:          epochs,
					DatasetChecksum: "0b7f3c9e2d41a6587c1e",
					PretrainTime:    time.Duration(len(epochs)) * perEpoch,
					EvalTime:        40 * time.Second,
				}
				if len(epochs) > 0 {
					res.FinalLoss = epochs[len(epochs)-1].Loss
				}
				res.Evaluations, err = fixtureEvals(cfg, c, rng)
				if err != nil {
					return err
				}
				clk.advance(40 * time.Second)
				if err := db.Finish(ctx, id, res); err != nil {
					return err
				}
			default:
				// Two epochs recorded, then the end this run met.
				for _, ep := range epochs[:min(2, len(epochs))] {
					clk.advance(perEpoch)
					if err := db.RecordEpoch(ctx, id, ep); err != nil {
						return err
					}
				}
				clk.advance(perEpoch / 2)
				switch fate {
				case failed:
					err = db.MarkFailed(ctx, id, store.StatusFailed, "training diverged at epoch 3 step 17: loss = NaN\nstack: simclr.(*trainer).step")
				case interrupted:
					err = db.MarkFailed(ctx, id, store.StatusInterrupted, "interrupted: context canceled")
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func labelHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// fixtureEpochs are the health signals of a run: NT-Xent falling from
// log(2N−1) (a collapsed encoder), contrastive accuracy rising; supervised
// runs report cross-entropy; raw pixels and random-init do not train.
func fixtureEpochs(cfg config.Config, rng *rand.Rand) []metrics.EpochStats {
	switch cfg.Method {
	case config.MethodRawPixels, config.MethodRandomInit:
		return nil
	}
	var out []metrics.EpochStats
	start := math.Log(float64(2*cfg.BatchSize - 1))
	for e := 1; e <= cfg.Epochs; e++ {
		prog := 1 - math.Exp(-float64(e)/4)
		loss := start * (1 - 0.4*prog)
		acc := 0.15 + 0.55*prog
		if cfg.Method == config.MethodSupervised {
			loss, acc = 2.3*(1-0.85*prog), 0
		}
		out = append(out, metrics.EpochStats{
			Epoch: e, Epochs: cfg.Epochs, Steps: 10000 / cfg.BatchSize,
			Loss:           loss + 0.03*rng.NormFloat64(),
			LR:             cfg.LR,
			ImagesPerSec:   900 + 20*rng.NormFloat64(),
			ContrastiveAcc: acc + 0.01*rng.NormFloat64(),
			PositiveCos:    0.3 + 0.5*prog,
			Duration:       time.Duration(float64(20*time.Second) * float64(cfg.BatchSize) / 256 * 4),
		})
	}
	return out
}

// fixtureEvals scores a finished run: the linear evaluation (on pixels
// for raw pixels; on h, and on z when asked), and fine-tuning per label
// fraction, each computed by simclr/metrics from a confusion matrix whose
// recall scatters around the cell's accuracy.
func fixtureEvals(cfg config.Config, c cellSpec, rng *rand.Rand) ([]metrics.Evaluation, error) {
	acc := c.acc + 0.008*rng.NormFloat64()
	var out []metrics.Evaluation
	for _, proto := range cfg.Eval {
		switch proto {
		case "linear":
			feats := cfg.EvalFeatures
			switch cfg.Method {
			case config.MethodRawPixels:
				feats = []string{"pixels"}
			case config.MethodSupervised:
				feats = []string{"h"}
			}
			for _, f := range feats {
				a := acc
				if f == "z" {
					a -= c.zDrop
				}
				ev, err := fixtureEval("linear", f, 1, a, rng)
				if err != nil {
					return nil, err
				}
				out = append(out, ev)
			}
		case "finetune":
			for _, frac := range cfg.LabelFraction {
				f := "h"
				if cfg.Method == config.MethodRawPixels {
					f = "pixels"
				}
				ev, err := fixtureEval("finetune", f, frac, acc+0.02, rng)
				if err != nil {
					return nil, err
				}
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

func fixtureEval(proto, features string, frac, acc float64, rng *rand.Rand) (metrics.Evaluation, error) {
	const perClass = 100
	var yTrue, yPred []int
	for c := range fashionClasses {
		recall := math.Max(0.05, math.Min(0.99, acc+classEase[c]+0.01*rng.NormFloat64()))
		right := int(math.Round(recall * perClass))
		wrong := perClass - right
		for i := 0; i < perClass; i++ {
			yTrue = append(yTrue, c)
			switch {
			case i < right:
				yPred = append(yPred, c)
			case i < right+wrong*2/3:
				yPred = append(yPred, confusedWith[c])
			default:
				yPred = append(yPred, (c+1+i%3)%len(fashionClasses))
			}
		}
	}
	s, err := metrics.Compute(yTrue, yPred, len(fashionClasses))
	if err != nil {
		return metrics.Evaluation{}, err
	}
	return metrics.Evaluation{
		Protocol: proto, Features: features, LabelFraction: frac,
		TrainSize: int(60000 * frac), TestSize: len(yTrue),
		Accuracy: s.Accuracy, MacroF1: s.MacroF1, PerClassF1: s.PerClassF1, Confusion: s.Confusion,
		Classes: fashionClasses, Duration: 12.5,
	}, nil
}
