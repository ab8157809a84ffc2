package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// convGeom is the geometry of one convolution, and the layout of an
// image's phase planes (the functions below it in this file write and
// read them).
type convGeom struct {
	b, in, h, w int // input [b, in, h, w]
	out, k      int // weights [out, in, k, k]
	stride, pad int
	oh, ow      int  // output [b, out, oh, ow]
	kk, p       int  // K = in·k·k, P = oh·ow
	direct      bool // 1×1, stride 1, no padding: y_b = W·x_b
	// Every other convolution uses phase planes (implicit GEMM, no col
	// matrix). With stride s, the zero-padded input is split into s²
	// phase planes per channel, plane (a, b) holding padded rows a, a+s,
	// a+2s, … and columns b, b+s, …, in rows of width wp (plus spare
	// values), so that the inputs of kernel tap (i, j) for every output
	// are one contiguous run of plane (i mod s, j mod s) starting at
	// (i div s)·wp + j div s, and the products run over P' = oh·wp
	// columns, the wp − ow extra ones per output row being ignored
	// (forward) or zero (backward). Only the phases a, b < min(s, k) that
	// some tap reads are stored. With s = 1 there is one plane: the padded
	// image itself.
	padded  bool
	rows    int // rows of a phase plane: oh + (k−1)/s
	wp      int // width of a phase plane's rows: ow + (k−1)/s
	chanLen int // one channel's plane: rows·wp + (k−1)/s (the spare values the last tap's run reaches)
	pp      int // P' = oh·wp, the columns of a product
	// grouped (k > 1): the planes are column planes, k per row phase:
	// column plane j holds phase j mod s shifted left by j div s columns,
	// so that the inputs of the k taps of kernel row i are k·in rows of
	// one stride (chanLen) and the taps of a row are one product with
	// K = k·in instead of k products with K = in, and the output is
	// read and written k times instead of k² times. Otherwise cols = min(s, k)
	// phase planes per row phase and a product per tap.
	grouped        bool
	cols           int       // planes per row phase
	flat           *convGeom // when grouped, ungrouped(): for ∂w, and ∂x when back is nil; else nil
	back           *convGeom // ∂x as a convolution of dy (stride 1, pad ≤ k−1), else nil
	xShape, yShape tensor.Shape
	wShape         tensor.Shape
	dt             tensor.Dtype
	workers        int // goroutines: min(GOMAXPROCS, b)
	partLen        int // length of a ∂w partial sum: out·K
}

// newConvGeom returns the geometry of x [B, C, H, W] * w [out, C, k, k]
// with its derived geometries back and flat.
func newConvGeom(x, w tensor.Shape, dt tensor.Dtype, stride, pad int) (*convGeom, error) {
	g, err := newConvGeom1(x, w, dt, stride, pad)
	if err != nil {
		return nil, err
	}
	if g.padded && stride == 1 && pad <= g.k-1 {
		// ∂x of a stride-1 convolution is the stride-1 convolution of dy
		// with the flipped, transposed weights and padding k−1−pad: the
		// same phase-plane path as the forward, each dx value written once
		// by a product per kernel row with K = k·out, instead of k²
		// products with K = out added into the ∂ of x's planes
		// (convBackX).
		t, err := newConvGeom1(g.yShape, tensor.Shape{g.in, g.out, g.k, g.k}, dt, 1, g.k-1-pad)
		if err != nil {
			return nil, err
		}
		if !t.yShape.Eq(g.xShape) {
			return nil, fmt.Errorf("conv2d %v: transposed convolution gives %v", g, t.yShape)
		}
		g.back = t
	}
	if g.grouped {
		g.flat = g.ungrouped()
	}
	return g, nil
}

