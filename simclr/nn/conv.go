package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The convolution as three gorgonia ops that keep their buffers across
// runs: convOp (forward), convGradXOp and convGradWOp (its two gradients,
// made by convOp.SymDiff); the batch is cut into chunks that
// runtime.GOMAXPROCS workers take in turn (chunks), each working image by
// image.
//
// 1×1 stride-1 convolutions without padding multiply x_b directly:
// y_b [out, P] = W [out, in] · x_b [in, P]. Every other convolution is an
// implicit GEMM over the image's phase planes (convGeom.padded): no im2col
// matrix is ever built. Each image is copied once into its zero-bordered
// phase planes, and for every kernel tap (i, j) the inputs of all outputs
// are a [in, P'] matrix inside them (leading dimension chanLen), so
//
//	forward  y_b       = Σ_taps W_ij [out, in] · planes_ij [in, P']      (k² SGEMMs, K = in)
//	grad w   dW_ij     = Σ_b dy_b [out, P'] · planes_ijᵀ [P', in]
//	grad x   dplanes_ij += W_ijᵀ [in, out] · dy_b [out, P'], then back to dx
//
// with the weights laid out tap-major (W_ij contiguous) once a run. The
// forward instead multiplies the k taps of a kernel row at once, K = k·in
// (convGeom.grouped: k column planes per row phase, the extra ones shifted
// copies; the step 2–5% faster); ∂w, and ∂x of strided convolutions, keep a
// product per tap on the plain phase planes (convGeom.flat). Stride-1
// convolutions with pad ≤ k − 1 compute grad x instead as the forward
// convolution of dy with the flipped, transposed weights
// (convGeom.back). Against im2col + one SGEMM per image, skipping the
// k²-times larger col matrix made the forward of resnet-small's three
// 3×3 stride-1 stages 26–31% faster and the whole SimCLR step 16–24%
// (OpenBLAS); for the strided convolutions it measured the same.
//
// The outputs are tensors owned by the op and overwritten by the next run:
// gorgonia's tape machine binds them to the nodes, as it does any op's
// result, and reads them only within the run. The workspaces are per op,
// so a Net's ops must not run on two goroutines at once (as before: one
// Net, one goroutine).

// convGeom is the geometry of one convolution.
type convGeom struct {
	b, in, h, w int // input [b, in, h, w]
	out, k      int // weights [out, in, k, k]
	stride, pad int
	oh, ow      int
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
	// (forward) or zero (backward). With s = 1 there is one plane: the
	// padded image itself.
	padded          bool
	rows            int // rows of a phase plane
	wp, chanLen, pp int
	// grouped (k > 1): the planes are column planes, k per row phase:
	// column plane j holds phase j mod s shifted left by j div s columns,
	// so that the inputs of the k taps of kernel row i are k·in rows of
	// one stride (chanLen) and the taps of a row are one product with
	// K = k·in instead of k products with K = in, and the output is
	// read and written k times instead of k² times. Otherwise cols = min(s, k)
	// phase planes per row phase and a product per tap.
	grouped        bool
	cols           int
	flat           *convGeom // ungrouped(): ∂w, and ∂x of strided convolutions
	back           *convGeom // ∂x as a convolution of dy (stride 1, pad ≤ k−1), else nil
	xShape, yShape tensor.Shape
	wShape         tensor.Shape
	dt             tensor.Dtype
	workers        int
	partLen        int
}

