package nn

import (
	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The products of the convolution ops (conv_op.go) and the GEMM they call:
// convForward (the forward, and ∂x as a convolution of dy), convBackX and
// convBackW, each image of a chunk at a time, on the phase planes of
// geom.go or directly on x.

// convForward computes y = conv(x, w), or conv(x·scale + shift, w) with
// pre's per-channel scale and shift (and its ReLU) when pre is not nil, and, when
// sums is not nil, adds each output channel's Σy and Σy² of the images
// of chunk c into sums[c][o] and sums[c][out+o]. With g.back and the
// flipped weights it computes ∂x (convGradXOp).
func convForward[T float32 | float64](g *convGeom, bufs *convBuffers, x, w, y []T, sums [][]float64, pre *bnOp) {
	if winoUsed(g) {
		winoForward(g, bufs, x, w, y, sums, pre)
		return
	}
	var pads, exts [][]T
	var wt []T
	if g.padded {
		wt = gemmWeights(g, w, scratch[T](&bufs.weights, 1, g.out*g.kk)[0])
		pads = scratch[T](&bufs.planes, g.workers, g.planesLen())
		exts = scratch[T](&bufs.wide, g.workers, g.out*g.pp)
	}
	xs, ys := g.in*g.h*g.w, g.out*g.p
	nt, kt := g.gemms()
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		for b := lo; b < hi; b++ {
			xb, yb := x[b*xs:(b+1)*xs], y[b*ys:(b+1)*ys]
			if g.direct {
				productNN(g.out, g.p, g.kk, w, g.kk, xb, g.p, false, yb, g.p)
			} else {
				pad, ext := pads[wk], exts[wk][:g.out*g.pp]
				if g.wp == g.ow { // no extra columns (k ≤ stride): the product is y_b
					ext = yb
				}
				phasePlanes(g, xb, pad, pre)
				for t := 0; t < nt; t++ {
					productNN(g.out, g.pp, kt, wt[t*g.out*kt:], kt, pad[g.gemmOffset(t):], g.chanLen, t > 0, ext, g.pp)
				}
				if g.wp != g.ow {
					unpadRows(g, ext, yb, g.out, g.oh, g.ow)
				}
			}
			if sums != nil {
				a := sums[c]
				for o := 0; o < g.out; o++ {
					s, ss := sumSqRow(yb[o*g.p:(o+1)*g.p], 0)
					a[o] += s
					a[g.out+o] += ss
				}
			}
		}
	})
}

// flipWeights writes w [out, in, k, k] transposed and flipped into a
// buffer kept in *buf: wf[ci, co, i, j] = w[co, ci, k−1−i, k−1−j].
func flipWeights[T float32 | float64](g *convGeom, w []T, buf *[][]T) []T {
	n := g.out * g.kk
	if len(*buf) == 0 {
		*buf = [][]T{make([]T, n)}
	}
	wf := (*buf)[0][:n]
	k := g.k
	for co := 0; co < g.out; co++ {
		for ci := 0; ci < g.in; ci++ {
			src := w[(co*g.in+ci)*k*k : (co*g.in+ci+1)*k*k]
			dst := wf[(ci*g.out+co)*k*k : (ci*g.out+co+1)*k*k]
			for i := range src {
				dst[len(src)-1-i] = src[i]
			}
		}
	}
	return wf
}

// gemmWeights writes the weights w [out, in, k, k] into dst in the layout
// of the products (gemmIndex).
func gemmWeights[T float32 | float64](g *convGeom, w, dst []T) []T {
	dst = dst[:g.out*g.kk]
	for o := 0; o < g.out; o++ {
		for c := 0; c < g.in; c++ {
			src := w[(o*g.in+c)*g.k*g.k:]
			for i := 0; i < g.k; i++ {
				for j := 0; j < g.k; j++ {
					dst[g.gemmIndex(o, c, i, j)] = src[i*g.k+j]
				}
			}
		}
	}
	return dst
}

// fromGemmWeights adds src, in the layout of gemmWeights, into dw [out,
// in, k, k].
func fromGemmWeights[T float32 | float64](g *convGeom, src, dw []T) {
	for o := 0; o < g.out; o++ {
		for c := 0; c < g.in; c++ {
			dst := dw[(o*g.in+c)*g.k*g.k:]
			for i := 0; i < g.k; i++ {
				for j := 0; j < g.k; j++ {
					dst[i*g.k+j] += src[g.gemmIndex(o, c, i, j)]
				}
			}
		}
	}
}