// newConvGeom1 is newConvGeom without the derived geometries.
func newConvGeom1(x, w tensor.Shape, dt tensor.Dtype, stride, pad int) (*convGeom, error) {
	if len(x) != 4 || len(w) != 4 || w[2] != w[3] || x[1] != w[1] {
		return nil, fmt.Errorf("conv2d needs x [B, C, H, W] and w [out, C, k, k], got %v and %v", x, w)
	}
	g := &convGeom{b: x[0], in: x[1], h: x[2], w: x[3], out: w[0], k: w[2], stride: stride, pad: pad, dt: dt}
	g.oh = (g.h+2*pad-g.k)/stride + 1
	g.ow = (g.w+2*pad-g.k)/stride + 1
	if g.oh <= 0 || g.ow <= 0 || stride <= 0 || pad < 0 {
		return nil, fmt.Errorf("conv2d of %v with a %d×%d kernel, stride %d, padding %d has no output", x, g.k, g.k, stride, pad)
	}
	g.kk, g.p = g.in*g.k*g.k, g.oh*g.ow
	g.direct = g.k == 1 && stride == 1 && pad == 0
	g.xShape = x.Clone()
	g.wShape = w.Clone()
	g.yShape = tensor.Shape{g.b, g.out, g.oh, g.ow}
	g.workers = max(1, min(maxWorkers(), g.b))
	if !g.direct {
		ext := (g.k - 1) / stride // taps beyond the first, in phase-plane steps
		g.padded = true
		g.rows = g.oh + ext
		g.wp = g.ow + ext
		g.chanLen = g.rows*g.wp + ext
		g.pp = g.oh * g.wp
		g.grouped = g.k > 1
		g.cols = min(stride, g.k)
		if g.grouped {
			g.cols = g.k
		}
	}
	g.partLen = g.out * g.kk
	return g, nil
}

func (g *convGeom) String() string {
	return fmt.Sprintf("%v*%v/s%dp%d", g.xShape, g.wShape, g.stride, g.pad)
}

// planesLen is the length of one image's planes, [min(s, k)][cols][in]
// [chanLen].
func (g *convGeom) planesLen() int { return min(g.stride, g.k) * g.cols * g.in * g.chanLen }

// planeOffset is where plane (a, j) starts: row phase a, column plane j
// (grouped) or column phase j.
func (g *convGeom) planeOffset(a, j int) int { return (a*g.cols + j) * g.in * g.chanLen }

// ungrouped returns the geometry with a phase plane per phase and a
// product per tap: for ∂w (convBackW says why), and for ∂x when it is not
// a convolution of dy (the adjoint of the column planes would have to add
// them up).
func (g *convGeom) ungrouped() *convGeom {
	u := *g
	u.grouped, u.cols, u.back, u.flat = false, min(g.stride, g.k), nil, nil
	return &u
}

// gemms returns the number of products a phase-plane convolution makes per
// image and their K: one per kernel row with K = k·in (grouped), or one
// per tap with K = in.
func (g *convGeom) gemms() (n, k int) {
	if g.grouped {
		return g.k, g.k * g.in
	}
	return g.k * g.k, g.in
}

// gemmOffset is where, in an image's planes, the inputs of product t start
// (channel 0; channel c is c·chanLen further).
func (g *convGeom) gemmOffset(t int) int {
	if g.grouped { // kernel row t
		return g.tapOffset(t, 0)
	}
	return g.tapOffset(t/g.k, t%g.k)
}

// tapOffset is where the inputs of kernel tap (i, j) start.
func (g *convGeom) tapOffset(i, j int) int {
	s := g.stride
	if g.grouped {
		return g.planeOffset(i%s, j) + (i/s)*g.wp
	}
	return g.planeOffset(i%s, j%s) + (i/s)*g.wp + j/s
}

// gemmIndex is the position of w[o, c, i, j] in the weights of the
// products, [t][out][K]: t = i, K index j·in + c (grouped), or t = i·k + j
// and c.
func (g *convGeom) gemmIndex(o, c, i, j int) int {
	if g.grouped {
		return (i*g.out+o)*g.k*g.in + j*g.in + c
	}
	return ((i*g.k+j)*g.out+o)*g.in + c
}

