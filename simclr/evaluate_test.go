package simclr

import (
	"context"
	"log/slog"
	"reflect"
	"runtime"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/data"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn"
)

// evalCell loads and splits cfg's dataset as Run does (lazy sets) and
// returns the cell with its encoder state: the untrained one, or nil for
// raw pixels.
func evalCell(t *testing.T, cfg Config) (*cell, *nn.State) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := &cell{cfg: cfg, hooks: Hooks{Logger: slog.New(slog.DiscardHandler)}}
	train, err := c.load()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.split(train, false); err != nil {
		t.Fatal(err)
	}
	if cfg.Method == MethodRawPixels {
		return c, nil
	}
	st, err := c.randomInit()
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

// evaluations runs c's evaluation and returns its evaluations without
// their durations.
func evaluations(t *testing.T, c *cell, st *nn.State) []Evaluation {
	t.Helper()
	c.res.Evaluations = nil
	if err := c.evaluate(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	evs := c.res.Evaluations
	for i := range evs {
		evs[i].Duration = 0
	}
	return evs
}

// TestStreamedEvaluationIsExact: evaluating on lazy sets, whose images
// are rendered a batch at a time (and raw pixels at every pass of the
// probe), gives the scores of evaluating on the same sets held in memory,
// exactly, whatever GOMAXPROCS.
func TestStreamedEvaluationIsExact(t *testing.T) {
	for _, method := range []string{MethodRandomInit, MethodRawPixels} {
		t.Run(method, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Method = method
			cfg.SyntheticSize = 700 // 700 train and 175 test images: several batches of evalBatch, the last partial
			cfg.EvalSubset = 600
			cfg.Eval = []string{"linear", "finetune"}
			cfg.EvalFeatures = []string{"h", "z"}
			cfg.LabelFraction = []float64{0.25}
			cfg.FinetuneEpochs = 1
			cfg.LinearEpochs = 20
			c, st := evalCell(t, cfg)
			if !c.test.Lazy() || !c.evalTrain.Lazy() || !c.labelled[0.25].Lazy() {
				t.Fatalf("lazy evaluation sets: test %v, train %v, labelled %v; want all lazy",
					c.test.Lazy(), c.evalTrain.Lazy(), c.labelled[0.25].Lazy())
			}
			defer func(old int) { pixelsInMemory = old }(pixelsInMemory)
			pixelsInMemory = 0 // stream raw pixels too
			old := runtime.GOMAXPROCS(1)
			streamed := evaluations(t, c, st)
			runtime.GOMAXPROCS(old)

			c.test, c.evalTrain = c.test.Materialize(), c.evalTrain.Materialize()
			c.labelled[0.25] = c.labelled[0.25].Materialize()
			inMemory := evaluations(t, c, st)
			if want := map[string]int{MethodRandomInit: 3, MethodRawPixels: 2}[method]; len(streamed) != want {
				t.Fatalf("%d evaluations, want %d", len(streamed), want)
			}
			if !reflect.DeepEqual(streamed, inMemory) {
				for i := range streamed {
					s, m := streamed[i], inMemory[i]
					t.Errorf("%s %s: streamed accuracy %v, F1 %v; in memory %v, %v (or other fields)",
						s.Protocol, s.Features, s.Accuracy, s.MacroF1, m.Accuracy, m.MacroF1)
				}
			}
		})
	}
}

// TestExtractMemoryBounded: feature extraction holds a batch of images at
// a time, so its peak live heap does not grow with the set. Extracting
// from a set six times larger must not hold more than an eighth of the
// difference's float32 images (what rendering the whole set would).
func TestExtractMemoryBounded(t *testing.T) {
	cfg := tinyConfig()
	cfg.Method = MethodRandomInit
	c := &cell{cfg: cfg, c: 3, h: 16, w: 16}
	st, err := c.randomInit()
	if err != nil {
		t.Fatal(err)
	}
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	// peak returns the largest live heap, above the heap before it
	// started, of extracting h from n lazy images.
	peak := func(n int) int64 {
		set, _, err := data.Load(data.Spec{Name: "synthetic", Size: n, ImageSize: 16, Seed: 1, Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		before, most := live(), int64(0)
		images := 0
		err = c.extract(context.Background(), st, set, "h", func(lo, hi int, f []float32) {
			images += hi - lo
			most = max(most, live()-before)
		})
		if err != nil || images != n {
			t.Fatalf("extract from %d images: %d extracted, error %v", n, images, err)
		}
		runtime.KeepAlive(set)
		return most
	}
	const small, large = 2 * evalBatch, 12 * evalBatch
	peak(small) // the first network built allocates for good what later ones reuse
	a, b := peak(small), peak(large)
	limit := int64(large-small) * 3 * 16 * 16 * 4 / 8
	t.Logf("peak live heap while extracting: %d images %d KB, %d images %d KB", small, a>>10, large, b>>10)
	if b-a > limit {
		t.Errorf("extracting from %d images holds %d KB more than from %d, want < %d KB (a batch at a time)",
			large, (b-a)>>10, small, limit>>10)
	}
}
