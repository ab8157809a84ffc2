package augment

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// collect reads a whole epoch, copying each batch and releasing it.
func collect(t *testing.T, l *Loader, epoch int) []Batch {
	t.Helper()
	var out []Batch
	for b := range l.Epoch(context.Background(), epoch) {
		out = append(out, Batch{X: slices.Clone(b.X), Index: slices.Clone(b.Index), Epoch: b.Epoch, Step: b.Step})
		b.Release()
	}
	return out
}

func equalEpochs(a, b []Batch) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d batches vs %d", len(a), len(b))
	}
	for s := range a {
		if a[s].Step != b[s].Step || a[s].Epoch != b[s].Epoch || !slices.Equal(a[s].Index, b[s].Index) {
			return fmt.Errorf("batch %d: step/epoch/index differ", s)
		}
		if !slices.Equal(a[s].X, b[s].X) {
			return fmt.Errorf("batch %d: views differ", s)
		}
	}
	return nil
}

// TestLazyLoaderIdentical: a loader that renders each image when it makes
// a view of it gives the same batches, bit for bit, as one over the
// rendered images, whatever the pipelines and the workers.
func TestLazyLoaderIdentical(t *testing.T) {
	const n, h, w, batch = 24, 10, 10, 6
	for _, tc := range []struct {
		name string
		c    int
		a, b []string
	}{
		{"identity", 3, nil, nil},
		{"colour on both branches", 3, []string{"color"}, []string{"color"}},
		{"every transform, grayscale", 1, config.Transforms, []string{"crop", "flip"}},
		{"every transform, colour", 3, config.Transforms, []string{"crop", "color"}},
	} {
		images := randImage(7, n*tc.c, h, w)
		size := tc.c * h * w
		var calls atomic.Int64
		render := func(i int, dst []float32) {
			calls.Add(1)
			copy(dst, images[i*size:(i+1)*size])
		}
		var a, b *Pipeline
		if tc.a != nil {
			a, b = mustPipeline(t, tc.a, alwaysParams()), mustPipeline(t, tc.b, DefaultParams())
		}
		for _, workers := range []int{1, 3} {
			want := collect(t, NewLoader(images, n, tc.c, h, w, a, b, batch, 5, workers), 2)
			calls.Store(0)
			got := collect(t, NewLazyLoader(render, n, tc.c, h, w, a, b, batch, 5, workers), 2)
			if err := equalEpochs(got, want); err != nil {
				t.Errorf("%s, %d workers: lazy loader vs loader over the images: %v, want bit-identical", tc.name, workers, err)
			}
			if c := calls.Load(); c != 2*n/batch*batch {
				t.Errorf("%s, %d workers: %d images rendered for an epoch, want one a view (%d)", tc.name, workers, c, 2*n/batch*batch)
			}
		}
	}
}

func TestLoaderWorkersIdentical(t *testing.T) {
	const n, c, h, w, batch = 40, 3, 12, 12, 8
	images := randImage(1, n*c, h, w)
	a := mustPipeline(t, config.Transforms, alwaysParams())
	b := mustPipeline(t, []string{"crop", "color"}, DefaultParams())
	ref := NewLoader(images, n, c, h, w, a, b, batch, 42, 1)
	for _, epoch := range []int{1, 2} {
		want := collect(t, ref, epoch)
		if len(want) != n/batch {
			t.Fatalf("epoch %d: %d batches, want %d", epoch, len(want), n/batch)
		}
		for _, workers := range []int{2, 3, 4} {
			got := collect(t, NewLoader(images, n, c, h, w, a, b, batch, 42, workers), epoch)
			if err := equalEpochs(got, want); err != nil {
				t.Errorf("epoch %d with %d workers vs 1 worker: %v, want bit-identical", epoch, workers, err)
			}
		}
	}
	if err := equalEpochs(collect(t, ref, 1), collect(t, ref, 2)); err == nil {
		t.Errorf("epochs 1 and 2 are identical, want different orders and views")
	}
	if err := equalEpochs(collect(t, ref, 1), collect(t, NewLoader(images, n, c, h, w, a, b, batch, 43, 1), 1)); err == nil {
		t.Errorf("seeds 42 and 43 give identical epochs")
	}
}

