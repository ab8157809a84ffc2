package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// How the package's ops share the cores: chunks hands the fixed chunks of
// a batch to the workers as they finish (the convolutions and the batch
// norms), parallel splits a range evenly (the ReLU ops and gradient sums),
// and workspace keeps scratch across runs.

// workspace holds scratch slices of one dtype, one per worker or per
// chunk, grown on demand and kept across runs.
type workspace struct {
	f32 [][]float32
	f64 [][]float64
}

// scratch returns ws's slices of T, workers of them, each of n values or
// more: those of the last call, or new zeroed ones when their number
// differs or n has grown.
func scratch[T float32 | float64](ws *workspace, workers, n int) [][]T {
	var z T
	switch any(z).(type) {
	case float32:
		if len(ws.f32) != workers || len(ws.f32[0]) < n {
			ws.f32 = make([][]float32, workers)
			for i := range ws.f32 {
				ws.f32[i] = make([]float32, n)
			}
		}
		return any(ws.f32).([][]T)
	default:
		if len(ws.f64) != workers || len(ws.f64[0]) < n {
			ws.f64 = make([][]float64, workers)
			for i := range ws.f64 {
				ws.f64[i] = make([]float64, n)
			}
		}
		return any(ws.f64).([][]T)
	}
}

// maxWorkers is the number of goroutines an op splits its work between.
func maxWorkers() int { return runtime.GOMAXPROCS(0) }

// batchChunks is the number of chunks a batch is cut into. It is fixed,
// and partial sums are kept per chunk and added in chunk order, so that
// results depend neither on the number of workers nor on which worker
// took which chunk.
const batchChunks = 16

// numChunks is the number of chunks of a batch of n.
func numChunks(n int) int { return max(1, min(n, batchChunks)) }

// chunks runs f(worker, c, lo, hi) for chunk c = [lo, hi) of [0, n), c in
// [0, numChunks(n)), the chunks handed to workers goroutines (the last the
// calling one) as they finish: a worker on a core the machine's other
// load slows takes fewer, where a fixed split waits for it.
func chunks(workers, n int, f func(worker, c, lo, hi int)) {
	nc := numChunks(n)
	if workers <= 1 || nc <= 1 {
		for c := 0; c < nc; c++ {
			f(0, c, c*n/nc, (c+1)*n/nc)
		}
		return
	}
	var next atomic.Int64
	run := func(wk int) {
		for c := int(next.Add(1)) - 1; c < nc; c = int(next.Add(1)) - 1 {
			f(wk, c, c*n/nc, (c+1)*n/nc)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < workers-1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	run(workers - 1)
	wg.Wait()
}

// chunkWorkers is the number of workers for an elementwise loop over n
// values: one below 16k values, where starting a goroutine costs more
// than it saves.
func chunkWorkers(n int) int {
	if n < 1<<14 {
		return 1
	}
	return maxWorkers()
}

// parallel runs f(worker, lo, hi) over contiguous ranges of [0, n) on
// workers goroutines (the last on the calling one).
func parallel(workers, n int, f func(worker, lo, hi int)) {
	if workers <= 1 || n <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < workers-1; i++ {
		lo, hi := i*n/workers, (i+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	f(workers-1, (workers-1)*n/workers, n)
	wg.Wait()
}