// convBackX computes dx = ∂L/∂x from dy, for the convolutions whose ∂x is
// not a convolution of dy (no g.back): the transposed product, directly or
// into the ∂ of the flat phase planes, then back to dx.
func convBackX[T float32 | float64](g *convGeom, bufs *convBuffers, w, dy, dx []T) {
	var pads, exts [][]T
	if g.flat != nil {
		g = g.flat
	}
	// The products take the weights transposed, Wᵀ [in, out] (per tap when
	// padded), written once here.
	ws := scratch[T](&bufs.weights, 1, 2*g.out*g.kk)[0]
	wT := ws[g.out*g.kk : 2*g.out*g.kk]
	if g.padded {
		transposeBlocks(gemmWeights(g, w, ws[:g.out*g.kk]), wT, g.k*g.k, g.out, g.in)
		pads = scratch[T](&bufs.planes, g.workers, g.planesLen())
		exts = scratch[T](&bufs.wide, g.workers, g.out*g.pp)
	} else {
		transposeBlocks(w, wT, 1, g.out, g.kk)
	}
	xs, ys := g.in*g.h*g.w, g.out*g.p
	chunks(g.workers, g.b, func(wk, _, lo, hi int) {
		for b := lo; b < hi; b++ {
			dxb, dyb := dx[b*xs:(b+1)*xs], dy[b*ys:(b+1)*ys]
			if g.direct {
				productNN(g.kk, g.p, g.out, wT, g.out, dyb, g.p, false, dxb, g.p)
				continue
			}
			// ∂ of the phase planes: each tap adds W_ijᵀ·dy into its shifted
			// run (runs of different taps overlap: one GEMM after another).
			pad, ext := pads[wk][:g.planesLen()], dyb
			clear(pad)
			if g.wp != g.ow {
				ext = exts[wk][:g.out*g.pp]
				padRows(g, dyb, ext)
			}
			for t := 0; t < g.k*g.k; t++ {
				productNN(g.in, g.pp, g.out, wT[t*g.out*g.in:], g.out, ext, g.pp, true, pad[g.gemmOffset(t):], g.chanLen)
			}
			unphasePlanes(g, pad, dxb)
		}
	})
}

// convBackW computes dw = ∂L/∂w = Σ_b dy_b · x_bᵀ (tap by tap on the flat
// phase planes, x_b loaded as convOp loads it, pre applied), summed per
// chunk into partBufs and then over the chunks in chunk order.
func convBackW[T float32 | float64](g *convGeom, bufs *convBuffers, partBufs *workspace, x, dy, dw []T, pre *bnOp) {
	if winoUsed(g) {
		winoBackW(g, bufs, partBufs, x, dy, dw, pre)
		return
	}
	if g.flat != nil {
		g = g.flat // a product per tap: the phase planes need no column copies
	}
	var pads, exts [][]T
	if g.padded {
		pads = scratch[T](&bufs.planes, g.workers, g.planesLen())
		exts = scratch[T](&bufs.wide, g.workers, g.out*g.pp)
	}
	parts := scratch[T](partBufs, numChunks(g.b), g.partLen)
	xs, ys := g.in*g.h*g.w, g.out*g.p
	_, ldp := g.gemms()
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		part := parts[c][:g.partLen] // in the layout of gemmWeights when padded
		clear(part)
		for b := lo; b < hi; b++ {
			xb, dyb := x[b*xs:(b+1)*xs], dy[b*ys:(b+1)*ys]
			if g.direct {
				productNT(g.out, g.kk, g.p, dyb, g.p, xb, g.p, true, part, g.kk)
				continue
			}
			pad, ext := pads[wk], dyb
			phasePlanes(g, xb, pad, pre)
			if g.wp != g.ow {
				ext = exts[wk][:g.out*g.pp]
				padRows(g, dyb, ext)
			}
			// A product per tap (N = in), on the flat phase planes: with
			// N = k·in on column planes OpenBLAS leaves its small-matrix
			// kernels for its packing path (measured no faster), and the
			// column copies cost time.
			for i := 0; i < g.k; i++ {
				for j := 0; j < g.k; j++ {
					productNT(g.out, g.in, g.pp, ext, g.pp, pad[g.tapOffset(i, j):], g.chanLen, true, part[g.gemmIndex(0, 0, i, j):], ldp)
				}
			}
		}
	})
	// Σ over chunks in chunk order, then once into dw's layout.
	sum := parts[0][:g.partLen]
	for c := 1; c < numChunks(g.b); c++ {
		addTo(sum, parts[c][:g.partLen])
	}
	clear(dw)
	if g.padded {
		fromGemmWeights(g, sum, dw)
	} else {
		addTo(dw, sum)
	}
}

// addTo sets dst += src elementwise.
func addTo[T float32 | float64](dst, src []T) {
	src = src[:len(dst)]
	if d32, ok := any(dst).([]float32); ok && useAVX && len(dst) > 0 {
		f32.Add(&d32[0], &d32[0], &any(src).([]float32)[0], len(d32))
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}

// The matrix products of the convolutions: gonum's pure-Go BLAS, or
// OpenBLAS with the openblas build tag (blas_openblas.go). They are
// package variables rather than gonum's blas32.Use so that the choice
// touches this package only.
var (
	blasName = "gonum"
	sgemm    = gonum.Implementation{}.Sgemm
	dgemm    = gonum.Implementation{}.Dgemm
)

// gemm is row-major C[m, n] = alpha·op(A)·op(B) + beta·C with op(X) = Xᵀ
// when the flag is set.
func gemm[T float32 | float64](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}