func TestLoaderResume(t *testing.T) {
	const n, c, h, w, batch = 24, 1, 10, 10, 6
	images := randImage(2, n*c, h, w)
	pl := mustPipeline(t, []string{"crop", "color", "noise"}, DefaultParams())
	first := NewLoader(images, n, c, h, w, pl, pl, batch, 7, 2)
	collect(t, first, 1)
	collect(t, first, 2)
	cont := collect(t, first, 3)
	resumed := collect(t, NewLoader(images, n, c, h, w, pl, pl, batch, 7, 2), 3)
	if err := equalEpochs(resumed, cont); err != nil {
		t.Errorf("epoch 3 of a fresh loader vs after epochs 1, 2: %v, want identical", err)
	}
}

// TestLoaderViewsSeededByImage: every row equals View(epoch, image,
// branch), whatever the batch size puts the image beside.
func TestLoaderViewsSeededByImage(t *testing.T) {
	const n, c, h, w = 20, 3, 8, 8
	images := randImage(3, n*c, h, w)
	a := mustPipeline(t, []string{"crop", "flip", "color"}, DefaultParams())
	b := mustPipeline(t, []string{"cutout", "blur"}, alwaysParams())
	size := c * h * w
	want := make([]float32, size)
	for _, batch := range []int{4, 5} {
		l := NewLoader(images, n, c, h, w, a, b, batch, 9, 2)
		order := l.Order(5)
		for _, bt := range collect(t, l, 5) {
			if !slices.Equal(bt.Index, order[bt.Step*batch:(bt.Step+1)*batch]) {
				t.Fatalf("batch %d Index = %v, want Order(5)[%d:%d] = %v", bt.Step, bt.Index, bt.Step*batch, (bt.Step+1)*batch, order[bt.Step*batch:(bt.Step+1)*batch])
			}
			for r := 0; r < 2*batch; r++ {
				l.View(want, 5, bt.Index[r%batch], r/batch)
				if !slices.Equal(bt.X[r*size:(r+1)*size], want) {
					t.Fatalf("batch size %d step %d row %d != View(5, image %d, branch %d)", batch, bt.Step, r, bt.Index[r%batch], r/batch)
				}
			}
		}
	}
}

// TestLoaderStreamsDistinct: identical images get different views, on
// each branch and between the branches, so no two (image, branch) pairs
// share a random stream.
func TestLoaderStreamsDistinct(t *testing.T) {
	const n, c, h, w, batch = 16, 1, 12, 12, 16
	one := randImage(7, c, h, w)
	images := make([]float32, 0, n*c*h*w)
	for range n {
		images = append(images, one...)
	}
	pl := mustPipeline(t, []string{"crop", "color"}, DefaultParams())
	l := NewLoader(images, n, c, h, w, pl, pl, batch, 1, 2)
	bt := collect(t, l, 1)[0]
	size := c * h * w
	for r := 0; r < 2*batch; r++ {
		for q := r + 1; q < 2*batch; q++ {
			if slices.Equal(bt.X[r*size:(r+1)*size], bt.X[q*size:(q+1)*size]) {
				t.Errorf("rows %d and %d (images %d, %d) are the same view of the same pixels", r, q, bt.Index[r%batch], bt.Index[q%batch])
			}
		}
	}
}