// phaseCols returns the columns [v0, v1) of a phase plane with column
// phase b that hold image columns (s·v + b − pad in [0, w)).
func (g *convGeom) phaseCols(b int) (v0, v1 int) { return phaseRange(g.stride, g.pad, b, g.w, g.wp) }

// phaseRowRange returns the rows [u0, u1) of a phase plane with row phase
// a that hold image rows (s·u + a − pad in [0, h)).
func (g *convGeom) phaseRowRange(a int) (u0, u1 int) {
	return phaseRange(g.stride, g.pad, a, g.h, g.rows)
}

// phaseRange returns the plane indices [lo, hi), hi ≤ limit, whose image
// index s·i + phase − pad is in [0, n).
func phaseRange(s, pad, phase, n, limit int) (lo, hi int) {
	if d := pad - phase; d > 0 {
		lo = (d + s - 1) / s
	}
	if m := n - 1 + pad - phase; m >= 0 {
		hi = min(limit, m/s+1)
	}
	return lo, max(lo, hi)
}

// phaseSpan is where phase plane (a, b) holds image values: rows rows of
// n values, starting at pad[plane] in channel 0's plane (row stride wp)
// and at x[image] in channel 0 of the image (row stride s·w); ok is false
// when the plane holds none.
type phaseSpan struct{ rows, n, plane, image int }

func (g *convGeom) phaseSpan(a, b int) (phaseSpan, bool) {
	u0, u1 := g.phaseRowRange(a)
	v0, v1 := g.phaseCols(b)
	if v0 >= v1 || u0 >= u1 {
		return phaseSpan{}, false
	}
	s := g.stride
	return phaseSpan{
		rows:  u1 - u0,
		n:     v1 - v0,
		plane: g.planeOffset(a, b) + u0*g.wp + v0,
		image: (s*u0+a-g.pad)*g.w + s*v0 + b - g.pad,
	}, true
}

// phasePlanes writes image x [in, h, w] into its phase planes pad
// (planesLen), as x·scale + shift with pre's coefficients of the channel
// (and its ReLU) when pre is not nil. Only positions that hold image values
// are written: the padding stays zero from the buffer's allocation. (This
// runs for every image of every phase-plane convolution, forward, ∂w and
// ∂x as a convolution of dy, on rows of 7 to 32 values: a channel's rows
// go to one 2-D kernel.)
func phasePlanes[T float32 | float64](g *convGeom, x, pad []T, pre *bnOp) {
	s, hw, used := g.stride, g.h*g.w, min(g.stride, g.k)
	for a := 0; a < used; a++ { // planes no tap reads are left alone
		for b := 0; b < used; b++ {
			sp, ok := g.phaseSpan(a, b)
			if !ok {
				continue
			}
			rows, n := sp.rows, sp.n
			for c := 0; c < g.in; c++ {
				dst := pad[sp.plane+c*g.chanLen : g.planeOffset(a, b)+(c+1)*g.chanLen]
				src := x[c*hw+sp.image : (c+1)*hw]
				switch {
				case s == 1 && pre == nil:
					copyRows(dst, src, rows, n, g.wp, g.w)
				case s == 1:
					affineRows(dst, src, rows, n, g.wp, g.w, T(pre.scale[c]), T(pre.shift[c]), pre.relu)
				default:
					gatherRows(dst, src, rows, n, g.wp, s*g.w, s)
					if pre != nil {
						affineRows(dst, dst, rows, n, g.wp, g.wp, T(pre.scale[c]), T(pre.shift[c]), pre.relu)
					}
				}
			}
		}
		// Column planes j ≥ s are plane j mod s shifted by j div s: one
		// copy of all channels (what crosses into the next channel lands
		// in columns and spare values no product reads for an output).
		n := g.in * g.chanLen
		for j := used; j < g.cols; j++ {
			sh := j / s
			copy(pad[g.planeOffset(a, j):g.planeOffset(a, j)+n-sh], pad[g.planeOffset(a, j%s)+sh:])
		}
	}
}

