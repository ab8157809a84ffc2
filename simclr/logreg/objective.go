package logreg

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Rows are standardised into float64 and multiplied chunkRows at a time
// (256 rows of 784 features is 1.6 MB, about one core's L2 cache).
// Chunks are grouped into blocks, the unit of work of one goroutine and
// of the ordered reduction; there are at most maxBlocks of them.
const (
	chunkRows = 256
	minBlock  = 4 * chunkRows
	maxBlocks = 64
)

var impl gonum.Implementation

// objective evaluates f and ∇f of the standardised softmax regression.
// The parameter vector θ is W ([d, k] row-major) followed by b ([k]).
type objective struct {
	rows    Rows
	n, d, k int
	y       []int
	mean    []float64
	std     []float64
	inv     []float64 // 1/std
	l2      float64

	chunk  int      // rows per chunk
	blocks [][2]int // row ranges [lo, hi)

	// Per-block partial sums, reused across evaluations.
	partG [][]float64 // [k, d]: Σ_i (p_i − e_{y_i}) x̂_iᵀ, class-major
	partB [][]float64 // [k]
	partF []float64

	scratch []*scratch // one per goroutine, reused across evaluations

	evals  int
	onEval func() // test hook, called at the start of every evaluation
}

func newObjective(rows Rows, n, d int, y []int, k int, mean, std []float64, l2 float64) *objective {
	p := &objective{rows: rows, n: n, d: d, k: k, y: y, mean: mean, std: std, l2: l2, chunk: chunkRows}
	p.inv = make([]float64, d)
	for j, s := range std {
		p.inv[j] = 1 / s
	}
	p.setBlocks(blockRows(n, p.chunk))
	return p
}

// blockRows is the block size for n rows: a multiple of chunk, at least
// minBlock rows (so small problems are not split finer than useful) and
// large enough that there are at most maxBlocks blocks. It depends on n
// only, never on the number of cores.
func blockRows(n, chunk int) int {
	b := max(minBlock, (n+maxBlocks-1)/maxBlocks)
	return (b + chunk - 1) / chunk * chunk
}

func (p *objective) setBlocks(rows int) {
	p.blocks = rowBlocks(p.n, rows)
	p.scratch = nil
	nb := len(p.blocks)
	p.partG = make([][]float64, nb)
	p.partB = make([][]float64, nb)
	p.partF = make([]float64, nb)
	for i := range p.partG {
		p.partG[i] = make([]float64, p.k*p.d)
		p.partB[i] = make([]float64, p.k)
	}
}

func rowBlocks(n, rows int) [][2]int {
	var bs [][2]int
	for lo := 0; lo < n; lo += rows {
		bs = append(bs, [2]int{lo, min(lo+rows, n)})
	}
	return bs
}

// scratch is one goroutine's working memory.
type scratch struct {
	in []float32 // [chunk, d] rows read from a Rows that fills its buffer
	x  []float64 // [chunk, d] standardised rows
	l  []float64 // [chunk, k] logits, then probabilities, then residuals
}

// newScratch returns working memory for up to GOMAXPROCS goroutines over
// nb blocks.
func newScratch(nb, chunk, d, k int) []*scratch {
	ss := make([]*scratch, min(runtime.GOMAXPROCS(0), nb))
	for i := range ss {
		ss[i] = &scratch{in: make([]float32, chunk*d), x: make([]float64, chunk*d), l: make([]float64, chunk*k)}
	}
	return ss
}

// forBlocks runs fn on every one of nb blocks, on one goroutine per
// scratch.
func forBlocks(nb int, ss []*scratch, fn func(bi int, s *scratch)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				bi := int(next.Add(1)) - 1
				if bi >= nb {
					return
				}
				fn(bi, s)
			}
		}()
	}
	wg.Wait()
}

// standardise reads rows [r0, r0+rows) into s and returns them
// standardised.
func (s *scratch) standardise(x Rows, r0, rows, d int, mean, inv []float64) []float64 {
	dst := s.x[:rows*d]
	src := x(r0, r0+rows, s.in[:rows*d])
	for i := range rows {
		di, si := dst[i*d:(i+1)*d], src[i*d:(i+1)*d]
		mean, inv := mean[:d], inv[:d]
		for j, v := range si {
			di[j] = (float64(v) - mean[j]) * inv[j]
		}
	}
	return dst
}