func TestLoaderPositivePairs(t *testing.T) {
	const n, c, h, w, batch = 42, 1, 5, 6, 8
	images := randImage(4, n*c, h, w)
	p := DefaultParams()
	p.FlipProb = 1
	flip := mustPipeline(t, []string{"flip"}, p)
	l := NewLoader(images, n, c, h, w, nil, flip, batch, 3, 3)
	if got := l.StepsPerEpoch(); got != 5 {
		t.Fatalf("StepsPerEpoch() with n=42 batch=8 = %d, want 5", got)
	}
	size := c * h * w
	seen := map[int]bool{}
	for s, bt := range collect(t, l, 4) {
		if bt.Step != s || bt.Epoch != 4 || len(bt.X) != 2*batch*size || len(bt.Index) != batch {
			t.Fatalf("batch %d: Step %d Epoch %d len(X) %d len(Index) %d, want %d, 4, %d, %d", s, bt.Step, bt.Epoch, len(bt.X), len(bt.Index), s, 2*batch*size, batch)
		}
		for r, idx := range bt.Index {
			if idx < 0 || idx >= n || seen[idx] {
				t.Fatalf("batch %d Index[%d] = %d: out of range or repeated within the epoch", s, r, idx)
			}
			seen[idx] = true
			img := images[idx*size : (idx+1)*size]
			if !slices.Equal(bt.X[r*size:(r+1)*size], img) {
				t.Errorf("batch %d row %d is not image %d (branch a is the identity)", s, r, idx)
			}
			flipped := slices.Clone(img)
			HFlip(flipped, c, h, w)
			if !slices.Equal(bt.X[(r+batch)*size:(r+batch+1)*size], flipped) {
				t.Errorf("batch %d row %d is not image %d flipped (branch b)", s, r+batch, idx)
			}
		}
	}
	if len(seen) != 40 {
		t.Errorf("epoch covered %d images, want 40 (5 full batches, the last 2 dropped)", len(seen))
	}
}

func TestLoaderBatchLargerThanData(t *testing.T) {
	l := NewLoader(make([]float32, 3*4), 3, 1, 2, 2, nil, nil, 4, 1, 2)
	if got := l.StepsPerEpoch(); got != 0 {
		t.Errorf("StepsPerEpoch() with n=3 batch=4 = %d, want 0", got)
	}
	if got := collect(t, l, 1); len(got) != 0 {
		t.Errorf("Epoch with n < batch gave %d batches, want 0", len(got))
	}
}

func TestNewLoaderPanics(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		len, n, c, h, w, bat int
	}{
		{"wrong length", 10, 3, 1, 2, 2, 1},
		{"2 channels", 24, 3, 2, 2, 2, 1},
		{"batch 0", 12, 3, 1, 2, 2, 0},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("NewLoader(%s) did not panic", tc.name)
				}
			}()
			NewLoader(make([]float32, tc.len), tc.n, tc.c, tc.h, tc.w, nil, nil, tc.bat, 1, 1)
		}()
	}
}

// TestLoaderReleaseReuses: with every batch released, an epoch of many
// steps makes only a pool's worth of buffers; a second Release is harmless.
func TestLoaderReleaseReuses(t *testing.T) {
	const n, batch = 200, 4
	l := NewLoader(randImage(5, n, 4, 4), n, 1, 4, 4, nil, nil, batch, 1, 2)
	buffers := map[*float32]bool{}
	steps := 0
	for b := range l.Epoch(context.Background(), 1) {
		buffers[&b.X[0]] = true
		steps++
		b.Release()
		b.Release()
	}
	if steps != n/batch {
		t.Fatalf("epoch gave %d batches, want %d", steps, n/batch)
	}
	if len(buffers) > poolSize+1 {
		t.Errorf("an epoch of %d released batches used %d buffers, want at most %d", steps, len(buffers), poolSize+1)
	}
}

func TestLoaderCancel(t *testing.T) {
	const n, batch = 4000, 10
	images := randImage(6, n, 8, 8)
	pl := mustPipeline(t, []string{"crop", "color"}, DefaultParams())
	before := runtime.NumGoroutine()
	for _, workers := range []int{1, 4} {
		l := NewLoader(images, n, 1, 8, 8, pl, pl, batch, 1, workers)
		ctx, cancel := context.WithCancel(context.Background())
		got := 0
		for b := range l.Epoch(ctx, 1) {
			got++
			b.Release()
			if got == 2 {
				cancel()
			}
		}
		cancel()
		if got >= l.StepsPerEpoch() {
			t.Errorf("workers %d: cancelled after 2 batches but got all %d", workers, got)
		}
		// A context cancelled before the epoch starts gives no batch.
		ch := l.Epoch(ctx, 2)
		if b, ok := <-ch; ok {
			t.Errorf("workers %d: Epoch on a cancelled context sent batch %d, want a closed channel", workers, b.Step)
		}
	}
	// The goroutines exit once the channel is closed (poll: they may not
	// have returned yet).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if now := runtime.NumGoroutine(); now > before {
		t.Errorf("runtime.NumGoroutine() = %d after cancelled epochs, want <= %d (leak)", now, before)
	}
}
