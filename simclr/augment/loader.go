package augment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Loader makes the batches of positive pairs SimCLR trains on, a few
// batches ahead of the trainer, on worker goroutines. Its output depends
// only on the images, the pipelines, the batch size, the seed and the epoch
// number: never on the number of workers or on timing.
type Loader struct {
	images     []float32
	render     func(i int, dst []float32) // images == nil: NewLazyLoader's
	n, c, h, w int
	a, b       *Pipeline
	batch      int
	seed       int64
	workers    int
	free       chan *buffers
}

// Batch is one step's views. X is [2·batch, c, h, w]: row r < batch is
// branch a's view of image Index[r], row batch+r branch b's view of the
// same image, so rows r and r+batch are a positive pair. Index is [batch],
// image numbers into the loader's images. Step is 0-based within Epoch.
type Batch struct {
	X           []float32
	Index       []int
	Epoch, Step int
	buf         *buffers
	released    bool
}

// buffers are the reusable memory behind a Batch. Each Batch value is sent
// once, so releasing it twice cannot hand its buffers out twice.
type buffers struct {
	x     []float32
	index []int
	free  chan *buffers
}

// Release hands the batch's buffers back for reuse by a later batch. The
// batch's X and Index must not be used afterwards. Calling it is optional
// (an unreleased batch is garbage collected) and a second call does
// nothing. Release must not race with other uses of the batch.
func (b *Batch) Release() {
	if b == nil || b.released || b.buf == nil {
		return
	}
	b.released = true
	select {
	case b.buf.free <- b.buf:
	default:
	}
}

// poolSize bounds the released batches a loader keeps: one held by the
// trainer, one in the channel, one being filled, one spare.
const poolSize = 4

// NewLoader returns a loader over n images ([n, c, h, w] in images, c = 1
// or 3, values in [0, 1]) making batches of batch images with views from
// pipelines a and b (nil is the identity; a and b may be the same
// pipeline). workers ≤ 0 means GOMAXPROCS. Shape errors (a wrong length,
// batch ≤ 0, c not 1 or 3) are programming errors and panic; a batch larger
// than n gives StepsPerEpoch() = 0, which the caller should reject.
func NewLoader(images []float32, n, c, h, w int, a, b *Pipeline, batch int, seed int64, workers int) *Loader {
	return newLoader(images, nil, n, c, h, w, a, b, batch, seed, workers)
}

// NewLazyLoader is NewLoader over n images that are not held as float32:
// render(i, dst) writes image i ([c, h, w]) into dst, each time a view of
// it is made, which is the batch row the view is then made in place (so
// the views are the same, bit for bit, as NewLoader's over the rendered
// images). It is called from the loader's workers at once and must be
// safe for that. A trainer that reads 8-bit images this way holds them at
// a quarter of their float32 size or less (data.Set.Compact), for about a
// microsecond an image a view.
func NewLazyLoader(render func(i int, dst []float32), n, c, h, w int, a, b *Pipeline, batch int, seed int64, workers int) *Loader {
	if render == nil {
		panic("augment: NewLazyLoader: nil render")
	}
	return newLoader(nil, render, n, c, h, w, a, b, batch, seed, workers)
}

func newLoader(images []float32, render func(int, []float32), n, c, h, w int, a, b *Pipeline, batch int, seed int64, workers int) *Loader {
	if n <= 0 || h <= 0 || w <= 0 || render == nil && len(images) != n*c*h*w {
		panic(fmt.Sprintf("augment: NewLoader: %d values, want n*c*h*w = %d*%d*%d*%d", len(images), n, c, h, w))
	}
	checkColor("NewLoader", c)
	if batch <= 0 {
		panic(fmt.Sprintf("augment: NewLoader: batch %d, want > 0", batch))
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Loader{
		images: images, render: render, n: n, c: c, h: h, w: w, a: a, b: b,
		batch: batch, seed: seed, workers: workers,
		free: make(chan *buffers, poolSize),
	}
}

// StepsPerEpoch is floor(n / batch): the last partial batch is dropped, as
// SimCLR does.
func (l *Loader) StepsPerEpoch() int { return l.n / l.batch }

// Batch is the number of images per batch (N; a batch holds 2N views).
func (l *Loader) Batch() int { return l.batch }

// Order returns the image order of an epoch: a permutation of 0..n-1
// seeded by (seed, epoch). Batch s of the epoch holds Order[s·batch :
// (s+1)·batch].
func (l *Loader) Order(epoch int) []int {
	perm := make([]int, l.n)
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewPCG(streamSeed(l.seed, epoch, -1, 2)))
	rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}

// View writes to dst ([c, h, w]) the view of image index that branch (0 = a,
// 1 = b) gets in epoch: the same values a batch of that epoch holds. For
// inspection and tests.
func (l *Loader) View(dst []float32, epoch, index, branch int) {
	v := newViewer(l, epoch)
	v.view(dst, index, branch)
}