// transpose returns W [d, k] as [k, d].
func transpose(w []float64, d, k int) []float64 {
	t := make([]float64, k*d)
	for j := range d {
		for c := range k {
			t[c*d+j] = w[j*k+c]
		}
	}
	return t
}

// eval returns f(θ) and ∇f(θ):
//
//	f    = (1/n) Σ_i [logsumexp(z_i) − z_{i,y_i}] + (λ/2)‖W‖²,  z_i = Wᵀx̂_i + b
//	∂f/∂W = (1/n) Σ_i x̂_i (p_i − e_{y_i})ᵀ + λW
//	∂f/∂b = (1/n) Σ_i (p_i − e_{y_i})
func (p *objective) eval(theta []float64) (float64, []float64) {
	p.evals++
	if p.onEval != nil {
		p.onEval()
	}
	d, k := p.d, p.k
	w, b := theta[:d*k], theta[d*k:]
	wt := transpose(w, d, k)
	if len(p.scratch) == 0 {
		p.scratch = newScratch(len(p.blocks), p.chunk, d, k)
	}
	forBlocks(len(p.blocks), p.scratch, func(bi int, s *scratch) {
		p.partF[bi] = p.block(bi, wt, b, s)
	})
	// Ordered reduction: the same sums whatever ran where.
	gt, gb := p.partG[0], p.partB[0]
	f := p.partF[0]
	for bi := 1; bi < len(p.blocks); bi++ {
		addTo(gt, p.partG[bi])
		addTo(gb, p.partB[bi])
		f += p.partF[bi]
	}
	inv := 1 / float64(p.n)
	grad := make([]float64, len(theta))
	sq := 0.0
	for j := range d {
		for c := range k {
			wjc := w[j*k+c]
			grad[j*k+c] = gt[c*d+j]*inv + p.l2*wjc
			sq += wjc * wjc
		}
	}
	for c := range k {
		grad[d*k+c] = gb[c] * inv
	}
	return f*inv + 0.5*p.l2*sq, grad
}

func addTo(dst, src []float64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// block accumulates the gradient sums of one block into partG[bi] and
// partB[bi] and returns its summed loss.
func (p *objective) block(bi int, wt, b []float64, s *scratch) float64 {
	d, k := p.d, p.k
	g, gb := p.partG[bi], p.partB[bi]
	clear(g)
	clear(gb)
	loss := 0.0
	lo, hi := p.blocks[bi][0], p.blocks[bi][1]
	for r0 := lo; r0 < hi; r0 += p.chunk {
		rows := min(p.chunk, hi-r0)
		xs := s.standardise(p.rows, r0, rows, d, p.mean, p.inv)
		l := s.l[:rows*k]
		impl.Dgemm(blas.NoTrans, blas.Trans, rows, k, d, 1, xs, d, wt, d, 0, l, k)
		for i := range rows {
			li := l[i*k : (i+1)*k]
			y := p.y[r0+i]
			loss += softmaxResidual(li, b, y)
			for c, r := range li {
				gb[c] += r
			}
		}
		impl.Dgemm(blas.Trans, blas.NoTrans, k, d, rows, 1, l, k, xs, d, 1, g, d)
	}
	return loss
}

// softmaxResidual adds the bias to the logits z, replaces them by
// softmax(z) − e_y and returns the cross-entropy logsumexp(z) − z_y.
func softmaxResidual(z, b []float64, y int) float64 {
	b = b[:len(z)]
	mx := math.Inf(-1)
	for c := range z {
		z[c] += b[c]
		mx = max(mx, z[c])
	}
	zy := z[y]
	sum := 0.0
	for c, v := range z {
		e := math.Exp(v - mx)
		z[c] = e
		sum += e
	}
	inv := 1 / sum
	for c := range z {
		z[c] *= inv
	}
	z[y] -= 1
	return mx + math.Log(sum) - zy
}