// unphasePlanes is the adjoint of phasePlanes: dx [in, h, w] gets each
// image position's value from the phase planes (0 where no output reads
// it).
func unphasePlanes[T float32 | float64](g *convGeom, pad, dx []T) {
	s, hw, used := g.stride, g.h*g.w, min(g.stride, g.k)
	covered := 0 // image positions the planes hold (the phases are disjoint)
	for a := 0; a < used; a++ {
		u0, u1 := g.phaseRowRange(a)
		for b := 0; b < used; b++ {
			v0, v1 := g.phaseCols(b)
			covered += (u1 - u0) * (v1 - v0)
		}
	}
	if covered < hw {
		clear(dx)
	}
	for a := 0; a < used; a++ {
		u0, u1 := g.phaseRowRange(a)
		if s == 2 && used == 2 && u0 < u1 && interleavePhases(g, pad, dx, a, u0, u1) {
			continue
		}
		for b := 0; b < used; b++ {
			sp, ok := g.phaseSpan(a, b)
			if !ok {
				continue
			}
			rows, n := sp.rows, sp.n
			for c := 0; c < g.in; c++ {
				src := pad[sp.plane+c*g.chanLen : g.planeOffset(a, b)+(c+1)*g.chanLen]
				dst := dx[c*hw+sp.image : (c+1)*hw]
				if s == 1 {
					copyRows(dst, src, rows, n, g.w, g.wp)
					continue
				}
				for r := 0; r < rows; r++ {
					d, sr := dst[r*s*g.w:], src[r*g.wp:r*g.wp+n]
					for v, val := range sr {
						d[v*s] = val
					}
				}
			}
		}
	}
}

// interleavePhases is unphasePlanes of row phase a (image rows u0 to u1 of
// its planes) for stride 2 when the two column phases alternate along
// whole rows (image columns x0, x0+2, … and x0+1, x0+3, …, as many of
// each): one interleaving pass a channel. It reports false, doing nothing,
// when they do not.
func interleavePhases[T float32 | float64](g *convGeom, pad, dx []T, a, u0, u1 int) bool {
	type phase struct{ b, v0, x0, n int }
	var p [2]phase
	for b := range p {
		v0, v1 := g.phaseCols(b)
		p[b] = phase{b, v0, 2*v0 + b - g.pad, v1 - v0}
	}
	if p[1].x0 < p[0].x0 {
		p[0], p[1] = p[1], p[0]
	}
	if p[1].x0 != p[0].x0+1 || p[0].n != p[1].n || p[0].n == 0 {
		return false
	}
	hw, rows, n := g.h*g.w, u1-u0, p[0].n
	for c := 0; c < g.in; c++ {
		src := func(ph phase) []T {
			return pad[g.planeOffset(a, ph.b)+c*g.chanLen+u0*g.wp+ph.v0 : g.planeOffset(a, ph.b)+(c+1)*g.chanLen]
		}
		dst := dx[c*hw+(2*u0+a-g.pad)*g.w+p[0].x0 : (c+1)*hw]
		interleaveRows(dst, src(p[0]), src(p[1]), rows, n, 2*g.w, g.wp, g.wp)
	}
	return true
}

// unpadRows copies the first ow values of each of the rows·oh rows of
// width wp of ext into y [rows, oh, ow].
func unpadRows[T float32 | float64](g *convGeom, ext, y []T, rows, oh, ow int) {
	copyRows(y, ext, rows*oh, ow, ow, g.wp)
}

// padRows is the adjoint of unpadRows for dy [out, oh, ow]: it writes each
// row into ext [out, P'] at width wp; the wp − ow columns after each row are
// never written (padRows is the only writer of the buffers of the ops that
// call it), so stay zero.
func padRows[T float32 | float64](g *convGeom, dy, ext []T) {
	copyRows(ext, dy, g.out*g.oh, g.ow, g.wp, g.ow)
}