func newConvGeom(x, w tensor.Shape, dt tensor.Dtype, stride, pad int) (*convGeom, error) {
	g, err := newConvGeom1(x, w, dt, stride, pad)
	if err != nil {
		return nil, err
	}
	if g.padded && stride == 1 && pad <= g.k-1 {
		// ∂x of a stride-1 convolution is the stride-1 convolution of dy
		// with the flipped, transposed weights and padding k−1−pad: the
		// same padded-width path as the forward, with copies instead of
		// col2im's additions and K = out·k·k instead of out.
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

// newConvGeom1 is newConvGeom without the transposed geometry.
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

// conv2dNode applies the convolution op to x [B, in, H, W] and w [out, in,
// k, k]; noGradX leaves out ∂x (x is an input no gradient is wanted for).
// parts holds the ∂w ops' partial sums: one per graph serves all its
// convolutions (they run one at a time); nil gives the op its own.
func conv2dNode(x, w *gorgonia.Node, stride, pad int, noGradX bool, parts *workspace) (*gorgonia.Node, error) {
	g, err := newConvGeom(x.Shape(), w.Shape(), x.Dtype(), stride, pad)
	if err != nil {
		return nil, err
	}
	if w.Dtype() != x.Dtype() {
		return nil, fmt.Errorf("conv2d: x is %v, w is %v", x.Dtype(), w.Dtype())
	}
	if parts == nil {
		parts = new(workspace)
	}
	return gorgonia.ApplyOp(&convOp{g: g, noGradX: noGradX, x: x, parts: parts}, x, w)
}

// convOp is the forward convolution: (x, w) -> y.
type convOp struct {
	g   *convGeom
	out tensor.Tensor
	ws  [3]workspace // per worker: col, padded planes, wide output rows

	// noGradX: x needs no gradient (see DiffWRT).
	noGradX bool
	parts   *workspace     // for the ∂w op
	x       *gorgonia.Node // the input node (deferBNs)

	// pre: x is the input of a deferred BN (bnOp.deferred), which the
	// convolution applies while copying x into its phase planes.
	pre *bnOp

	// sums: every run also sums each output channel and its square, per
	// chunk into acc[c][o] and acc[c][out+o], while the image is in
	// cache, for the batch norm that consumes the output (bnOp.src).
	sums bool
	acc  [][]float64
}

// channelSums returns the per-chunk accumulators, zeroed.
func (op *convOp) channelSums() [][]float64 {
	if n := numChunks(op.g.b); len(op.acc) != n {
		op.acc = make([][]float64, n)
		for i := range op.acc {
			op.acc[i] = make([]float64, 2*op.g.out)
		}
	}
	for _, a := range op.acc {
		clear(a)
	}
	return op.acc
}

// workspace holds per-worker scratch of one dtype, grown on demand.
type workspace struct {
	f32 [][]float32
	f64 [][]float64
}

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

// owned returns *t, allocating a zeroed tensor of the shape and dtype the
// first time.
func owned(t *tensor.Tensor, dt tensor.Dtype, s tensor.Shape) *tensor.Dense {
	if *t == nil {
		*t = tensor.New(tensor.Of(dt), tensor.WithShape(s...))
	}
	return (*t).(*tensor.Dense)
}

var (
	_ gorgonia.Op   = (*convOp)(nil)
	_ gorgonia.SDOp = (*convOp)(nil)
	_ gorgonia.Op   = (*convGradXOp)(nil)
	_ gorgonia.Op   = (*convGradWOp)(nil)
)

func fourD() gorgonia.TensorType { return gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')} }

func (op *convOp) Arity() int { return 2 }
func (op *convOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.yShape.Clone(), nil
}
func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.conv%p", op) }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) String() string        { return "Conv" + op.g.String() }

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *convOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, w, err := denseInputs(op.String(), vals, op.g.xShape, op.g.wShape)
	if err != nil {
		return nil, err
	}
	y := owned(&op.out, op.g.dt, op.g.yShape)
	var sums [][]float64
	if op.sums {
		sums = op.channelSums()
	}
	switch xd := x.Data().(type) {
	case []float32:
		convForward(op.g, &op.ws, xd, w.Data().([]float32), y.Data().([]float32), sums, op.pre)
	case []float64:
		convForward(op.g, &op.ws, xd, w.Data().([]float64), y.Data().([]float64), sums, op.pre)
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, x.Dtype())
	}
	return y, nil
}

// DiffWRT: no gradient for x when x is a leaf no gradient is wanted for
// (the network input), which saves a whole convolution per step.
func (op *convOp) DiffWRT(int) []bool { return []bool{!op.noGradX, true} }

func (op *convOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op, len(inputs))
	}
	var dx *gorgonia.Node
	if !op.noGradX {
		var err error
		if dx, err = gorgonia.ApplyOp(&convGradXOp{g: op.g}, inputs[1], grad); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&convGradWOp{g: op.g, pre: op.pre, pw: op.parts}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw}, nil
}

