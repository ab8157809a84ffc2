package logreg

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
)

// Predict returns the most probable class of each of the n rows of x
// ([n, D] row-major). It panics when len(x) != n·D (a shape bug). A row
// with a non-finite feature gets an arbitrary class.
func (m *Model) Predict(x []float32, n int) []int {
	m.checkLen(x, n, "Predict")
	return m.PredictRows(Matrix(x, m.D), n)
}

// PredictRows is Predict on n rows read a block at a time (see Rows).
func (m *Model) PredictRows(x Rows, n int) []int {
	z := m.logits(x, n)
	out := make([]int, n)
	for i := range n {
		zi := z[i*m.K : (i+1)*m.K]
		best := 0
		for c, v := range zi {
			if v > zi[best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// Probs returns the class probabilities of the n rows of x, [n, K]
// row-major, each row summing to 1. It panics when len(x) != n·D.
func (m *Model) Probs(x []float32, n int) []float64 {
	m.checkLen(x, n, "Probs")
	z := m.logits(Matrix(x, m.D), n)
	for i := range n {
		zi := z[i*m.K : (i+1)*m.K]
		mx := math.Inf(-1)
		for _, v := range zi {
			mx = max(mx, v)
		}
		sum := 0.0
		for c, v := range zi {
			zi[c] = math.Exp(v - mx)
			sum += zi[c]
		}
		for c := range zi {
			zi[c] /= sum
		}
	}
	return z
}

func (m *Model) checkLen(x []float32, n int, caller string) {
	if n < 0 || len(x) != n*m.D {
		panic(fmt.Sprintf("logreg: %s: len(x) = %d, want n·D = %d·%d", caller, len(x), n, m.D))
	}
}

// logits returns W·x̂ + b for every row, [n, K].
func (m *Model) logits(x Rows, n int) []float64 {
	d, k := m.D, m.K
	z := make([]float64, n*k)
	if n == 0 {
		return z
	}
	inv := make([]float64, d)
	for j, s := range m.Std {
		inv[j] = 1 / s
	}
	wt := transpose(m.W, d, k)
	blocks := rowBlocks(n, blockRows(n, chunkRows))
	forBlocks(len(blocks), newScratch(len(blocks), chunkRows, d, k), func(bi int, s *scratch) {
		lo, hi := blocks[bi][0], blocks[bi][1]
		for r0 := lo; r0 < hi; r0 += chunkRows {
			rows := min(chunkRows, hi-r0)
			xs := s.standardise(x, r0, rows, d, m.Mean, inv)
			zc := z[r0*k : (r0+rows)*k]
			impl.Dgemm(blas.NoTrans, blas.Trans, rows, k, d, 1, xs, d, wt, d, 0, zc, k)
			for i := range rows {
				for c := range k {
					zc[i*k+c] += m.B[c]
				}
			}
		}
	})
	return z
}
