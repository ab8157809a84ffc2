package simclr

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/augment"
	"github.com/simclr-ablate/simclr-ablate/simclr/data"
)

// writeFashionMNIST writes Fashion-MNIST's four IDX files with n train and
// m test images of random 28×28 pixels into dir.
func writeFashionMNIST(t testing.TB, dir string, n, m int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	write := func(name string, dims []int, size int) {
		b := binary.BigEndian.AppendUint32(nil, uint32(0x0800|len(dims)))
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
		for range size {
			if len(dims) == 1 {
				b = append(b, byte(rng.IntN(10)))
			} else {
				b = append(b, byte(rng.IntN(256)))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", n}, {"t10k", m}} {
		write(s.prefix+"-images-idx3-ubyte", []int{s.n, 28, 28}, s.n*28*28)
		write(s.prefix+"-labels-idx1-ubyte", []int{s.n}, s.n)
	}
}

// TestPretrainMemoryBounded: pretraining keeps its subset as 8-bit pixels
// and renders each view's image when it makes the view, so the live heap
// while it trains grows with the pretraining subset by its pixels only,
// not by its float32 images (3×28×28×4 bytes an image of
// fashion-mnist-color, twelve times as many). The limit is a quarter of
// the float32 difference: rendering the subset whole, as pretraining did
// before, exceeds it four times over.
func TestPretrainMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains two pretraining cells to compare their live heaps; make test runs it")
	}
	dir := t.TempDir()
	writeFashionMNIST(t, dir, 6000, 300)
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	// peak returns the largest live heap at the end of a pretraining step
	// of a cell that pretrains on n images.
	peak := func(n int) int64 {
		cfg := DefaultConfig()
		cfg.Dataset, cfg.Path = "fashion-mnist-color", dir
		cfg.PretrainSubset, cfg.BatchSize, cfg.Epochs, cfg.Steps = n, 32, 0, 3
		cfg.Width, cfg.ProjDim = 4, 8
		cfg.Augment = []string{"crop", "color"}
		cfg.KNNTrain, cfg.KNNTest = 100, 50
		cfg.EvalSubset, cfg.TestSubset, cfg.LinearEpochs = 200, 100, 1
		var most int64
		_, err := Run(context.Background(), cfg, Hooks{OnStep: func(StepStats) { most = max(most, live()) }})
		if err != nil {
			t.Fatalf("pretrain on %d images: %v", n, err)
		}
		return most
	}
	const small, large = 500, 5500
	peak(small) // warm-up: what the first cell allocates for good
	a, b := peak(small), peak(large)
	limit := int64(large-small) * 3 * 28 * 28 * 4 / 4
	t.Logf("peak live heap while pretraining: %d images %d KB, %d images %d KB", small, a>>10, large, b>>10)
	if b-a > limit {
		t.Errorf("pretraining on %d images holds %d KB more than on %d, want < %d KB (8-bit pixels, not float32 images)",
			large, (b-a)>>10, small, limit>>10)
	}
}

// BenchmarkPretrainLoader: the cost of rendering each view's image from
// the 8-bit pixels (lazy) against reading the subset rendered whole
// (rendered), one worker, batch 256 of fashion-mnist-color with colour
// distortion on both branches; ns/op is one batch of 512 views.
func BenchmarkPretrainLoader(b *testing.B) {
	dir := b.TempDir()
	writeFashionMNIST(b, dir, 2560, 10)
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Path, cfg.PretrainSubset, cfg.KNNTrain = "fashion-mnist-color", dir, 0, 0
	cfg.Augment = []string{"color"}
	c := &cell{cfg: cfg}
	train, err := c.load()
	if err != nil {
		b.Fatal(err)
	}
	a, _, err := pipelines(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  *data.Set
	}{{"rendered", train.Materialize()}, {"lazy", train.Compact()}} {
		b.Run(tc.name, func(b *testing.B) {
			set := tc.set
			var l *augment.Loader
			if set.Lazy() {
				l = augment.NewLazyLoader(func(i int, dst []float32) { set.CopyImages(dst, i) }, set.N, set.C, set.H, set.W, a, a, 256, 1, 1)
			} else {
				l = augment.NewLoader(set.Images, set.N, set.C, set.H, set.W, a, a, 256, 1, 1)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			epoch := 0
			ch := l.Epoch(ctx, epoch)
			for b.Loop() {
				bt, ok := <-ch
				if !ok {
					epoch++
					ch = l.Epoch(ctx, epoch)
					bt = <-ch
				}
				bt.Release()
			}
		})
	}
}