// convGradXOp is ∂L/∂x of the convolution: (w, dy) -> dx.
type convGradXOp struct {
	g    *convGeom
	out  tensor.Tensor
	ws   [3]workspace // per worker: col, padded planes, wide dy rows
	flip struct {     // flipped weights for g.back
		f32 [][]float32
		f64 [][]float64
	}
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

func (op *convGradXOp) Arity() int { return 2 }
func (op *convGradXOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convGradXOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.xShape.Clone(), nil
}
func (op *convGradXOp) ReturnsPtr() bool      { return false }
func (op *convGradXOp) CallsExtern() bool     { return false }
func (op *convGradXOp) OverwritesInput() int  { return -1 }
func (op *convGradXOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.convgradx%p", op) }
func (op *convGradXOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradXOp) String() string        { return "ConvGradX" + op.g.String() }

func (op *convGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	w, dy, err := denseInputs(op.String(), vals, op.g.wShape, op.g.yShape)
	if err != nil {
		return nil, err
	}
	dx := owned(&op.out, op.g.dt, op.g.xShape)
	if t := op.g.back; t != nil {
		switch wd := w.Data().(type) {
		case []float32:
			wf := flipWeights(op.g, wd, &op.flip.f32)
			convForward(t, &op.ws, dy.Data().([]float32), wf, dx.Data().([]float32), nil, nil)
		case []float64:
			wf := flipWeights(op.g, wd, &op.flip.f64)
			convForward(t, &op.ws, dy.Data().([]float64), wf, dx.Data().([]float64), nil, nil)
		default:
			return nil, fmt.Errorf("nn: %s: dtype %v", op, w.Dtype())
		}
		return dx, nil
	}
	switch wd := w.Data().(type) {
	case []float32:
		convBackX(op.g, &op.ws, wd, dy.Data().([]float32), dx.Data().([]float32))
	case []float64:
		convBackX(op.g, &op.ws, wd, dy.Data().([]float64), dx.Data().([]float64))
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, w.Dtype())
	}
	return dx, nil
}

// convGradWOp is ∂L/∂w of the convolution: (x, dy) -> dw.
type convGradWOp struct {
	g   *convGeom
	pre *bnOp // as convOp.pre
	out tensor.Tensor
	ws  [3]workspace // per worker: (unused), padded planes, wide dy rows
	pw  *workspace   // per chunk: partial dW (shared by the graph's convolutions)
}

func (op *convGradWOp) Arity() int { return 2 }
func (op *convGradWOp) Type() hm.Type {
	return hm.NewFnType(fourD(), fourD(), fourD())
}
func (op *convGradWOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.g.wShape.Clone(), nil
}
func (op *convGradWOp) ReturnsPtr() bool      { return false }
func (op *convGradWOp) CallsExtern() bool     { return false }
func (op *convGradWOp) OverwritesInput() int  { return -1 }
func (op *convGradWOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.convgradw%p", op) }
func (op *convGradWOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradWOp) String() string        { return "ConvGradW" + op.g.String() }

func (op *convGradWOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, dy, err := denseInputs(op.String(), vals, op.g.xShape, op.g.yShape)
	if err != nil {
		return nil, err
	}
	dw := owned(&op.out, op.g.dt, op.g.wShape)
	switch xd := x.Data().(type) {
	case []float32:
		convBackW(op.g, &op.ws, op.pw, xd, dy.Data().([]float32), dw.Data().([]float32), op.pre)
	case []float64:
		convBackW(op.g, &op.ws, op.pw, xd, dy.Data().([]float64), dw.Data().([]float64), op.pre)
	default:
		return nil, fmt.Errorf("nn: %s: dtype %v", op, x.Dtype())
	}
	return dw, nil
}

// denseInputs checks two inputs' types, shapes and dtypes.
func denseInputs(what string, vals []gorgonia.Value, s0, s1 tensor.Shape) (a, b *tensor.Dense, err error) {
	if len(vals) != 2 {
		return nil, nil, fmt.Errorf("nn: %s: %d inputs, want 2", what, len(vals))
	}
	a, ok0 := vals[0].(*tensor.Dense)
	b, ok1 := vals[1].(*tensor.Dense)
	if !ok0 || !ok1 {
		return nil, nil, fmt.Errorf("nn: %s: inputs %T, %T, want *tensor.Dense", what, vals[0], vals[1])
	}
	if !a.Shape().Eq(s0) || !b.Shape().Eq(s1) {
		return nil, nil, fmt.Errorf("nn: %s: input shapes %v, %v, want %v, %v", what, a.Shape(), b.Shape(), s0, s1)
	}
	if a.Dtype() != b.Dtype() {
		return nil, nil, fmt.Errorf("nn: %s: inputs of dtypes %v and %v", what, a.Dtype(), b.Dtype())
	}
	return a, b, nil
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

// convForward computes y = conv(x, w), or conv(x·scale + shift, w) with
// pre's per-channel scale and shift (and its ReLU) when pre is not nil, and, when
// sums is not nil, adds each output channel's Σy and Σy² of the images
// of chunk c into sums[c][o] and sums[c][out+o].
func convForward[T float32 | float64](g *convGeom, ws *[3]workspace, x, w, y []T, sums [][]float64, pre *bnOp) {
	var pads, exts [][]T
	var wt []T
	if g.padded {
		wt = gemmWeights(g, w, scratch[T](&ws[0], 1, g.out*g.kk)[0])
		pads = scratch[T](&ws[1], g.workers, g.planesLen())
		exts = scratch[T](&ws[2], g.workers, g.out*g.pp)
	}
	xs, ys := g.in*g.h*g.w, g.out*g.p
	nt, kt := g.gemms()
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		for b := lo; b < hi; b++ {
			xb, yb := x[b*xs:(b+1)*xs], y[b*ys:(b+1)*ys]
			if g.direct {
				gemm(false, false, g.out, g.p, g.kk, 1, w, g.kk, xb, g.p, 0, yb, g.p)
			} else {
				pad, ext := pads[wk], exts[wk][:g.out*g.pp]
				if g.wp == g.ow { // no extra columns (1×1): the product is y_b
					ext = yb
				}
				phasePlanes(g, xb, pad, pre)
				for t := 0; t < nt; t++ {
					beta := T(1)
					if t == 0 {
						beta = 0
					}
					gemm(false, false, g.out, g.pp, kt, 1, wt[t*g.out*kt:], kt, pad[g.gemmOffset(t):], g.chanLen, beta, ext, g.pp)
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

// planesLen is the length of one image's planes.
func (g *convGeom) planesLen() int { return min(g.stride, g.k) * g.cols * g.in * g.chanLen }

// planeOffset is where plane (a, j) starts: row phase a, column plane j
// (grouped) or column phase j.
func (g *convGeom) planeOffset(a, j int) int { return (a*g.cols + j) * g.in * g.chanLen }

// ungrouped returns the geometry with a phase plane per phase and a
// product per tap (the ∂x of strided convolutions, whose adjoint of the
// column planes would have to add them up).
func (g *convGeom) ungrouped() *convGeom {
	u := *g
	u.grouped, u.cols, u.back, u.flat = false, min(g.stride, g.k), nil, nil
	return &u
}

// gemms returns the number of products a padded convolution makes per
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

func convBackX[T float32 | float64](g *convGeom, ws *[3]workspace, w, dy, dx []T) {
	var pads, exts [][]T
	var wt []T
	if g.flat != nil {
		g = g.flat
	}
	if g.padded {
		wt = gemmWeights(g, w, scratch[T](&ws[0], 1, g.out*g.kk)[0])
		pads = scratch[T](&ws[1], g.workers, g.planesLen())
		exts = scratch[T](&ws[2], g.workers, g.out*g.pp)
	}
	xs, ys := g.in*g.h*g.w, g.out*g.p
	chunks(g.workers, g.b, func(wk, _, lo, hi int) {
		for b := lo; b < hi; b++ {
			dxb, dyb := dx[b*xs:(b+1)*xs], dy[b*ys:(b+1)*ys]
			if g.direct {
				gemm(true, false, g.kk, g.p, g.out, 1, w, g.kk, dyb, g.p, 0, dxb, g.p)
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
				gemm(true, false, g.in, g.pp, g.out, 1, wt[t*g.out*g.in:], g.in, ext, g.pp, 1, pad[g.gemmOffset(t):], g.chanLen)
			}
			unphasePlanes(g, pad, dxb)
		}
	})
}

func convBackW[T float32 | float64](g *convGeom, ws *[3]workspace, pw *workspace, x, dy, dw []T, pre *bnOp) {
	if g.flat != nil {
		g = g.flat // a product per tap: the phase planes need no column copies
	}
	var pads, exts [][]T
	if g.padded {
		pads = scratch[T](&ws[1], g.workers, g.planesLen())
		exts = scratch[T](&ws[2], g.workers, g.out*g.pp)
	}
	parts := scratch[T](pw, numChunks(g.b), g.partLen)
	xs, ys := g.in*g.h*g.w, g.out*g.p
	_, ldp := g.gemms()
	chunks(g.workers, g.b, func(wk, c, lo, hi int) {
		part := parts[c][:g.partLen] // in the layout of gemmWeights when padded
		clear(part)
		for b := lo; b < hi; b++ {
			xb, dyb := x[b*xs:(b+1)*xs], dy[b*ys:(b+1)*ys]
			if g.direct {
				gemm(false, true, g.out, g.kk, g.p, 1, dyb, g.p, xb, g.p, 1, part, g.kk)
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
					gemm(false, true, g.out, g.in, g.pp, 1, ext, g.pp, pad[g.tapOffset(i, j):], g.chanLen, 1, part[g.gemmIndex(0, 0, i, j):], ldp)
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

// phasePlanes writes image x [in, h, w] into its phase planes pad [s²][in]
// [chanLen], as x·scale + shift with pre's coefficients of the channel
// (and its ReLU) when pre is not nil. Only positions that hold image values
// are written: the padding stays zero from the buffer's allocation. (This
// runs for every image of every convolution, forward and ∂w, on rows of 7
// to 32 values: a channel's rows go to one 2-D kernel.)
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
// never written, so stay zero.
func padRows[T float32 | float64](g *convGeom, dy, ext []T) {
	copyRows(ext, dy, g.out*g.oh, g.ow, g.wp, g.ow)
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