// Epoch streams the epoch's StepsPerEpoch batches in step order on the
// returned channel, which is closed after the last one or once ctx is
// cancelled; cancelling stops the loader's goroutines promptly (the batch
// being made is dropped). A consumer that stops reading early must cancel
// ctx, or the goroutines wait for it forever. Batch s holds images
// Order(epoch)[s·batch : (s+1)·batch]; the view of image i on branch k is
// seeded by (seed, epoch, i, k), so any epoch can be made alone (a resumed
// run reproduces it) and the result does not depend on the workers.
// Epochs may run concurrently.
func (l *Loader) Epoch(ctx context.Context, epoch int) <-chan *Batch {
	out := make(chan *Batch, 1)
	go l.run(ctx, epoch, out)
	return out
}

// job is a range [lo, hi) of a batch's rows for one worker.
type job struct {
	b      *Batch
	lo, hi int
}

func (l *Loader) run(ctx context.Context, epoch int, out chan<- *Batch) {
	defer close(out)
	perm := l.Order(epoch)
	rows := 2 * l.batch
	chunk := max(1, (rows+4*l.workers-1)/(4*l.workers))

	var fill func(b *Batch)
	if l.workers == 1 {
		v := newViewer(l, epoch)
		fill = func(b *Batch) { v.rows(ctx, b, 0, rows) }
	} else {
		jobs := make(chan job, (rows+chunk-1)/chunk)
		var done, workers sync.WaitGroup
		for range l.workers {
			workers.Add(1)
			go func() {
				defer workers.Done()
				v := newViewer(l, epoch)
				for j := range jobs {
					v.rows(ctx, j.b, j.lo, j.hi)
					done.Done()
				}
			}()
		}
		defer workers.Wait()
		defer close(jobs)
		fill = func(b *Batch) {
			for lo := 0; lo < rows; lo += chunk {
				done.Add(1)
				jobs <- job{b, lo, min(lo+chunk, rows)}
			}
			done.Wait()
		}
	}

	for step := 0; step < l.StepsPerEpoch(); step++ {
		if ctx.Err() != nil {
			return
		}
		b := l.get()
		b.Epoch, b.Step = epoch, step
		copy(b.Index, perm[step*l.batch:(step+1)*l.batch])
		fill(b)
		if ctx.Err() != nil {
			b.Release()
			return
		}
		select {
		case out <- b:
		case <-ctx.Done():
			b.Release()
			return
		}
	}
}

// get returns a batch on released buffers or on new ones.
func (l *Loader) get() *Batch {
	var buf *buffers
	select {
	case buf = <-l.free:
	default:
		buf = &buffers{
			x:     make([]float32, 2*l.batch*l.c*l.h*l.w),
			index: make([]int, l.batch),
			free:  l.free,
		}
	}
	return &Batch{X: buf.x, Index: buf.index, buf: buf}
}

// viewer makes views for one goroutine: its own generator, re-seeded per
// view.
type viewer struct {
	l     *Loader
	epoch int
	src   *rand.PCG
	rng   *rand.Rand
}

func newViewer(l *Loader, epoch int) *viewer {
	src := rand.NewPCG(0, 0)
	return &viewer{l: l, epoch: epoch, src: src, rng: rand.New(src)}
}

func (v *viewer) view(dst []float32, index, branch int) {
	l := v.l
	size := l.c * l.h * l.w
	p := l.a
	if branch == 1 {
		p = l.b
	}
	v.src.Seed(streamSeed(l.seed, v.epoch, index, branch))
	src := dst
	if l.render != nil {
		l.render(index, dst) // Apply makes the view in place
	} else {
		src = l.images[index*size : (index+1)*size]
	}
	p.Apply(dst, src, l.c, l.h, l.w, v.rng)
}

// rows fills rows [lo, hi) of b, stopping early once ctx is cancelled.
func (v *viewer) rows(ctx context.Context, b *Batch, lo, hi int) {
	size := v.l.c * v.l.h * v.l.w
	n := v.l.batch
	for r := lo; r < hi; r++ {
		if r%16 == 0 && ctx.Err() != nil {
			return
		}
		v.view(b.X[r*size:(r+1)*size], b.Index[r%n], r/n)
	}
}

// streamSeed derives the two PCG seed words of a random stream from
// (seed, epoch, index, branch) with SplitMix64 mixing.
func streamSeed(seed int64, epoch, index, branch int) (uint64, uint64) {
	h := mix64(uint64(seed))
	h = mix64(h ^ uint64(epoch))
	s1 := mix64(h ^ uint64(index))
	s2 := mix64(s1 ^ uint64(branch) ^ 0x5851f42d4c957f2d)
	return s1, s2
}

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
