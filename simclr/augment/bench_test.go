package augment

import (
	"context"
	"testing"
)

// BenchmarkLoader measures the loader making SimCLR batches of 256
// Fashion-MNIST-sized images (28x28x1) with crop+color on both branches,
// GOMAXPROCS workers. images/s counts source images (a batch is 256 of
// them); views/s counts the 2·256 views.
func BenchmarkLoader(b *testing.B) {
	const n, c, h, w, batch = 2560, 1, 28, 28, 256
	images := randImage(1, n*c, h, w)
	pl := mustPipeline(b, []string{"crop", "color"}, DefaultParams())
	l := NewLoader(images, n, c, h, w, pl, pl, batch, 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	epoch := 0
	ch := l.Epoch(ctx, epoch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt, ok := <-ch
		if !ok {
			epoch++
			ch = l.Epoch(ctx, epoch)
			bt = <-ch
		}
		bt.Release()
	}
	b.StopTimer()
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*batch)/s, "images/s")
	b.ReportMetric(float64(2*b.N*batch)/s, "views/s")
}

// BenchmarkApply is one crop+color view of a 28x28x1 image.
func BenchmarkApply(b *testing.B) {
	pl := mustPipeline(b, []string{"crop", "color"}, DefaultParams())
	src := randImage(1, 1, 28, 28)
	dst := make([]float32, len(src))
	rng := newRand(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pl.Apply(dst, src, 1, 28, 28, rng)
	}
}
